// Periodic work that must run once per interval across replicas (a BullMQ job scheduler):
// offline detection from data freshness, and queue gauges for metrics.
import type { Job } from 'bullmq';
import { metrics } from '../core/metrics.js';
import { uplinkTopics } from '../platform/topics.js';
import { QUEUES, type Runtime } from './runtime.js';

export function createMaintenanceProcessor(rt: Runtime) {
  return async function processMaintenance(job: Job): Promise<unknown> {
    if (job.name === 'freshness') return sweepFreshness(rt);
    return null;
  };
}

/** Devices of access points with an offline timeout that sent nothing for that long are reported offline. */
export async function sweepFreshness(rt: Runtime): Promise<{ offline: number }> {
  let offline = 0;
  const now = Date.now();
  for (const ap of rt.registry.all()) {
    const c = ap.binding.connector;
    const timeoutS = ap.cred && c.offlineTimeoutS ? c.offlineTimeoutS(ap.cred) : 0;
    if (!timeoutS) continue;
    const stale = await rt.redis.zrangebyscore(rt.k(`fresh:${ap.id}`), '-inf', now - timeoutS * 1000);
    const bound = stale.filter((id) => ap.devices.has(id));
    if (bound.length === 0) continue;
    const states = await rt.redis.hmget(rt.k('online'), ...bound);
    for (let i = 0; i < bound.length; i++) {
      if (states[i] !== '1') continue;
      const id = bound[i]!;
      await rt.link.publish(uplinkTopics.status(id), '0', 1);
      await rt.redis.hset(rt.k('online'), id, '0');
      metrics.uplinks.inc({ connector: c.id, kind: 'status' });
      offline++;
    }
  }
  if (offline) rt.log.info({ offline }, 'devices reported offline after their data went stale');
  return { offline };
}

/** Queue depth and oldest waiting job age, for /metrics and the status page. */
export async function queueStats(rt: Runtime): Promise<Record<string, { waiting: number; active: number; delayed: number; failed: number; oldestAgeS: number }>> {
  const out: Record<string, { waiting: number; active: number; delayed: number; failed: number; oldestAgeS: number }> = {};
  for (const name of Object.values(QUEUES)) {
    const q = rt.queues[name];
    const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
    const oldest = await q.getJobs(['waiting', 'prioritized'], 0, 0, true);
    const oldestAgeS = oldest[0] ? Math.max(0, (Date.now() - oldest[0].timestamp) / 1000) : 0;
    const s = { waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0), active: counts.active ?? 0, delayed: counts.delayed ?? 0, failed: counts.failed ?? 0, oldestAgeS };
    out[name] = s;
    for (const st of ['waiting', 'active', 'delayed', 'failed'] as const) metrics.queueDepth.set({ queue: name, state: st }, s[st]);
    metrics.queueOldestAge.set({ queue: name }, oldestAgeS);
  }
  metrics.deadLetters.set(out[QUEUES.dead]?.waiting ?? 0);
  return out;
}
