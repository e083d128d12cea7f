// Dead-letter queue: jobs that exhausted their attempts (or failed permanently) are copied here with the
// reason; `replay` puts the original job back on its queue.
import type { Job, Worker } from 'bullmq';
import type { QueueName, Runtime } from './runtime.js';

export interface DeadLetter {
  queue: QueueName;
  name: string;
  jobId: string | undefined;
  data: unknown;
  reason: string;
  attempts: number;
  failedAt: number;
}

export function attachDeadLetter(rt: Runtime, worker: Worker, queue: QueueName): void {
  worker.on('failed', (job: Job | undefined, err: Error) => {
    if (!job) return;
    const exhausted = job.attemptsMade >= (job.opts.attempts ?? 1) || err.name === 'UnrecoverableError';
    if (!exhausted) return;
    const dl: DeadLetter = { queue, name: job.name, jobId: job.id, data: job.data, reason: err.message.slice(0, 500), attempts: job.attemptsMade, failedAt: Date.now() };
    rt.log.error({ queue, job: job.id, reason: dl.reason }, 'job moved to the dead-letter queue');
    void rt.queues['dead-letter'].add(`${queue}:${job.name}`, dl, { jobId: `${queue}|${String(job.id).replace(/:/g, '|')}|${job.attemptsMade}`, removeOnComplete: false, removeOnFail: false }).catch((e: unknown) =>
      rt.log.error({ err: String(e) }, 'dead-letter write failed'));
  });
}

export async function listDeadLetters(rt: Runtime, limit = 100): Promise<{ id: string; letter: DeadLetter }[]> {
  const jobs = await rt.queues['dead-letter'].getJobs(['waiting', 'delayed'], 0, limit - 1, true);
  return jobs.filter((j) => j?.id).map((j) => ({ id: j.id as string, letter: j.data as DeadLetter }));
}

/** Re-runs a dead letter on its original queue (fresh attempts) and removes it from the DLQ. */
export async function replayDeadLetter(rt: Runtime, id: string): Promise<string> {
  const job = await rt.queues['dead-letter'].getJob(id);
  if (!job) throw new Error(`no dead letter ${id}`);
  const dl = job.data as DeadLetter;
  const q = rt.queues[dl.queue];
  // Prefer retrying the original job: it keeps its id, so the records it claimed are still its own.
  const original = dl.jobId ? await q.getJob(dl.jobId) : undefined;
  if (original && (await original.isFailed())) {
    await original.retry('failed');
    await job.remove();
    return original.id ?? '';
  }
  const opts = dl.queue === 'uplink' ? rt.uplinkJobOptions() : { attempts: 3, backoff: { type: 'exponential' as const, delay: rt.config.RETRY_BASE_MS, jitter: 0.5 } };
  const added = await q.add(dl.name, dl.data, opts);
  await job.remove();
  return added.id ?? '';
}
