import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { RateLimiter } from '../../src/pipeline/rate-limit.js';
import { REDIS_URL, cleanRedis, uid } from '../helpers/harness.js';

const prefix = `tpcct${uid(4)}`;
const a = new Redis(REDIS_URL);
const b = new Redis(REDIS_URL);
after(async () => { a.disconnect(); b.disconnect(); await cleanRedis(prefix); });

test('token bucket: burst, then the refill rate; shared by two replicas (two connections)', async () => {
  const r1 = new RateLimiter(a, `${prefix}:`);
  const r2 = new RateLimiter(b, `${prefix}:`);
  const scope = `c:${uid()}`;
  await Promise.all([a.ping(), b.ping()]);
  const waits: number[] = [];
  // One token a second: the six calls finish well inside one refill even on a loaded machine.
  for (let i = 0; i < 6; i++) waits.push(await (i % 2 ? r2 : r1).take(scope, 1, 5));
  assert.deepEqual(waits.slice(0, 5), [0, 0, 0, 0, 0]);
  assert.ok(waits[5]! > 0 && waits[5]! <= 1000, `sixth call waits about one token (1 s), got ${waits[5]}`);
  await new Promise((r) => setTimeout(r, waits[5]! + 50));
  assert.equal(await r2.take(scope, 1, 5), 0, 'refilled after the wait it was told');
  // Another access point's bucket is untouched.
  assert.equal(await r1.take(`c:${uid()}`, 10, 5), 0);
});

test('a vendor block window (429 Retry-After) stops every replica for that scope only', async () => {
  const r1 = new RateLimiter(a, `${prefix}:`);
  const r2 = new RateLimiter(b, `${prefix}:`);
  const scope = `c:${uid()}`;
  await r1.block(scope, 1000);
  const w = await r2.take(scope, 100, 100);
  assert.ok(w > 800 && w <= 1000, `waits for the window, got ${w}`);
  assert.ok((await r2.blockedFor(scope)) > 0);
  assert.equal(await r2.take(`c:${uid()}`, 100, 100), 0, 'other scopes are not blocked');
  await new Promise((r) => setTimeout(r, 1050));
  assert.equal(await r1.take(scope, 100, 100), 0, 'free again after the window');
});
