// The REST client against the ChirpStack simulator: paging, downlink enqueue, error classification.
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Ctx } from '../../../src/core/connector.js';
import { AuthError, PermanentError, RateLimitedError, TransientError } from '../../../src/core/errors.js';
import { createVendorHttp } from '../../../src/core/vendor-http.js';
import { enqueueDownlink, listDevices } from '../../../connectors/chirpstack/client.js';
import { chirpstack } from '../../../connectors/chirpstack/index.js';
import type { ChirpstackCred } from '../../../connectors/chirpstack/schema.js';
import { startChirpstackSim, type ChirpstackSim } from '../../../connectors/chirpstack/simulator.js';
import { testCtx } from '../../helpers/ctx.js';
import { cred, FIXTURE_APP } from './helpers.js';

let sim: ChirpstackSim;
const OTHER_APP = '00000000-0000-4000-8000-000000000001';

before(async () => {
  sim = await startChirpstackSim({
    devices: [
      { devEui: '0101010101010101', name: 'Test device', description: 'vendor docs example device' },
      { devEui: 'A84041000181C2B1', name: 'Cellar climate' },
      { devEui: '0016c001f000175a', name: '', description: '  ' },
      { devEui: 'ffffffffffffff01', name: 'Not ours', applicationId: OTHER_APP },
    ],
  });
});
after(async () => { await sim.close(); });
beforeEach(() => {
  sim.setFault('none');
  sim.requests.length = 0;
  sim.queue.clear();
});

const ctxFor = (over: Record<string, unknown> = {}, timeoutMs?: number): Ctx<ChirpstackCred> => {
  const ctx = testCtx(chirpstack, cred({ api_url: sim.url, api_token: sim.token, ...over }));
  if (timeoutMs !== undefined) {
    ctx.http = createVendorHttp({ connector: 'chirpstack', accessPointId: 'ap-test', limits: chirpstack.limits, defaultTimeoutMs: timeoutMs });
  }
  return ctx;
};

test('listDevices pages with limit/offset, maps devices, and always sends limit', async () => {
  const ctx = ctxFor();
  const p1 = await listDevices(ctx, { page: 1, pageSize: 2 });
  const p2 = await listDevices(ctx, { page: 2, pageSize: 2 });
  const p3 = await listDevices(ctx, { page: 3, pageSize: 2 });
  assert.deepEqual([p1.total, p2.total, p3.total], [3, 3, 3]);
  // Sorted by name like ChirpStack's default; an empty name falls back to the DevEUI, blank descriptions are dropped.
  assert.deepEqual([...p1.items, ...p2.items], [
    { externalId: '0016c001f000175a', name: '0016c001f000175a' },
    { externalId: 'a84041000181c2b1', name: 'Cellar climate' },
    { externalId: '0101010101010101', name: 'Test device', description: 'vendor docs example device' },
  ]);
  assert.deepEqual(p3.items, []);
  assert.equal(sim.requests.length, 3);
  for (const r of sim.requests) {
    assert.equal(r.path, '/api/devices');
    assert.equal(r.authorization, `Bearer ${sim.token}`);
    assert.equal(r.query.applicationId, FIXTURE_APP);
    assert.equal(r.query.limit, '2');
  }
  assert.deepEqual(sim.requests.map((r) => r.query.offset), ['0', '2', '4']);
});

test('listDevices clamps odd page arguments instead of sending limit=0', async () => {
  const ctx = ctxFor();
  const r = await listDevices(ctx, { page: 0, pageSize: 0 });
  assert.equal(r.items.length, 1);
  assert.equal(sim.requests[0]?.query.limit, '1');
  assert.equal(sim.requests[0]?.query.offset, '0');
});

test('a pasted ".../api/" base URL still works', async () => {
  const r = await listDevices(ctxFor({ api_url: `${sim.url}/api/` }), { page: 1, pageSize: 10 });
  assert.equal(r.total, 3);
});

test('enqueueDownlink queues data and object items and returns the queue item id', async () => {
  const ctx = ctxFor();
  const id = await enqueueDownlink(ctx, '0101010101010101', { confirmed: true, fPort: 10, data: 'AQID' });
  assert.match(id, /^[0-9a-f-]{36}$/);
  const id2 = await enqueueDownlink(ctx, '0101010101010101', { confirmed: false, fPort: 2, object: { interval: 5 } });
  const q = sim.queue.get('0101010101010101') ?? [];
  assert.deepEqual(q.map((i) => [i.id, i.confirmed, i.fPort, i.data, i.object]), [[id, true, 10, 'AQID', null], [id2, false, 2, null, { interval: 5 }]]);
  const post = sim.requests.find((r) => r.method === 'POST');
  assert.deepEqual(post?.body, { queueItem: { confirmed: true, fPort: 10, data: 'AQID' }, flushQueue: false });
  assert.equal(post?.authorization, `Bearer ${sim.token}`);
});

