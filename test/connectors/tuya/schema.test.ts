// Tuya voucher schema: coercion, defaults, endpoint policy, form fields.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toForm } from '../../../src/core/forms.js';
import { TUYA_DATA_CENTRES, voucherFields, voucherSchema } from '../../../connectors/tuya/schema.js';

const base = { endpoint: 'https://openapi.tuyaeu.com', access_id: 'p1234', access_secret: 's3cr3t' };

test('voucher: strings and numbers are coerced, auth_type and unknown keys ignored, defaults applied', () => {
  const c = voucherSchema.parse({ ...base, auth_type: 2, other: 'x', access_id: 12345, poll_interval_s: '30', only_changed: 'no', offline_timeout_s: 600 });
  assert.deepEqual(c, { endpoint: 'https://openapi.tuyaeu.com', accessId: '12345', accessSecret: 's3cr3t', pollIntervalS: 30, onlyChanged: false, offlineTimeoutS: 600 });
  const d = voucherSchema.parse({ ...base, app_uid: '', poll_interval_s: '', only_changed: '' });
  assert.equal(d.pollIntervalS, 60);
  assert.equal(d.onlyChanged, true);
  assert.equal(d.offlineTimeoutS, 0);
  assert.equal('appUid' in d, false);
  assert.equal(voucherSchema.parse({ ...base, app_uid: ' ay123 ' }).appUid, 'ay123');
});

test('voucher: every listed data centre is accepted as is; a trailing slash is dropped', () => {
  for (const o of TUYA_DATA_CENTRES) assert.equal(voucherSchema.parse({ ...base, endpoint: o.value }).endpoint, o.value);
  assert.equal(voucherSchema.parse({ ...base, endpoint: 'https://openapi.tuyaus.com/' }).endpoint, 'https://openapi.tuyaus.com');
});

test('voucher: custom loopback URL (simulator) accepted; foreign hosts and http to Tuya refused', () => {
  assert.equal(voucherSchema.parse({ ...base, endpoint: 'http://127.0.0.1:4567' }).endpoint, 'http://127.0.0.1:4567');
  for (const endpoint of ['https://example.com', 'http://openapi.tuyaeu.com', 'https://tuyaeu.com.evil.org', 'https://u:p@openapi.tuyaeu.com', 'not a url', '']) {
    assert.equal(voucherSchema.safeParse({ ...base, endpoint }).success, false, endpoint);
  }
});

test('voucher: poll interval below 5 s, missing id or secret are refused with clear messages', () => {
  const r = voucherSchema.safeParse({ endpoint: base.endpoint, access_id: '', poll_interval_s: 2 });
  assert.equal(r.success, false);
  const msgs = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
  assert.match(msgs, /access_id: Access ID is required/);
  assert.match(msgs, /access_secret: Access Secret is required/);
  assert.match(msgs, /poll_interval_s/);
});

test('form fields: the keys the schema reads, rendered as ThingsPanel form elements', () => {
  assert.deepEqual(voucherFields.map((f) => f.key), ['endpoint', 'access_id', 'access_secret', 'app_uid', 'poll_interval_s', 'only_changed', 'offline_timeout_s']);
  const form = toForm(voucherFields);
  assert.equal(form[0]!.type, 'select');
  assert.equal(form[0]!.options!.length, 6);
  assert.equal(form.find((e) => e.dataKey === 'poll_interval_s')!.validate!.type, 'number');
  assert.deepEqual(form.find((e) => e.dataKey === 'only_changed')!.options!.map((o) => o.value), ['yes', 'no']);
});
