import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { closeExpressionEngine, httpJson, validateDeviceConfig, validateVoucher } from '../../../connectors/http-json/index.js';
import { configFields, voucherFields, voucherSchema } from '../../../connectors/http-json/schema.js';
import { parseDeviceCfg } from '../../../connectors/http-json/settings.js';
import { PermanentError } from '../../../src/core/errors.js';
import { toForm } from '../../../src/core/forms.js';

after(closeExpressionEngine);

const minimal = { base_url: 'https://api.example.com/v1/', auth_type: 'manual' };

test('voucher: UI strings and numbers are coerced, blanks get defaults, auth_type and unknown keys are dropped', () => {
  const c = voucherSchema.parse({ ...minimal, page_size: '50', max_pages: 7, poll_interval_s: '', page_style: 'Cursor', command_method: 'post', foo: 'bar', telemetry_expr: '  readings  ' });
  assert.equal(c.page_size, 50);
  assert.equal(c.max_pages, 7);
  assert.equal(c.poll_interval_s, 60);
  assert.equal(c.page_style, 'cursor');
  assert.equal(c.command_method, 'POST');
  assert.equal(c.telemetry_expr, 'readings');
  assert.equal(c.auth_method, 'none');
  assert.equal(c.webhook_auth, 'off');
  assert.equal(c.items_expr, undefined);
  assert.ok(!('auth_type' in c) && !('foo' in c));
});

test('voucher: required credentials per auth method, URLs and numbers checked', () => {
  const bad = (v: Record<string, unknown>) => {
    const r = voucherSchema.safeParse({ ...minimal, ...v });
    assert.equal(r.success, false, JSON.stringify(v));
    return r.error!.issues.map((i) => i.path.join('.'));
  };
  assert.deepEqual(bad({ auth_method: 'api_key_header' }), ['api_key']);
  assert.deepEqual(bad({ auth_method: 'basic', username: 'u' }), ['password']);
  assert.deepEqual(bad({ auth_method: 'oauth2_client_credentials', token_url: '/t', client_id: 'c' }), ['client_secret']);
  assert.deepEqual(bad({ base_url: 'ftp://x' }), ['base_url']);
  assert.deepEqual(bad({ base_url: '' }), ['base_url']);
  assert.deepEqual(bad({ page_size: 'ten' }), ['page_size']);
  assert.deepEqual(bad({ poll_interval_s: 1 }), ['poll_interval_s']);
  assert.deepEqual(bad({ auth_method: 'kerberos' }), ['auth_method']);
  assert.deepEqual(bad({ extra_headers: '{"bad header": "x"}' }), ['extra_headers']);
  assert.deepEqual(bad({ device_scope: 'a b' }), ['device_scope']);
});

test('voucher: a bad expression or template is an error naming its field', () => {
  const r = voucherSchema.safeParse({ ...minimal, telemetry_expr: 'readings.(', command_body: '{"a": {{nope}}}', command_url: '/d/{serial}', signed_payload: '{timestamp}.x' });
  assert.equal(r.success, false);
  const byField = Object.fromEntries(r.error!.issues.map((i) => [i.path.join('.'), i.message]));
  assert.match(byField.telemetry_expr!, /invalid JSONata expression: syntax error S0\d+/);
  assert.match(byField.command_body!, /unknown placeholder \{\{nope\}\}/);
  assert.match(byField.command_url!, /unknown placeholder \{serial\}/);
  assert.match(byField.signed_payload!, /\{body\} exactly once/);
});

test('validateVoucher: errors by field, warnings for risky but usable settings', () => {
  const v = validateVoucher({ ...minimal, events_expr: '$$$(', webhook_auth: 'hmac' });
  assert.equal(v.ok, false);
  assert.deepEqual(v.errors.map((e) => e.field), ['events_expr']);
  const w = validateVoucher({ ...minimal, base_url: 'http://api.example.com', auth_method: 'bearer', api_key: 't', webhook_auth: 'hmac', hmac_algorithm: 'sha1', state_path: '/state' });
  assert.equal(w.ok, true);
  const fields = w.warnings.map((x) => x.field);
  for (const f of ['webhook_secret', 'hmac_algorithm', 'timestamp_header', 'state_path', 'devices_path', 'base_url']) assert.ok(fields.includes(f), f);
  assert.deepEqual(validateVoucher('nope').errors.map((e) => e.field), ['(voucher)']);
});

test('CFG: parsed leniently, bad expression names the CFG field', () => {
  assert.equal(parseDeviceCfg(null), null);
  const cfg = parseDeviceCfg({ telemetry_expr: 'a', other: 1, online_expr: '' })!;
  assert.equal(cfg.telemetry_expr, 'a');
  assert.equal(cfg.online_expr, undefined);
  assert.ok(!('other' in cfg));
  assert.throws(() => parseDeviceCfg({ ts_expr: 'x +' }), (e: unknown) => e instanceof PermanentError && /CFG: ts_expr: invalid JSONata/.test(e.message));
  assert.equal(validateDeviceConfig({ command_method: 'FETCH' }).ok, false);
  assert.equal(validateDeviceConfig({ command_method: 'put' }).ok, true);
});

test('forms: only input/select elements, unique keys, numeric fields typed', () => {
  for (const fields of [voucherFields, configFields]) {
    const form = toForm(fields);
    assert.equal(new Set(form.map((e) => e.dataKey)).size, form.length);
    for (const el of form) {
      assert.ok(el.type === 'input' || el.type === 'select', el.dataKey);
      assert.ok(el.validate && el.validate.message, el.dataKey);
      if (el.type === 'select') assert.ok(el.options && el.options.length > 0);
    }
  }
  assert.equal(toForm(voucherFields).find((e) => e.dataKey === 'page_size')!.validate!.type, 'number');
  assert.equal(httpJson.configFields, configFields);
});

test('every SVCR form key is read by the schema', () => {
  const full: Record<string, string> = {};
  for (const f of voucherFields) full[f.key] = f.options ? String(f.options[0]!.value) : f.valueType === 'number' ? '1' : 'x';
  Object.assign(full, { base_url: 'https://a.example', token_url: '/t', extra_headers: '{}', device_scope: 'x', signed_payload: '{body}', command_body: '{}', command_url: '/c', state_path: '/s', devices_path: '/d', timestamp_window_s: '5', poll_interval_s: '5', first_page: '1' });
  const c = voucherSchema.parse(full) as Record<string, unknown>;
  for (const f of voucherFields) assert.ok(c[f.key] !== undefined, `${f.key} is dropped by the schema`);
});
