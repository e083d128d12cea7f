// Tuya client against the simulator: tokens, refresh, retries, error codes, secrets.
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { AuthError, PermanentError, RateLimitedError, TransientError } from '../../../src/core/errors.js';
import { memoryApStore } from '../../../src/pipeline/ap-store.js';
import { createVendorHttp } from '../../../src/core/vendor-http.js';
import { tuya } from '../../../connectors/tuya/index.js';
import type { ApStore } from '../../../src/core/connector.js';
import {
  batchStatus, decryptToken, deviceDetail, encryptToken, getAccessToken, listDevicesPage, sendCommands, tuyaError,
} from '../../../connectors/tuya/client.js';
import { startTuyaSim, type TuyaSim } from '../../../connectors/tuya/simulator.js';
import { fixture } from '../../helpers/ctx.js';
import { credFor, fixtureDevices, manualClock, simCtx } from './helpers.js';

let sim: TuyaSim;
let ids: string[];
before(async () => {
  sim = await startTuyaSim({ devices: await fixtureDevices() });
  ids = [...sim.devices.keys()];
});
after(() => sim.close());
beforeEach(() => sim.setFault('none'));

/** A store that remembers every value written, to inspect what would sit in Redis. */
function spyStore(): ApStore & { written: string[] } {
  const inner = memoryApStore();
  const written: string[] = [];
  return { ...inner, written, async set(k, v, ttl) { written.push(v); await inner.set(k, v, ttl); } };
}

test('first call fetches a token, later calls reuse it; the cache holds it only encrypted', async () => {
  const store = spyStore();
  const ctx = simCtx(sim, { store });
  const g0 = sim.stats.tokenGrants;
  const st = await batchStatus(ctx, ids);
  assert.deepEqual(st.items.map((i) => i.id).sort(), [...ids].sort());
  await batchStatus(ctx, ids);
  assert.equal(sim.stats.tokenGrants - g0, 1);
  const tok = await getAccessToken(ctx);
  assert.equal(store.written.length, 1);
  const stored = store.written[0]!;
  assert.ok(!stored.includes(tok.accessToken) && !stored.includes(tok.refreshToken));
  assert.ok(!Buffer.from(stored.slice(3), 'base64url').toString('latin1').includes(tok.accessToken));
  assert.deepEqual(decryptToken(ctx.cred, stored), tok);
  assert.equal(decryptToken({ ...ctx.cred, accessSecret: 'other' }, stored), null);
  assert.equal(decryptToken({ ...ctx.cred, accessId: 'other' }, stored), null);
  assert.equal(decryptToken(ctx.cred, `${stored.slice(0, -2)}AA`), null);
  // Expiry is the answer's t + expire_time.
  assert.ok(Math.abs(tok.expiresAt - tok.issuedAt - 7200_000) < 1);
});

test('proactive refresh ~60 s before expiry, with the one-shot refresh token', async () => {
  const clock = manualClock();
  const s = await startTuyaSim({ devices: await fixtureDevices(), now: clock.now, tokenExpireS: 3600 });
  try {
    const ctx = simCtx(s, { now: clock.now });
    const devs = [...s.devices.keys()];
    await batchStatus(ctx, devs);
    const first = await getAccessToken(ctx);
    clock.advance(3600_000 - 61_000);
    await batchStatus(ctx, devs);
    assert.deepEqual([s.stats.tokenGrants, s.stats.tokenRefreshes], [1, 0]);
    clock.advance(2_000); // 59 s left
    await batchStatus(ctx, devs);
    assert.deepEqual([s.stats.tokenGrants, s.stats.tokenRefreshes], [1, 1]);
    const second = await getAccessToken(ctx);
    assert.notEqual(second.accessToken, first.accessToken);
    // The next cycle refreshes with the new refresh token (the old one is spent).
    clock.advance(3600_000);
    await batchStatus(ctx, devs);
    assert.deepEqual([s.stats.tokenGrants, s.stats.tokenRefreshes, s.stats.tokenRejections], [1, 2, 0]);
  } finally {
    await s.close();
  }
});

