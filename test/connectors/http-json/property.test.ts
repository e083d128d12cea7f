import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { closeExpressionEngine, httpJson } from '../../../connectors/http-json/index.js';
import { signWebhook } from '../../../connectors/http-json/simulator.js';
import { parse } from '../../../connectors/http-json/webhook.js';
import type { WebhookRequest } from '../../../src/core/connector.js';
import { PayloadError, VerificationError } from '../../../src/core/errors.js';
import type { PlatformMessage } from '../../../src/core/messages.js';
import { cred, meta } from './helpers.js';

after(closeExpressionEngine);

const NOW = Date.UTC(2025, 0, 1);
const SECRET = 'prop-secret-0123456789';
const mapping = {
  base_url: 'https://api.example.com',
  webhook_items_expr: 'events',
  webhook_device_expr: 'device.serial',
  webhook_telemetry_expr: 'data',
  webhook_attributes_expr: 'meta',
  webhook_events_expr: 'alerts.{"method": kind, "params": details}',
  webhook_online_expr: 'online',
  webhook_ts_expr: 'time',
};
const hmac = cred({ ...mapping, webhook_auth: 'hmac', webhook_secret: SECRET, timestamp_header: 'x-ts', signed_payload: '{timestamp}.{body}' });
const shared = cred({ ...mapping, webhook_auth: 'shared_secret', webhook_secret: SECRET });

function signedReq(raw: Buffer, sigOver: Buffer = raw, ts = Math.floor(NOW / 1000)): WebhookRequest {
  return { rawBody: raw, headers: { 'x-ts': String(ts), 'x-signature': signWebhook(sigOver, { secret: SECRET, signedPayload: '{timestamp}.{body}', timestamp: ts }) }, query: {}, subPath: '' };
}
const sharedReq = (raw: Buffer): WebhookRequest => ({ rawBody: raw, headers: { 'x-webhook-secret': SECRET }, query: {}, subPath: '' });

/** parse + normalise; returns messages, or the error class name when it is an allowed one. Anything else fails. */
function run(req: WebhookRequest, c = hmac): PlatformMessage[] | 'payload' | 'verification' {
  try {
    const records = parse(req, c, NOW);
    const msgs = records.flatMap((r) => httpJson.normalise(r, meta));
    for (const m of msgs) {
      assert.ok(typeof m.device === 'string' && m.device.length > 0 && m.device.length <= 256);
      assert.ok(m.ts === undefined || (Number.isInteger(m.ts) && m.ts > 0));
      if (m.kind === 'telemetry' || m.kind === 'attributes') assert.ok(m.values && typeof m.values === 'object' && !Array.isArray(m.values) && Object.keys(m.values).length > 0);
      else if (m.kind === 'event') assert.ok(typeof m.method === 'string' && m.method.length > 0 && m.params && typeof m.params === 'object');
      else assert.equal(typeof m.online, 'boolean');
    }
    return msgs;
  } catch (err) {
    if (err instanceof PayloadError) return 'payload';
    if (err instanceof VerificationError) return 'verification';
    throw err;
  }
}

const json = <T>(v: T) => JSON.parse(JSON.stringify(v)) as unknown;
const anyValue = fc.jsonValue({ maxDepth: 3 });
/** Mostly well-formed, sometimes anything: keeps a good share of runs reaching the message path. */
const mostly = <T>(good: fc.Arbitrary<T>) => fc.oneof({ arbitrary: good, weight: 8 }, { arbitrary: anyValue, weight: 1 });
const deviceId = mostly(fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), fc.integer(), fc.constant(null)));
const time = mostly(fc.oneof(fc.integer({ min: -10, max: 4e15 }), fc.date({ noInvalidDate: true, min: new Date(1), max: new Date(4e12) }).map((d) => d.toISOString()), fc.string({ maxLength: 12 })));
const item = fc.record(
  {
    device: mostly(fc.record({ serial: deviceId })),
    data: mostly(fc.dictionary(fc.string({ maxLength: 8 }), anyValue, { maxKeys: 4 })),
    meta: mostly(fc.dictionary(fc.string({ maxLength: 8 }), fc.string(), { maxKeys: 3 })),
    alerts: mostly(fc.array(fc.record({ kind: mostly(fc.string({ minLength: 1, maxLength: 10 })), details: anyValue }), { maxLength: 3 })),
    online: mostly(fc.oneof(fc.boolean(), fc.constantFrom('online', 'offline', 'maybe', 0, 1, 2))),
    time,
  },
  { requiredKeys: [] },
);
const plausible = fc.oneof(
  { arbitrary: fc.record({ events: fc.array(item, { maxLength: 4 }) }), weight: 6 },
  { arbitrary: fc.record({ events: item }), weight: 2 },
  { arbitrary: anyValue, weight: 1 },
);

test('property: random and plausible bodies, correctly signed → messages or PayloadError, never anything else', () => {
  fc.assert(
    fc.property(plausible, (body) => {
      const raw = Buffer.from(JSON.stringify(json(body)));
      const r = run(signedReq(raw));
      assert.notEqual(r, 'verification');
      assert.deepEqual(run(sharedReq(raw), shared), r, 'both verification modes map alike');
    }),
    { numRuns: 150 },
  );
});

test('property: mutated bytes → VerificationError when the signature covers the original, else messages or PayloadError', () => {
  const mutation = fc.record({ at: fc.nat(), op: fc.constantFrom('flip', 'delete', 'insert'), byte: fc.integer({ min: 0, max: 255 }) });
  fc.assert(
    fc.property(plausible, fc.array(mutation, { minLength: 1, maxLength: 4 }), (body, muts) => {
      const original = Buffer.from(JSON.stringify(json(body)));
      let b = Buffer.from(original);
      for (const m of muts) {
        const at = b.length === 0 ? 0 : m.at % b.length;
        if (m.op === 'flip' && b.length > 0) b[at] = b[at]! ^ (m.byte || 1);
        else if (m.op === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
        else b = Buffer.concat([b.subarray(0, at), Buffer.from([m.byte]), b.subarray(at)]);
      }
      const stale = run(signedReq(b, original));
      if (!b.equals(original)) assert.equal(stale, 'verification');
      const fresh = run(signedReq(b));
      assert.notEqual(fresh, 'verification');
    }),
    { numRuns: 150 },
  );
});

test('property: forged, missing or stale signatures and timestamps → VerificationError only', () => {
  fc.assert(
    fc.property(
      plausible,
      fc.option(fc.string({ maxLength: 80 })),
      fc.option(fc.oneof(fc.string({ maxLength: 20 }), fc.integer({ min: 0, max: 2e12 }).map(String))),
      (body, sig, ts) => {
        const raw = Buffer.from(JSON.stringify(json(body)));
        const headers: Record<string, string | undefined> = {};
        if (sig !== null) headers['x-signature'] = sig;
        if (ts !== null) headers['x-ts'] = ts;
        assert.equal(run({ rawBody: raw, headers, query: {}, subPath: '' }), 'verification');
      },
    ),
    { numRuns: 200 },
  );
});
