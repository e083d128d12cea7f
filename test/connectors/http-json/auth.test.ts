import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { call } from '../../../connectors/http-json/client.js';
import { closeExpressionEngine, httpJson } from '../../../connectors/http-json/index.js';
import { openToken, REFRESH_MARGIN_MS, tokenStoreKey } from '../../../connectors/http-json/oauth2.js';
import type { SimAuth } from '../../../connectors/http-json/simulator.js';
import type { ApStore } from '../../../src/core/connector.js';
import { AuthError } from '../../../src/core/errors.js';
import { memoryApStore } from '../../../src/pipeline/ap-store.js';
import { cred, withSim } from './helpers.js';

after(closeExpressionEngine);

const cases: { name: string; auth: SimAuth; wrong: Record<string, string> }[] = [
  { name: 'none', auth: { type: 'none' }, wrong: {} },
  { name: 'api key header', auth: { type: 'api_key_header', name: 'X-Api-Token', key: 'k-123' }, wrong: { api_key: 'k-999' } },
  { name: 'api key query', auth: { type: 'api_key_query', name: 'token', key: 'q-123' }, wrong: { api_key: 'q-999' } },
  { name: 'bearer', auth: { type: 'bearer', token: 'b-123' }, wrong: { api_key: 'b-999' } },
  { name: 'basic', auth: { type: 'basic', username: 'user', password: 'p:ss w' }, wrong: { password: 'nope' } },
  { name: 'oauth2 client credentials', auth: { type: 'oauth2', clientId: 'cid', clientSecret: 'csecret', scope: 'read write' }, wrong: { client_secret: 'nope' } },
];

for (const c of cases) {
  test(`auth ${c.name}: accepted with the right credentials, AuthError with wrong ones`, async () => {
    const { sim, ctx, close } = await withSim({ devices: 2, auth: c.auth });
    try {
      const list = await httpJson.listDevices(ctx, { page: 1, pageSize: 10 });
      assert.deepEqual(list.items.map((d) => d.externalId), ['dev-1', 'dev-2']);
      assert.equal(sim.stats.authFailures, 0);
      if (c.auth.type === 'none') return;
      const { ctx: bad, close: close2 } = await withSim({ devices: 1, auth: c.auth }, c.wrong);
      try {
        await assert.rejects(httpJson.poll!.run(bad, null, ['dev-1']), AuthError);
      } finally {
        await close2();
      }
    } finally {
      await close();
    }
  });
}

test('oauth2: client authentication with HTTP Basic works too', async () => {
  const { sim, ctx, close } = await withSim({ devices: 1, auth: { type: 'oauth2', clientId: 'a b', clientSecret: 's&:x' } }, { client_auth: 'basic' });
  try {
    await httpJson.poll!.run(ctx, null, ['dev-1']);
    assert.equal(sim.stats.tokenRequests, 1);
  } finally {
    await close();
  }
});

test('oauth2: the cached token is encrypted with a key derived from the client secret', async () => {
  const { ctx, close } = await withSim({ devices: 1, auth: { type: 'oauth2', clientId: 'cid', clientSecret: 'csecret' } });
  try {
    await httpJson.poll!.run(ctx, null, ['dev-1']);
    const raw = await ctx.store.get(tokenStoreKey(ctx.cred));
    assert.ok(raw && raw.startsWith('v1.'));
    assert.ok(!raw.includes('tok-'), 'token must not be stored in clear');
    const t = openToken(ctx.cred, raw);
    assert.ok(t && t.accessToken.startsWith('tok-'));
    assert.equal(openToken({ ...ctx.cred, client_secret: 'other' }, raw), null, 'another secret cannot read it');
    assert.equal(openToken(ctx.cred, raw.slice(0, -2) + 'AA'), null, 'tampering is detected');
  } finally {
    await close();
  }
});

test('oauth2: token reused while fresh, refreshed before expiry', async () => {
  let now = Date.now();
  const { sim, ctx, close } = await withSim({ devices: 1, auth: { type: 'oauth2', clientId: 'cid', clientSecret: 'cs', tokenTtlS: 3600 } }, {}, { now: () => now });
  try {
    await httpJson.poll!.run(ctx, null, ['dev-1']);
    await httpJson.poll!.run(ctx, null, ['dev-1']);
    assert.equal(sim.stats.tokenRequests, 1);
    now += 3600_000 - REFRESH_MARGIN_MS + 1000; // inside the refresh margin, before expiry
    await httpJson.poll!.run(ctx, null, ['dev-1']);
    assert.equal(sim.stats.tokenRequests, 2);
    await httpJson.poll!.run(ctx, null, ['dev-1']);
    assert.equal(sim.stats.tokenRequests, 2);
  } finally {
    await close();
  }
});

