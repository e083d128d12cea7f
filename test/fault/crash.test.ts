// Scenario 2 — process crash. Two service replicas run as separate OS processes on the same Redis, broker and
// ThingsPanel; webhooks go round robin to both (a request that fails is retried on the other, like a vendor retry
// behind a load balancer); one replica is SIGKILLed mid-stream. Every acknowledged record must reach ThingsPanel;
// the dead replica's in-flight jobs are recovered by the survivor (stalled-job check).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { MQTT_URL, REDIS_URL, uid, until } from '../helpers/harness.js';
import { dumpRedis, findSecrets, queueOf, tally, tcpProxy } from '../helpers/fault.js';
import { killAllServiceProcesses, spawnService } from '../helpers/service-process.js';
import { jobSeqs, seqsOf, settle, stalledJobs, stream, synced, ttsSetup } from '../helpers/tts-load.js';

// Short lock and stalled-check period so a dead replica's jobs come back within seconds (defaults: 30 s / 15 s).
const LOCK_MS = 4000;
const STALLED_MS = 1000;
const env = { WORKER_LOCK_DURATION_MS: String(LOCK_MS), WORKER_STALLED_INTERVAL_MS: String(STALLED_MS) };
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  await killAllServiceProcesses();
  for (const f of cleanups.reverse()) await f().catch(() => undefined);
});

test('SIGKILL of one of two replicas mid-stream: no acknowledged record lost; a record is published twice only if it was in flight in the killed process', async (t) => {
  const s = await ttsSetup({ replicas: 0, env });
  cleanups.push(() => s.close());
  const a = await spawnService(s.h, { name: 'crash-a', pluginPort: s.h.pluginPort });
  const b = await spawnService(s.h, { name: 'crash-b' });
  await Promise.all([synced(a, s.apId, 4), synced(b, s.apId, 4)]);

  const run = `r${uid(3)}`;
  const N = 600;
  let killedAt = 0;
  const res = await stream(s, () => [a, b], run, N, 100, {
    onSend: (i) => { if (i === 250 && !killedAt) { a.kill('SIGKILL'); killedAt = Date.now(); } },
  });
  assert.equal((await a.exited).signal, 'SIGKILL');
  assert.equal(res.acked.size, N, `every record acknowledged by some replica (non-2xx answers: ${JSON.stringify([...res.non2xx])})`);
  const arrivedAt = await settle(s, run, res.acked, { quietUntil: killedAt + LOCK_MS + 3 * STALLED_MS });
  const r = tally(res.acked, seqsOf(s.h, run));
  const st = await stalledJobs(s);
  t.diagnostic(JSON.stringify({
    records: N, stream_ms: res.ms, answers_retried_elsewhere: Object.fromEntries(res.non2xx), received: r.received, missing: r.missing.length,
    duplicates: r.duplicates, stalled_jobs_recovered: st.count, stalled_records: st.seqs.size, all_arrived_ms_after_kill: arrivedAt - killedAt,
  }));
  assert.deepEqual(r.missing, [], 'nothing acknowledged is lost');
  assert.deepEqual(r.unacked, []);
  const unexplained = r.duplicates.filter((d) => !st.seqs.has(d));
  assert.deepEqual(unexplained, [], 'duplicates only among records of jobs that were in flight in the killed replica');
  for (const by of st.finishedBy) assert.equal(by, b.name, 'stalled jobs were finished by the surviving replica');
  assert.deepEqual(s.h.tp.errors, []);
  // While at it: the webhook secret and the TTS API key (sent by TTS in X-Downlink-Apikey) never reach Redis or logs.
  const dump = await dumpRedis(REDIS_URL, s.h.redisPrefix);
  assert.deepEqual(findSecrets([s.secret, s.tts.apiKey], dump.map((d) => d.text), 'redis'), []);
  assert.deepEqual(findSecrets([s.secret, s.tts.apiKey], [...a.lines, ...b.lines], 'logs'), []);
  assert.equal((await b.stop()).code, 0);
});

test('SIGKILL of a replica whose jobs are stuck mid-publish (its broker link frozen): the survivor recovers them, each record published exactly once', async (t) => {
  const s = await ttsSetup({ replicas: 0, env });
  cleanups.push(() => s.close());
  const proxy = await tcpProxy(Number(new URL(MQTT_URL).port || 1883));
  cleanups.push(() => proxy.close());
  const a = await spawnService(s.h, { name: 'frozen-a', pluginPort: s.h.pluginPort, env: { TP_MQTT_URL: proxy.url('mqtt') } });
  const b = await spawnService(s.h, { name: 'frozen-b' });
  await Promise.all([synced(a, s.apId, 4), synced(b, s.apId, 4)]);
  // From now on A's PUBLISHes never reach the broker and no PUBACK comes back: its uplink jobs stay active.
  proxy.freeze();
  const run = `f${uid(3)}`;
  const N = 300;
  const { acked } = await stream(s, () => [a, b], run, N, 150);
  assert.equal(acked.size, N);
  // A holds jobs it cannot finish; B has published everything else.
  const q = queueOf(REDIS_URL, s.h.redisPrefix, 'uplink');
  cleanups.push(() => q.close());
  const held = await until(async () => {
    const mine = (await q.getJobs(['active'])).filter((j) => j?.processedBy === a.name);
    const c = await q.getJobCounts('waiting');
    return mine.length > 0 && (c.waiting ?? 0) === 0 && tally(acked, seqsOf(s.h, run)).missing.length === new Set(mine.flatMap((j) => jobSeqs(j.data))).size ? mine : null;
  }, 20_000, 'jobs stuck in the frozen replica, everything else published');
  const heldSeqs = new Set(held.flatMap((j) => jobSeqs(j.data)));
  const killedAt = Date.now();
  a.kill('SIGKILL');
  await a.exited;
  const arrivedAt = await settle(s, run, acked, { quietUntil: killedAt + LOCK_MS + 3 * STALLED_MS });
  const r = tally(acked, seqsOf(s.h, run));
  const st = await stalledJobs(s);
  t.diagnostic(JSON.stringify({ records: N, held_jobs: held.length, held_records: heldSeqs.size, all_arrived_ms_after_kill: arrivedAt - killedAt, duplicates: r.duplicates.length, lock_ms: LOCK_MS, stalled_interval_ms: STALLED_MS }));
  assert.deepEqual(r.missing, []);
  assert.deepEqual(r.duplicates, [], 'records the killed replica never got to the broker are published once');
  assert.ok(st.count >= held.length, `the held jobs were recovered as stalled (${st.count} of ${held.length})`);
  for (const by of st.finishedBy) assert.equal(by, b.name);
  assert.ok(arrivedAt - killedAt < LOCK_MS + 2 * STALLED_MS + 5000, `recovered within lockDuration + stalledInterval (+ slack): ${arrivedAt - killedAt} ms`);
  assert.deepEqual(s.h.tp.errors, []);
  assert.equal((await b.stop()).code, 0);
});
