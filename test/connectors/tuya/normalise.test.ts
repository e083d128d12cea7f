// Tuya normalise over the vendor fixtures, and its failure modes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PayloadError } from '../../../src/core/errors.js';
import type { JsonObject, JsonValue, RawRecord } from '../../../src/core/messages.js';
import { decodeValue, normalise, pickDetail } from '../../../connectors/tuya/normalise.js';
import { fixture } from '../../helpers/ctx.js';

const meta = { accessPointId: 'ap', receivedAt: 1_700_000_000_000 };
const rec = (type: string, body: JsonValue): RawRecord => ({ key: 'k', type, body });

test('status fixture → telemetry; JSON-string values become objects; empty string kept; ts = answer t', async () => {
  const f = (await fixture('tuya/openapi-iot03-device-status.response.json')) as { t: number; result: JsonValue[] };
  const msgs = normalise(rec('status', { id: 'mock-id', t: f.t, status: f.result }), meta);
  assert.equal(msgs.length, 1);
  const m = msgs[0]!;
  assert.equal(m.kind, 'telemetry');
  assert.equal(m.device, 'mock-id');
  assert.equal(m.ts, 1545447665981);
  assert.ok(m.kind === 'telemetry');
  assert.equal(m.values.switch_led, true);
  assert.deepEqual(m.values.colour_data, { h: 37, s: 255, v: 189 });
  assert.equal(m.values.flash_scene_3, '');
  const scene = m.values.flash_scene_4 as JsonObject;
  assert.equal(scene.bright, 255);
  assert.equal((scene.hsv as JsonValue[]).length, 6);
});

test('MQ protocol-4 status report fixture → telemetry at the item time; dpId keys ignored', async () => {
  const f = (await fixture('tuya/mq-data-protocol4-status-report.json')) as JsonObject;
  const msgs = normalise(rec('mq-status', f), meta);
  assert.deepEqual(msgs, [{ kind: 'telemetry', device: '6c95a93fd9xxx***', values: { switch_1: false }, ts: 1628229842692 }]);
});

test('device detail fixture → attributes, never local_key, epoch seconds as ISO time', async () => {
  const f = (await fixture('tuya/openapi-iot03-device-detail.response.json')) as { result: JsonObject };
  const [m, ...rest] = normalise(rec('detail', { device: f.result }), meta);
  assert.equal(rest.length, 0);
  assert.ok(m && m.kind === 'attributes');
  assert.equal(m.device, '60613135b121cddc294****');
  assert.equal(m.ts, undefined);
  assert.deepEqual(m.values, {
    name: '体脂秤', product_name: 'Wifi scales_OEM', product_id: 'g0er6hSKgMqr****', category: 'qt', uuid: '60613135b23cddc294****',
    ip: '120.198.****.****', time_zone: '+08:00', icon: 'smart/icon/15402589135gknz23xajb_0.png', sub: false,
    active_time: '2020-05-15T01:25:38.000Z', create_time: '2019-06-18T03:05:37.000Z',
  });
  assert.ok(!JSON.stringify(m).includes('3a9b50126fe473'));
});

test('device list fixture → online status message and attributes via pickDetail (which drops local_key)', async () => {
  const f = (await fixture('tuya/openapi-iot03-device-list.response.json')) as { t: number; result: { devices: JsonObject[] } };
  const d = f.result.devices[0]!;
  assert.deepEqual(normalise(rec('online', { id: d.id!, online: d.online!, t: f.t }), meta), [{ kind: 'status', device: '747b2165d9449964****', online: false, ts: 1586741851210 }]);
  const picked = pickDetail(d);
  assert.equal('local_key' in picked, false);
  assert.equal('update_time' in picked, false);
  const [m] = normalise(rec('detail', { t: f.t, device: { id: d.id!, ...picked } }), meta);
  assert.ok(m && m.kind === 'attributes');
  assert.equal(m.values.model, 'SS190');
  assert.equal(m.values.name, 'WiFi智能音箱 SS190');
  assert.equal(m.ts, 1586741851210);
});

test('malformed input → PayloadError; odd items skipped', () => {
  assert.throws(() => normalise(rec('uplink', {}), meta), PayloadError);
  assert.throws(() => normalise(rec('__proto__', {}), meta), PayloadError);
  assert.throws(() => normalise(rec('status', [1]), meta), PayloadError);
  assert.throws(() => normalise(rec('status', { status: [] }), meta), PayloadError);
  assert.throws(() => normalise(rec('status', { id: 'd', status: 'x' }), meta), PayloadError);
  assert.throws(() => normalise(rec('online', { id: 'd', online: 'true' }), meta), PayloadError);
  assert.throws(() => normalise(rec('detail', { device: 'x' }), meta), PayloadError);
  assert.deepEqual(normalise(rec('status', { id: 'd', status: [null, { code: 1 }, { code: 'a' }, { code: 'b', value: 2 }] }), meta), [{ kind: 'telemetry', device: 'd', values: { b: 2 } }]);
  assert.deepEqual(normalise(rec('status', { id: 'd', status: [] }), meta), []);
});

test('a data point named __proto__ stays plain data', () => {
  const [m] = normalise(rec('status', { id: 'd', status: [{ code: '__proto__', value: '{"polluted":true}' }] }), meta);
  assert.ok(m && m.kind === 'telemetry');
  assert.equal(Object.getPrototypeOf(m.values), Object.prototype);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.deepEqual(JSON.parse(JSON.stringify(m.values)), JSON.parse('{"__proto__":{"polluted":true}}'));
});

test('decodeValue parses only JSON objects and arrays', () => {
  assert.deepEqual(decodeValue('[1,2]'), [1, 2]);
  assert.equal(decodeValue('123'), '123');
  assert.equal(decodeValue('true'), 'true');
  assert.equal(decodeValue('{not json}'), '{not json}');
  assert.equal(decodeValue(5), 5);
});
