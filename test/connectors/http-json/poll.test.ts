import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { closeExpressionEngine, httpJson } from '../../../connectors/http-json/index.js';
import { toRecord, toTimestamp } from '../../../connectors/http-json/mapping.js';
import { AuthError, PayloadError, PermanentError } from '../../../src/core/errors.js';
import type { JsonValue, PlatformMessage, RawRecord } from '../../../src/core/messages.js';
import { meta, withSim } from './helpers.js';

after(closeExpressionEngine);

const messages = (records: RawRecord[]): PlatformMessage[] => records.flatMap((r) => httpJson.normalise(r, meta));

test('per_device: SVCR mapping → telemetry, attributes, events, status with the vendor timestamp', async () => {
  const { sim, ctx, close } = await withSim({ devices: 3 });
  try {
    // Push dev-2's temperature over the alarm threshold.
    for (let i = 0; i < 4; i++) sim.states(['dev-2']);
    sim.setOnline('dev-3', false);
    const { records, cursor } = await httpJson.poll!.run(ctx, null, ['dev-1', 'dev-2', 'dev-3']);
    assert.equal(cursor, null);
    assert.equal(records.length, 3);
    assert.equal(sim.stats.stateCalls, 3);
    const msgs = messages(records);
    const tel = msgs.filter((m) => m.kind === 'telemetry');
    assert.equal(tel.length, 3);
    for (const t of tel) assert.ok(t.kind === 'telemetry' && typeof t.values.temperature === 'number' && typeof t.values.humidity === 'number' && typeof t.ts === 'number');
    assert.deepEqual(msgs.find((m) => m.kind === 'attributes' && m.device === 'dev-1'), { kind: 'attributes', device: 'dev-1', values: { battery: 100, firmware: '1.0.0' }, ts: (tel.find((m) => m.device === 'dev-1') as { ts: number }).ts });
    assert.deepEqual(records.map((r) => r.device), ['dev-1', 'dev-2', 'dev-3']);
    const alarm = msgs.find((m) => m.kind === 'event');
    assert.ok(alarm && alarm.kind === 'event' && alarm.device === 'dev-2' && alarm.method === 'alarm' && alarm.params.code === 'HIGH_TEMP');
    assert.deepEqual(msgs.filter((m) => m.kind === 'status').map((m) => m.kind === 'status' && [m.device, m.online]), [['dev-1', true], ['dev-2', true], ['dev-3', false]]);
  } finally {
    await close();
  }
});

test('per_device: the device template CFG wins over SVCR, field by field; no CFG falls back to SVCR', async () => {
  const cfgs: Record<string, Record<string, JsonValue> | null> = {
    'dev-1': { telemetry_expr: '{"t": readings.temperature, "dev": $device}', online_expr: '' },
    'dev-2': null,
  };
  const { ctx, close } = await withSim({ devices: 2 }, {}, { deviceConfig: async (id) => cfgs[id] ?? null });
  try {
    const msgs = messages((await httpJson.poll!.run(ctx, null, ['dev-1', 'dev-2'])).records);
    const t1 = msgs.find((m) => m.kind === 'telemetry' && m.device === 'dev-1');
    assert.ok(t1 && t1.kind === 'telemetry');
    assert.deepEqual(Object.keys(t1.values), ['t', 'dev']);
    assert.equal(t1.values.dev, 'dev-1');
    const t2 = msgs.find((m) => m.kind === 'telemetry' && m.device === 'dev-2');
    assert.ok(t2 && t2.kind === 'telemetry' && 'humidity' in t2.values);
    // online_expr "" in CFG means "not set": the SVCR online_expr still applies.
    assert.equal(msgs.filter((m) => m.kind === 'status').length, 2);
  } finally {
    await close();
  }
});

test('per_device: CFG state_path overrides the endpoint for that template', async () => {
  const { sim, ctx, close } = await withSim({ devices: 2 }, { state_path: '/nowhere/{id}' }, { deviceConfig: async () => ({ state_path: '/devices/{id}/state' }) });
  try {
    assert.equal((await httpJson.poll!.run(ctx, null, ['dev-1', 'dev-2'])).records.length, 2);
    assert.equal(sim.stats.stateCalls, 2);
  } finally {
    await close();
  }
});

test('batch: one call for all devices, only bound devices kept, mapping grouped per template', async () => {
  const { sim, ctx, close } = await withSim({ devices: 5, pagination: 'offset' }, {
    state_mode: 'batch', state_path: '/states', state_items_expr: 'data', state_device_id_expr: 'device_id', page_size: 2,
  }, { deviceConfig: async (id) => (id === 'dev-4' ? { telemetry_expr: '{"humidity_only": readings.humidity}' } : null) });
  try {
    const { records } = await httpJson.poll!.run(ctx, null, ['dev-2', 'dev-4', 'dev-9']);
    assert.deepEqual(records.map((r) => r.device).sort(), ['dev-2', 'dev-4']);
    assert.equal(sim.stats.stateCalls, 0);
    assert.equal(sim.stats.batchCalls, 3);
    const t4 = messages(records).find((m) => m.kind === 'telemetry' && m.device === 'dev-4');
    assert.ok(t4 && t4.kind === 'telemetry' && Object.keys(t4.values).join() === 'humidity_only');
  } finally {
    await close();
  }
});

