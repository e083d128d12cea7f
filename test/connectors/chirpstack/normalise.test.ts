// Normalising every vendor fixture, omitted protobuf zero values, codec objects, timestamps and edge values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PayloadError } from '../../../src/core/errors.js';
import type { JsonObject, PlatformMessage } from '../../../src/core/messages.js';
import { parseTime } from '../../../connectors/chirpstack/events.js';
import { bestGateway, normalise } from '../../../connectors/chirpstack/normalise.js';
import { parse } from '../../../connectors/chirpstack/webhook.js';
import { fixture, fixtureText } from '../../helpers/ctx.js';
import { clone, cred, FIXTURE_DEV, fixtureEvents, req } from './helpers.js';

const C = cred();
const META = { accessPointId: 'ap-test', receivedAt: Date.UTC(2030, 0, 1) };
const dev = FIXTURE_DEV;
const at = (iso: string) => Date.parse(iso);

const run = (event: string, body: unknown): PlatformMessage[] =>
  parse(req(event, body as object), C).flatMap((r) => normalise(r, META));

/** Expected messages per fixture file: a new fixture fails the test until its mapping is written down here. */
const EXPECTED: Record<string, PlatformMessage[]> = {
  up: [
    { device: dev, ts: at('2022-07-18T09:34:15.775Z'), kind: 'telemetry', values: { data: 'qg==', fPort: 1 } },
    {
      device: dev, ts: at('2022-07-18T09:34:15.775Z'), kind: 'attributes',
      values: { rssi: -36, snr: 10.5, gatewayId: '0016c001f153a14c', frequency: 867100000, spreadingFactor: 11, bandwidth: 125000, dr: 1, fCnt: 0, fPort: 1, devAddr: '00189440' },
    },
    { device: dev, ts: at('2022-07-18T09:34:15.775Z'), kind: 'status', online: true },
  ],
  join: [
    { device: dev, ts: at('2022-07-18T09:33:28.823Z'), kind: 'event', method: 'join', params: { devAddr: '00189440' } },
    { device: dev, ts: at('2022-07-18T09:33:28.823Z'), kind: 'status', online: true },
  ],
  status: [
    { device: dev, ts: at('2022-07-18T09:35:06.927Z'), kind: 'telemetry', values: { battery_level: 88.3 } },
    { device: dev, ts: at('2022-07-18T09:35:06.927Z'), kind: 'attributes', values: { margin: 10, externalPowerSource: false } },
    { device: dev, ts: at('2022-07-18T09:35:06.927Z'), kind: 'status', online: true },
  ],
  ack: [
    { device: dev, ts: at('2022-07-18T09:38:49.235Z'), kind: 'event', method: 'ack', params: { queueItemId: '1bbcab1d-6ec6-4136-b3f5-d63be1dc08de', acknowledged: true, fCntDown: 3 } },
  ],
  txack: [
    {
      device: dev, ts: at('2022-07-18T09:37:48.929Z'), kind: 'event', method: 'txack',
      params: { queueItemId: '42cb6459-a640-46ec-9623-bdff39dc4736', downlinkId: 3461958127, fCntDown: 2, gatewayId: '0016c001f153a14c' },
    },
  ],
  log: [
    {
      device: dev, ts: at('2022-07-18T09:39:57.311Z'), kind: 'event', method: 'log',
      params: { level: 'ERROR', code: 'UPLINK_MIC', description: 'MIC of join-request is invalid, make sure keys are correct', context: { deduplication_id: '4e91db13-5ce3-4c8c-ab0f-dfc626cf0771' } },
    },
  ],
  location: [
    { device: dev, ts: at('2022-07-18T09:55:11.059Z'), kind: 'attributes', values: { latitude: 37.344214, longitude: -8.839375, altitude: 2 } },
  ],
  // Not an event of the current HTTP integration; accepted and ignored.
  integration: [],
};

test('every fixture normalises to the documented messages', async () => {
  const events = fixtureEvents();
  assert.deepEqual(events.map(([e]) => e).sort(), Object.keys(EXPECTED).sort(), 'every fixture has an expectation');
  for (const [event, path] of events) {
    assert.deepEqual(run(event, JSON.parse(await fixtureText(path))), EXPECTED[event], event);
  }
});

