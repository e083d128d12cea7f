// Scenario 8 — no tenant crossed. Two tenants (access points A and B) on the same service, each with its own
// ChirpStack (own API token, application and webhook secret), two replicas. A webhook authenticated as A that names
// B's device (or a device nobody bound) publishes nothing and is counted; A's secret opens nothing of B's; each
// tenant's vendor only ever sees that tenant's token; no secret reaches the logs, job data or any Redis key or value.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startChirpstackSim, type ChirpstackSim } from '../../connectors/chirpstack/simulator.js';
import { registry as metricsRegistry } from '../../src/core/metrics.js';
import { type Harness, REDIS_URL, startHarness, uid, until } from '../helpers/harness.js';
import { dumpRedis, findSecrets, metricValue } from '../helpers/fault.js';

let h: Harness;
let simA: ChirpstackSim;
let simB: ChirpstackSim;
const tokA = `tokA-${uid(12)}`;
const tokB = `tokB-${uid(12)}`;
const secA = `secA-${uid(12)}`;
const secB = `secB-${uid(12)}`;
let apA = '';
let apB = '';
let devA = '';
let devB = '';
const EUI = { a1: 'aa00000000000001', a2: 'aa00000000000002', b1: 'bb00000000000001' };
const hook = (ap: string) => `${h.services[0]!.webhookUrl}/webhooks/chirpstack/${ap}`;
const dropped = async (reason: string) => metricValue(await metricsRegistry.metrics(), 'tpcc_uplinks_dropped_total', { connector: 'chirpstack', reason });
/** Waits until the counter rose above `from` and then stayed put for half a second (one record → several messages). */
async function droppedSettled(reason: string, from: number): Promise<number> {
  let last = from;
  let since = Date.now();
  return until(async () => {
    const v = await dropped(reason);
    if (v !== last) { last = v; since = Date.now(); }
    return v > from && Date.now() - since > 500 ? v : 0;
  }, 15_000, `${reason} counted`);
}
const markersOf = (deviceId: string) => h.tp.telemetry.filter((t) => t.deviceId === deviceId).map((t) => t.values.marker);

before(async () => {
  simA = await startChirpstackSim({ token: tokA, applicationId: randomUUID(), devices: [{ devEui: EUI.a1, name: 'a1' }, { devEui: EUI.a2, name: 'a2 (never bound)' }] });
  simB = await startChirpstackSim({ token: tokB, applicationId: randomUUID(), devices: [{ devEui: EUI.b1, name: 'b1' }] });
  h = await startHarness({ connector: 'chirpstack', replicas: 2, env: { LOG_LEVEL: 'debug' } });
  apA = h.tp.createAccessPoint({ serviceIdentifier: h.si, name: 'tenant A', voucher: { api_url: simA.url, api_token: tokA, application_id: simA.applicationId, webhook_secret: secA } });
  apB = h.tp.createAccessPoint({ serviceIdentifier: h.si, name: 'tenant B', voucher: { api_url: simB.url, api_token: tokB, application_id: simB.applicationId, webhook_secret: secB } });
  // Discovery for both tenants (the device picker), then binding: a1 to A, b1 to B; a2 stays unbound.
  for (const [v, n] of [[{ api_url: simA.url, api_token: tokA, application_id: simA.applicationId, webhook_secret: secA }, 2], [{ api_url: simB.url, api_token: tokB, application_id: simB.applicationId, webhook_secret: secB }, 1]] as const) {
    const list = (await h.tp.fetchDeviceList(h.si, { ...v, auth_type: 'manual' }, 1, 10)) as { code: number; data: { list: unknown[] } };
    assert.equal(list.code, 200);
    assert.equal(list.data.list.length, n, 'each tenant discovers only its own devices');
  }
  devA = (await h.tp.bindDevices(apA, [{ device_number: `cs-${EUI.a1}`, device_name: 'a1' }]))[0]!.id as string;
  devB = (await h.tp.bindDevices(apB, [{ device_number: `cs-${EUI.b1}`, device_name: 'b1' }]))[0]!.id as string;
  for (const s of h.services) await until(() => s.rt.registry.get(apA)?.devices.size === 1 && s.rt.registry.get(apB)?.devices.size === 1, 10_000, 'synced');
});
after(async () => {
  await h?.close();
  await simA?.close();
  await simB?.close();
});

