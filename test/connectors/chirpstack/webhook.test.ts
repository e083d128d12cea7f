// Webhook parsing over every vendor fixture: routing, tenant check, idempotency keys, rejections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PayloadError } from '../../../src/core/errors.js';
import { sha256hex } from '../../../src/util/ids.js';
import { canonicalJson, parse, secrets } from '../../../connectors/chirpstack/webhook.js';
import { fixture, fixtureText } from '../../helpers/ctx.js';
import { clone, cred, FIXTURE_DEV, fixtureEvents, req, SECRET } from './helpers.js';

const C = cred();
const KNOWN = new Set(['up', 'join', 'ack', 'txack', 'status', 'log', 'location']);

test('every fixture: known events give one record for the device, "integration" is ignored', async () => {
  const events = fixtureEvents();
  assert.ok(events.length >= 8, 'all ChirpStack fixtures are found');
  for (const [event, path] of events) {
    const text = await fixtureText(path);
    const records = parse(req(event, text), C);
    if (!KNOWN.has(event)) {
      assert.deepEqual(records, [], event);
      continue;
    }
    assert.equal(records.length, 1, event);
    const [r] = records;
    assert.equal(r?.type, event);
    assert.equal(r?.device, FIXTURE_DEV);
    assert.deepEqual(r?.body, JSON.parse(text));
    assert.ok(r?.key && r.key.length > 0);
  }
});

test('up is keyed by deduplicationId; without it by device, devAddr and fCnt', async () => {
  const up = (await fixture('chirpstack/event-up.json')) as Record<string, unknown>;
  assert.equal(parse(req('up', up), C)[0]?.key, '3ac7e3c4-4401-4b8d-9386-a5c902f9202d');
  const noId = clone(up);
  delete noId.deduplicationId;
  // fCnt is omitted in the vendor example (it is 0): still a usable key.
  assert.equal(parse(req('up', noId), C)[0]?.key, `up:${FIXTURE_DEV}:00189440:0`);
  assert.equal(parse(req('up', { ...noId, fCnt: 7 }), C)[0]?.key, `up:${FIXTURE_DEV}:00189440:7`);
});

test('other events: content hash, stable across whitespace and key order, different for other content or event', async () => {
  const text = await fixtureText('chirpstack/event-status.json');
  const body = JSON.parse(text) as Record<string, unknown>;
  const k1 = parse(req('status', text), C)[0]?.key;
  const reordered = Object.fromEntries(Object.entries(body).reverse());
  const k2 = parse(req('status', JSON.stringify(reordered)), C)[0]?.key;
  assert.equal(k1, k2);
  assert.equal(k1, sha256hex(`status\n${canonicalJson(body as never)}`));
  assert.match(k1 ?? '', /^[0-9a-f]{64}$/);
  assert.notEqual(parse(req('status', { ...body, margin: 11 }), C)[0]?.key, k1);
  // Same bytes under another event name must not collide.
  const join = await fixtureText('chirpstack/event-join.json');
  assert.notEqual(parse(req('join', join), C)[0]?.key, parse(req('location', join.replace('"devAddr": "00189440"', '"location": {}')), C)[0]?.key);
});

test('event name is case-insensitive; unknown events are ignored without parsing', async () => {
  const text = await fixtureText('chirpstack/event-up.json');
  assert.equal(parse(req('UP', text), C)[0]?.type, 'up');
  assert.deepEqual(parse(req('integration', '{not json'), C), []);
  assert.deepEqual(parse(req('something-new', ''), C), []);
});

test('Protobuf encoding is rejected with a hint to switch to JSON', async () => {
  const text = await fixtureText('chirpstack/event-up.json');
  for (const ct of ['application/octet-stream', 'application/x-protobuf', 'Application/Octet-Stream']) {
    // The reason names the content-type, which makes the webhook route answer 415.
    assert.throws(() => parse(req('up', text, { 'content-type': ct }), C), (e) => e instanceof PayloadError && /JSON/.test(e.message) && /content-type/i.test(e.message));
  }
  assert.equal(parse(req('up', text, { 'content-type': 'application/json; charset=utf-8' }), C).length, 1);
});

test('malformed or non-object JSON, missing event and v3 payloads are PayloadErrors', () => {
  const bad: Array<[string | undefined, string]> = [
    ['up', '{"deviceInfo": '],
    ['up', ''],
    ['up', '[1,2]'],
    ['up', 'null'],
    ['join', '"text"'],
    [undefined, '{}'],
    ['', '{}'],
    ['up', JSON.stringify({ applicationID: '1', devEUI: 'AQEBAQEBAQE=', fCnt: 1 })],
    ['up', `${'['.repeat(100)}${']'.repeat(100)}`],
    ['up', `{"deviceInfo":${'{"a":'.repeat(80)}1${'}'.repeat(80)}}`],
  ];
  for (const [event, body] of bad) assert.throws(() => parse(req(event, body), C), PayloadError, `${event} ${body.slice(0, 40)}`);
  assert.throws(() => parse(req('up', JSON.stringify({ applicationID: '1', devEUI: 'x' })), C), /v3/);
});

test('events of another application are rejected with a clear reason', async () => {
  const up = (await fixture('chirpstack/event-up.json')) as { deviceInfo: Record<string, unknown> };
  const other = clone(up);
  other.deviceInfo.applicationId = '00000000-0000-4000-8000-000000000000';
  assert.throws(() => parse(req('up', other), C), (e) => e instanceof PayloadError && e.message.includes('00000000-0000-4000-8000-000000000000') && e.message.includes(C.applicationId));
  const none = clone(up);
  delete none.deviceInfo.applicationId;
  assert.throws(() => parse(req('up', none), C), /no deviceInfo.applicationId/);
  const upper = clone(up);
  upper.deviceInfo.applicationId = String(upper.deviceInfo.applicationId).toUpperCase();
  upper.deviceInfo.devEui = 'ABCDEF0123456789';
  assert.equal(parse(req('up', upper), C)[0]?.device, 'abcdef0123456789');
});

test('deviceInfo and devEui are required', async () => {
  const up = (await fixture('chirpstack/event-up.json')) as { deviceInfo: Record<string, unknown> };
  const noInfo: Record<string, unknown> = clone(up);
  delete noInfo.deviceInfo;
  assert.throws(() => parse(req('up', noInfo), C), PayloadError);
  const badEui = clone(up);
  badEui.deviceInfo.devEui = '0101';
  assert.throws(() => parse(req('up', badEui), C), /devEui/);
});

test('secrets are the voucher list (empty list would mean webhook disabled)', () => {
  assert.deepEqual(secrets(C), [SECRET]);
  assert.deepEqual(secrets(cred({ webhook_secret: `${SECRET},another-secret-for-rotation` })), [SECRET, 'another-secret-for-rotation']);
});
