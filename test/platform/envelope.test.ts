import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeEnvelope, encodeEnvelope, responsePayload } from '../../src/platform/envelope.js';

test('values is standard base64 of the JSON, exactly the contract example', () => {
  const s = encodeEnvelope('6b1c3c2e-0000-4000-8000-000000000001', { temperature: 28.5, switch: true });
  assert.equal(s, '{"device_id":"6b1c3c2e-0000-4000-8000-000000000001","values":"eyJ0ZW1wZXJhdHVyZSI6MjguNSwic3dpdGNoIjp0cnVlfQ=="}');
  assert.deepEqual(decodeEnvelope(s), { deviceId: '6b1c3c2e-0000-4000-8000-000000000001', values: { temperature: 28.5, switch: true } });
});

test('non-ASCII values survive the round trip', () => {
  const s = encodeEnvelope('d', { name: 'Kühlraum 北' });
  assert.deepEqual(decodeEnvelope(s).values, { name: 'Kühlraum 北' });
});

test('json encoding puts the object in values', () => {
  assert.deepEqual(JSON.parse(encodeEnvelope('d', { a: 1 }, 'json')), { device_id: 'd', values: { a: 1 } });
});

test('decoder rejects what the Go backend rejects', () => {
  assert.throws(() => decodeEnvelope('{"device_id":"d","values":{"a":1}}'), /base64/);
  assert.throws(() => decodeEnvelope('{"device_id":"d","values":"not base64!"}'), /base64/);
  assert.throws(() => decodeEnvelope('{"device_id":"d","values":""}'), /base64/);
  assert.throws(() => decodeEnvelope('{"values":"e30="}'), /device_id/);
  assert.throws(() => decodeEnvelope('nope'), /JSON/);
});

test('response payload follows {result, message, ts, method}', () => {
  assert.deepEqual(responsePayload(true, 'ok', 'Reset', 1_700_000_000_123), { result: 0, message: 'ok', ts: 1_700_000_000, method: 'Reset' });
  const f = responsePayload(false, 'bad', undefined, 0);
  assert.equal(f.result, 1);
  assert.equal(f.errcode, 'error');
  assert.equal('method' in f, false);
});