test('a failed refresh falls back to a fresh grant', async () => {
  const clock = manualClock();
  const s = await startTuyaSim({ devices: await fixtureDevices(), now: clock.now });
  try {
    const ctx = simCtx(s, { now: clock.now });
    // A cached token whose refresh token Tuya does not know (e.g. spent by a process that crashed before saving).
    const t = clock.now();
    await ctx.store.set('tuya-token', encryptToken(ctx.cred, { accessToken: 'stale', refreshToken: 'spent', issuedAt: t - 7_170_000, expiresAt: t + 30_000 }));
    const st = await batchStatus(ctx, [...s.devices.keys()]);
    assert.equal(st.items.length, 2);
    assert.deepEqual([s.stats.tokenGrants, s.stats.tokenRefreshes], [1, 0]);
    assert.ok(ctx.logs.some((l) => l.includes('refresh failed')));
  } finally {
    await s.close();
  }
});

test('1010 (token expired server-side) → token dropped, re-fetched, call retried once', async () => {
  const ctx = simCtx(sim);
  await batchStatus(ctx, ids);
  const old = await getAccessToken(ctx);
  const [g0, r0] = [sim.stats.tokenGrants, sim.stats.tokenRejections];
  sim.setFault('expire-token-now');
  const st = await batchStatus(ctx, ids);
  assert.equal(st.items.length, ids.length);
  assert.equal(sim.stats.tokenRejections - r0, 1);
  assert.equal(sim.stats.tokenGrants - g0, 1);
  assert.notEqual((await getAccessToken(ctx)).accessToken, old.accessToken);
});

test('1010 again after the re-fetch → AuthError, retried only once', async () => {
  const ctx = simCtx(sim);
  await batchStatus(ctx, ids);
  const [g0, c0] = [sim.stats.tokenGrants, sim.stats.calls];
  sim.setFault('1010', 5);
  await assert.rejects(batchStatus(ctx, ids), (e) => e instanceof AuthError && /1010 token invalid/.test(e.message));
  assert.equal(sim.stats.calls - c0, 2);
  assert.equal(sim.stats.tokenGrants - g0, 1);
});

test('two contexts sharing one store (two replicas) fetch the token once, and refresh it once', async () => {
  const clock = manualClock();
  const s = await startTuyaSim({ devices: await fixtureDevices(), now: clock.now, tokenExpireS: 600 });
  try {
    const store = memoryApStore();
    const a = simCtx(s, { now: clock.now, store });
    const b = simCtx(s, { now: clock.now, store });
    const devs = [...s.devices.keys()];
    const calls = () => [a, b, a, b, a, b].map((c) => batchStatus(c, devs));
    await Promise.all(calls());
    assert.deepEqual([s.stats.tokenGrants, s.stats.tokenRefreshes], [1, 0]);
    clock.advance(560_000); // inside the refresh margin
    const results = await Promise.all(calls());
    assert.ok(results.every((r) => r.items.length === 2));
    // Refresh tokens are one-shot: a second concurrent refresh would have failed and fallen back to a grant.
    assert.deepEqual([s.stats.tokenGrants, s.stats.tokenRefreshes, s.stats.tokenRejections], [1, 1, 0]);
  } finally {
    await s.close();
  }
});

test('wrong secret → 1004 sign invalid → AuthError that names the secret but never contains it', async () => {
  const ctx = simCtx(sim, { cred: { ...credFor(sim), accessSecret: 'wrong-secret-value' } });
  await assert.rejects(listDevicesPage(ctx, { pageSize: 10 }), (e) => {
    assert.ok(e instanceof AuthError);
    assert.match(e.message, /1004 sign invalid.*Access Secret/);
    assert.ok(!e.message.includes('wrong-secret-value'));
    return true;
  });
});

