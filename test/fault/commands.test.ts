// Scenario 12 — commands under failure. A command whose vendor call times out is answered result 1 once and not
// repeated (COMMAND_ATTEMPTS notwithstanding); a command whose replica dies mid-call is taken over by another
// replica, which finds the at-most-once marker and answers result 1 "not repeated" instead of calling the vendor again.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startChirpstackSim } from '../../connectors/chirpstack/simulator.js';
import { REDIS_URL, startHarness, uid, until } from '../helpers/harness.js';
import { queueOf } from '../helpers/fault.js';
import { startFakeVendor, tenantConnector } from '../helpers/poll-connector.js';
import { killAllServiceProcesses, spawnService } from '../helpers/service-process.js';
import { synced } from '../helpers/tts-load.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  await killAllServiceProcesses();
  for (const f of cleanups.reverse()) await f().catch(() => undefined);
});

test('vendor call times out: answered result 1 once, the vendor called once although the job may be attempted 3 times', async (t) => {
  const vendor = await startFakeVendor();
  cleanups.push(() => vendor.close());
  const h = await startHarness({
    connector: 'tenant-test', connectors: { 'tenant-test': tenantConnector(vendor.url, { intervalMs: 60_000, commandTimeoutMs: 800 }) },
    replicas: 2, env: { COMMAND_ATTEMPTS: '3', LOG_LEVEL: 'info' },
  });
  cleanups.push(() => h.close());
  const ap = h.tp.createAccessPoint({ serviceIdentifier: h.si, name: 'slow', voucher: { tenant: 'slow' } });
  const [dev] = await h.tp.bindDevices(ap, [{ device_number: 'tn-d-slow', device_name: 'slow' }]);
  for (const s of h.services) await until(() => s.rt.registry.get(ap)?.devices.size === 1, 10_000, 'synced');
  vendor.answer = () => ({ status: 200, delayMs: 2500 });
  const t0 = Date.now();
  const mid = await h.tp.sendCommand(dev!.id as string, { method: 'open_valve', params: { pct: 40 } });
  const r = await h.tp.waitForResponse(mid, 10_000);
  const answeredMs = Date.now() - t0;
  assert.equal(r.result, 1);
  assert.match(String(r.message), /ECONNABORTED|ETIMEDOUT|timeout/i);
  // Past the vendor's late answer and any retry backoff: still one call, one response.
  await new Promise((res) => setTimeout(res, 3500));
  const calls = vendor.calls.get(mid) ?? 0;
  const responses = h.tp.commandResponses.filter((x) => x.messageId === mid).length;
  t.diagnostic(JSON.stringify({ vendor_timeout_ms: 800, answered_ms: answeredMs, vendor_calls: calls, responses, message: r.message }));
  assert.equal(calls, 1, 'not repeated');
  assert.equal(responses, 1, 'answered once');
  vendor.answer = () => ({ status: 200 });
  const ok = await h.tp.sendCommand(dev!.id as string, { method: 'open_valve', params: { pct: 10 } });
  assert.equal((await h.tp.waitForResponse(ok, 10_000)).result, 0, 'the next command goes through');
});

test('replica SIGKILLed while its vendor call hangs: the other replica answers result 1 "not repeated", the vendor saw one call', async (t) => {
  const LOCK_MS = 4000;
  const STALLED_MS = 1000;
  const sim = await startChirpstackSim();
  cleanups.push(() => sim.close());
  const h = await startHarness({ connector: 'chirpstack', replicas: 0, env: { WORKER_LOCK_DURATION_MS: String(LOCK_MS), WORKER_STALLED_INTERVAL_MS: String(STALLED_MS), LOG_LEVEL: 'info' } });
  cleanups.push(() => h.close());
  const voucher = { api_url: sim.url, api_token: sim.token, application_id: sim.applicationId, webhook_secret: `cs-${uid(8)}` };
  const ap = h.tp.createAccessPoint({ serviceIdentifier: h.si, name: 'lns', voucher });
  const eui = sim.devices[0]!.devEui;
  const [dev] = await h.tp.bindDevices(ap, [{ device_number: `cs-${eui}`, device_name: 'd0' }]);
  const a = await spawnService(h, { name: 'cmd-a', pluginPort: h.pluginPort });
  const b = await spawnService(h, { name: 'cmd-b' });
  await Promise.all([synced(a, ap, 1), synced(b, ap, 1)]);
  const enqueues = () => sim.requests.filter((r) => r.method === 'POST' && r.path === `/api/devices/${eui}/queue`).length;

  sim.setFault('timeout', { times: 1 });
  const mid = await h.tp.sendCommand(dev!.id as string, { method: 'raw', params: { data: 'AQID', fPort: 10 } });
  await until(() => enqueues() === 1, 15_000, 'vendor call in flight');
  const q = queueOf(REDIS_URL, h.redisPrefix, 'command');
  cleanups.push(() => q.close());
  const job = await until(async () => (await q.getJobs(['active'])).find((j) => j?.data?.messageId === mid), 5000, 'active command job');
  const victim = job.processedBy === a.name ? a : b;
  const survivor = victim === a ? b : a;
  const killedAt = Date.now();
  victim.kill('SIGKILL');
  await victim.exited;
  const r = await h.tp.waitForResponse(mid, LOCK_MS + 10 * STALLED_MS + 10_000);
  const answeredMs = Date.now() - killedAt;
  assert.equal(r.result, 1);
  assert.match(String(r.message), /not repeated/);
  await new Promise((res) => setTimeout(res, 2 * STALLED_MS + 500));
  const finished = await q.getJob(job.id!);
  t.diagnostic(JSON.stringify({ killed: victim.name, answered_by: finished?.processedBy, answered_ms_after_kill: answeredMs, vendor_calls: enqueues(), responses: h.tp.commandResponses.filter((x) => x.messageId === mid).length, message: r.message }));
  assert.equal(enqueues(), 1, 'the vendor call was not repeated');
  assert.equal(h.tp.commandResponses.filter((x) => x.messageId === mid).length, 1, 'answered once');
  assert.equal(finished?.processedBy, survivor.name);
  // The survivor keeps working.
  const next = await h.tp.sendCommand(dev!.id as string, { method: 'raw', params: { data: 'BAUG', fPort: 10 } });
  assert.equal((await h.tp.waitForResponse(next, 10_000)).result, 0);
  assert.equal(enqueues(), 2);
  assert.deepEqual(await survivor.stop(), { code: 0, signal: null });
});