test('event params are non-empty and every message is JSON-serialisable', async () => {
  for (const [event, path] of fixtureEvents()) {
    for (const m of run(event, await fixture(path))) {
      if (m.kind === 'event') assert.ok(Object.keys(m.params).length > 0, event);
      if (m.kind === 'telemetry' || m.kind === 'attributes') assert.ok(Object.keys(m.values).length > 0, event);
      assert.deepEqual(JSON.parse(JSON.stringify(m)), m);
    }
  }
});

test('omitted zero/false/empty fields default instead of failing', async () => {
  const up = (await fixture('chirpstack/event-up.json')) as Record<string, unknown> & { rxInfo: Array<Record<string, unknown>> };
  const sparse = clone(up);
  delete sparse.dr;
  delete sparse.fPort;
  delete sparse.data;
  delete sparse.devAddr;
  delete sparse.txInfo;
  delete sparse.time;
  delete sparse.rxInfo[0]?.rssi;
  delete sparse.rxInfo[0]?.snr;
  const msgs = run('up', sparse);
  // No payload (e.g. a MAC-only frame): no telemetry, but link attributes and online.
  assert.deepEqual(msgs, [
    { device: dev, kind: 'attributes', values: { rssi: 0, snr: 0, gatewayId: '0016c001f153a14c', dr: 0, fCnt: 0, fPort: 0 } },
    { device: dev, kind: 'status', online: true },
  ]);
  const noRx = clone(up);
  delete (noRx as Record<string, unknown>).rxInfo;
  assert.deepEqual(run('up', noRx)[1], { device: dev, ts: at('2022-07-18T09:34:15.775Z'), kind: 'attributes', values: { frequency: 867100000, spreadingFactor: 11, bandwidth: 125000, dr: 1, fCnt: 0, fPort: 1, devAddr: '00189440' } });

  const ack = (await fixture('chirpstack/event-ack.json')) as Record<string, unknown>;
  delete ack.acknowledged;
  delete ack.fCntDown;
  const ackMsg = run('ack', ack)[0];
  assert.deepEqual(ackMsg?.kind === 'event' && ackMsg.params, { queueItemId: '1bbcab1d-6ec6-4136-b3f5-d63be1dc08de', acknowledged: false, fCntDown: 0 });

  const status = (await fixture('chirpstack/event-status.json')) as Record<string, unknown>;
  delete status.margin;
  delete status.batteryLevel;
  assert.deepEqual(run('status', status).map((m) => m.kind === 'attributes' ? m.values : m.kind), [{ margin: 0, externalPowerSource: false }, 'status']);

  const log = (await fixture('chirpstack/event-log.json')) as Record<string, unknown>;
  delete log.level;
  delete log.code;
  delete log.context;
  const logMsg = run('log', log)[0];
  assert.deepEqual(logMsg?.kind === 'event' && logMsg.params, { level: 'INFO', code: 'UNKNOWN', description: 'MIC of join-request is invalid, make sure keys are correct' });

  const loc = (await fixture('chirpstack/event-location.json')) as { location: Record<string, unknown> };
  delete loc.location.altitude;
  assert.deepEqual(run('location', loc)[0], { device: dev, ts: at('2022-07-18T09:55:11.059Z'), kind: 'attributes', values: { latitude: 37.344214, longitude: -8.839375, altitude: 0 } });

  // A join with every optional field omitted still yields non-empty params.
  const join = (await fixture('chirpstack/event-join.json')) as Record<string, unknown>;
  delete join.devAddr;
  delete join.deduplicationId;
  const joinMsg = run('join', join)[0];
  assert.deepEqual(joinMsg?.kind === 'event' && joinMsg.params, { devAddr: '' });
});

test('decoded `object` becomes telemetry (vendor up example + an added object, since the docs example has none)', async () => {
  const up = (await fixture('chirpstack/event-up.json')) as Record<string, unknown>;
  const withObject = { ...clone(up), object: { temperatureSensor: { '1': 21.5 }, humidity: 40, valve: true, unknownReading: null } };
  const [tele] = run('up', withObject);
  assert.deepEqual(tele, { device: dev, ts: at('2022-07-18T09:34:15.775Z'), kind: 'telemetry', values: { temperatureSensor: { '1': 21.5 }, humidity: 40, valve: true } });
  // An empty or all-null object falls back to the raw frame.
  assert.deepEqual(run('up', { ...clone(up), object: {} })[0], EXPECTED.up?.[0]);
  assert.deepEqual(run('up', { ...clone(up), object: { a: null } })[0], EXPECTED.up?.[0]);
  assert.throws(() => run('up', { ...clone(up), object: [1, 2] }), PayloadError);
});

