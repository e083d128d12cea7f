// Scenario 11 — graceful shutdown. SIGTERM to a service process under webhook load: it stops taking webhooks (the
// sender retries elsewhere), finishes its in-flight jobs (or, when they cannot finish, hands them back to the queue)
// and exits 0. Every record it acknowledged arrives — via the other replica, or after a restart — exactly once.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ownBroker, REDIS_URL, uid } from '../helpers/harness.js';
import { queueOf, tally } from '../helpers/fault.js';
import { killAllServiceProcesses, spawnService } from '../helpers/service-process.js';
import { seqsOf, settle, stalledJobs, stream, synced, ttsSetup } from '../helpers/tts-load.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  await killAllServiceProcesses();
  for (const f of cleanups.reverse()) await f().catch(() => undefined);
});

test('SIGTERM to one of two replicas under load: exits 0 after finishing its jobs; every acknowledged record arrives once', async (t) => {
  const s = await ttsSetup({ replicas: 0 });
  cleanups.push(() => s.close());
  const a = await spawnService(s.h, { name: 'term-a', pluginPort: s.h.pluginPort });
  const b = await spawnService(s.h, { name: 'term-b' });
  await Promise.all([synced(a, s.apId, 4), synced(b, s.apId, 4)]);

  const run = `g${uid(3)}`;
  const N = 600;
  let termAt = 0;
  let exitMs = -1;
  void a.exited.then(() => { exitMs = Date.now() - termAt; });
  const res = await stream(s, () => [a, b], run, N, 100, {
    onSend: (i) => { if (i === 250 && !termAt) { a.kill('SIGTERM'); termAt = Date.now(); } },
  });
  const exit = await a.exited;
  assert.deepEqual(exit, { code: 0, signal: null }, a.lines.slice(-10).join('\n'));
  assert.equal(res.acked.size, N, `every record acknowledged by some replica (${JSON.stringify([...res.non2xx])})`);
  const arrivedAt = await settle(s, run, res.acked);
  const r = tally(res.acked, seqsOf(s.h, run));
  const st = await stalledJobs(s);
  t.diagnostic(JSON.stringify({
    records: N, stream_ms: res.ms, answers_retried_elsewhere: Object.fromEntries(res.non2xx), exit_ms_after_sigterm: exitMs,
    all_arrived_ms_after_sigterm: arrivedAt - termAt, duplicates: r.duplicates.length, stalled_jobs: st.count, jobs_by_replica: Object.fromEntries(st.byReplica),
  }));
  assert.ok(exitMs < 15_000, `exited within the grace period (${exitMs} ms)`);
  assert.deepEqual(r.missing, []);
  assert.deepEqual(r.duplicates, [], 'a graceful stop finishes its jobs: nothing is run twice');
  assert.equal(st.count, 0, 'no job was left to stalled-job recovery');
  assert.ok((st.byReplica.get(a.name) ?? 0) > 0 && (st.byReplica.get(b.name) ?? 0) > 0, 'both replicas did work');
  assert.ok(a.lines.some((l) => l.includes('stopping: finishing in-flight jobs')));
  assert.deepEqual(s.h.tp.errors, []);
  assert.deepEqual(await b.stop(), { code: 0, signal: null });
});

test('SIGTERM while the broker is down: in-flight jobs go back to the queue within SHUTDOWN_GRACE_MS; after a restart each acknowledged record arrives once', async (t) => {
  const broker = await ownBroker();
  cleanups.push(() => broker.stop());
  const s = await ttsSetup({ replicas: 0, mqttUrl: broker.url, env: { SHUTDOWN_GRACE_MS: '2000' } });
  cleanups.push(() => s.close());
  const a = await spawnService(s.h, { name: 'term-only', pluginPort: s.h.pluginPort });
  await synced(a, s.apId, 4);
  await broker.stop();
  const run = `d${uid(3)}`;
  const N = 150;
  const res = await stream(s, () => [a], run, N, 150);
  assert.equal(res.acked.size, N, 'webhooks are acknowledged once stored, broker or not');
  const q = queueOf(REDIS_URL, s.h.redisPrefix, 'uplink');
  cleanups.push(() => q.close());
  const before = await q.getJobCounts('active', 'waiting', 'delayed');
  assert.ok((before.active ?? 0) > 0, `jobs in flight, waiting for the broker: ${JSON.stringify(before)}`);

  const termAt = Date.now();
  a.kill('SIGTERM');
  const exit = await a.exited;
  const exitMs = Date.now() - termAt;
  assert.deepEqual(exit, { code: 0, signal: null }, a.lines.slice(-10).join('\n'));
  const afterExit = await q.getJobCounts('active', 'waiting', 'delayed', 'completed', 'failed');
  assert.equal(afterExit.active ?? 0, 0, `in-flight jobs handed back, not left to stall: ${JSON.stringify(afterExit)}`);
  assert.equal(afterExit.failed ?? 0, 0);
  assert.equal(seqsOf(s.h, run).length, 0, 'nothing published while the broker was down');

  await broker.start();
  const restartAt = Date.now();
  const a2 = await spawnService(s.h, { name: 'term-restarted', pluginPort: s.h.pluginPort });
  const arrivedAt = await settle(s, run, res.acked);
  const r = tally(res.acked, seqsOf(s.h, run));
  t.diagnostic(JSON.stringify({ records: N, jobs_in_flight_at_sigterm: before.active, exit_ms_after_sigterm: exitMs, shutdown_grace_ms: 2000, queue_after_exit: afterExit, all_arrived_ms_after_restart: arrivedAt - restartAt, duplicates: r.duplicates.length }));
  assert.ok(exitMs < 2000 + 8000, `exit bounded by SHUTDOWN_GRACE_MS (+ closing): ${exitMs} ms`);
  assert.deepEqual(r.missing, []);
  assert.deepEqual(r.duplicates, []);
  assert.deepEqual(s.h.tp.errors, []);
  assert.deepEqual(await a2.stop(), { code: 0, signal: null });
});
