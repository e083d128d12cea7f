// Tuya signing against every official vector in the fixture file.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  EMPTY_BODY_SHA256, sha256Hex, signBusinessRequest, signLegacyBusinessRequest, signLegacyTokenRequest, signTokenRequest,
  signatureHeadersValue, signaturesEqual, signedUrl, stringToSign, wireUrl, type SignedHeaders,
} from '../../../connectors/tuya/sign.js';
import { fixture } from '../../helpers/ctx.js';

interface Vector { name: string; method?: string; url?: string; stringToSign?: string; str: string; sign: string; client_id?: string; secret?: string; access_token?: string; t?: string }
interface Vectors { client_id: string; secret: string; t: string; nonce: string; access_token: string; signature_headers: Record<string, string>; empty_body_sha256: string; vectors: Vector[] }

const V = (await fixture('tuya/sign-test-vectors.json')) as Vectors;
const headers: SignedHeaders = Object.entries(V.signature_headers);

/** Computes a vector's sign with the function its `str` formula names; fails on a formula we do not know. */
function compute(v: Vector): string {
  const clientId = v.client_id ?? V.client_id;
  const secret = v.secret ?? V.secret;
  const t = v.t ?? V.t;
  const accessToken = v.access_token ?? V.access_token;
  const sts = () => {
    assert.ok(v.method && v.url, `${v.name}: method and url needed`);
    const q = v.url.indexOf('?');
    const query = q < 0 ? {} : Object.fromEntries(new URLSearchParams(v.url.slice(q + 1)));
    return stringToSign({ method: v.method, signedHeaders: headers, url: signedUrl(q < 0 ? v.url : v.url.slice(0, q), query) });
  };
  switch (v.str) {
    case 'client_id + t + nonce + stringToSign': return signTokenRequest({ clientId, secret, t, nonce: V.nonce, stringToSign: sts() });
    case 'client_id + access_token + t + nonce + stringToSign': return signBusinessRequest({ clientId, secret, accessToken, t, nonce: V.nonce, stringToSign: sts() });
    case 'client_id + t': return signLegacyTokenRequest({ clientId, secret, t });
    case 'client_id + access_token + t': return signLegacyBusinessRequest({ clientId, secret, accessToken, t });
    default: throw new Error(`unknown formula ${v.str}`);
  }
}

test('the fixture has vectors of every algorithm variant', () => {
  assert.ok(V.vectors.length >= 4);
  assert.deepEqual(new Set(V.vectors.map((v) => v.str)), new Set(['client_id + t + nonce + stringToSign', 'client_id + t', 'client_id + access_token + t']));
});

for (const v of V.vectors) {
  test(`sign vector: ${v.name}`, () => {
    assert.equal(compute(v), v.sign);
    if (v.stringToSign !== undefined) assert.equal(stringToSign({ method: v.method!, signedHeaders: headers, url: v.url! }), v.stringToSign);
  });
}

test('empty body hash matches the fixture and is used for GET without body', () => {
  assert.equal(EMPTY_BODY_SHA256, V.empty_body_sha256);
  assert.equal(sha256Hex(''), V.empty_body_sha256);
  assert.ok(stringToSign({ method: 'get', url: '/x' }).startsWith(`GET\n${V.empty_body_sha256}\n\n/x`));
  assert.equal(stringToSign({ method: 'GET', body: '', url: '/x' }), stringToSign({ method: 'GET', url: '/x' }));
});

test('business vector of vendor-clouds.md §3.3 (Tuya doc, same inputs), also with the query given out of order', () => {
  // GET /v2.0/apps/schema/users?page_no=1&page_size=50 → AE44… (documented next to the fixture's token vector).
  for (const query of [{ page_no: 1, page_size: 50 }, { page_size: 50, page_no: 1 }]) {
    const sts = stringToSign({ method: 'GET', signedHeaders: headers, url: signedUrl('/v2.0/apps/schema/users', query) });
    const sign = signBusinessRequest({ clientId: V.client_id, secret: V.secret, accessToken: V.access_token, t: V.t, nonce: V.nonce, stringToSign: sts });
    assert.equal(sign, 'AE4481C692AA80B25F3A7E12C3A5FD9BBF6251539DD78E565A1A72A508A88784');
  }
});

test('signed url: sorted keys, unencoded values, undefined dropped; wire url encodes with the same order', () => {
  assert.equal(signedUrl('/v1.0/iot-03/devices', { page_size: 20, device_ids: 'a,b', last_row_key: undefined }), '/v1.0/iot-03/devices?device_ids=a,b&page_size=20');
  assert.equal(wireUrl('/v1.0/iot-03/devices', { page_size: 20, device_ids: 'a,b c' }), '/v1.0/iot-03/devices?device_ids=a%2Cb%20c&page_size=20');
  assert.equal(signedUrl('/p'), '/p');
});

test('body hash covers the exact bytes, so a re-serialised body would not match', () => {
  const a = '{"commands": [{"code": "switch_led","value": true}]}';
  const b = JSON.stringify(JSON.parse(a));
  assert.notEqual(stringToSign({ method: 'POST', body: a, url: '/c' }), stringToSign({ method: 'POST', body: b, url: '/c' }));
  assert.equal(stringToSign({ method: 'POST', body: a, url: '/c' }).split('\n')[1], sha256Hex(Buffer.from(a, 'utf8')));
});

test('Signature-Headers value and constant-time comparison', () => {
  assert.equal(signatureHeadersValue(headers), 'area_id:call_id');
  assert.equal(signatureHeadersValue([]), undefined);
  assert.ok(signaturesEqual('abc1', 'ABC1'));
  assert.ok(!signaturesEqual('ABC1', 'ABC2'));
  assert.ok(!signaturesEqual('ABC1', 'ABC12'));
});
