import assert from 'node:assert/strict';
import { test } from 'node:test';
import { throttledLog } from '../../src/core/log.js';

test('throttledLog: once per window per key, reporting how many were suppressed', () => {
  const out: [string, number][] = [];
  const once = throttledLog(1000);
  for (let i = 0; i < 5; i++) once('a', (n) => out.push(['a', n]), 10_000 + i);
  once('b', (n) => out.push(['b', n]), 10_010);
  once('a', (n) => out.push(['a', n]), 11_500);
  assert.deepEqual(out, [['a', 0], ['b', 0], ['a', 4]]);
});
