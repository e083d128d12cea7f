// Poll worker: one poll of one access point at a time across all replicas; the cursor is stored only
// after the records are safely queued. Auth and rate-limit failures change state instead of retrying.
import { UnrecoverableError, type Job } from 'bullmq';
import { AuthError, PermanentError, RateLimitedError, describeError } from '../core/errors.js';
import type { JsonValue } from '../core/messages.js';
import { metrics } from '../core/metrics.js';
import { releaseLock } from './ap-store.js';
import { externalIdFor } from './devices.js';
import type { PollJob, Runtime } from './runtime.js';

export type PollOutcome = 'ok' | 'skipped_busy' | 'paused_reauth' | 'rate_limited' | 'gone' | 'no_poll';

export function createPollProcessor(rt: Runtime) {
  const { k } = rt;
  return async function processPoll(job: Job<PollJob>): Promise<{ outcome: PollOutcome; records?: number }> {
    const { si, ap: apId } = job.data;
    const ap = rt.registry.get(apId);
    if (!ap || ap.binding.serviceIdentifier !== si) {
      await rt.queues.poll.removeJobScheduler(pollSchedulerId(si, apId)).catch(() => undefined);
      return { outcome: 'gone' };
    }
    const c = ap.binding.connector;
    const labels = { connector: c.id, access_point: ap.id };
    if (!c.poll || !ap.cred) return { outcome: 'no_poll' };
    const st = await rt.state.get(ap.id);
    if (st.state === 'needs_reauth') { metrics.polls.inc({ ...labels, outcome: 'paused' }); return { outcome: 'paused_reauth' }; }
    const blocked = await rt.limiter.blockedFor(`${c.id}:${ap.id}`);
    if (blocked > 0) { metrics.polls.inc({ ...labels, outcome: 'rate_limited' }); return { outcome: 'rate_limited' }; }

    const interval = c.poll.intervalMs(ap.cred);
    const lockKey = k(`polllock:${ap.id}`);
    const token = `${job.id}:${job.attemptsMade}`;
    if ((await rt.redis.set(lockKey, token, 'PX', Math.max(interval * 3, 60_000), 'NX')) !== 'OK') {
      metrics.polls.inc({ ...labels, outcome: 'skipped_busy' });
      return { outcome: 'skipped_busy' };
    }
    const ac = new AbortController();
    const end = metrics.pollDuration.startTimer(labels);
    try {
      const cursorRaw = await rt.redis.get(k(`cursor:${ap.id}`));
      const cursor = cursorRaw ? (JSON.parse(cursorRaw) as JsonValue) : null;
      const devices: string[] = [];
      for (const d of ap.devices.values()) {
        const ext = await externalIdFor(rt, ap, d.number).catch(() => null);
        if (ext) devices.push(ext);
      }
      const res = await c.poll.run(rt.ctx(ap, ac.signal), cursor, devices);
      if (res.records.length > 0) {
        const at = Date.now();
        await rt.queues.uplink.add('poll', { items: res.records.map((rec) => ({ si, ap: ap.id, at, rec })) }, rt.uplinkJobOptions());
      }
      if (res.cursor === null) await rt.redis.del(k(`cursor:${ap.id}`));
      else await rt.redis.set(k(`cursor:${ap.id}`), JSON.stringify(res.cursor));
      await rt.redis.set(k(`lastpoll:${ap.id}`), String(Date.now()));
      if (st.state !== 'ok') await rt.state.set(ap.id, c.id, 'ok');
      metrics.polls.inc({ ...labels, outcome: 'ok' });
      return { outcome: 'ok', records: res.records.length };
    } catch (err) {
      if (err instanceof AuthError) {
        await rt.state.set(ap.id, c.id, 'needs_reauth', describeError(err));
        metrics.polls.inc({ ...labels, outcome: 'auth_error' });
        return { outcome: 'paused_reauth' };
      }
      if (err instanceof RateLimitedError) {
        await rt.limiter.block(`${c.id}:${ap.id}`, err.retryAfterMs);
        await rt.state.set(ap.id, c.id, 'rate_limited', describeError(err), { until: Date.now() + err.retryAfterMs });
        metrics.polls.inc({ ...labels, outcome: 'rate_limited' });
        return { outcome: 'rate_limited' };
      }
      metrics.polls.inc({ ...labels, outcome: 'error' });
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (err instanceof PermanentError || lastAttempt) await rt.state.set(ap.id, c.id, 'failing', describeError(err));
      if (err instanceof PermanentError) throw new UnrecoverableError(describeError(err));
      throw new Error(describeError(err));
    } finally {
      end();
      ac.abort();
      await releaseLock(rt.redis, lockKey, token);
    }
  };
}

export const pollSchedulerId = (si: string, apId: string) => `poll:${si}:${apId}`;