test("a webhook authenticated as tenant A naming tenant B's device, or an unbound device, publishes nothing and is counted", async (t) => {
  const unbound0 = await dropped('unbound_device');
  // Controls: each tenant's own device works.
  for (const [sim, ap, sec, eui, m] of [[simA, apA, secA, EUI.a1, 'A-own'], [simB, apB, secB, EUI.b1, 'B-own']] as const) {
    const r = await sim.sendEvent(hook(ap), 'up', await sim.eventBody('up', { devEui: eui, patch: { object: { marker: m } } }), { 'x-webhook-secret': sec });
    assert.equal(r.status, 200, r.body);
  }
  await h.tp.waitFor(() => markersOf(devA).includes('A-own') && markersOf(devB).includes('B-own'), 10_000);

  // 1. A's secret, A's application, B's device EUI: accepted as A's traffic, but B's device is not A's → dropped.
  const cross = await simA.sendEvent(hook(apA), 'up', await simA.eventBody('up', { devEui: EUI.b1, patch: { object: { marker: 'A-names-B' } } }), { 'x-webhook-secret': secA });
  assert.equal(cross.status, 200, cross.body);
  const afterCross = await droppedSettled('unbound_device', unbound0);
  // 2. A device of A's application that nobody bound.
  const unbound = await simA.sendEvent(hook(apA), 'up', await simA.eventBody('up', { devEui: EUI.a2, patch: { object: { marker: 'unbound' } } }), { 'x-webhook-secret': secA });
  assert.equal(unbound.status, 200, unbound.body);
  const afterUnbound = await droppedSettled('unbound_device', afterCross);
  // 3. B's own event (B's application) through A's URL and secret: refused, it is not A's application.
  const foreignApp = await simB.sendEvent(hook(apA), 'up', await simB.eventBody('up', { devEui: EUI.b1, patch: { object: { marker: 'B-app-via-A' } } }), { 'x-webhook-secret': secA });
  assert.equal(foreignApp.status, 400, foreignApp.body);
  // 4. A's secret on B's URL: refused.
  const wrongUrl = await simB.sendEvent(hook(apB), 'up', await simB.eventBody('up', { devEui: EUI.b1, patch: { object: { marker: 'A-secret-on-B' } } }), { 'x-webhook-secret': secA });
  assert.equal(wrongUrl.status, 401);
  // 5. B's secret on A's URL naming B's device: refused.
  const wrongUrl2 = await simA.sendEvent(hook(apA), 'up', await simA.eventBody('up', { devEui: EUI.b1, patch: { object: { marker: 'B-secret-on-A' } } }), { 'x-webhook-secret': secB });
  assert.equal(wrongUrl2.status, 401);

  await new Promise((r) => setTimeout(r, 1000));
  const everything = h.tp.telemetry.map((x) => x.values.marker);
  // (The counter counts platform messages: one ChirpStack up event normalises to several.)
  t.diagnostic(JSON.stringify({ unbound_device_messages_dropped: { cross_device: afterCross - unbound0, unbound: afterUnbound - afterCross }, answers: { cross_device: cross.status, unbound: unbound.status, foreign_application: foreignApp.status, a_secret_on_b_url: wrongUrl.status, b_secret_on_a_url: wrongUrl2.status } }));
  assert.deepEqual(markersOf(devB), ['B-own'], "nothing but B's own data on B's device");
  assert.deepEqual(markersOf(devA), ['A-own']);
  for (const m of ['A-names-B', 'unbound', 'B-app-via-A', 'A-secret-on-B', 'B-secret-on-A']) assert.ok(!everything.includes(m), `${m} published nowhere`);
  assert.equal(await dropped('unbound_device'), afterUnbound, 'the refused requests queued nothing');
  assert.deepEqual(h.tp.errors, []);
});

test("each tenant's vendor only ever sees that tenant's token (discovery and concurrent commands on two replicas)", async (t) => {
  const mids: string[] = [];
  for (let i = 0; i < 10; i++) {
    mids.push(await h.tp.sendCommand(i % 2 ? devB : devA, { method: 'raw', params: { data: 'AQID', fPort: 10 + i } }));
  }
  for (const m of mids) assert.equal((await h.tp.waitForResponse(m, 15_000)).result, 0);
  const authOf = (sim: ChirpstackSim) => [...new Set(sim.requests.map((r) => r.authorization ?? '(none)'))];
  t.diagnostic(JSON.stringify({ vendor_a_requests: simA.requests.length, vendor_b_requests: simB.requests.length, vendor_a_auth: authOf(simA).map((x) => x.slice(0, 12)), vendor_b_auth: authOf(simB).map((x) => x.slice(0, 12)) }));
  assert.ok(simA.requests.length >= 6 && simB.requests.length >= 6);
  assert.deepEqual(authOf(simA), [`Bearer ${tokA}`]);
  assert.deepEqual(authOf(simB), [`Bearer ${tokB}`]);
  const qA = [...simA.queue.keys()];
  const qB = [...simB.queue.keys()];
  assert.deepEqual(qA, [EUI.a1], "A's commands went to A's device on A's cloud");
  assert.deepEqual(qB, [EUI.b1]);
});

test('no secret in the logs, job data or any Redis key or value of the service', async () => {
  const secrets = [tokA, tokB, secA, secB];
  const dump = await dumpRedis(REDIS_URL, h.redisPrefix);
  assert.ok(dump.some((d) => d.key.includes(':uplink:')) && dump.some((d) => d.key.includes(':command:')), 'job data was scanned');
  assert.deepEqual(findSecrets(secrets, dump.map((d) => d.text), 'redis'), []);
  assert.deepEqual(findSecrets(secrets, h.logs, 'logs'), []);
  assert.ok(h.logs.length > 0, 'logs were captured (debug level)');
});
