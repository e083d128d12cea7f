// Tuya connector assembly: discovery paging, commands end to end, simulator defaults.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { deviceNumber } from '../../../src/util/ids.js';
import { tuya } from '../../../connectors/tuya/index.js';
import { VENDOR_PAGE_SIZE } from '../../../connectors/tuya/discovery.js';
import { startTuyaSim, type SimDevice, type TuyaSim } from '../../../connectors/tuya/simulator.js';
import { fixtureDevices, simCtx } from './helpers.js';

let sim: TuyaSim;
before(async () => { sim = await startTuyaSim({ devices: await fixtureDevices() }); });
after(() => sim.close());

test('connector assembly', () => {
  assert.equal(tuya.id, 'tuya');
  assert.equal(tuya.deviceNumberPrefix, 'tuya');
  const cred = tuya.voucherSchema.parse({ endpoint: 'https://openapi.tuyaeu.com', access_id: 'a', access_secret: 'b', poll_interval_s: 30, offline_timeout_s: '900' });
  assert.equal(tuya.deviceScope(cred), '');
  assert.equal(tuya.poll!.intervalMs(cred), 30_000);
  assert.equal(tuya.offlineTimeoutS!(cred), 900);
  assert.ok(tuya.limits.requestsPerSecond > 0 && tuya.limits.burst >= tuya.limits.requestsPerSecond);
  assert.equal(tuya.webhook, undefined);
  const n = deviceNumber(tuya.deviceNumberPrefix, '', '747b2165d9449964****');
  assert.ok(n.length <= 36 && n.startsWith('tuya-'));
});

test('listDevices: platform pages over Tuya cursor pages, names and descriptions', async () => {
  const ctx = simCtx(sim);
  const all = await tuya.listDevices(ctx, { page: 1, pageSize: 10 });
  assert.equal(all.total, 2);
  assert.deepEqual(all.items.map((d) => d.name).sort(), ['WiFi智能音箱 SS190', '体脂秤'].sort());
  assert.deepEqual(all.items.find((d) => d.name === '体脂秤'), { externalId: '60613135b121cddc294****', name: '体脂秤', description: 'Wifi scales_OEM / qt' });
  const p2 = await tuya.listDevices(ctx, { page: 2, pageSize: 1 });
  assert.equal(p2.items.length, 1);
  assert.equal((await tuya.listDevices(ctx, { page: 3, pageSize: 1 })).items.length, 0);
});

test('listDevices: deep pages across several vendor pages, remembered cursors, app-account filter', async () => {
  const base = (await fixtureDevices())[1]!;
  const many: SimDevice[] = Array.from({ length: 3 * VENDOR_PAGE_SIZE + 5 }, (_, i) => ({
    detail: { ...base.detail, id: `dev-${String(i).padStart(3, '0')}`, uid: i % 2 ? 'odd-user' : 'even-user' },
    status: [],
  }));
  const s = await startTuyaSim({ devices: many });
  try {
    const ctx = simCtx(s);
    const page3 = await tuya.listDevices(ctx, { page: 3, pageSize: 25 });
    assert.equal(page3.total, 65);
    assert.deepEqual(page3.items.map((d) => d.externalId), Array.from({ length: 15 }, (_, i) => `dev-${String(50 + i).padStart(3, '0')}`));
    const before = s.stats.calls;
    const again = await tuya.listDevices(ctx, { page: 3, pageSize: 25 });
    assert.deepEqual(again, page3);
    assert.ok(s.stats.calls - before < 4, 'cursor of the starting vendor page is remembered');
    const odd = simCtx(s, { extra: { app_uid: 'odd-user' } });
    const r = await tuya.listDevices(odd, { page: 1, pageSize: 100 });
    assert.equal(r.total, 32);
    assert.equal(r.items.length, 32);
  } finally {
    await s.close();
  }
});

test('executeCommand: mapped, sent, answered; rejections become ok:false, auth errors propagate', async () => {
  const ctx = simCtx(sim);
  const id = '747b2165d9449964****';
  const ok = await tuya.executeCommand!(ctx, { kind: 'command', device: id, method: 'switch_led', params: false, messageId: 'm1' });
  assert.equal(ok.ok, true);
  assert.match(ok.reference ?? '', /^[0-9a-f]{32}$/);
  assert.deepEqual(sim.commands.at(-1), { deviceId: id, commands: [{ code: 'switch_led', value: false }], t: sim.commands.at(-1)!.t });
  assert.equal(sim.devices.get(id)!.status.find((s) => s.code === 'switch_led')!.value, false);
  const set = await tuya.executeCommand!(ctx, { kind: 'attributes_set', device: id, method: '', params: { colour_data: '{"h":1,"s":2,"v":3}' }, messageId: 'm2' });
  assert.equal(set.ok, true);
  const bad = await tuya.executeCommand!(ctx, { kind: 'command', device: id, method: 'switch_led', params: null, messageId: 'm3' });
  assert.equal(bad.ok, false);
  const unknown = await tuya.executeCommand!(ctx, { kind: 'command', device: id, method: 'no_such_dp', params: 1, messageId: 'm4' });
  assert.deepEqual(unknown, { ok: false, message: 'Tuya command: Tuya 1103 commands issue error' });
  const wrong = simCtx(sim, { extra: { access_secret: 'nope' } });
  await assert.rejects(tuya.executeCommand!(wrong, { kind: 'command', device: id, method: 'switch_led', params: true, messageId: 'm5' }), { kind: 'auth' });
});

test('simulator defaults equal the fixture-built devices', async () => {
  const s = await startTuyaSim();
  try {
    assert.deepEqual([...s.devices.values()], await fixtureDevices());
  } finally {
    await s.close();
  }
});