test('wrong access id → 1005 → AuthError', async () => {
  const ctx = simCtx(sim, { cred: { ...credFor(sim), accessId: 'nobody' } });
  await assert.rejects(listDevicesPage(ctx, { pageSize: 10 }), (e) => e instanceof AuthError && /Access ID/.test(e.message));
});

test('clock skew → 1013 → TransientError with a clock message', async () => {
  const ctx = simCtx(sim, { now: () => Date.now() + 3_600_000 });
  await assert.rejects(listDevicesPage(ctx, { pageSize: 10 }), (e) => e instanceof TransientError && /clock/.test(e.message));
});

test('1110 concurrency limit and HTTP 429 → RateLimitedError with a wait', async () => {
  const ctx = simCtx(sim);
  await batchStatus(ctx, ids);
  sim.setFault('1110', 1);
  await assert.rejects(batchStatus(ctx, ids), (e) => e instanceof RateLimitedError && e.retryAfterMs >= 1000 && e.retryAfterMs <= 2000);
  sim.setFault('429', 1);
  await assert.rejects(batchStatus(ctx, ids), (e) => e instanceof RateLimitedError && e.retryAfterMs === 1000);
  assert.equal((await batchStatus(ctx, ids)).items.length, ids.length);
});

test('HTTP 500 → GET retried (re-signed), then TransientError', async () => {
  const ctx = simCtx(sim);
  await batchStatus(ctx, ids);
  const c0 = sim.stats.calls;
  sim.setFault('500', 1);
  assert.equal((await batchStatus(ctx, ids)).items.length, ids.length);
  assert.equal(sim.stats.calls - c0, 2);
  sim.setFault('500');
  await assert.rejects(batchStatus(ctx, ids), TransientError);
});

test('refresh failing with HTTP errors: tokens never appear in errors or logs; the still-valid token keeps working', async () => {
  const clock = manualClock();
  const s = await startTuyaSim({ devices: await fixtureDevices(), now: clock.now, tokenExpireS: 600 });
  try {
    const ctx = simCtx(s, { now: clock.now });
    const devs = [...s.devices.keys()];
    await batchStatus(ctx, devs);
    const tok = await getAccessToken(ctx);
    clock.advance(560_000);
    s.setFault('500', 4, 'all'); // refresh (1 try: one-shot token) and grant (3 tries) fail
    const st = await batchStatus(ctx, devs);
    assert.equal(st.items.length, 2);
    const logs = ctx.logs.join('\n');
    assert.match(logs, /refresh failed/);
    assert.ok(!logs.includes(tok.refreshToken) && !logs.includes(tok.accessToken) && !logs.includes(s.accessSecret));
    // Once expired, the failure surfaces, again without secrets.
    clock.advance(60_000);
    s.setFault('429', Number.POSITIVE_INFINITY, 'all');
    await assert.rejects(batchStatus(ctx, devs), (e) => {
      assert.ok(e instanceof RateLimitedError);
      assert.ok(!e.message.includes(tok.refreshToken));
      return true;
    });
    assert.ok(!ctx.logs.join('\n').includes(tok.refreshToken));
  } finally {
    await s.close();
  }
});

test('a vendor that never answers → TransientError after the short GET retries', async () => {
  const ctx = { ...simCtx(sim), http: createVendorHttp({ connector: 'tuya', accessPointId: 'ap-timeout', limits: tuya.limits, defaultTimeoutMs: 300 }) };
  await batchStatus(ctx, ids);
  const c0 = sim.stats.calls;
  sim.setFault('timeout', 3);
  await assert.rejects(batchStatus(ctx, ids), (e) => e instanceof TransientError && !e.message.includes(sim.accessSecret));
  assert.equal(sim.stats.calls - c0, 3);
});