test('one failing device does not stop the others; all failing surfaces the error', async () => {
  const { ctx, close } = await withSim({ devices: 2 });
  try {
    const { records } = await httpJson.poll!.run(ctx, null, ['dev-1', 'ghost', 'dev-2']);
    assert.deepEqual(records.map((r) => r.device).sort(), ['dev-1', 'dev-2']);
    await assert.rejects(httpJson.poll!.run(ctx, null, ['ghost']), (e: unknown) => e instanceof PermanentError && /HTTP 404/.test(e.message));
  } finally {
    await close();
  }
});

test('a bad CFG expression fails only that template\'s devices, naming the CFG field', async () => {
  const { ctx, close } = await withSim({ devices: 2 }, {}, { deviceConfig: async (id) => (id === 'dev-1' ? { attributes_expr: 'battery +' } : null) });
  try {
    assert.deepEqual((await httpJson.poll!.run(ctx, null, ['dev-1', 'dev-2'])).records.map((r) => r.device), ['dev-2']);
    await assert.rejects(httpJson.poll!.run(ctx, null, ['dev-1']), (e: unknown) => e instanceof PermanentError && /CFG: attributes_expr: invalid JSONata/.test(e.message));
  } finally {
    await close();
  }
});

test('mapping that produces the wrong shape is a PayloadError naming the field', async () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ telemetry_expr: 'readings.temperature' }, /telemetry_expr \(access point SVCR\): must produce a JSON object, got number/],
    [{ online_expr: '"maybe"' }, /online_expr \(access point SVCR\): online flag must be a boolean/],
    [{ ts_expr: '"yesterday"' }, /ts_expr \(access point SVCR\): timestamp "yesterday" is not a date/],
    [{ events_expr: '{"params": {}}' }, /events_expr \(access point SVCR\): event method must be a non-empty string/],
    [{ attributes_expr: 'battery / "x"' }, /attributes_expr \(access point SVCR\): evaluation error T20/],
  ];
  for (const [extra, re] of cases) {
    const { ctx, close } = await withSim({ devices: 1 }, extra);
    try {
      await assert.rejects(httpJson.poll!.run(ctx, null, ['dev-1']), (e: unknown) => e instanceof PayloadError && re.test(e.message));
    } finally {
      await close();
    }
  }
});

test('auth failure stops the whole poll at once', async () => {
  const { sim, ctx, close } = await withSim({ devices: 6, auth: { type: 'bearer', token: 'right' } }, { api_key: 'wrong' });
  try {
    await assert.rejects(httpJson.poll!.run(ctx, null, ['dev-1', 'dev-2', 'dev-3', 'dev-4', 'dev-5', 'dev-6']), AuthError);
    assert.ok(sim.stats.authFailures <= 4, `${sim.stats.authFailures} calls after the first 401`);
  } finally {
    await close();
  }
});

test('no state_path: polling is a no-op (webhook-only setup); no devices: no calls', async () => {
  const { sim, ctx, close } = await withSim({ devices: 1 }, { state_path: '' });
  try {
    assert.deepEqual(await httpJson.poll!.run(ctx, null, ['dev-1']), { records: [], cursor: null });
    assert.deepEqual(await httpJson.poll!.run(ctx, null, []), { records: [], cursor: null });
    assert.equal(sim.stats.requests, 0);
    assert.equal(httpJson.poll!.intervalMs(ctx.cred), 30_000);
  } finally {
    await close();
  }
});

test('record keys: hash of device + values + timestamp', () => {
  const a = toRecord({ device: 'd', telemetry: { t: 1, h: 2 }, ts: 5 }, 'poll', 99);
  const b = toRecord({ device: 'd', telemetry: { h: 2, t: 1 }, ts: 5 }, 'webhook');
  assert.equal(a.key, b.key, 'same reading from poll and webhook, key order irrelevant');
  assert.notEqual(a.key, toRecord({ device: 'd', telemetry: { t: 1, h: 3 }, ts: 5 }, 'poll').key);
  assert.notEqual(a.key, toRecord({ device: 'e', telemetry: { t: 1, h: 2 }, ts: 5 }, 'poll').key);
  // Without a vendor timestamp the poll time keeps unchanged readings fresh.
  assert.notEqual(toRecord({ device: 'd', telemetry: { t: 1 } }, 'poll', 1).key, toRecord({ device: 'd', telemetry: { t: 1 } }, 'poll', 2).key);
});

test('timestamps: seconds, milliseconds, micro/nanoseconds, numeric strings and ISO 8601', () => {
  const ms = Date.UTC(2024, 0, 2, 3, 4, 5);
  for (const v of [ms / 1000, ms, ms * 1000, ms * 1e6, String(ms / 1000), '2024-01-02T03:04:05Z']) assert.equal(toTimestamp(v, 'ts'), ms, String(v));
  assert.equal(toTimestamp(null, 'ts'), undefined);
  assert.throws(() => toTimestamp(-5, 'ts'), PayloadError);
  assert.throws(() => toTimestamp({}, 'ts'), PayloadError);
});

test('normalise rejects malformed records with a PayloadError', () => {
  assert.throws(() => httpJson.normalise({ key: 'k', type: 'poll', body: { device: '' } }, meta), PayloadError);
  assert.throws(() => httpJson.normalise({ key: 'k', type: 'other', body: { device: 'd' } }, meta), PayloadError);
  assert.throws(() => httpJson.normalise({ key: 'k', type: 'poll', body: { device: 'd', telemetry: [1] } }, meta), PayloadError);
  assert.deepEqual(httpJson.normalise({ key: 'k', type: 'poll', body: { device: 'd', telemetry: {} } }, meta), []);
});
