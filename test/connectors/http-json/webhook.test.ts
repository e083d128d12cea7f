import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import Fastify from 'fastify';
import { closeExpressionEngine, createHttpJsonConnector, httpJson } from '../../../connectors/http-json/index.js';
import { signWebhook, startHttpJsonSim } from '../../../connectors/http-json/simulator.js';
import { MAX_WEBHOOK_ITEMS, parse, secrets, verify } from '../../../connectors/http-json/webhook.js';
import type { WebhookRequest } from '../../../src/core/connector.js';
import { PayloadError, VerificationError } from '../../../src/core/errors.js';
import type { PlatformMessage } from '../../../src/core/messages.js';
import { cred, meta } from './helpers.js';

after(closeExpressionEngine);

const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);
const SECRET = 'whsec-0123456789abcdef';
const base = {
  base_url: 'https://api.example.com',
  webhook_auth: 'hmac',
  webhook_secret: SECRET,
  signature_header: 'X-Hub-Signature-256',
  signature_prefix: 'sha256=',
  timestamp_header: 'X-Timestamp',
  timestamp_window_s: 300,
  signed_payload: '{timestamp}.{body}',
  webhook_items_expr: 'events',
  webhook_device_expr: 'device.serial',
  webhook_telemetry_expr: 'data',
  webhook_online_expr: 'type != "disconnected"',
  webhook_ts_expr: 'time',
  auth_type: 'manual',
};
const c = cred(base);
const body = JSON.stringify({ events: [{ device: { serial: 'A1' }, type: 'reading', time: '2025-06-01T11:59:30Z', data: { t: 21.5 } }, { device: { serial: 'B2' }, type: 'disconnected', time: NOW }] });

function req(raw: string | Buffer, headers: Record<string, string | undefined>): WebhookRequest {
  const lower: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = v;
  return { rawBody: Buffer.isBuffer(raw) ? raw : Buffer.from(raw), headers: lower, query: {}, subPath: '' };
}

function signed(raw: string, o: { secret?: string; ts?: number | string; sig?: string } = {}) {
  const ts = o.ts ?? Math.floor(NOW / 1000);
  const sig = o.sig ?? signWebhook(raw, { secret: o.secret ?? SECRET, prefix: 'sha256=', signedPayload: '{timestamp}.{body}', timestamp: ts });
  return req(raw, { 'content-type': 'application/json', 'x-timestamp': String(ts), 'x-hub-signature-256': sig });
}

const isVerification = (re?: RegExp) => (e: unknown) => e instanceof VerificationError && (!re || re.test(e.message));

test('hmac: a good signature over timestamp + exact raw bytes is accepted and mapped', () => {
  verify(signed(body), c, NOW);
  const records = parse(signed(body), c, NOW);
  assert.deepEqual(records.map((r) => r.device), ['A1', 'B2']);
  const msgs: PlatformMessage[] = records.flatMap((r) => httpJson.normalise(r, meta));
  assert.deepEqual(msgs, [
    { kind: 'telemetry', device: 'A1', values: { t: 21.5 }, ts: Date.parse('2025-06-01T11:59:30Z') },
    { kind: 'status', device: 'A1', online: true, ts: Date.parse('2025-06-01T11:59:30Z') },
    { kind: 'status', device: 'B2', online: false, ts: NOW },
  ]);
});

test('hmac: wrong secret, tampered body, missing or malformed signature are refused', () => {
  assert.throws(() => verify(signed(body, { secret: 'other' }), c, NOW), isVerification(/does not match/));
  const tampered = signed(body);
  tampered.rawBody = Buffer.from(body.replace('21.5', '99.9'));
  assert.throws(() => verify(tampered, c, NOW), isVerification(/does not match/));
  // Whitespace matters: the signature covers the exact bytes, not the parsed JSON.
  const reformatted = signed(body);
  reformatted.rawBody = Buffer.from(JSON.stringify(JSON.parse(body), null, 1));
  assert.throws(() => verify(reformatted, c, NOW), isVerification());
  const noSig = signed(body);
  delete noSig.headers['x-hub-signature-256'];
  assert.throws(() => verify(noSig, c, NOW), isVerification(/missing/));
  assert.throws(() => verify(signed(body, { sig: 'sha256=zz' }), c, NOW), isVerification(/not valid hex/));
  assert.throws(() => verify(signed(body, { sig: 'sha1=' + 'ab'.repeat(32) }), c, NOW), isVerification(/prefix/));
  assert.throws(() => verify(signed(body, { sig: 'sha256=' + 'ab'.repeat(16) }), c, NOW), isVerification(/does not match/));
  assert.throws(() => parse(signed(body, { secret: 'other' }), c, NOW), VerificationError, 'parse verifies on its own too');
});