test('device list paging with last_row_key; device_ids filter; local_key never returned', async () => {
  const ctx = simCtx(sim);
  const p1 = await listDevicesPage(ctx, { pageSize: 1 });
  assert.equal(p1.devices.length, 1);
  assert.equal(p1.hasMore, true);
  assert.equal(p1.total, 2);
  const p2 = await listDevicesPage(ctx, { pageSize: 1, lastRowKey: p1.lastRowKey! });
  assert.equal(p2.hasMore, false);
  assert.deepEqual([p1.devices[0]!.id, p2.devices[0]!.id].sort(), [...ids].sort());
  const only = await listDevicesPage(ctx, { pageSize: 20, deviceIds: [ids[1]!] });
  assert.deepEqual(only.devices.map((d) => d.id), [ids[1]]);
  for (const d of [...p1.devices, ...p2.devices, ...only.devices]) assert.equal('local_key' in d, false);
  await assert.rejects(listDevicesPage(ctx, { pageSize: 20, deviceIds: Array.from({ length: 21 }, (_, i) => `d${i}`) }), PermanentError);
});

test('device detail matches the fixture minus local_key; unknown device → 1106 AuthError per the code table', async () => {
  const ctx = simCtx(sim);
  const f = (await fixture('tuya/openapi-iot03-device-detail.response.json')) as { result: Record<string, unknown> };
  const { local_key: _k, ...expected } = f.result;
  const d = await deviceDetail(ctx, '60613135b121cddc294****');
  assert.deepEqual(d.device, expected);
  await assert.rejects(deviceDetail(ctx, 'nope'), AuthError);
  await assert.rejects(deviceDetail(ctx, '../token'), PermanentError);
});

test('commands: POST with the exact signed body (non-ASCII too), recorded by the simulator', async () => {
  const ctx = simCtx(sim);
  const id = ids[0]!;
  sim.setDeviceStatus(id, { note: '' });
  const f0 = sim.stats.signFailures;
  const body = { commands: [{ code: 'switch_led', value: false }, { code: 'note', value: 'café 体脂秤 ✓' }] };
  const a = await sendCommands(ctx, id, body);
  assert.equal(a.result, true);
  assert.deepEqual(sim.commands.at(-1)!.commands, body.commands);
  assert.equal(sim.stats.signFailures, f0);
  await assert.rejects(sendCommands(ctx, id, { commands: [{ code: 'no_such_dp', value: 1 }] }), (e) => e instanceof PermanentError && /1103/.test(e.message));
});

test('code table: unknown codes are permanent and carry code and message', () => {
  const e = tuyaError('Tuya x', 2017, 'something\nelse');
  assert.ok(e instanceof PermanentError);
  assert.equal(e.message, 'Tuya x: Tuya 2017 something else');
  assert.ok(tuyaError('x', 1106, 'permission deny') instanceof AuthError);
  assert.ok(tuyaError('x', 1001, 'secret invalid') instanceof AuthError);
  assert.ok(tuyaError('x', 1111, 'system is busy') instanceof RateLimitedError);
  assert.ok(tuyaError('x', 500, 'system error') instanceof TransientError);
});

test('error fixtures: the envelopes the simulator answers have the captured shape', async () => {
  const f = (await fixture('tuya/openapi-error-1004-sign-invalid.captured.json')) as Record<string, unknown>;
  const res = await fetch(`${sim.url}/v1.0/token?grant_type=1`, { headers: { client_id: sim.accessId, t: String(Date.now()), sign_method: 'HMAC-SHA256', sign: 'BAD' } });
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(res.status, 200);
  assert.deepEqual(Object.keys(body).sort(), Object.keys(f).sort());
  assert.equal(body.code, f.code);
  assert.equal(body.msg, f.msg);
  for (const name of ['openapi-error-1010-token-invalid.transcribed.json', 'openapi-error-1013-request-time-invalid.captured.json']) {
    const g = (await fixture(`tuya/${name}`)) as { code: number; msg: string };
    assert.ok(tuyaError('x', g.code, g.msg) instanceof (g.code === 1013 ? TransientError : AuthError), name);
  }
});