test('status: unknown battery levels are not reported', async () => {
  const status = (await fixture('chirpstack/event-status.json')) as Record<string, unknown>;
  const kinds = (b: unknown) => run('status', b).map((m) => m.kind);
  assert.deepEqual(kinds({ ...status, batteryLevel: -1 }), ['attributes', 'status']);
  assert.deepEqual(kinds({ ...status, batteryLevelUnavailable: true }), ['attributes', 'status']);
  assert.deepEqual(kinds({ ...status, batteryLevel: 0.4 }), ['telemetry', 'attributes', 'status']);
  const ext = run('status', { ...status, externalPowerSource: true, batteryLevel: undefined });
  assert.deepEqual(ext.map((m) => m.kind === 'attributes' ? m.values : m.kind), [{ margin: 10, externalPowerSource: true }, 'status']);
});

test('log enums given as numbers map to their names', async () => {
  const log = (await fixture('chirpstack/event-log.json')) as Record<string, unknown>;
  const m = run('log', { ...log, level: 1, code: 5 })[0];
  assert.equal(m?.kind === 'event' && m.params.level, 'WARNING');
  assert.equal(m?.kind === 'event' && m.params.code, 'UPLINK_F_CNT_RESET');
});

test('best gateway: SNR first, RSSI once both are comfortably above the noise', () => {
  const g = (gatewayId: string, rssi: number, snr: number) => ({ gatewayId, rssi, snr });
  assert.equal(bestGateway([g('a', -110, -5), g('b', -120, 2)])?.gatewayId, 'b');
  assert.equal(bestGateway([g('a', -60, 9), g('b', -90, 12)])?.gatewayId, 'a');
  assert.equal(bestGateway([g('a', -90, 7), g('b', -80, 7)])?.gatewayId, 'b');
  assert.equal(bestGateway([]), undefined);
});

test('timestamps: fraction truncated to ms, offsets honoured, garbage ignored', () => {
  assert.equal(parseTime('2022-07-18T09:34:15.775023242+00:00'), Date.UTC(2022, 6, 18, 9, 34, 15, 775));
  assert.equal(parseTime('2020-02-12T15:15:46.014773143Z'), Date.UTC(2020, 1, 12, 15, 15, 46, 14));
  assert.equal(parseTime('2022-07-18T09:34:15Z'), Date.UTC(2022, 6, 18, 9, 34, 15));
  assert.equal(parseTime('2022-07-18T11:34:15.5+02:00'), Date.UTC(2022, 6, 18, 9, 34, 15, 500));
  for (const bad of ['', 'yesterday', '2022-13-45T99:99:99Z', '2022-07-18']) assert.equal(parseTime(bad), undefined, bad);
  assert.equal(parseTime(undefined), undefined);
});

test('unusable bodies and unknown record types are PayloadErrors', async () => {
  const up = (await fixture('chirpstack/event-up.json')) as Record<string, unknown>;
  const rec = (type: string, body: unknown) => ({ key: 'k', type, body: body as JsonObject });
  assert.throws(() => normalise(rec('integration', up), META), PayloadError);
  assert.throws(() => normalise(rec('up', null), META), PayloadError);
  assert.throws(() => normalise(rec('up', { ...up, data: 'not base64!' }), META), PayloadError);
  assert.throws(() => normalise(rec('up', { ...up, fCnt: -1 }), META), PayloadError);
  assert.throws(() => normalise(rec('up', { ...up, rxInfo: {} }), META), PayloadError);
  assert.throws(() => normalise(rec('location', { deviceInfo: (up as { deviceInfo: unknown }).deviceInfo }), META), PayloadError);
  assert.throws(() => normalise(rec('location', { ...up, location: { latitude: 91, longitude: 0 } }), META), PayloadError);
  assert.throws(() => normalise({ ...rec('up', up), device: 'ffffffffffffffff' }, META), /does not match/);
});
