// Scenario 10 — scale-out. Three replicas on one Redis and broker: each access point's poll runs once per interval
// (not once per replica), never overlapping; each platform command reaches the vendor once and is answered once; the
// work (polls, uplinks, commands) is spread over the replicas (BullMQ records the worker name, REPLICA_ID, on each job).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Harness, REDIS_URL, startHarness, until } from '../helpers/harness.js';
import { jobsOf, queueOf, tally } from '../helpers/fault.js';
import { type FakeVendor, startFakeVendor, tenantConnector } from '../helpers/poll-connector.js';

const INTERVAL_MS = 500;
const TENANTS = ['s0', 's1', 's2', 's3', 's4', 's5'];
let h: Harness;
let vendor: FakeVendor;
const aps = new Map<string, string>();

before(async () => {
  vendor = await startFakeVendor();
  h = await startHarness({ connector: 'tenant-test', connectors: { 'tenant-test': tenantConnector(vendor.url, { intervalMs: INTERVAL_MS }) }, replicas: 3, env: { LOG_LEVEL: 'info' } });
  for (const t of TENANTS) {
    const id = h.tp.createAccessPoint({ serviceIdentifier: h.si, name: t, voucher: { tenant: t } });
    aps.set(t, id);
    await h.tp.bindDevices(id, [{ device_number: `tn-d-${t}`, device_name: t }]);
  }
  for (const s of h.services) await until(() => TENANTS.every((t) => s.rt.registry.get(aps.get(t)!)?.devices.size === 1), 10_000, 'all replicas synced');
});
after(async () => {
  await h?.close();
  await vendor?.close();
});

const byProcessor = (jobs: { processedBy?: string }[]) => {
  const m = new Map<string, number>();
  for (const j of jobs) m.set(j.processedBy ?? '?', (m.get(j.processedBy ?? '?') ?? 0) + 1);
  return m;
};

test('three replicas: each access point is polled once per interval, never concurrently; polls and uplinks spread over the replicas', async (t) => {
  assert.equal(h.services.length, 3);
  const names = new Set(h.services.map((s) => s.replicaId));
  assert.equal(names.size, 3, 'each replica has its own name');
  await until(() => TENANTS.every((x) => (vendor.calls.get(x) ?? 0) >= 2), 15_000, 'every tenant polled');
  const at = new Map(TENANTS.map((x) => [x, vendor.calls.get(x) ?? 0]));
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, 4000));
  const windowMs = Date.now() - t0;
  const perTenant = TENANTS.map((x) => (vendor.calls.get(x) ?? 0) - at.get(x)!);
  const expected = windowMs / INTERVAL_MS;
  for (const [i, n] of perTenant.entries()) {
    assert.ok(n <= expected + 2, `${TENANTS[i]}: ${n} polls in ${windowMs} ms at one per ${INTERVAL_MS} ms — not one per replica`);
    assert.ok(n >= 2, `${TENANTS[i]} kept its schedule (${n} polls)`);
    assert.equal(vendor.maxInFlight.get(TENANTS[i]!), 1, 'never two polls of one access point at once');
  }
  // Every polled record published once, none missing (cursor n is consecutive per tenant).
  await new Promise((r) => setTimeout(r, 1000));
  for (const x of TENANTS) {
    const ns = h.tp.telemetry.filter((m) => m.values.tenant === x).map((m) => m.values.n as number);
    const max = Math.max(...ns);
    const r = tally(Array.from({ length: max }, (_, i) => i + 1), ns);
    assert.deepEqual({ missing: r.missing, duplicates: r.duplicates }, { missing: [], duplicates: [] }, `tenant ${x}`);
  }
  const pq = queueOf(REDIS_URL, h.redisPrefix, 'poll');
  const uq = queueOf(REDIS_URL, h.redisPrefix, 'uplink');
  try {
    const polls = byProcessor(await jobsOf(pq, ['completed']));
    const uplinks = byProcessor(await jobsOf(uq, ['completed']));
    t.diagnostic(JSON.stringify({ replicas: 3, access_points: TENANTS.length, interval_ms: INTERVAL_MS, window_ms: windowMs, polls_per_access_point_in_window: perTenant, expected_per_access_point: Math.round(expected), poll_jobs_by_replica: Object.fromEntries(polls), uplink_jobs_by_replica: Object.fromEntries(uplinks) }));
    assert.ok([...polls.keys()].every((k) => names.has(k)));
    assert.ok(polls.size >= 2, `polls ran on more than one replica: ${JSON.stringify([...polls])}`);
    assert.ok(uplinks.size >= 2, `uplinks ran on more than one replica: ${JSON.stringify([...uplinks])}`);
  } finally {
    await pq.close();
    await uq.close();
  }
  assert.deepEqual(h.tp.errors, []);
});

test('three replicas all receive each platform command (non-shared subscription): the vendor is called once per command, one response each', async (t) => {
  const mids: string[] = [];
  for (let round = 0; round < 5; round++) {
    for (const x of TENANTS) {
      const dev = h.tp.deviceByNumber(`tn-d-${x}`)!;
      mids.push(await h.tp.sendCommand(dev.id, { method: 'set', params: { round } }));
    }
  }
  for (const mid of mids) assert.equal((await h.tp.waitForResponse(mid, 15_000)).result, 0);
  await new Promise((r) => setTimeout(r, 1000));
  const calls = mids.map((m) => vendor.calls.get(m) ?? 0);
  const responses = mids.map((m) => h.tp.commandResponses.filter((r) => r.messageId === m).length);
  assert.deepEqual(calls, mids.map(() => 1), 'one vendor call per command');
  assert.deepEqual(responses, mids.map(() => 1), 'one response per command');
  const cq = queueOf(REDIS_URL, h.redisPrefix, 'command');
  try {
    const jobs = await jobsOf(cq, ['completed']);
    const by = byProcessor(jobs);
    t.diagnostic(JSON.stringify({ commands: mids.length, vendor_calls: calls.reduce((a, b) => a + b, 0), responses: responses.reduce((a, b) => a + b, 0), command_jobs: jobs.length, command_jobs_by_replica: Object.fromEntries(by) }));
    assert.equal(jobs.length, mids.length, 'one job per command although three replicas queued it');
    assert.ok(by.size >= 2, `commands ran on more than one replica: ${JSON.stringify([...by])}`);
  } finally {
    await cq.close();
  }
});