test('401 → AuthError (fault, wrong token, foreign application)', async () => {
  sim.setFault('401');
  await assert.rejects(listDevices(ctxFor(), { page: 1, pageSize: 10 }), AuthError);
  await assert.rejects(enqueueDownlink(ctxFor(), '0101010101010101', { confirmed: false, fPort: 1, data: 'AQ==' }), AuthError);
  sim.setFault('none');
  await assert.rejects(listDevices(ctxFor({ api_token: 'wrong' }), { page: 1, pageSize: 10 }), AuthError);
  await assert.rejects(enqueueDownlink(ctxFor({ api_token: 'wrong' }), '0101010101010101', { confirmed: false, fPort: 1, data: 'AQ==' }), AuthError);
  await assert.rejects(listDevices(ctxFor({ application_id: OTHER_APP.replace(/1$/, '2') }), { page: 1, pageSize: 10 }), AuthError);
});

test('429 → RateLimitedError with the Retry-After delay', async () => {
  sim.setFault('429');
  await assert.rejects(listDevices(ctxFor(), { page: 1, pageSize: 10 }), (e) => e instanceof RateLimitedError && e.retryAfterMs === 2000);
  await assert.rejects(enqueueDownlink(ctxFor(), '0101010101010101', { confirmed: false, fPort: 1, data: 'AQ==' }), RateLimitedError);
});

test('500 → TransientError; GETs retry a short outage, POSTs never repeat', async () => {
  sim.setFault('500');
  await assert.rejects(enqueueDownlink(ctxFor(), '0101010101010101', { confirmed: false, fPort: 1, data: 'AQ==' }), TransientError);
  assert.equal(sim.requests.length, 1);
  assert.equal(sim.queue.size, 0);
  await assert.rejects(listDevices(ctxFor(), { page: 1, pageSize: 10 }), TransientError);
  sim.setFault('500', { times: 1 });
  assert.equal((await listDevices(ctxFor(), { page: 1, pageSize: 10 })).total, 3);
});

test('timeout → TransientError', async () => {
  sim.setFault('timeout');
  await assert.rejects(enqueueDownlink(ctxFor({}, 200), '0101010101010101', { confirmed: false, fPort: 1, data: 'AQ==' }), TransientError);
});

test('unknown device → PermanentError whether ChirpStack says 401 (tenant key) or 404 (admin key)', async () => {
  await assert.rejects(enqueueDownlink(ctxFor(), '0202020202020202', { confirmed: false, fPort: 1, data: 'AQ==' }), (e) => e instanceof PermanentError && /does not exist/.test(e.message));
  await assert.rejects(enqueueDownlink(ctxFor(), 'ffffffffffffff01', { confirmed: false, fPort: 1, data: 'AQ==' }), PermanentError);
  const admin = await startChirpstackSim({ keyKind: 'admin' });
  try {
    const ctx = testCtx(chirpstack, cred({ api_url: admin.url, api_token: admin.token }));
    await assert.rejects(enqueueDownlink(ctx, '0202020202020202', { confirmed: false, fPort: 1, data: 'AQ==' }), (e) => e instanceof PermanentError && /HTTP 404/.test(e.message));
  } finally {
    await admin.close();
  }
});

test('a non-API answer (web UI HTML) is a PermanentError with a hint', async () => {
  const html = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<!doctype html><html></html>'); });
  await new Promise<void>((r) => html.listen(0, '127.0.0.1', r));
  try {
    const ctx = ctxFor({ api_url: `http://127.0.0.1:${(html.address() as AddressInfo).port}` });
    await assert.rejects(listDevices(ctx, { page: 1, pageSize: 10 }), (e) => e instanceof PermanentError && /8090/.test(e.message));
    await assert.rejects(enqueueDownlink(ctx, '0101010101010101', { confirmed: false, fPort: 1, data: 'AQ==' }), PermanentError);
  } finally {
    await new Promise((r) => html.close(r));
  }
});

test('the simulator answers like grpc-gateway: totalCount only without limit, rpcStatus errors', async () => {
  const get = (path: string, auth = `Bearer ${sim.token}`) => fetch(`${sim.url}${path}`, { headers: { authorization: auth } });
  const countOnly = await (await get(`/api/devices?applicationId=${FIXTURE_APP}`)).json();
  assert.deepEqual(countOnly, { totalCount: 3, result: [] });
  const denied = await get(`/api/devices?applicationId=${FIXTURE_APP}&limit=1`, 'Bearer nope');
  assert.equal(denied.status, 401);
  assert.deepEqual(await denied.json(), { code: 16, message: 'InvalidSignature', details: [] });
  const grpcHeader = await fetch(`${sim.url}/api/devices?applicationId=${FIXTURE_APP}&limit=1`, { headers: { 'grpc-metadata-authorization': `Bearer ${sim.token}` } });
  assert.equal(grpcHeader.status, 200);
  const bad = await fetch(`${sim.url}/api/devices/0101010101010101/queue`, {
    method: 'POST', headers: { authorization: `Bearer ${sim.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ queueItem: { fPort: 0, data: 'AQ==' } }),
  });
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as { code: number }).code, 3);
});
