import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { checkExpression, closeExpressionEngine, evaluate, evaluateRow, evaluateRowSync, evaluateSync, LIMITS } from '../../../connectors/http-json/expr.js';
import { PayloadError, PermanentError } from '../../../src/core/errors.js';

after(closeExpressionEngine);

const state = { device_id: 'd1', ts: 1700000000, readings: { temperature: 21.5, humidity: 40 }, alarms: [{ code: 'HIGH', level: 'warn' }], status: 'ONLINE' };

test('expressions map a vendor answer (async and sync give the same results)', async () => {
  const specs = [
    { field: 'telemetry_expr', expr: 'readings' },
    { field: 'attributes_expr', expr: '{"t_f": readings.temperature * 9 / 5 + 32}' },
    { field: 'events_expr', expr: 'alarms.{"method": "alarm", "params": $}' },
    { field: 'online_expr', expr: 'status = "ONLINE"' },
    { field: 'ts_expr', expr: 'ts' },
    { field: 'missing', expr: 'nothing.here' },
    { field: 'binding', expr: '$device & "/" & device_id' },
  ];
  const expected = [state.readings, { t_f: 70.7 }, { method: 'alarm', params: state.alarms[0] }, true, 1700000000, undefined, 'x/d1'];
  assert.deepEqual(await evaluateRow(specs, state, { device: 'x' }), expected);
  assert.deepEqual(evaluateRowSync(specs, state, { device: 'x' }), expected);
});

test('many inputs in one call; a runtime error stays with its input', async () => {
  const res = await evaluate([{ field: 'f', expr: 'a + 1' }], [{ input: { a: 1 } }, { input: { a: 'x' } }, { input: { a: 3 } }]);
  assert.deepEqual(res[0], { ok: true, values: [2] });
  assert.ok(!res[1]!.ok && res[1]!.error instanceof PayloadError && /^f: evaluation error T2001/.test(res[1]!.error.message));
  assert.deepEqual(res[2], { ok: true, values: [4] });
});

test('a syntax error is a PermanentError naming the field, before anything runs', async () => {
  assert.match(checkExpression('a.(')!, /syntax error S0\d+ at position \d+/);
  assert.equal(checkExpression('a.b'), null);
  await assert.rejects(evaluateRow([{ field: 'telemetry_expr (device template CFG)', expr: 'a.(' }], {}), (e: unknown) => e instanceof PermanentError && e.message.startsWith('telemetry_expr (device template CFG): invalid JSONata expression'));
  assert.throws(() => evaluateRowSync([{ field: 'x', expr: '"'.repeat(9000) }], {}), /longer than 8192/);
});

test('runaway expressions are bounded in time and reported, not thrown raw', async () => {
  const loop = '($f := function($n){ $f($n + 1) }; $f(0))';
  const spin = '($l := function($n){ $n = -1 ? 0 : $l($n) }; $l(1))';
  for (const expr of [loop, spin]) {
    const t0 = Date.now();
    await assert.rejects(evaluateRow([{ field: 'ts_expr', expr }], {}), (e: unknown) => e instanceof PayloadError && /^ts_expr: expression (timed out|recursion is deeper)/.test(e.message));
    assert.ok(Date.now() - t0 < 2000);
    assert.throws(() => evaluateRowSync([{ field: 'ts_expr', expr }], {}), PayloadError);
  }
});

test('a step that never yields (catastrophic regex) is killed at the hard limit; the engine recovers', async () => {
  const evil = '$match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /(a+)+$/)';
  const t0 = Date.now();
  assert.throws(() => evaluateRowSync([{ field: 'online_expr', expr: evil }], {}), (e: unknown) => e instanceof PayloadError && /online_expr: .*hard time limit/.test(e.message));
  assert.ok(Date.now() - t0 < 4000, `sync call blocked ${Date.now() - t0} ms`);
  assert.deepEqual(evaluateRowSync([{ field: 'f', expr: '1 + 1' }], {}), [2]);
  await assert.rejects(evaluateRow([{ field: 'online_expr', expr: evil }], {}), /hard time limit/);
  assert.deepEqual(await evaluateRow([{ field: 'f', expr: '2 + 2' }], {}), [4]);
});

test('output size, sequence length and memory are bounded', async () => {
  await assert.rejects(evaluateRow([{ field: 'telemetry_expr', expr: '{"big": $pad("", 300000, "x")}' }], {}), (e: unknown) => e instanceof PayloadError && e.message === `telemetry_expr: result is larger than ${LIMITS.maxOutput} bytes`);
  await assert.rejects(evaluateRow([{ field: 'items_expr', expr: '[1..1000000]' }], {}), /items_expr: expression built a sequence longer than 100000/);
  // One huge allocation kills only the evaluator process; we get an error naming the field and carry on.
  assert.throws(() => evaluateRowSync([{ field: 'events_expr', expr: '$pad("", 200000000)' }], {}), /events_expr: expression evaluation crashed the evaluator/);
  assert.deepEqual(evaluateRowSync([{ field: 'f', expr: '"ok"' }], {}), ['ok']);
  await assert.rejects(evaluateRow([{ field: 'f', expr: '$eval("1")' }], {}), /\$eval is not available/);
});

test('functions and undefined never leak out as values', async () => {
  assert.deepEqual(await evaluateRow([{ field: 'f', expr: 'function($x){$x}' }, { field: 'g', expr: '{"a": undefined_thing}' }], {}), [undefined, {}]);
  assert.deepEqual(evaluateSync([{ field: 'f', expr: 'a' }], []), []);
});

test('long input lists are split into chunks, each with its own budget; order is kept', async () => {
  const inputs = Array.from({ length: 1234 }, (_, i) => ({ input: { n: i } }));
  const res = await evaluate([{ field: 'f', expr: 'n * 2' }], inputs);
  assert.equal(res.length, 1234);
  assert.ok(res.every((r, i) => r.ok && r.values[0] === i * 2));
  const sync = evaluateSync([{ field: 'f', expr: 'n + 1' }], inputs.slice(0, 700));
  assert.ok(sync.every((r, i) => r.ok && r.values[0] === i + 1));
});
