// Property tests: normalise of random and mutated fixture records returns messages or throws PayloadError.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { PayloadError } from '../../../src/core/errors.js';
import type { JsonObject, JsonValue, PlatformMessage, RawRecord } from '../../../src/core/messages.js';
import { normalise } from '../../../connectors/tuya/normalise.js';
import { diffDevice } from '../../../connectors/tuya/poll.js';
import { fixture } from '../../helpers/ctx.js';

const status = (await fixture('tuya/openapi-iot03-device-status.response.json')) as { t: number; result: JsonValue[] };
const list = (await fixture('tuya/openapi-iot03-device-list.response.json')) as { t: number; result: { devices: JsonObject[] } };
const detail = (await fixture('tuya/openapi-iot03-device-detail.response.json')) as { result: JsonObject };
const mq = (await fixture('tuya/mq-data-protocol4-status-report.json')) as JsonObject;

/** Record bodies exactly as poll.ts builds them from the fixture answers, plus the MQ report. */
const seeds: RawRecord[] = [
  { key: 's', type: 'status', body: { id: 'mock-id', t: status.t, status: status.result } },
  { key: 'o', type: 'online', body: { id: list.result.devices[0]!.id!, online: list.result.devices[0]!.online!, t: list.t } },
  { key: 'd', type: 'detail', body: { t: list.t, device: list.result.devices[0]! } },
  { key: 'e', type: 'detail', body: { device: detail.result } },
  { key: 'm', type: 'mq-status', body: mq },
];

/** Replaces the value at a pseudo-random path (chosen by `steps`) with `replacement`. */
function mutate(v: JsonValue, steps: number[], replacement: JsonValue): JsonValue {
  if (steps.length === 0 || v === null || typeof v !== 'object') return replacement;
  const [s, ...rest] = steps as [number, ...number[]];
  if (Array.isArray(v)) {
    if (v.length === 0) return replacement;
    const i = s % v.length;
    return v.map((x, j) => (j === i ? mutate(x, rest, replacement) : x));
  }
  const keys = Object.keys(v);
  if (keys.length === 0) return replacement;
  const k = keys[s % keys.length]!;
  return Object.fromEntries(Object.entries(v).map(([kk, x]) => [kk, kk === k ? mutate(x, rest, replacement) : x]));
}

const mutation = fc.record({
  seed: fc.integer({ min: 0, max: seeds.length - 1 }),
  edits: fc.array(fc.record({ steps: fc.array(fc.nat(), { maxLength: 5 }), value: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<JsonValue> }), { minLength: 1, maxLength: 4 }),
  retype: fc.option(fc.constantFrom('status', 'online', 'detail', 'mq-status', 'uplink', '__proto__', 'constructor', ''), { nil: undefined }),
});

const randomRecord = fc.record({
  key: fc.string(),
  type: fc.oneof(fc.constantFrom('status', 'online', 'detail', 'mq-status'), fc.string()),
  body: fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<JsonValue>,
});

function checkOutput(out: PlatformMessage[]): void {
  assert.ok(Array.isArray(out));
  for (const m of out) {
    assert.equal(typeof m.device, 'string');
    assert.ok(m.device.length > 0);
    assert.ok(['telemetry', 'attributes', 'status'].includes(m.kind));
    if (m.ts !== undefined) assert.ok(Number.isInteger(m.ts) && m.ts > 0);
    if (m.kind === 'attributes') assert.equal(Object.hasOwn(m.values, 'local_key'), false);
    JSON.stringify(m);
  }
}

function onlyMessagesOrPayloadError(r: RawRecord): void {
  let out: PlatformMessage[];
  try {
    out = normalise(r, { accessPointId: 'ap', receivedAt: 0 });
  } catch (err) {
    assert.ok(err instanceof PayloadError, `unexpected ${String(err)}`);
    return;
  }
  checkOutput(out);
}

test('the unmutated fixtures normalise without error', () => {
  for (const s of seeds) assert.ok(normalise(s, { accessPointId: 'ap', receivedAt: 0 }).length > 0, s.type);
});

test('property: mutated fixture records → messages or PayloadError, nothing else', () => {
  fc.assert(
    fc.property(mutation, ({ seed, edits, retype }) => {
      const base = seeds[seed]!;
      let body = base.body;
      for (const e of edits) body = mutate(body, e.steps, e.value);
      onlyMessagesOrPayloadError({ key: base.key, type: retype ?? base.type, body });
    }),
    { numRuns: 2000 },
  );
});

test('property: random records → messages or PayloadError, nothing else', () => {
  fc.assert(fc.property(randomRecord, (r) => onlyMessagesOrPayloadError(r)), { numRuns: 2000 });
});

test('property: poll diff over mutated fixture answers yields records that normalise cleanly', () => {
  const items = fc.array(fc.oneof(fc.constantFrom(...status.result), fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<JsonValue>), { maxLength: 8 });
  const device = fc.record({ steps: fc.array(fc.nat(), { maxLength: 2 }), value: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<JsonValue> })
    .map(({ steps, value }) => mutate(list.result.devices[0]!, steps, value));
  fc.assert(
    fc.property(items, device, fc.boolean(), (its, dev, onlyChanged) => {
      const obj = (dev !== null && typeof dev === 'object' && !Array.isArray(dev) ? dev : {}) as JsonObject;
      const { records } = diffDevice(undefined, { id: 'dev-1', status: { t: status.t, items: its }, device: { t: list.t, obj } }, onlyChanged);
      for (const r of records) checkOutput(normalise(r, { accessPointId: 'ap', receivedAt: 0 }));
    }),
    { numRuns: 1000 },
  );
});
