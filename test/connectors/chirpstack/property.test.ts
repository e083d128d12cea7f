// Property: random and mutated ChirpStack events through parse + normalise give well-formed messages or a PayloadError, nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PayloadError } from '../../../src/core/errors.js';
import type { JsonValue, PlatformMessage, RawRecord } from '../../../src/core/messages.js';
import { normalise } from '../../../connectors/chirpstack/normalise.js';
import { parse } from '../../../connectors/chirpstack/webhook.js';
import { fixtureText } from '../../helpers/ctx.js';
import { cred, fixtureEvents, req } from './helpers.js';

const C = cred();
const META = { accessPointId: 'ap', receivedAt: 0 };
const EVENTS = ['up', 'join', 'ack', 'txack', 'status', 'log', 'location', 'integration', 'UP', 'unknown', ''];
const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'application/octet-stream', 'text/plain', ''];

const FIXTURES: Array<[string, JsonValue]> = await Promise.all(
  fixtureEvents().map(async ([event, path]) => [event, JSON.parse(await fixtureText(path)) as JsonValue] as [string, JsonValue]),
);

/** Values ChirpStack's omission rules or a broken sender could plausibly produce, plus arbitrary JSON. */
const nasty: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((v) => v as JsonValue),
  fc.constantFrom<JsonValue>(0, -1, 1.5, -0, '', null, true, false, 1e308, -1e308, 4294967296, -2147483649, 'AQID', '***', '0101010101010101',
    'FFFFFFFFFFFFFFFF', '2022-07-18T09:34:15.775023242+00:00', '2022-07-18T25:00:00Z', {}, [], [{}], { lora: {} }),
);

type Path = Array<string | number>;
function paths(v: JsonValue, at: Path = []): Path[] {
  if (v === null || typeof v !== 'object') return [];
  const keys: Array<string | number> = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
  return keys.flatMap((k) => [[...at, k], ...paths((v as Record<string | number, JsonValue>)[k] as JsonValue, [...at, k])]);
}

function mutate(body: JsonValue, path: Path, op: 'delete' | 'replace', value: JsonValue): JsonValue {
  const copy = structuredClone(body);
  let parent = copy as Record<string | number, JsonValue>;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, JsonValue>;
  const last = path[path.length - 1] as string | number;
  if (op === 'delete' && !Array.isArray(parent)) delete parent[last];
  else parent[last] = value;
  return copy;
}

function wellFormed(msgs: PlatformMessage[]): void {
  for (const m of msgs) {
    assert.match(m.device, /^[0-9a-f]{16}$/);
    if (m.ts !== undefined) assert.ok(Number.isFinite(m.ts));
    if (m.kind === 'telemetry' || m.kind === 'attributes') assert.ok(Object.keys(m.values).length > 0);
    else if (m.kind === 'event') { assert.ok(m.method); assert.ok(Object.keys(m.params).length > 0); }
    else assert.equal(m.kind, 'status');
    JSON.stringify(m);
  }
}

/** Runs fn; only PayloadError may escape, and whatever comes out must be well formed. */
function payloadErrorOr(fn: () => PlatformMessage[]): void {
  try {
    wellFormed(fn());
  } catch (e) {
    if (!(e instanceof PayloadError)) throw e;
  }
}

const pipeline = (event: string, body: string | Buffer, contentType = 'application/json') => () =>
  parse(req(event, body, { 'content-type': contentType }), C).flatMap((r: RawRecord) => {
    assert.ok(r.key.length > 0);
    assert.match(r.device ?? '', /^[0-9a-f]{16}$/);
    return normalise(r, META);
  });

test('mutated fixtures: messages or PayloadError', () => {
  const arb = fc.tuple(fc.constantFrom(...FIXTURES), fc.boolean(), fc.constantFrom(...EVENTS)).chain(([[event, body], keepEvent, other]) =>
    fc.array(fc.tuple(fc.nat(), fc.constantFrom<'delete' | 'replace'>('delete', 'replace'), nasty), { minLength: 1, maxLength: 5 })
      .map((muts) => {
        let b = body;
        for (const [i, op, v] of muts) {
          const ps = paths(b);
          if (ps.length === 0) break;
          b = mutate(b, ps[i % ps.length] as Path, op, v);
        }
        return [keepEvent ? event : other, b] as const;
      }));
  fc.assert(fc.property(arb, ([event, body]) => payloadErrorOr(pipeline(event, JSON.stringify(body)))), { numRuns: 1500 });
});

test('random bytes, text and JSON under any event and content type: messages or PayloadError', () => {
  const body = fc.oneof(
    fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
    fc.string({ maxLength: 200 }),
    fc.json({ maxDepth: 4 }),
    fc.constantFrom(...FIXTURES).chain(([, b]) => fc.nat().map((n) => { const s = JSON.stringify(b); return s.slice(0, n % (s.length + 1)); })),
  );
  fc.assert(fc.property(fc.constantFrom(...EVENTS), fc.constantFrom(...CONTENT_TYPES), body, (event, ct, b) => payloadErrorOr(pipeline(event, b, ct))), { numRuns: 1500 });
});

test('normalise alone on arbitrary bodies of every record type: messages or PayloadError', () => {
  const bodyArb: fc.Arbitrary<JsonValue> = fc.oneof(
    fc.jsonValue({ maxDepth: 4 }).map((v) => v as JsonValue),
    fc.constantFrom(...FIXTURES).map(([, b]) => b),
    fc.record({ deviceInfo: fc.record({ devEui: fc.constantFrom('0101010101010101', 'ABCDEFABCDEFABCD', 'x') }), time: nasty, object: nasty, rxInfo: nasty, txInfo: nasty, location: nasty, batteryLevel: nasty }, { requiredKeys: ['deviceInfo'] })
      .map((v) => v as JsonValue),
  );
  fc.assert(fc.property(fc.constantFrom(...EVENTS), bodyArb, (type, body) => payloadErrorOr(() => normalise({ key: 'k', type, body }, META))), { numRuns: 1500 });
});
