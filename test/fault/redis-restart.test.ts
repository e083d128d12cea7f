// Scenario 3 — Redis restart with the append-only file on. Redis is SIGKILLed mid-stream and started again from
// its AOF. The service process survives and reconnects by itself; webhooks during the outage get 503 (never 2xx);
// everything acknowledged before the restart is still there and reaches ThingsPanel exactly once.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ownRedis, uid, until } from '../helpers/harness.js';
import { dumpRedis, findSecrets, queueOf, tally } from '../helpers/fault.js';
import { killAllServiceProcesses, spawnService } from '../helpers/service-process.js';
import { jobsCarrying, seqsOf, settle, stream, synced, ttsSetup } from '../helpers/tts-load.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  await killAllServiceProcesses();
  for (const f of cleanups.reverse()) await f().catch(() => undefined);
});

test('Redis killed and restarted from its AOF under webhook load: 503 during the outage, nothing acknowledged lost or doubled, the process reconnects by itself', async (t) => {
  const redis = await ownRedis();
  cleanups.push(() => redis.stop());
  const s = await ttsSetup({ replicas: 0, redisUrl: redis.url });
  cleanups.push(() => s.close());
  const a = await spawnService(s.h, { name: 'redis-a', pluginPort: s.h.pluginPort });
  await synced(a, s.apId, 4);
  // The operator pauses the uplink queue a little before Redis dies (BullMQ's pause flag lives in Redis too), so
  // acknowledged records are still queued — only in Redis, and so only in its AOF — when Redis is killed.
  const uplinks = queueOf(redis.url, s.h.redisPrefix, 'uplink');
  cleanups.push(() => uplinks.close());

  const run = `x${uid(3)}`;
  const N = 500;
  const OUTAGE_MS = 2500;
  let stoppedAt = 0;
  let restartCalledAt = 0;
  let restartedAt = 0;
  let restart: Promise<void> | undefined;
  let paused: Promise<void> | undefined;
  let queuedAtKill = 0;
  const answers: { seq: number; status: number; sentAt: number }[] = [];
  const res = await stream(s, () => [a], run, N, 100, {
    attempts: 200, retryDelayMs: 100,
    onSend: (i) => {
      if (i === 60 && !paused) paused = uplinks.pause();
      if (i !== 150 || restart) return;
      queuedAtKill = answers.filter((x) => x.status === 200).length - seqsOf(s.h, run).length;
      restart = paused!.then(() => redis.stop()).then(async () => {
        stoppedAt = Date.now();
        await new Promise((r) => setTimeout(r, OUTAGE_MS));
        restartCalledAt = Date.now();
        await redis.start();
        restartedAt = Date.now();
        await new Promise((r) => setTimeout(r, 500));
        await uplinks.resume();
      });
    },
    status: (seq, status, sentAt) => answers.push({ seq, status, sentAt }),
  });
  await restart;
  assert.ok(a.alive, 'the service process survived the outage');
  assert.deepEqual(res.refused, [], 'every record was eventually acknowledged (after the restart)');
  // Sent after Redis died and before it was started again.
  const during = answers.filter((x) => x.sentAt > stoppedAt + 50 && x.sentAt < restartCalledAt);
  const byStatus = (xs: typeof answers) => xs.reduce<Record<number, number>>((m, x) => ({ ...m, [x.status]: (m[x.status] ?? 0) + 1 }), {});
  assert.ok(during.length > 0, 'requests were sent during the outage');
  assert.deepEqual(during.filter((x) => x.status >= 200 && x.status < 300), [], 'no 2xx while Redis is down');
  assert.deepEqual(Object.keys(byStatus(during)), ['503'], `only 503 during the outage: ${JSON.stringify(byStatus(during))}`);
  const ackedBefore = new Set(answers.filter((x) => x.status === 200 && x.sentAt < stoppedAt).map((x) => x.seq));
  const firstOkAfter = answers.filter((x) => x.status === 200 && x.sentAt >= restartedAt).map((x) => x.sentAt).sort((x, y) => x - y)[0];

  const arrivedAt = await settle(s, run, res.acked, { timeoutMs: 60_000 });
  const r = tally(res.acked, seqsOf(s.h, run));
  t.diagnostic(JSON.stringify({
    records: N, outage_ms: restartedAt - stoppedAt, acked_before_outage: ackedBefore.size, acked_but_unpublished_at_kill: queuedAtKill, answers_during_outage: byStatus(during),
    first_2xx_ms_after_restart: firstOkAfter === undefined ? null : firstOkAfter - restartedAt, all_arrived_ms_after_restart: arrivedAt - restartedAt,
    missing: r.missing.length, duplicates: r.duplicates.length, duplicate_jobs: await jobsCarrying(s, r.duplicates),
  }));
  assert.ok(queuedAtKill >= 50, `acknowledged records were only in Redis when it was killed (${queuedAtKill})`);
  assert.deepEqual(r.missing, [], 'nothing acknowledged (before, during or after) is lost');
  assert.deepEqual(r.duplicates, []);
  // The process reconnected by itself: ready again, and the restart is in its log as reconnection, not a crash.
  await until(async () => (await fetch(`${a.adminUrl}/readyz`).catch(() => null))?.status === 200, 15_000, 'readyz 200 again');
  assert.ok(a.alive);
  assert.deepEqual(findSecrets([s.secret, s.tts.apiKey], (await dumpRedis(redis.url, s.h.redisPrefix)).map((d) => d.text), 'redis'), []);
  assert.deepEqual(s.h.tp.errors, []);
  assert.deepEqual(await a.stop(), { code: 0, signal: null });
});
