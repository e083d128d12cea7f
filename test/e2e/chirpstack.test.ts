// ChirpStack v4 end to end through the real pipeline: discovery, up event → telemetry, duplicate delivery
// published once, command → device queue → response.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startChirpstackSim, type ChirpstackSim } from '../../connectors/chirpstack/simulator.js';
import { type Harness, startHarness, until } from '../helpers/harness.js';

let h: Harness;
let sim: ChirpstackSim;
let apId: string;
let hook: string;
const secret = 'chirpstack-e2e-secret-0123456789';
let rows: { id: string; device_number: string }[];

before(async () => {
  sim = await startChirpstackSim();
  h = await startHarness({ connector: 'chirpstack', notificationPath: '/api/v1/notify/event' });
  const voucher = { api_url: sim.url, api_token: sim.token, application_id: sim.applicationId, webhook_secret: secret };
  apId = h.tp.createAccessPoint({ serviceIdentifier: h.si, name: 'lns tenant', voucher });
  const list = (await h.tp.fetchDeviceList(h.si, { ...voucher, auth_type: 'manual' }, 1, 10)) as { code: number; message: string; data: { list: { device_number: string; device_name: string }[] } };
  assert.equal(list.code, 200, list.message);
  const bound = await h.tp.bindDevices(apId, list.data.list.map((d) => ({ device_number: d.device_number, device_name: d.device_name })));
  rows = bound.map((r) => ({ id: r.id as string, device_number: r.device_number as string }));
  await until(() => h.services[0]!.rt.registry.get(apId)?.devices.size === rows.length, 10_000, 'sync after /api/v1/notify/event');
  hook = `${h.services[0]!.webhookUrl}/webhooks/chirpstack/${apId}`;
});

after(async () => {
  await h?.close();
  await sim?.close();
});

test('up event → telemetry from the codec object; a repeated delivery is published once', async () => {
  const devEui = sim.devices[0]!.devEui;
  const body = await sim.eventBody('up', { devEui, patch: { object: { temperature: 19.25, counter: 4242 } } });
  for (let i = 0; i < 2; i++) {
    const r = await sim.sendEvent(hook, 'up', body, { 'x-webhook-secret': secret });
    assert.equal(r.status, 200, r.body);
  }
  const tel = await h.tp.waitFor((s) => s.telemetry.find((t) => t.values.counter === 4242), 10_000);
  assert.equal(tel.values.temperature, 19.25);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(h.tp.telemetry.filter((t) => t.values.counter === 4242).length, 1);
  assert.deepEqual(h.tp.errors, []);
});

test('join, status and log events arrive as events; unknown events are ignored, not errors', async () => {
  for (const ev of ['join', 'status', 'log']) assert.equal((await sim.sendEvent(hook, ev, undefined, { 'x-webhook-secret': secret })).status, 200, ev);
  await h.tp.waitFor((s) => s.events.find((e) => e.method === 'join'), 10_000);
  const r = await sim.sendEvent(hook, 'integration', undefined, { 'x-webhook-secret': secret });
  assert.equal(r.status, 200);
  assert.match(r.body, /ignored/);
  const bad = await sim.sendEvent(hook, 'up', Buffer.from([0x0a, 0xff, 0x01]), { 'x-webhook-secret': secret, 'content-type': 'application/octet-stream' });
  assert.equal(bad.status, 415, bad.body);
});

test('command → ChirpStack device queue → response', async () => {
  const dev = rows[0]!;
  const mid = await h.tp.sendCommand(dev.id, { method: 'raw', params: { data: 'AQID', fPort: 10 } });
  const r = await h.tp.waitForResponse(mid, 10_000);
  assert.equal(r.result, 0, r.message);
  const queued = [...sim.queue.values()].flat();
  assert.ok(queued.some((q) => JSON.stringify(q).includes('AQID')));
});
