// Translation of platform commands into ChirpStack queue items, and rejection of bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PermanentError } from '../../../src/core/errors.js';
import type { JsonValue, PlatformCommand } from '../../../src/core/messages.js';
import { MAX_PAYLOAD_BYTES, toQueueItem } from '../../../connectors/chirpstack/commands.js';
import { FIXTURE_DEV } from './helpers.js';

const D = { fPort: 10, confirmed: false };
const cmd = (params: JsonValue, over: Partial<PlatformCommand> = {}): PlatformCommand =>
  ({ kind: 'command', device: FIXTURE_DEV, method: 'setInterval', params, messageId: 'm1', ...over });

test('raw payloads: data (base64) or hex', () => {
  assert.deepEqual(toQueueItem(cmd({ data: 'AQID' }), D), { confirmed: false, fPort: 10, data: 'AQID' });
  assert.deepEqual(toQueueItem(cmd({ hex: '01 02 03' }), D), { confirmed: false, fPort: 10, data: 'AQID' });
  assert.deepEqual(toQueueItem(cmd({ hex: '0xA0ff' }), D), { confirmed: false, fPort: 10, data: 'oP8=' });
  assert.deepEqual(toQueueItem(cmd({ data: 'qg==', fPort: 2, confirmed: true }), D), { confirmed: true, fPort: 2, data: 'qg==' });
});

test('codec input: explicit object, {method, params} for commands, the params for attribute set / telemetry control', () => {
  assert.deepEqual(toQueueItem(cmd({ object: { interval: 5 }, fPort: 3 }), D), { confirmed: false, fPort: 3, object: { interval: 5 } });
  assert.deepEqual(toQueueItem(cmd({ minutes: 5, fPort: '20', confirmed: 'true' }), D), { confirmed: true, fPort: 20, object: { method: 'setInterval', params: { minutes: 5 } } });
  assert.deepEqual(toQueueItem(cmd({}), D), { confirmed: false, fPort: 10, object: { method: 'setInterval', params: {} } });
  assert.deepEqual(toQueueItem(cmd(5), D), { confirmed: false, fPort: 10, object: { method: 'setInterval', params: 5 } });
  assert.deepEqual(toQueueItem(cmd(null), D), { confirmed: false, fPort: 10, object: { method: 'setInterval' } });
  assert.deepEqual(toQueueItem(cmd({ interval: 60 }, { kind: 'attributes_set', method: '' }), D), { confirmed: false, fPort: 10, object: { interval: 60 } });
  assert.deepEqual(toQueueItem(cmd({ switch: true, fPort: 7 }, { kind: 'telemetry_control', method: '' }), { fPort: 10, confirmed: true }), { confirmed: true, fPort: 7, object: { switch: true } });
});

test('bad input is a PermanentError', () => {
  const bad: Array<[JsonValue, Partial<PlatformCommand>?]> = [
    [{ data: 'not base64!' }],
    [{ data: '' }],
    [{ data: 5 }],
    [{ data: Buffer.alloc(MAX_PAYLOAD_BYTES + 1).toString('base64') }],
    [{ hex: 'abc' }],
    [{ hex: 'zz' }],
    [{ data: 'AQID', hex: '01' }],
    [{ data: 'AQID', object: { a: 1 } }],
    [{ object: [1] }],
    [{ object: 'x' }],
    [{ data: 'AQID', fPort: 0 }],
    [{ data: 'AQID', fPort: 224 }],
    [{ data: 'AQID', fPort: 1.5 }],
    [{ data: 'AQID', fPort: 'ten' }],
    [{ data: 'AQID', confirmed: 'yes' }],
    [{ data: 'AQID' }, { device: '0101' }],
    [{ data: 'AQID' }, { device: '../../admin' }],
    [{}, { kind: 'attributes_set' }],
    [{ fPort: 3 }, { kind: 'telemetry_control' }],
    [{ a: 1 }, { method: '' }],
  ];
  for (const [params, over] of bad) assert.throws(() => toQueueItem(cmd(params, over), D), PermanentError, JSON.stringify([params, over]).slice(0, 80));
  assert.doesNotThrow(() => toQueueItem(cmd({ data: Buffer.alloc(MAX_PAYLOAD_BYTES).toString('base64') }), D));
  assert.doesNotThrow(() => toQueueItem(cmd({ data: 'AQID', fPort: 223 }), D));
});
