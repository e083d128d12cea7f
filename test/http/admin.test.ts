// Admin port: token as Bearer or Basic password (constant time, 401 + Basic challenge otherwise), the status
// page (access points, states, webhook URL, everything HTML-escaped), the bull-board queue dashboard and
// dead-letter replay (API and form, with cross-site posts refused).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildAdminApp } from '../../src/http/admin-app.js';
import { isAuthorized, presentedSecret } from '../../src/http/admin-auth.js';
import { escapeHtml, formatDuration } from '../../src/http/status-page.js';
import { type AdminScenario, basic, startAdminScenario } from './helpers.js';

describe('admin auth parsing', () => {
  test('Bearer token and Basic password (any user, password may contain colons) are what is presented', () => {
    assert.equal(presentedSecret('Bearer abc'), 'abc');
    assert.equal(presentedSecret('bearer   abc  '), 'abc');
    assert.equal(presentedSecret(basic('p:w:d', 'anyone')), 'p:w:d');
    assert.equal(presentedSecret(basic('tok', '')), 'tok');
    for (const bad of [undefined, '', 'abc', 'Bearer', 'Basic', 'Basic !!!', `Basic ${Buffer.from('no-colon').toString('base64')}`, 'Digest abc']) {
      assert.equal(presentedSecret(bad), null, String(bad));
    }
  });

  test('isAuthorized accepts the token only', () => {
    assert.equal(isAuthorized('Bearer s3cret', 's3cret'), true);
    assert.equal(isAuthorized(basic('s3cret'), 's3cret'), true);
    for (const h of ['Bearer s3cre', 'Bearer s3cret2', basic('S3cret'), 'Basic', '', undefined]) assert.equal(isAuthorized(h, 's3cret'), false, String(h));
  });

  test('escapeHtml and durations', () => {
    assert.equal(escapeHtml(`<a href="x" onclick='y'>&</a>`), '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
    assert.equal(escapeHtml(null), '');
    assert.equal(formatDuration(42), '42 s');
    assert.equal(formatDuration(125), '2 min 5 s');
    assert.equal(formatDuration(7260), '2 h 1 min');
  });
});

describe('admin port with ADMIN_TOKEN', () => {
  let s: AdminScenario;
  const app = () => s.h.services[0]!.adminApp;
  before(async () => { s = await startAdminScenario(); });
  after(async () => { await s?.close(); });

  test('without credentials: 401 with a Basic challenge (browsers prompt); probes stay open', async () => {
    for (const url of ['/', '/status', '/api/status', '/metrics', '/queues', '/queues/api/queues', '/api/dead-letters']) {
      const r = await app().inject({ url });
      assert.equal(r.statusCode, 401, url);
      const challenges = ([] as string[]).concat(r.headers['www-authenticate'] ?? []);
      assert.ok(challenges.some((c) => /^Basic realm="[^"]+"/.test(c)), `${url}: ${challenges.join(' | ')}`);
      assert.equal(r.body.includes(s.apId), false);
    }
    const post = await app().inject({ method: 'POST', url: '/api/dead-letters/x/replay' });
    assert.equal(post.statusCode, 401);
    assert.equal((await app().inject({ url: '/healthz' })).statusCode, 200);
    assert.equal((await app().inject({ url: '/readyz' })).statusCode, 200);
  });

  test('Bearer and Basic (any user name) are accepted; a wrong token is refused', async () => {
    for (const authorization of [`Bearer ${s.token}`, basic(s.token), basic(s.token, 'someone-else'), basic(s.token, '')]) {
      assert.equal((await app().inject({ url: '/', headers: { authorization } })).statusCode, 200, authorization);
      assert.equal((await app().inject({ url: '/api/status', headers: { authorization } })).statusCode, 200, authorization);
    }
    for (const authorization of [`Bearer ${s.token}x`, `Bearer ${s.token.slice(0, -1)}`, basic(`${s.token}x`), basic('wrong'), `Basic ${s.token}`, s.token, `Token ${s.token}`]) {
      const r = await app().inject({ url: '/', headers: { authorization } });
      assert.equal(r.statusCode, 401, authorization);
      assert.equal(r.body.includes(s.token), false);
    }
    // Over the real socket as well, the way a browser or curl reaches it.
    assert.equal((await fetch(`${s.adminUrl}/status`)).status, 401);
    const ok = await fetch(`${s.adminUrl}/status`, { headers: { authorization: basic(s.token) } });
    assert.equal(ok.status, 200);
    assert.match(ok.headers.get('content-type') ?? '', /^text\/html/);
    await ok.text();
  });

  test('the status page shows each access point with its state, devices, data and webhook, all escaped', async () => {
    const r = await app().inject({ url: '/', headers: { authorization: `Bearer ${s.token}` } });
    assert.equal(r.statusCode, 200);
    const page = r.body;
    assert.match(String(r.headers['content-security-policy']), /script-src 'nonce-[^']+'/);
    assert.equal(r.headers['x-frame-options'], 'DENY');
    // Access point, connector, state, devices, last data, webhook URL and header.
    const row = /<tr data-ap="([^"]+)">([\s\S]*?)<\/tr>/g;
    const rows = new Map([...page.matchAll(row)].map((m) => [m[1]!, m[2]!]));
    const mine = rows.get(s.apId);
    assert.ok(mine, 'row of the access point');
    assert.match(mine, /Acme farms/);
    assert.match(mine, /the-things-stack/);
    assert.match(mine, /class="badge st-ok">ok</);
    assert.match(mine, /<td class="num">3<\/td>/);
    assert.match(mine, /<time datetime="[^"]+"[^>]*>\d+ s ago<\/time>/, 'last data');
    assert.ok(mine.includes(`>${s.hookUrl}</code>`), 'exact webhook URL');
    assert.ok(mine.includes('X-Webhook-Secret: &lt;webhook secret of the access point&gt;'));
    // The other access point: its name and reason are markup, shown as text.
    const evil = rows.get(s.evilApId);
    assert.ok(evil);
    assert.match(evil, /class="badge st-needs_reauth">needs re-auth</);
    assert.ok(evil.includes('Tenant &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;co&quot;'));
    assert.ok(evil.includes('API key &lt;revoked&gt;'));
    assert.match(evil, /since <time/);
    assert.equal(page.includes('<script>alert'), false, 'no unescaped markup from data');
    assert.equal(page.match(/<script/g)?.length, 1, 'only the page\'s own nonce script');
    // Backlog: every queue of the runtime.
    for (const q of ['uplink', 'poll', 'command', 'maintenance', 'dead-letter']) assert.match(page, new RegExp(`<td class="mono">${q}</td>`));
    // The same data as the JSON endpoint.
    const st = (await app().inject({ url: '/api/status', headers: { authorization: `Bearer ${s.token}` } })).json() as { access_points: { id: string; name: string; state: string; devices: number; webhook: { url: string; header: string } }[] };
    const j = st.access_points.find((a) => a.id === s.apId)!;
    assert.equal(j.devices, 3);
    assert.equal(j.webhook.url, s.hookUrl);
    assert.equal(st.access_points.find((a) => a.id === s.evilApId)!.name, s.evilName);
  });

  test('the queue dashboard (bull-board) lists every queue of the runtime, behind the same auth', async () => {
    const auth = { authorization: basic(s.token) };
    const ui = await app().inject({ url: '/queues', headers: auth });
    assert.equal(ui.statusCode, 200);
    assert.match(ui.body, /<div id="root">|bull-board|Bull Dashboard|tp-cloud-connector/i);
    const api = await app().inject({ url: '/queues/api/queues', headers: auth });
    assert.equal(api.statusCode, 200, api.body);
    const names = (api.json() as { queues: { name: string }[] }).queues.map((q) => q.name).sort();
    assert.deepEqual(names, ['command', 'dead-letter', 'maintenance', 'poll', 'uplink']);
    assert.match(ui.body, /<base href="\/queues\/?"/);
    const asset = /src="(static\/js\/[^"]+\.js)"/.exec(ui.body);
    assert.ok(asset, 'the UI references its scripts under static/');
    const assetUrl = `/queues/${asset[1]!}`;
    assert.equal((await app().inject({ url: assetUrl, headers: auth })).statusCode, 200);
    assert.equal((await app().inject({ url: assetUrl })).statusCode, 401);
  });

  test('dead letters: listed with a replay button; replay by API and by the page form; cross-site posts refused', async () => {
    const auth = { authorization: `Bearer ${s.token}` };
    const rt = s.h.services[0]!.rt;
    const id1 = await s.addDeadLetter('first <failure>');
    const id2 = await s.addDeadLetter('second failure');
    const page = (await app().inject({ url: '/', headers: auth })).body;
    assert.ok(page.includes(`action="api/dead-letters/${encodeURIComponent(id1)}/replay"`), 'replay form for the dead letter');
    assert.ok(page.includes('first &lt;failure&gt;'));
    const listed = (await app().inject({ url: '/api/dead-letters', headers: auth })).json() as { dead_letters: { id: string; reason: string }[] };
    assert.ok(listed.dead_letters.some((d) => d.id === id1 && d.reason === 'first <failure>'));

    // Another site's form post carrying the browser's cached credentials is refused, nothing replayed.
    for (const headers of [{ ...auth, 'sec-fetch-site': 'cross-site' }, { ...auth, origin: 'https://evil.example' }, { ...auth, origin: 'null' }]) {
      const r = await app().inject({ method: 'POST', url: `/api/dead-letters/${encodeURIComponent(id1)}/replay`, headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, payload: '' });
      assert.equal(r.statusCode, 403, JSON.stringify(headers));
    }
    assert.ok(await rt.queues['dead-letter'].getJob(id1), 'still a dead letter');

    // API client: JSON answer; the dead letter goes back to its queue.
    const r1 = await app().inject({ method: 'POST', url: `/api/dead-letters/${encodeURIComponent(id1)}/replay`, headers: auth });
    assert.equal(r1.statusCode, 200, r1.body);
    assert.equal((r1.json() as { replayed: string }).replayed, id1);
    assert.equal(await rt.queues['dead-letter'].getJob(id1), undefined);
    assert.equal((await app().inject({ method: 'POST', url: `/api/dead-letters/${encodeURIComponent(id1)}/replay`, headers: auth })).statusCode, 404);

    // The page's form (same origin): back to the page with a message.
    const r2 = await app().inject({
      method: 'POST', url: `/api/dead-letters/${encodeURIComponent(id2)}/replay`,
      headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin', origin: s.adminUrl }, payload: '',
    });
    assert.equal(r2.statusCode, 303, r2.body);
    assert.equal(new URL(String(r2.headers.location), `${s.adminUrl}/api/dead-letters/${encodeURIComponent(id2)}/replay`).href, `${s.adminUrl}/?replayed=${encodeURIComponent(id2)}`);
    assert.equal(await rt.queues['dead-letter'].getJob(id2), undefined);
    const after = (await app().inject({ url: `/?replayed=${encodeURIComponent('<b>x</b>')}`, headers: auth })).body;
    assert.ok(after.includes('Dead letter &lt;b&gt;x&lt;/b&gt; put back on its queue.'));
  });

  test('without ADMIN_TOKEN the admin app is open (it binds loopback by default), page and dashboard included, but still refuses cross-site posts', async () => {
    // A second admin app on the same runtime, built the way service.ts does when ADMIN_TOKEN is not set.
    const svc = s.h.services[0]!;
    const open = buildAdminApp({ rt: svc.rt, webhookBase: svc.webhookUrl, backendReachable: async () => true });
    try {
      const page = await open.inject({ url: '/' });
      assert.equal(page.statusCode, 200);
      assert.ok(page.body.includes(`data-ap="${s.apId}"`));
      assert.equal((await open.inject({ url: '/status' })).statusCode, 200);
      assert.equal((await open.inject({ url: '/queues' })).statusCode, 200);
      assert.equal((await open.inject({ url: '/api/status' })).statusCode, 200);
      const id = await s.addDeadLetter();
      const csrf = await open.inject({ method: 'POST', url: `/api/dead-letters/${encodeURIComponent(id)}/replay`, headers: { origin: 'https://evil.example', host: '127.0.0.1:9464', 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=1' });
      assert.equal(csrf.statusCode, 403);
      const ok = await open.inject({ method: 'POST', url: `/api/dead-letters/${encodeURIComponent(id)}/replay` });
      assert.equal(ok.statusCode, 200, ok.body);
    } finally {
      await open.close();
    }
  });
});
