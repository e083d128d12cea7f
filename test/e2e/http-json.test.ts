// Declarative REST/JSON connector end to end: discovery, polls mapped by JSONata, HMAC-signed webhooks with a
// replay window, and a command template — through Redis, the broker and the ThingsPanel simulator.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { simVoucher, startHttpJsonSim, type HttpJsonSim } from '../../connectors/http-json/simulator.js';
import { type Harness, startHarness, until } from '../helpers/harness.js';

let h: Harness;
let sim: HttpJsonSim;
let apId: string;
let rows: { id: string; device_number: string }[];
const secret = 'hmac-key-for-e2e-0123456789';
const hmac = { secret, timestampHeader: 'x-timestamp', signedPayload: '{timestamp}.{body}' };

before(async () => {
  sim = await startHttpJsonSim({ devices: 3, auth: { type: 'oauth2', clientId: 'cid', clientSecret: 'oauth-secret-xyz' }, pagination: 'cursor' });
  h = await startHarness({ connector: 'http-json' });
  const voucher = simVoucher(sim, {
    poll_interval_s: 5, webhook_auth: 'hmac', webhook_secret: secret, timestamp_header: 'x-timestamp', timestamp_window_s: 300,
    signed_payload: '{timestamp}.{body}', webhook_device_expr: 'device_id', webhook_telemetry_expr: 'readings',
  });
  apId = h.tp.createAccessPoint({ serviceIdentifier: h.si, name: 'generic cloud', voucher });
  const list = (await h.tp.fetchDeviceList(h.si, voucher, 1, 10)) as { code: number; message: string; data: { total: number; list: { device_number: string; device_name: string }[] } };
  assert.equal(list.code, 200, list.message);
  assert.equal(list.data.list.length, 3, 'all pages of the cursor-paginated list');
  const bound = await h.tp.bindDevices(apId, list.data.list.map((d) => ({ device_number: d.device_number, device_name: d.device_name })));
  rows = bound.map((r) => ({ id: r.id as string, device_number: r.device_number as string }));
  await until(() => h.services[0]!.rt.registry.get(apId)?.devices.size === 3, 10_000, 'sync');
});

after(async () => {
  await h?.close();
  await sim?.close();
});

test('polls map the vendor JSON to telemetry, attributes and status', async () => {
  for (const r of rows) {
    const t = await h.tp.waitFor((s) => s.telemetry.find((x) => x.deviceId === r.id && typeof x.values.temperature === 'number'), 20_000);
    assert.equal(typeof t.values.humidity, 'number');
  }
  await h.tp.waitFor((s) => s.attributes.find((a) => a.deviceId === rows[0]!.id && 'firmware' in a.values), 10_000);
  await h.tp.waitFor((s) => s.status.find((x) => x.deviceId === rows[0]!.id), 10_000);
  assert.deepEqual(h.tp.errors, []);
});

test('HMAC-signed webhook → telemetry; bad signature or a replay outside the window → 401 and nothing published', async () => {
  const url = `${h.services[0]!.webhookUrl}/webhooks/http-json/${apId}`;
  const ids = sim.devices.map((d) => d.id);
  const body = { device_id: ids[0], readings: { temperature: 99.5, humidity: 11 } };
  const ok = await sim.sendWebhook(url, body, hmac);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  await h.tp.waitFor((s) => s.telemetry.find((x) => x.values.temperature === 99.5), 10_000);
  const bad = await sim.sendWebhook(url, { ...body, readings: { temperature: -1, humidity: 0 } }, { ...hmac, secret: 'wrong' });
  assert.equal(bad.status, 401);
  const old = await sim.sendWebhook(url, { ...body, readings: { temperature: -2, humidity: 0 } }, { ...hmac, timestamp: Math.floor(Date.now() / 1000) - 3600 });
  assert.equal(old.status, 401);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(h.tp.telemetry.some((x) => x.values.temperature === -1 || x.values.temperature === -2), false);
});

test('command template → vendor call → success predicate → response', async () => {
  const mid = await h.tp.sendCommand(rows[1]!.id, { method: 'reboot', params: { delay: 5 } });
  const r = await h.tp.waitForResponse(mid, 15_000);
  assert.equal(r.result, 0, r.message);
  assert.ok(sim.commands.some((c) => c.method === 'reboot' || JSON.stringify(c.body).includes('reboot')));
  const logs = h.logs.join('');
  for (const s of [secret, 'oauth-secret-xyz']) assert.equal(logs.includes(s), false, 'secret in logs');
});
