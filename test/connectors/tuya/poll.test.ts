// Tuya polling against the simulator: changed-values-only, cursor, batching.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { JsonObject, JsonValue, PlatformMessage, RawRecord } from '../../../src/core/messages.js';
import { AuthError } from '../../../src/core/errors.js';
import { tuya } from '../../../connectors/tuya/index.js';
import { diffDevice, readCursor, runPoll, writeCursor } from '../../../connectors/tuya/poll.js';
import { startTuyaSim, type SimDevice, type TuyaSim } from '../../../connectors/tuya/simulator.js';
import { fixture } from '../../helpers/ctx.js';
import { fixtureDevices, simCtx } from './helpers.js';

let sim: TuyaSim;
let ids: string[];
before(async () => {
  sim = await startTuyaSim({ devices: await fixtureDevices() });
  ids = [...sim.devices.keys()];
});
after(() => sim.close());

const meta = { accessPointId: 'ap', receivedAt: 0 };
const messages = (rs: RawRecord[]): PlatformMessage[] => rs.flatMap((r) => tuya.normalise(r, meta));
/** The cursor as the pipeline would store and return it (JSON round trip). */
const roundTrip = (c: JsonValue | null) => JSON.parse(JSON.stringify(c)) as JsonValue;

test('first poll publishes details, online flags and all values; the next only what changed', async () => {
  const ctx = simCtx(sim);
  const [a, b] = ids as [string, string];
  const p1 = await runPoll(ctx, null, ids);
  const kinds = (d: string, ms: PlatformMessage[]) => ms.filter((m) => m.device === d).map((m) => m.kind).sort();
  const m1 = messages(p1.records);
  assert.deepEqual(kinds(a, m1), ['attributes', 'status', 'telemetry']);
  assert.deepEqual(kinds(b, m1), ['attributes', 'status', 'telemetry']);
  const tel = m1.find((m) => m.kind === 'telemetry' && m.device === a);
  assert.ok(tel && tel.kind === 'telemetry');
  assert.deepEqual(Object.keys(tel.values).sort(), ['colour_data', 'flash_scene_3', 'flash_scene_4', 'switch_led']);
  assert.ok(p1.records.every((r) => r.device !== undefined && r.key.startsWith('tuya:')));
  assert.ok(!JSON.stringify(p1).includes('local_key'));

  const p2 = await runPoll(ctx, roundTrip(p1.cursor), ids);
  assert.deepEqual(p2.records, []);

  sim.setDeviceStatus(a, { colour_data: '{"h":120.0,"s":255.0,"v":189.0}' });
  sim.setDeviceOnline(b, false);
  const p3 = await runPoll(ctx, roundTrip(p2.cursor), ids);
  assert.deepEqual(messages(p3.records).map((m) => ({ ...m, ts: undefined })), [
    { kind: 'telemetry', device: a, values: { colour_data: { h: 120, s: 255, v: 189 } }, ts: undefined },
    { kind: 'status', device: b, online: false, ts: undefined },
  ]);
  // A value going back to what it was is a change too.
  sim.setDeviceStatus(a, { colour_data: '{"h":37.0,"s":255.0,"v":189.0}' });
  const p4 = await runPoll(ctx, roundTrip(p3.cursor), ids);
  assert.equal(p4.records.length, 1);
  assert.notEqual(p4.records[0]!.key, p3.records[0]!.key);
});

test('"only changed" off: every value and online flag each poll, details still only on change', async () => {
  const ctx = simCtx(sim, { extra: { only_changed: 'no' } });
  const p1 = await runPoll(ctx, null, ids);
  const p2 = await runPoll(ctx, roundTrip(p1.cursor), ids);
  assert.deepEqual(p2.records.map((r) => r.type).sort(), ['online', 'online', 'status', 'status']);
  assert.ok(p2.records.every((r) => !p1.records.some((q) => q.key === r.key)), 'new idempotency keys each poll');
});

test('unknown or damaged cursors mean "publish everything"; unbound devices leave the cursor', async () => {
  const ctx = simCtx(sim);
  for (const c of [null, 'x', { v: 99 }, { v: 1, dev: [] }, { v: 1, dev: { [ids[0]!]: { s: 5, o: 'x' } } }] as JsonValue[]) {
    const p = await runPoll(ctx, c, ids);
    assert.equal(p.records.filter((r) => r.type === 'status').length, 2);
  }
  const p1 = await runPoll(ctx, null, ids);
  const p2 = await runPoll(ctx, p1.cursor, [ids[0]!, 'bad id with spaces']);
  assert.deepEqual(Object.keys((p2.cursor as { dev: JsonObject }).dev), [ids[0]]);
  assert.deepEqual(await runPoll(ctx, null, []), { records: [], cursor: { v: 1, dev: {} } });
});

test('more than 20 devices: batches of 20, two calls each', async () => {
  const base = (await fixtureDevices())[0]!;
  const many: SimDevice[] = Array.from({ length: 45 }, (_, i) => ({ detail: { ...base.detail, id: `${base.detail.id}-${i}` }, status: structuredClone(base.status) }));
  const s = await startTuyaSim({ devices: many });
  try {
    const ctx = simCtx(s);
    const p = await runPoll(ctx, null, many.map((d) => d.detail.id));
    assert.equal(s.stats.calls, 6);
    assert.equal(p.records.filter((r) => r.type === 'status').length, 45);
  } finally {
    await s.close();
  }
});

test('auth failures stop the poll; the pipeline keeps the old cursor', async () => {
  const ctx = simCtx(sim, { extra: { access_secret: 'wrong' } });
  await assert.rejects(runPoll(ctx, null, ids), AuthError);
});

test('diffDevice over the fixtures: status answer and device-list entry', async () => {
  const st = (await fixture('tuya/openapi-iot03-device-status.response.json')) as { t: number; result: JsonValue[] };
  const list = (await fixture('tuya/openapi-iot03-device-list.response.json')) as { t: number; result: { devices: JsonObject[] } };
  const obj = list.result.devices[0]!;
  const id = obj.id as string;
  const first = diffDevice(undefined, { id, status: { t: st.t, items: st.result }, device: { t: list.t, obj } }, true);
  assert.deepEqual(first.records.map((r) => r.type), ['detail', 'online', 'status']);
  assert.ok(!JSON.stringify(first.records).includes('11d7f7286caa'), 'local_key never enters a record');
  const again = diffDevice(readCursor(roundTrip(writeCursor(new Map([[id, first.memory]])))).get(id), { id, status: { t: st.t + 1, items: st.result }, device: { t: list.t + 1, obj } }, true);
  assert.deepEqual(again.records, []);
  const changed = structuredClone(st.result) as JsonObject[];
  changed[0]!.value = false;
  const third = diffDevice(again.memory, { id, status: { t: st.t + 2, items: changed } }, true);
  assert.deepEqual(third.records.map((r) => r.body), [{ id, t: st.t + 2, status: [{ code: 'switch_led', value: false }] }]);
});
