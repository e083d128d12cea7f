import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

test('tp-connector start with bad configuration: one message listing every problem, exit code 2, nothing connects', () => {
  const r = spawnSync(process.execPath, ['bin/tp-connector.mjs', 'start'], {
    env: { ...process.env, REDIS_URL: 'nope', CONNECTORS: 'x', WEBHOOK_PORT: '-1' },
    encoding: 'utf8', timeout: 30_000,
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /invalid configuration/);
  for (const k of ['REDIS_URL', 'CONNECTORS', 'WEBHOOK_PORT']) assert.match(r.stderr, new RegExp(k));
  assert.equal(r.stdout, '');
});

test('tp-connector with an unknown command fails with usage and a non-zero exit', () => {
  const r = spawnSync(process.execPath, ['bin/tp-connector.mjs', 'frobnicate'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /unknown command "frobnicate"/);
});
