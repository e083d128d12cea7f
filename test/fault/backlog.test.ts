// The buffer bound (BACKLOG_MAX_JOBS): when that many uplink jobs wait (the broker or the workers cannot keep up),
// webhooks are refused with 503 + Retry-After instead of growing Redis without bound; nothing already acknowledged is
// dropped, and the refused records are accepted once the backlog drains (the vendor's retry).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { registry as metricsRegistry } from '../../src/core/metrics.js';
import { REDIS_URL, uid, until } from '../helpers/harness.js';
import { metricValue, queueOf, tally } from '../helpers/fault.js';
import { seqsOf, settle, stream, ttsSetup } from '../helpers/tts-load.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => { for (const f of cleanups.reverse()) await f().catch(() => undefined); });

test('BACKLOG_MAX_JOBS reached: further webhooks get 503 with Retry-After, acknowledged records all arrive, refused ones are taken after the drain', async (t) => {
  const MAX = 100;
  const s = await ttsSetup({ env: { BACKLOG_MAX_JOBS: String(MAX) } });
  cleanups.push(() => s.close());
  const svc = s.h.services[0]!;
  const q = queueOf(REDIS_URL, s.h.redisPrefix, 'uplink');
  cleanups.push(() => q.close());
  // The operator pauses the uplink queue (or the broker is away): jobs pile up.
  await q.pause();
  const dropped0 = metricValue(await metricsRegistry.metrics(), 'tpcc_uplinks_dropped_total', { reason: 'backlog_full' });
  const run = `b${uid(3)}`;
  const N = 300;
  const RATE = 50;
  const refusedStatuses: number[] = [];
  const first = await stream(s, () => [{ name: 'in-process', webhookUrl: svc.webhookUrl, alive: true }], run, N, RATE, {
    attempts: 1,
    status: (_seq, status) => { if (status !== 200) refusedStatuses.push(status); },
  });
  const queued = await q.count();
  // A 503 as the vendor sees it.
  const probe = await fetch(`${svc.webhookUrl}/webhooks/the-things-stack/${s.apId}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-secret': s.secret }, body: JSON.stringify(s.tts.uplinkBody('dev1', { run: 'probe', seq: -1 })) });
  assert.equal(probe.status, 503);
  assert.equal(probe.headers.get('retry-after'), '5');
  assert.match(await probe.text(), /backlog full/);
  const dropped = metricValue(await metricsRegistry.metrics(), 'tpcc_uplinks_dropped_total', { reason: 'backlog_full' }) - dropped0;

  await q.resume();
  await settle(s, run, first.acked);
  // The vendor retries what was refused; accepted once the backlog (re-read at most once a second) is below the bound.
  const refusedSeqs = [...first.refused];
  await until(async () => {
    const r = await s.tts.deliver(`${svc.webhookUrl}/webhooks/the-things-stack/${s.apId}`, s.tts.uplinkBody('dev1', { run: 'probe2', seq: -2 }), { 'x-webhook-secret': s.secret });
    return r.status === 200;
  }, 10_000, 'accepting again');
  const second = await stream(s, () => [{ name: 'in-process', webhookUrl: svc.webhookUrl, alive: true }], `${run}r`, refusedSeqs.length, RATE, { attempts: 1 });
  const all = new Set([...first.acked]);
  await settle(s, `${run}r`, second.acked);
  const r1 = tally(all, seqsOf(s.h, run));
  t.diagnostic(JSON.stringify({ backlog_max_jobs: MAX, sent: N, rate_per_s: RATE, accepted: first.acked.size, refused_503: first.refused.length, jobs_queued_at_peak: queued, backlog_full_counter: dropped, retried_later_accepted: second.acked.size, missing: r1.missing.length, duplicates: r1.duplicates.length }));
  assert.ok(first.acked.size >= MAX, `at least BACKLOG_MAX_JOBS accepted (${first.acked.size})`);
  // The bound counts jobs (a job holds the records of the requests of one event-loop turn), re-read once a second.
  assert.ok(queued <= MAX + RATE * 2, `the bound holds within its one-second re-check (${queued} jobs for ${first.acked.size} records)`);
  assert.equal(first.acked.size + first.refused.length, N);
  assert.ok(first.refused.length > 0);
  assert.deepEqual([...new Set(refusedStatuses)], [503], 'refused with 503 only');
  assert.ok(dropped >= first.refused.length, 'counted as dropped: backlog_full');
  assert.deepEqual(r1.missing, [], 'nothing acknowledged is dropped');
  assert.deepEqual(r1.duplicates, []);
  assert.deepEqual(r1.unacked, [], 'refused records were not stored');
  assert.equal(second.acked.size, refusedSeqs.length, 'the retried records are accepted after the drain');
  assert.deepEqual(s.h.tp.errors, []);
});
