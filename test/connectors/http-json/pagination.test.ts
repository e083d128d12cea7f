import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import Fastify from 'fastify';
import { fetchAllPages, nextFromLinkHeader, resolveUrl } from '../../../connectors/http-json/client.js';
import { closeExpressionEngine, httpJson } from '../../../connectors/http-json/index.js';
import type { SimPagination } from '../../../connectors/http-json/simulator.js';
import { testCtx } from '../../helpers/ctx.js';
import { cred, withSim } from './helpers.js';

after(closeExpressionEngine);

const ids = (n: number) => Array.from({ length: n }, (_, i) => `dev-${i + 1}`);

const styles: { style: SimPagination; extra?: Record<string, string | number>; label: string }[] = [
  { style: 'none', label: 'none' },
  { style: 'page', label: 'page' },
  { style: 'offset', label: 'offset' },
  { style: 'cursor', label: 'cursor (next_cursor by default)' },
  { style: 'next_link', label: 'next link from the Link header' },
  { style: 'next_link', extra: { next_expr: 'links.next' }, label: 'next link from the body (relative)' },
];

for (const s of styles) {
  test(`pagination ${s.label}: every device of 7, in order`, async () => {
    const { sim, ctx, close } = await withSim({ devices: 7, pagination: s.style, maxPageSize: 3 }, { page_size: 3, ...s.extra });
    try {
      const all = await httpJson.listDevices(ctx, { page: 1, pageSize: 100 });
      assert.deepEqual(all.items.map((d) => d.externalId), ids(7));
      assert.equal(all.total, 7);
      assert.equal(all.items[0]!.name, 'Sensor 1');
      assert.equal(sim.stats.listCalls, s.style === 'none' ? 1 : 3);
      // ThingsPanel pages over the cached list without calling the vendor again.
      const p2 = await httpJson.listDevices(ctx, { page: 2, pageSize: 3 });
      assert.deepEqual(p2.items.map((d) => d.externalId), ['dev-4', 'dev-5', 'dev-6']);
      assert.equal(p2.total, 7);
      assert.equal(sim.stats.listCalls, s.style === 'none' ? 1 : 3);
    } finally {
      await close();
    }
  });
}

test('pagination: exactly a multiple of the page size stops on the empty page', async () => {
  const { sim, ctx, close } = await withSim({ devices: 6, pagination: 'page' }, { page_size: 3, first_page: 1 });
  try {
    assert.equal((await httpJson.listDevices(ctx, { page: 1, pageSize: 50 })).total, 6);
    assert.equal(sim.stats.listCalls, 3);
  } finally {
    await close();
  }
});

test('pagination is bounded by max_pages', async () => {
  for (const style of ['page', 'offset', 'cursor', 'next_link'] as const) {
    const { sim, ctx, close } = await withSim({ devices: 20, pagination: style }, { page_size: 2, max_pages: 3 });
    try {
      const r = await fetchAllPages(ctx, '/devices', { field: 'items_expr', expr: 'data' });
      assert.equal(r.items.length, 6, style);
      assert.equal(r.truncated, true);
      assert.equal(sim.stats.listCalls, 3);
    } finally {
      await close();
    }
  }
});

test('a vendor that repeats its cursor or links back does not loop', async () => {
  const app = Fastify();
  let calls = 0;
  app.get('/loop', async (req) => {
    calls += 1;
    const q = req.query as { cursor?: string };
    return { data: [{ id: `x${calls}` }], next_cursor: 'same', next: q.cursor ? '/loop?cursor=same' : '/loop' };
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  try {
    const base = { base_url: `http://127.0.0.1:${port}`, items_expr: 'data', page_size: 1, max_pages: 50 };
    const c1 = testCtx(httpJson, cred({ ...base, page_style: 'cursor' }));
    assert.equal((await fetchAllPages(c1, '/loop', { field: 'items_expr', expr: 'data' })).items.length, 2);
    calls = 0;
    const c2 = testCtx(httpJson, cred({ ...base, page_style: 'next_link', next_expr: 'next' }));
    const r = await fetchAllPages(c2, '/loop', { field: 'items_expr', expr: 'data' });
    assert.ok(r.items.length <= 3 && !r.truncated, JSON.stringify(r));
  } finally {
    await app.close();
  }
});

test('next links to another origin are refused (credentials stay home)', async () => {
  const app = Fastify();
  app.get('/list', async () => ({ data: [{ id: 'a' }], next: 'https://attacker.example/list?page=2' }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  try {
    const ctx = testCtx(httpJson, cred({ base_url: `http://127.0.0.1:${port}`, auth_method: 'bearer', api_key: 'secret', page_style: 'next_link', next_expr: 'next' }));
    await assert.rejects(fetchAllPages(ctx, '/list', { field: 'items_expr', expr: 'data' }), /refusing to call https:\/\/attacker.example/);
  } finally {
    await app.close();
  }
});

test('URL helpers: base path kept, Link header parsed', () => {
  assert.equal(resolveUrl('https://a.example/v1/', '/devices?x=1').toString(), 'https://a.example/v1/devices?x=1');
  assert.equal(resolveUrl('https://a.example/v1', 'devices').toString(), 'https://a.example/v1/devices');
  assert.equal(resolveUrl('https://a.example/v1', '?p=2', 'https://a.example/v1/devices').toString(), 'https://a.example/v1/devices?p=2');
  assert.throws(() => resolveUrl('https://a.example/v1', '//b.example/x', 'https://a.example/v1/d'), /refusing/);
  assert.equal(nextFromLinkHeader('<https://a/x?p=1>; rel="prev", <https://a/x?p=3>; rel="next"'), 'https://a/x?p=3');
  assert.equal(nextFromLinkHeader('<https://a/x?p=3>; rel="next last"'), 'https://a/x?p=3');
  assert.equal(nextFromLinkHeader('<https://a/x?p=3>; rel="nextish"'), undefined);
  assert.equal(nextFromLinkHeader(undefined), undefined);
});

test('items that are not an array of objects are a PayloadError naming items_expr', async () => {
  const { ctx, close } = await withSim({ devices: 2 }, { items_expr: '"oops"' });
  try {
    await assert.rejects(httpJson.listDevices(ctx, { page: 1, pageSize: 10 }), /items_expr \(access point SVCR\): must produce an array/);
  } finally {
    await close();
  }
});
