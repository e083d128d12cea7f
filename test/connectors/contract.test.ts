// The shared connector contract: every registered connector is checked the same way.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { builtInConnectors } from '../../connectors/index.js';
import { simVoucher, type HttpJsonSim } from '../../connectors/http-json/simulator.js';
import type { AnyConnector } from '../../src/core/connector.js';
import { PayloadError, VerificationError } from '../../src/core/errors.js';
import type { JsonValue, PlatformMessage } from '../../src/core/messages.js';
import { numberFor } from '../../src/pipeline/registry.js';

/** A valid voucher per connector, as the ThingsPanel form stores it (strings, plus auth_type). */
const SAMPLES: Record<string, Record<string, unknown>> = {
  'the-things-stack': { server_url: 'https://eu1.cloud.thethings.network', application_id: 'app1', api_key: 'NNSXS.A.B', webhook_secret: 'secret-0123456789abcdef', auth_type: 'manual' },
  chirpstack: { api_url: 'http://127.0.0.1:8090', api_token: 'tok', application_id: '17c82e96-be03-4f38-aef3-f83d48582d97', webhook_secret: 'secret-0123456789abcdef', auth_type: 'manual' },
  tuya: { endpoint: 'https://openapi.tuyaeu.com', access_id: 'id', access_secret: 'secret', auth_type: 'manual' },
  'http-json': simVoucher({ url: 'http://127.0.0.1:1', auth: { type: 'none' }, pagination: 'none' } as unknown as HttpJsonSim, { webhook_auth: 'shared_secret', webhook_secret: 'secret-0123456789abcdef' }),
};

const KINDS = new Set(['telemetry', 'attributes', 'event', 'status']);
const isObj = (v: unknown) => !!v && typeof v === 'object' && !Array.isArray(v);

function checkMessage(c: AnyConnector, m: PlatformMessage): void {
  assert.ok(KINDS.has(m.kind), `${c.id}: unknown kind ${m.kind}`);
  assert.ok(typeof m.device === 'string' && m.device.length > 0, `${c.id}: message without a device`);
  if (m.ts !== undefined) assert.ok(Number.isFinite(m.ts), `${c.id}: ts must be a finite number`);
  if (m.kind === 'telemetry' || m.kind === 'attributes') assert.ok(isObj(m.values), `${c.id}: ${m.kind} values must be an object`);
  if (m.kind === 'event') {
    assert.ok(typeof m.method === 'string' && m.method.length > 0, `${c.id}: event without a method`);
    assert.ok(isObj(m.params) && Object.keys(m.params).length > 0, `${c.id}: event params must be a non-empty object (old backends)`);
  }
  if (m.kind === 'status') assert.equal(typeof m.online, 'boolean');
  JSON.stringify(m);
}

test('every built-in connector has a sample voucher here (add one with a new connector)', () => {
  assert.deepEqual(Object.keys(builtInConnectors).sort(), Object.keys(SAMPLES).sort());
});

for (const c of Object.values(builtInConnectors)) {
  const sample = SAMPLES[c.id]!;

  test(`${c.id}: identity, limits, entry points, README`, () => {
    assert.match(c.id, /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/);
    assert.equal(builtInConnectors[c.id], c);
    assert.ok(c.displayName.length > 0);
    assert.match(c.deviceNumberPrefix, /^[a-z]{2,6}$/);
    assert.ok(c.limits.requestsPerSecond > 0 && c.limits.burst >= 1);
    assert.ok(c.poll || c.webhook, 'a connector needs a poll or a webhook entry point');
    assert.ok(existsSync(new URL(`../../connectors/${c.id}/README.md`, import.meta.url)), 'connector README');
  });

  test(`${c.id}: the voucher form and schema agree; every required field is enforced`, () => {
    const ok = c.voucherSchema.safeParse(sample);
    assert.ok(ok.success, JSON.stringify(!ok.success && ok.error.issues));
    const keys = new Set(c.voucherFields.map((f) => f.key));
    for (const k of Object.keys(sample)) if (k !== 'auth_type') assert.ok(keys.has(k), `sample key ${k} is not a form field`);
    for (const f of c.voucherFields.filter((x) => x.required)) {
      const { [f.key]: _drop, ...rest } = sample;
      assert.equal(c.voucherSchema.safeParse(rest).success, false, `${f.key} is marked required but the schema accepts its absence`);
    }
  });

  test(`${c.id}: device numbers are at most 36 characters and distinct`, () => {
    const cred = c.voucherSchema.parse(sample);
    fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 120 }), fc.string({ minLength: 1, maxLength: 120 }), (a, b) => {
      const na = numberFor(c, cred, a);
      assert.ok(na.length <= 36, na);
      if (a !== b) assert.notEqual(na, numberFor(c, cred, b));
    }), { numRuns: 300 });
  });

  test(`${c.id}: normalise returns well-formed messages or throws PayloadError, for any record`, () => {
    fc.assert(fc.property(fc.string({ maxLength: 30 }), fc.constantFrom('status', 'online', 'detail', 'up', 'join', 'uplink_message', 'reading', 'webhook', 'poll'), fc.jsonValue(), (key, type, body) => {
      try {
        for (const m of c.normalise({ key, type, body: body as JsonValue }, { accessPointId: 'ap', receivedAt: 0 })) checkMessage(c, m);
      } catch (err) {
        if (!(err instanceof PayloadError)) throw err;
      }
    }), { numRuns: 300 });
  });

  if (c.webhook) {
    const wh = c.webhook;
    test(`${c.id}: webhooks fail closed and reject garbage with PayloadError or VerificationError only`, () => {
      const cred = c.voucherSchema.parse(sample);
      assert.ok(wh.secrets(cred).length > 0, 'the sample secret is returned');
      fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), fc.constantFrom('application/json', 'text/plain', 'application/octet-stream'), (bytes, ct) => {
        const req = { rawBody: Buffer.from(bytes), headers: { 'content-type': ct }, query: { event: 'up' }, subPath: '' };
        try {
          wh.verify?.(req, cred, Date.now());
          for (const r of wh.parse(req, cred)) assert.ok(typeof r.key === 'string' && r.key.length > 0);
        } catch (err) {
          if (!(err instanceof PayloadError || err instanceof VerificationError)) throw err;
        }
      }), { numRuns: 200 });
    });
  }
}