test('hmac: replay protection by the signed timestamp window', () => {
  const s = Math.floor(NOW / 1000);
  verify(signed(body, { ts: s - 299 }), c, NOW);
  verify(signed(body, { ts: (s + 120) * 1000 }), c, NOW); // milliseconds accepted too
  assert.throws(() => verify(signed(body, { ts: s - 301 }), c, NOW), isVerification(/outside the allowed window/));
  assert.throws(() => verify(signed(body, { ts: s + 3600 }), c, NOW), isVerification(/outside/));
  const noTs = signed(body);
  delete noTs.headers['x-timestamp'];
  assert.throws(() => verify(noTs, c, NOW), isVerification(/timestamp header x-timestamp missing/));
  assert.throws(() => verify(signed(body, { ts: 'soon' }), c, NOW), isVerification(/not a time/));
  // A replayed old request re-stamped with a fresh time no longer matches its signature.
  const old = signed(body, { ts: s - 3600 });
  old.headers['x-timestamp'] = String(s);
  assert.throws(() => verify(old, c, NOW), isVerification(/does not match/));
});

test('hmac: algorithms, base64 encoding, body-only payload and secret rotation', () => {
  for (const algorithm of ['sha1', 'sha256', 'sha512'] as const) {
    for (const encoding of ['hex', 'base64'] as const) {
      const cc = cred({ ...base, hmac_algorithm: algorithm, signature_encoding: encoding, signature_prefix: '', signature_header: 'x-sig', timestamp_header: '', signed_payload: '', webhook_secret: 'old-secret', webhook_secret_next: SECRET });
      const sig = signWebhook(body, { secret: SECRET, algorithm, encoding });
      verify(req(body, { 'x-sig': sig }), cc, NOW);
      verify(req(body, { 'x-sig': signWebhook(body, { secret: 'old-secret', algorithm, encoding }) }), cc, NOW);
      assert.throws(() => verify(req(body, { 'x-sig': signWebhook(body, { secret: 'third', algorithm, encoding }) }), cc, NOW), VerificationError);
    }
  }
});

test('shared secret: x-webhook-secret or bearer token, rotation, constant-time compare', () => {
  const cs = cred({ ...base, webhook_auth: 'shared_secret', webhook_secret_next: 'next-secret-0000000' });
  assert.deepEqual(secrets(cs), [SECRET, 'next-secret-0000000']);
  assert.deepEqual(httpJson.webhook!.secrets(cs), secrets(cs));
  verify(req(body, { 'x-webhook-secret': SECRET }), cs, NOW);
  verify(req(body, { authorization: 'Bearer next-secret-0000000' }), cs, NOW);
  assert.throws(() => verify(req(body, { 'x-webhook-secret': SECRET + 'x' }), cs, NOW), isVerification(/missing or wrong/));
  assert.throws(() => verify(req(body, {}), cs, NOW), isVerification(/missing or wrong/));
  assert.equal(parse(req(body, { 'x-webhook-secret': SECRET }), cs, NOW).length, 2);
});

test('fail closed: webhooks off, or on without a secret, accept nothing', () => {
  const off = cred({ ...base, webhook_auth: 'off' });
  assert.deepEqual(secrets(off), []);
  assert.throws(() => verify(signed(body), off, NOW), isVerification(/off/));
  assert.throws(() => parse(signed(body), off, NOW), VerificationError);
  for (const mode of ['hmac', 'shared_secret']) {
    const none = cred({ ...base, webhook_auth: mode, webhook_secret: '' });
    assert.deepEqual(secrets(none), []);
    assert.throws(() => verify(signed(body), none, NOW), isVerification(/no webhook secret/));
    assert.throws(() => verify(req(body, { 'x-webhook-secret': '' }), none, NOW), VerificationError);
  }
});

