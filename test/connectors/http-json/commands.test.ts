import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { renderCommand } from '../../../connectors/http-json/commands.js';
import { closeExpressionEngine, httpJson } from '../../../connectors/http-json/index.js';
import { commandSettings } from '../../../connectors/http-json/settings.js';
import { checkJsonTemplate, renderJsonTemplate, renderPath } from '../../../connectors/http-json/templates.js';
import { PermanentError } from '../../../src/core/errors.js';
import type { PlatformCommand } from '../../../src/core/messages.js';
import { cred, withSim } from './helpers.js';

after(closeExpressionEngine);

const cmd = (over: Partial<PlatformCommand> = {}): PlatformCommand => ({ kind: 'command', device: 'dev-1', method: 'set_mode', params: { mode: 'eco', level: 3, tags: ['a'] }, messageId: 'm-1', ...over });
const vars = { method: 'set_mode', params: { mode: 'eco', level: 3 }, device: 'dev/1', messageId: 'm-1', kind: 'command' };

test('JSON template: whole-string placeholder → JSON value; inside text → text; bare → JSON', () => {
  assert.deepEqual(renderJsonTemplate('{"cmd": "{{method}}", "args": "{{params}}", "raw": {{params}}, "n": {{params.level}}}', vars, 'f'), { cmd: 'set_mode', args: { mode: 'eco', level: 3 }, raw: { mode: 'eco', level: 3 }, n: 3 });
  assert.deepEqual(renderJsonTemplate('{"path": "devices/{{device}}/{{params.mode}}", "q": "say \\"{{method}}\\"", "obj": "p={{params}}"}', vars, 'f'), { path: 'devices/dev/1/eco', q: 'say "set_mode"', obj: 'p={"mode":"eco","level":3}' });
  assert.deepEqual(renderJsonTemplate('{"missing": "{{params.nope}}", "m2": {{params.x.y}}}', vars, 'f'), { missing: null, m2: null });
  assert.deepEqual(renderJsonTemplate('{"inj": "{{method}}"}', { ...vars, method: 'a", "admin": true, "x": "' }, 'f'), { inj: 'a", "admin": true, "x": "' });
  assert.equal(renderJsonTemplate('  ', vars, 'f'), undefined);
  assert.throws(() => renderJsonTemplate('{"a": {{secret}}}', vars, 'command_body (access point SVCR)'), (e: unknown) => e instanceof PermanentError && /^command_body \(access point SVCR\): unknown placeholder \{\{secret\}\}/.test(e.message));
  assert.throws(() => renderJsonTemplate('{"a": {{method}', vars, 'f'), /unclosed/);
  assert.throws(() => renderJsonTemplate('{"a": {{method}} {{method}}}', vars, 'f'), /not valid JSON after filling/);
  assert.equal(checkJsonTemplate('{"a": {{params}}}'), null);
  assert.match(checkJsonTemplate('{"a": }')!, /not valid JSON/);
});

test('path template: values percent-encoded, unknown placeholders and dot segments refused', () => {
  assert.equal(renderPath('/devices/{id}/cmd/{method}?m={messageId}', { id: 'a/b c', method: 'x', messageId: '1&2' }, 'u'), '/devices/a%2Fb%20c/cmd/x?m=1%262');
  assert.throws(() => renderPath('/d/{serial}', { id: 'x' }, 'command_url'), /command_url: unknown placeholder \{serial\}/);
  assert.throws(() => renderPath('/d/{id}', { id: '..' }, 'u'), /not a valid path segment/);
});

test('command: template rendered, sent, judged by the success predicate, reference extracted', async () => {
  const { sim, ctx, close } = await withSim({ devices: 2, auth: { type: 'bearer', token: 't' } });
  try {
    const ok = await httpJson.executeCommand!(ctx, cmd());
    assert.deepEqual(ok, { ok: true, message: 'accepted: HTTP 202', reference: 'cmd-1' });
    assert.deepEqual(sim.commands[0]!.body, { method: 'set_mode', params: { mode: 'eco', level: 3, tags: ['a'] } });
    assert.equal(sim.commands[0]!.headers['x-request-id'], 'm-1');
    const no = await httpJson.executeCommand!(ctx, cmd({ method: 'reject', messageId: 'm-2' }));
    assert.deepEqual(no, { ok: false, message: 'rejected by the vendor: HTTP 422: command not supported' });
    // 404 (unknown device) is judged by the predicate too, not thrown.
    const gone = await httpJson.executeCommand!(ctx, cmd({ device: 'dev-9' }));
    assert.equal(gone.ok, false);
    assert.match(gone.message, /HTTP 404: device not found/);
  } finally {
    await close();
  }
});

test('command: JSONata body and CFG overrides per device template', async () => {
  const { sim, ctx, close } = await withSim({ devices: 2 }, { command_body_type: 'jsonata', command_body: '{"action": method, "value": params.level * 10, "target": device}' }, {
    deviceConfig: async (id) => (id === 'dev-2' ? { command_body: '{"cmd": "{{method}}"}', command_success_expr: 'status = 202', command_reference_expr: '' } : null),
  });
  try {
    const r1 = await httpJson.executeCommand!(ctx, cmd());
    assert.equal(r1.ok, true);
    assert.deepEqual(sim.commands[0]!.body, { action: 'set_mode', value: 30, target: 'dev-1' });
    const r2 = await httpJson.executeCommand!(ctx, cmd({ device: 'dev-2' }));
    assert.deepEqual(sim.commands[1]!.body, { cmd: 'set_mode' }, 'a CFG body is read as a JSON template (its own type), not with the SVCR jsonata type');
    assert.deepEqual(r2, { ok: true, message: 'accepted: HTTP 202', reference: 'cmd-2' });
  } finally {
    await close();
  }
});

test('command: predicate false on 2xx, predicate errors and missing URL are PermanentErrors', async () => {
  const { ctx, close } = await withSim({ devices: 1 }, { command_success_expr: 'body.status = "done"' });
  try {
    assert.equal((await httpJson.executeCommand!(ctx, cmd())).ok, false);
  } finally {
    await close();
  }
  const { ctx: c2, close: close2 } = await withSim({ devices: 1 }, { command_success_expr: 'body.status + 1' });
  try {
    await assert.rejects(httpJson.executeCommand!(c2, cmd()), (e: unknown) => e instanceof PermanentError && /^command_success_expr \(access point SVCR\): evaluation error/.test(e.message));
  } finally {
    await close2();
  }
  const { ctx: c3, close: close3 } = await withSim({ devices: 1 }, { command_url: '' });
  try {
    await assert.rejects(httpJson.executeCommand!(c3, cmd()), /command_url is not configured/);
  } finally {
    await close3();
  }
});

test('command: GET sends no body; attribute sets use the same template with {{kind}}', async () => {
  const c = cred({ base_url: 'https://a.example', command_url: '/d/{id}/{method}', command_method: 'GET', command_body: '{"k": "{{kind}}"}' });
  assert.deepEqual(await renderCommand(commandSettings(c, null), cmd()), { method: 'GET', url: '/d/dev-1/set_mode', body: undefined });
  const p = cred({ base_url: 'https://a.example', command_url: '/d/{id}', command_body: '{"k": "{{kind}}", "v": {{params}}}' });
  assert.deepEqual((await renderCommand(commandSettings(p, null), cmd({ kind: 'attributes_set', params: { a: 1 } }))).body, { k: 'attributes_set', v: { a: 1 } });
});
