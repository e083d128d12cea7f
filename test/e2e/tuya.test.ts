// Tuya Cloud end to end through the real pipeline: discovery, poll → telemetry and status, command round trip.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTuyaSim, type TuyaSim } from '../../connectors/tuya/simulator.js';
import { type Harness, startHarness } from '../helpers/harness.js';

let h: Harness;
let sim: TuyaSim;
let apId: string;
let rows: { id: string; device_number: string }[];

before(async () => {
  sim = await startTuyaSim();
  h = await startHarness({ connector: 'tuya' });
  const voucher = { endpoint: sim.url, access_id: sim.accessId, access_secret: sim.accessSecret, poll_interval_s: '5', only_changed: 'yes' };
  apId = h.tp.createAccessPoint({ serviceIdentifier: h.si, name: 'tuya tenant', voucher });
  const list = (await h.tp.fetchDeviceList(h.si, { ...voucher, auth_type: 'manual' }, 1, 10)) as { code: number; message: string; data: { list: { device_number: string; device_name: string }[] } };
  assert.equal(list.code, 200, list.message);
  assert.ok(list.data.list.length >= 1);
  const bound = await h.tp.bindDevices(apId, list.data.list.map((d) => ({ device_number: d.device_number, device_name: d.device_name })));
  rows = bound.map((r) => ({ id: r.id as string, device_number: r.device_number as string }));
});

after(async () => {
  await h?.close();
  await sim?.close();
});

test('polls publish Tuya data points as telemetry, details as attributes, online flag as status', async () => {
  const dev = rows[0]!;
  const tel = await h.tp.waitFor((s) => s.telemetry.find((t) => t.deviceId === dev.id && 'switch_led' in t.values), 20_000);
  assert.equal(tel.values.switch_led, true);
  assert.deepEqual(tel.values.colour_data, { h: 37, s: 255, v: 189 });
  await h.tp.waitFor((s) => s.status.find((st) => st.deviceId === dev.id), 10_000);
  const attrs = await h.tp.waitFor((s) => s.attributes.find((a) => a.deviceId === dev.id), 10_000);
  assert.equal('local_key' in attrs.values, false, 'local_key is a secret and never published');
  assert.deepEqual(h.tp.errors, []);
});

test('command → Tuya commands API → response', async () => {
  const dev = rows[0]!;
  const mid = await h.tp.sendCommand(dev.id, { method: 'switch_led', params: false });
  const r = await h.tp.waitForResponse(mid, 15_000);
  assert.equal(r.result, 0, r.message);
  assert.ok(sim.commands.some((c) => c.commands.some((x) => x.code === 'switch_led' && x.value === false)));
  const logs = h.logs.join('');
  assert.equal(logs.includes(sim.accessSecret), false, 'access secret never logged');
});