test('parse: bad bodies and bad mappings are PayloadErrors; items without a device are skipped', () => {
  const cs = cred({ ...base, webhook_auth: 'shared_secret' });
  const h = { 'x-webhook-secret': SECRET };
  assert.throws(() => parse(req('{"events": [', h), cs, NOW), (e: unknown) => e instanceof PayloadError && /not valid JSON/.test(e.message));
  assert.deepEqual(parse(req('{"events": [{"ping": true}]}', h), cs, NOW), []);
  assert.deepEqual(parse(req('{"hello": 1}', h), cs, NOW), []);
  assert.throws(() => parse(req('{"events": [{"device": {"serial": {"x": 1}}}]}', h), cs, NOW), /webhook_device_expr \(access point SVCR\): device id must be a string or number/);
  assert.throws(() => parse(req('{"events": [{"device": {"serial": "A"}, "data": [1, 2]}]}', h), cs, NOW), /webhook_telemetry_expr \(access point SVCR\): must produce a JSON object/);
  const many = JSON.stringify({ events: Array.from({ length: MAX_WEBHOOK_ITEMS + 1 }, (_, i) => ({ device: { serial: `d${i}` } })) });
  assert.throws(() => parse(req(many, h), cs, NOW), /more than 1000 items/);
  // Defaults: no items_expr → the body (or its elements); device from device_id; values fall back to the SVCR mapping.
  const plain = cred({ base_url: 'https://x.example', webhook_auth: 'shared_secret', webhook_secret: SECRET, telemetry_expr: 'values' });
  const recs = parse(req('[{"device_id": 7, "values": {"a": 1}}, {"device_id": "8", "values": {"a": 2}}]', h), plain, NOW);
  assert.deepEqual(recs.map((r) => [r.device, (r.body as { telemetry: unknown }).telemetry]), [['7', { a: 1 }], ['8', { a: 2 }]]);
  // A redelivery of the same body gives the same keys (deduplicated downstream).
  assert.deepEqual(parse(req('[{"device_id": 7, "values": {"a": 1}}]', h), plain, NOW).map((r) => r.key), [recs[0]!.key]);
});

test('end to end over HTTP: the simulator signs, the connector verifies the exact bytes it received', async () => {
  const connector = createHttpJsonConnector({ now: () => Date.now() });
  const sim = await startHttpJsonSim({ devices: 2 });
  const cc = cred({ ...base, webhook_items_expr: '$', webhook_device_expr: 'device_id', webhook_telemetry_expr: 'readings', webhook_online_expr: 'online', webhook_ts_expr: 'ts' });
  const app = Fastify();
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_r, b, done) => done(null, b));
  app.post('/hook', async (request, reply) => {
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(request.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    const wreq: WebhookRequest = { rawBody: request.body as Buffer, headers, query: {}, subPath: '' };
    try {
      connector.webhook!.verify!(wreq, cc, Date.now());
      const records = connector.webhook!.parse(wreq, cc);
      return { records: records.length, messages: records.flatMap((r) => connector.normalise(r, meta)).length };
    } catch (err) {
      return reply.code(err instanceof VerificationError ? 401 : 400).send({ error: (err as Error).message });
    }
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const target = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/hook`;
  try {
    const opts = { secret: SECRET, header: 'X-Hub-Signature-256', prefix: 'sha256=', timestampHeader: 'X-Timestamp', signedPayload: '{timestamp}.{body}' };
    const ok = await sim.sendWebhook(target, sim.states(), opts);
    assert.deepEqual(ok, { status: 200, body: { records: 2, messages: 4 } });
    assert.equal((await sim.sendWebhook(target, sim.states(), { ...opts, secret: 'nope' })).status, 401);
    assert.equal((await sim.sendWebhook(target, sim.states(), { ...opts, timestamp: Math.floor(Date.now() / 1000) - 3600 })).status, 401);
    assert.equal((await sim.sendWebhook(target, sim.states(), { mode: 'none' })).status, 401);
    assert.equal((await sim.sendWebhook(target, '{"oops', opts)).status, 400);
  } finally {
    await app.close();
    await sim.close();
  }
});