test('oauth2: single flight, within a process and across replicas sharing the store', async () => {
  const { sim, ctx, close } = await withSim({ devices: 3, auth: { type: 'oauth2', clientId: 'cid', clientSecret: 'cs', tokenDelayMs: 150 } });
  try {
    // Two "replicas": distinct store objects (no shared in-process state) over one backing store, like Redis.
    const backing = memoryApStore();
    const replica = (): ApStore => ({ get: (k) => backing.get(k), set: (k, v, t) => backing.set(k, v, t), del: (k) => backing.del(k), withLock: (n, t, fn) => backing.withLock(n, t, fn) });
    const a = { ...ctx, store: replica() };
    const b = { ...ctx, store: replica() };
    await Promise.all([...Array.from({ length: 5 }, () => httpJson.poll!.run(a, null, ['dev-1', 'dev-2', 'dev-3'])), ...Array.from({ length: 5 }, () => httpJson.poll!.run(b, null, ['dev-1']))]);
    assert.equal(sim.stats.tokenRequests, 1);
  } finally {
    await close();
  }
});

test('oauth2: on 401 the token is dropped, refetched and the call retried once', async () => {
  const { sim, ctx, close } = await withSim({ devices: 1, auth: { type: 'oauth2', clientId: 'cid', clientSecret: 'cs' } });
  try {
    await httpJson.poll!.run(ctx, null, ['dev-1']);
    sim.revokeTokens();
    const r = await httpJson.poll!.run(ctx, null, ['dev-1']);
    assert.equal(r.records.length, 1);
    assert.equal(sim.stats.tokenRequests, 2);
    assert.equal(sim.stats.authFailures, 1);
  } finally {
    await close();
  }
});

test('oauth2: a token refused even after a refresh is an AuthError; a bad client is an AuthError', async () => {
  const { sim, ctx, close } = await withSim({ devices: 1, auth: { type: 'oauth2', clientId: 'cid', clientSecret: 'cs', tokenTtlS: 0 } });
  try {
    // expires_in 0: every issued token is already expired at the vendor.
    await assert.rejects(call(ctx, { method: 'GET', url: '/devices' }), (e: unknown) => e instanceof AuthError && /after a token refresh/.test(e.message));
    assert.equal(sim.stats.tokenRequests, 2);
  } finally {
    await close();
  }
  const { ctx: bad, close: close2 } = await withSim({ devices: 1, auth: { type: 'oauth2', clientId: 'cid', clientSecret: 'cs' } }, { client_id: 'wrong' });
  try {
    await assert.rejects(call(bad, { method: 'GET', url: '/devices' }), AuthError);
  } finally {
    await close2();
  }
});

test('auth_expired_expr: a 2xx that says "token expired" counts as 401', async () => {
  const { sim, ctx, close } = await withSim({ devices: 1, auth: { type: 'bearer', token: 't' } }, { auth_expired_expr: 'status = 200 and body.readings.temperature > 0' });
  try {
    await assert.rejects(httpJson.poll!.run(ctx, null, ['dev-1']), (e: unknown) => e instanceof AuthError && /auth_expired_expr matched/.test(e.message));
    assert.equal(sim.stats.stateCalls, 1);
  } finally {
    await close();
  }
});

test('extra headers are sent; credentials never go to another origin', async () => {
  const { ctx, close } = await withSim({ devices: 1, auth: { type: 'api_key_header', name: 'X-Tenant', key: 'acme' } }, { api_key_name: 'X-Other', api_key: 'z', extra_headers: '{"X-Tenant": "acme"}' });
  try {
    assert.equal((await httpJson.poll!.run(ctx, null, ['dev-1'])).records.length, 1);
    await assert.rejects(call(ctx, { method: 'GET', url: 'https://evil.example/steal' }), /refusing to call https:\/\/evil.example/);
  } finally {
    await close();
  }
  assert.throws(() => cred({ base_url: 'https://a.example', auth_method: 'bearer' }), /api_key is required/);
});
