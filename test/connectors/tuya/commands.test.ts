// Tuya command mapping rules and command result, with the request/response fixtures.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PermanentError } from '../../../src/core/errors.js';
import type { JsonValue, PlatformCommand } from '../../../src/core/messages.js';
import { commandResult, toTuyaCommands } from '../../../connectors/tuya/commands.js';
import { fixture } from '../../helpers/ctx.js';

const cmd = (method: string, params: JsonValue, kind: PlatformCommand['kind'] = 'command'): PlatformCommand => ({ kind, device: 'dev1', method, params, messageId: 'm1' });

test('object params: each key is a data-point code (commands, attribute sets and telemetry control alike)', () => {
  for (const kind of ['command', 'attributes_set', 'telemetry_control'] as const) {
    assert.deepEqual(toTuyaCommands(cmd('set', { switch_led: true, bright_value: 255, colour_data: { h: 1, s: 2, v: 3 } }, kind)), {
      commands: [{ code: 'switch_led', value: true }, { code: 'bright_value', value: 255 }, { code: 'colour_data', value: { h: 1, s: 2, v: 3 } }],
    });
  }
});

test("Tuya's own body shape (request fixture) is passed through unchanged", async () => {
  const body = (await fixture('tuya/openapi-commands.request.json')) as JsonValue;
  assert.deepEqual(toTuyaCommands(cmd('commands', body)), body);
});

test('method names the code when params is a scalar (or array)', () => {
  assert.deepEqual(toTuyaCommands(cmd('switch_led', false)), { commands: [{ code: 'switch_led', value: false }] });
  assert.deepEqual(toTuyaCommands(cmd('work_mode', 'colour')), { commands: [{ code: 'work_mode', value: 'colour' }] });
  assert.deepEqual(toTuyaCommands(cmd('countdown_1', 0)), { commands: [{ code: 'countdown_1', value: 0 }] });
  assert.deepEqual(toTuyaCommands(cmd('list_dp', [1, 2])), { commands: [{ code: 'list_dp', value: [1, 2] }] });
});

test('unmappable commands → PermanentError', () => {
  assert.throws(() => toTuyaCommands(cmd('switch_led', null)), PermanentError);
  assert.throws(() => toTuyaCommands(cmd('', true)), PermanentError);
  assert.throws(() => toTuyaCommands(cmd('set', {})), PermanentError);
  assert.throws(() => toTuyaCommands(cmd('set', { 'bad code': 1 })), PermanentError);
  assert.throws(() => toTuyaCommands(cmd('set', { switch_led: null })), PermanentError);
  assert.throws(() => toTuyaCommands(cmd('set', Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`c${i}`, i])))), PermanentError);
});

test('command response fixture → ok; result false → not ok; tid becomes the reference', async () => {
  const res = (await fixture('tuya/openapi-iot03-commands.response.json')) as { result: unknown };
  const sent = { commands: [{ code: 'switch_led', value: true }] };
  assert.deepEqual(commandResult(res, sent), { ok: true, message: 'Tuya issued switch_led' });
  assert.deepEqual(commandResult({ result: false, tid: 'abc' }, sent), { ok: false, message: 'Tuya did not issue switch_led', reference: 'abc' });
});
