// Voucher and CFG forms of the ChirpStack connector: coercion of UI values, defaults, rejections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toForm } from '../../../src/core/forms.js';
import {
  configFields, deviceConfigSchema, DEFAULT_F_PORT, DEFAULT_OFFLINE_TIMEOUT_S, voucherFields, voucherSchema,
} from '../../../connectors/chirpstack/schema.js';
import { FIXTURE_APP, SECRET } from './helpers.js';

const base = { api_url: 'http://cs.example:8090', api_token: 'tok', application_id: FIXTURE_APP, webhook_secret: SECRET };

test('voucher: minimal input gets defaults, auth_type and unknown keys are ignored', () => {
  const c = voucherSchema.parse({ ...base, auth_type: 'manual', something_else: 1 });
  assert.deepEqual(c, {
    apiUrl: 'http://cs.example:8090', apiToken: 'tok', applicationId: FIXTURE_APP, webhookSecrets: [SECRET],
    offlineTimeoutS: DEFAULT_OFFLINE_TIMEOUT_S, fPort: DEFAULT_F_PORT, confirmed: false,
  });
});

test('voucher: UI strings, numbers and blanks are coerced', () => {
  const c = voucherSchema.parse({ ...base, offline_timeout_s: '900', f_port: 20, confirmed: 'true' });
  assert.equal(c.offlineTimeoutS, 900);
  assert.equal(c.fPort, 20);
  assert.equal(c.confirmed, true);
  const blank = voucherSchema.parse({ ...base, offline_timeout_s: '', f_port: ' ', confirmed: '' });
  assert.equal(blank.offlineTimeoutS, DEFAULT_OFFLINE_TIMEOUT_S);
  assert.equal(blank.fPort, DEFAULT_F_PORT);
  assert.equal(blank.confirmed, false);
  assert.equal(voucherSchema.parse({ ...base, offline_timeout_s: 0 }).offlineTimeoutS, 0);
  assert.equal(voucherSchema.parse({ ...base, confirmed: false }).confirmed, false);
});

test('voucher: URL, token, application id and secrets are normalised', () => {
  const c = voucherSchema.parse({
    api_url: ' https://cs.example/api/ ', api_token: ' Bearer eyJ.abc ', application_id: FIXTURE_APP.toUpperCase(),
    webhook_secret: ` ${SECRET} , second-secret-value-xyz,${SECRET},, `,
  });
  assert.equal(c.apiUrl, 'https://cs.example');
  assert.equal(c.apiToken, 'eyJ.abc');
  assert.equal(c.applicationId, FIXTURE_APP);
  assert.deepEqual(c.webhookSecrets, [SECRET, 'second-secret-value-xyz']);
});

test('voucher: bad values are rejected', () => {
  const bad: Array<Record<string, unknown>> = [
    { api_url: 'cs.example:8090' },
    { api_url: 'ftp://cs.example' },
    { api_url: 'http://user:pw@cs.example' },
    { api_token: '' },
    { api_token: 'Bearer ' },
    { application_id: 'not-a-uuid' },
    { webhook_secret: '' },
    { webhook_secret: 'short' },
    { webhook_secret: `${SECRET},short` },
    { webhook_secret: 'has a space in the secret value' },
    { f_port: 0 },
    { f_port: 224 },
    { f_port: 'ten' },
    { offline_timeout_s: -1 },
    { confirmed: 'maybe' },
  ];
  for (const over of bad) assert.equal(voucherSchema.safeParse({ ...base, ...over }).success, false, JSON.stringify(over));
  for (const key of Object.keys(base)) {
    const v: Record<string, unknown> = { ...base };
    delete v[key];
    assert.equal(voucherSchema.safeParse(v).success, false, `missing ${key}`);
  }
});

test('forms: every field renders and matches a schema key; selects carry options', () => {
  const voucherKeys = Object.keys(voucherSchema.in.shape);
  for (const el of toForm(voucherFields)) {
    assert.ok(voucherKeys.includes(el.dataKey), el.dataKey);
    assert.ok(el.validate, `${el.dataKey} has validate (the UI reads it without a null check)`);
    if (el.type === 'select') assert.ok(el.options?.length);
  }
  assert.deepEqual(toForm(voucherFields).map((e) => e.dataKey).sort(), [...voucherKeys].sort());
  const required = toForm(voucherFields).filter((e) => e.validate?.required).map((e) => e.dataKey).sort();
  assert.deepEqual(required, ['api_token', 'api_url', 'application_id', 'webhook_secret']);
  const cfgKeys = Object.keys(deviceConfigSchema.in.shape);
  for (const el of toForm(configFields)) assert.ok(cfgKeys.includes(el.dataKey), el.dataKey);
});

test('device config: empty means "use the voucher", values are coerced, bad ones rejected', () => {
  assert.deepEqual(deviceConfigSchema.parse({}), {});
  assert.deepEqual(deviceConfigSchema.parse({ f_port: '', confirmed: '' }), {});
  assert.deepEqual(deviceConfigSchema.parse({ f_port: '33', confirmed: 'false', other: 1 }), { fPort: 33, confirmed: false });
  assert.equal(deviceConfigSchema.safeParse({ f_port: 300 }).success, false);
});
