// Scenario 9 — hostile input. One service process with all four built-in connectors (four plugin APIs) takes
// malformed JSON, wrong content types, oversized bodies, deep nesting, invalid UTF-8 and broken request lines on every
// plugin-API route and on the webhook receiver: each is refused (4xx, or the plugin API's {code: 4xx} envelope with a
// reason), the process stays up, nothing is queued. Then 5,000 hostile webhook requests: the heap after GC stays bounded.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { startTtsSim, type TtsSim } from '../../connectors/the-things-stack/simulator.js';
import { freePort, type Harness, REDIS_URL, startHarness, uid } from '../helpers/harness.js';
import { queueOf } from '../helpers/fault.js';
import { killAllServiceProcesses, spawnService, type ServiceProcess } from '../helpers/service-process.js';

let h: Harness;
let tts: TtsSim;
let sp: ServiceProcess;
let apId = '';
const secret = `hostile-${uid(8)}`;
const plugin: Record<string, string> = {};

before(async () => {
  tts = await startTtsSim({ applicationId: 'happ', devices: 1 });
  h = await startHarness({ connector: 'the-things-stack', replicas: 0 });
  apId = h.tp.createAccessPoint({ serviceIdentifier: h.si, name: 'hostile', voucher: { server_url: tts.url, application_id: 'happ', api_key: tts.apiKey, webhook_secret: secret } });
  await h.tp.bindDevices(apId, [{ device_number: 'tts-happ-dev1', device_name: 'dev1' }]);
  const ports = { cs: await freePort(), ty: await freePort(), hj: await freePort() };
  const x = uid(2).toUpperCase();
  sp = await spawnService(h, {
    name: 'hostile',
    connectors: `the-things-stack:${h.si}:${h.pluginPort},chirpstack:CS${x}:${ports.cs},tuya:TY${x}:${ports.ty},http-json:HJ${x}:${ports.hj}`,
    nodeArgs: ['--expose-gc', '--import', './test/helpers/gc-probe.mjs'],
  });
  plugin['the-things-stack'] = `http://127.0.0.1:${h.pluginPort}`;
  plugin.chirpstack = `http://127.0.0.1:${ports.cs}`;
  plugin.tuya = `http://127.0.0.1:${ports.ty}`;
  plugin['http-json'] = `http://127.0.0.1:${ports.hj}`;
  // Synced: the webhook of the access point answers 401 for a wrong secret only once the access point is known.
  for (let i = 0; i < 200; i++) {
    const r = await fetch(`${sp.webhookUrl}/webhooks/the-things-stack/${apId}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-secret': secret }, body: '{' });
    if (r.status === 400) break;
    await new Promise((res) => setTimeout(res, 100));
  }
});
after(async () => {
  await killAllServiceProcesses();
  await h?.close();
  await tts?.close();
});

/** Sends raw bytes; the answer's status (0 when the connection closed without one) and parsed JSON body. */
function raw(url: string, bytes: Buffer): Promise<Answer> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = connect(Number(u.port), '127.0.0.1');
    let got = '';
    s.on('data', (d) => { got += d.toString('utf8'); });
    s.on('error', () => undefined);
    s.on('close', () => {
      const text = got.slice(got.indexOf('\r\n\r\n') + 4);
      let j: { code?: number; message?: string } = {};
      try { j = JSON.parse(text) as typeof j; } catch { /* not JSON */ }
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(got)?.[1] ?? 0), code: j.code, message: j.message, text: text.slice(0, 300) });
    });
    s.setTimeout(10_000, () => s.destroy());
    s.end(bytes);
  });
}

interface Answer { status: number; code?: number; message?: string; text: string }
async function send(url: string, init: { method?: string; headers?: Record<string, string>; body?: Buffer | string }): Promise<Answer> {
  const body = typeof init.body === 'string' || init.body === undefined ? init.body : new Uint8Array(init.body);
  const res = await fetch(url, { method: init.method ?? 'POST', headers: init.headers, body, signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  let j: { code?: number; message?: string } = {};
  try { j = JSON.parse(text) as typeof j; } catch { /* not JSON */ }
  return { status: res.status, code: j.code, message: j.message, text: text.slice(0, 300) };
}

/** Refused: a 4xx, or HTTP 200 with the plugin API's {code: 4xx, message: reason}. */
function refused(a: Answer): boolean {
  if (a.status >= 400 && a.status < 500) return true;
  return a.status === 200 && typeof a.code === 'number' && a.code >= 400 && a.code < 500 && typeof a.message === 'string' && a.message.length > 0;
}

const deep = (n: number) => `{"message":${'['.repeat(n)}${']'.repeat(n)}}`;
const invalidUtf8 = Buffer.concat([Buffer.from('{"message_type":"1","message":"'), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), Buffer.from('"}')]);

test('plugin API of every connector: hostile requests are refused with a reason; the process stays up; nothing queued', async (t) => {
  const cases: [string, (base: string) => Promise<Answer>][] = [
    ['malformed JSON', (b) => send(`${b}/api/v1/plugin/notification`, { headers: { 'content-type': 'application/json' }, body: '{"message_type":' })],
    ['text/plain body', (b) => send(`${b}/api/v1/plugin/notification`, { headers: { 'content-type': 'text/plain' }, body: 'hello' })],
    ['application/xml body', (b) => send(`${b}/api/v1/plugin/notification`, { headers: { 'content-type': 'application/xml' }, body: '<a/>' })],
    ['oversized body (300 KiB)', (b) => send(`${b}/api/v1/plugin/notification`, { headers: { 'content-type': 'application/json' }, body: `{"message":"${'x'.repeat(300 * 1024)}"}` })],
    ['deep nesting (50,000 levels)', (b) => send(`${b}/api/v1/plugin/notification`, { headers: { 'content-type': 'application/json' }, body: deep(50_000) })],
    ['invalid UTF-8', (b) => send(`${b}/api/v1/plugin/notification`, { headers: { 'content-type': 'application/json' }, body: invalidUtf8 })],
    ['prototype poisoning', (b) => send(`${b}/api/v1/plugin/notification`, { headers: { 'content-type': 'application/json' }, body: '{"__proto__":{"polluted":true},"message_type":"1"}' })],
    ['disconnect: deep nesting', (b) => send(`${b}/api/v1/device/disconnect`, { headers: { 'content-type': 'application/json' }, body: `{"device_id":"x","a":${'['.repeat(20_000)}${']'.repeat(20_000)}}` })],
    ['disconnect: invalid UTF-8', (b) => send(`${b}/api/v1/device/disconnect`, { headers: { 'content-type': 'application/json' }, body: Buffer.concat([Buffer.from('{"device_id":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]) })],
    ['disconnect: device_id not a string', (b) => send(`${b}/api/v1/device/disconnect`, { headers: { 'content-type': 'application/json' }, body: '{"device_id":{"$ne":1}}' })],
    ['disconnect: JSON array', (b) => send(`${b}/api/v1/device/disconnect`, { headers: { 'content-type': 'application/json' }, body: '[1,2,3]' })],
    ['disconnect: malformed JSON', (b) => send(`${b}/api/v1/device/disconnect`, { headers: { 'content-type': 'application/json' }, body: '{"device_id":"x"' })],
    ['notify/event: oversized', (b) => send(`${b}/api/v1/notify/event`, { headers: { 'content-type': 'application/json' }, body: `[${'1,'.repeat(200_000)}1]` })],
    ['device list: voucher not JSON', (b) => send(`${b}/api/v1/plugin/device/list?voucher={nope&page=1&page_size=10`, { method: 'GET' })],
    ['device list: voucher deeply nested', (b) => send(`${b}/api/v1/plugin/device/list?voucher=${'['.repeat(5000)}${']'.repeat(5000)}&page=1&page_size=10`, { method: 'GET' })],
    ['device list: voucher of the wrong shape', (b) => send(`${b}/api/v1/plugin/device/list?voucher={"a":[1,{"b":null}]}&page=1&page_size=10`, { method: 'GET' })],
    ['device list: page not a number', (b) => send(`${b}/api/v1/plugin/device/list?voucher={}&page=abc&page_size=-5`, { method: 'GET' })],
    ['device list: bad percent-encoding', (b) => send(`${b}/api/v1/plugin/device/list?voucher=%E0%A4%A&page=1&page_size=10`, { method: 'GET' })],
    ['form config: unknown form type', (b) => send(`${b}/api/v1/form/config?form_type=../../etc/passwd`, { method: 'GET' })],
    ['form config: no form type', (b) => send(`${b}/api/v1/form/config`, { method: 'GET' })],
    ['unknown route', (b) => send(`${b}/api/v1/../../admin`, { method: 'DELETE' })],
  ];
  const rawCases: [string, Buffer][] = [
    ['request line with invalid UTF-8 bytes (device list)', Buffer.concat([Buffer.from('GET /api/v1/plugin/device/list?voucher={"k":"'), Buffer.from([0xff, 0xc0, 0x80]), Buffer.from('"}&page=1&page_size=10 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')])],
    ['request line with a space and garbage', Buffer.from('GET /api/v1/plugin/device/list?voucher={"a": "b c"}&page=1 HTTP/1.1 extra\r\nHost: x\r\nConnection: close\r\n\r\n')],
    ['64 KiB URL', Buffer.from(`GET /api/v1/form/config?form_type=${'A'.repeat(64 * 1024)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)],
    ['20 KiB header', Buffer.from(`POST /api/v1/plugin/notification HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20 * 1024)}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`)],
    ['not HTTP at all', Buffer.from('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage-tls-hello\r\n\r\n', 'latin1')],
    ['content-length larger than the body', Buffer.from('POST /api/v1/plugin/notification HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{"a":1}')],
  ];
  const failures: string[] = [];
  const summary: Record<string, string> = {};
  for (const [connector, base] of Object.entries(plugin)) {
    for (const [name, run] of cases) {
      const a = await run(base).catch((e: Error) => ({ status: -1, text: e.message }) as Answer);
      summary[`${connector}: ${name}`] = a.status === 200 ? `200 code ${a.code}` : String(a.status);
      if (!refused(a)) failures.push(`${connector}: ${name} → HTTP ${a.status} ${a.text}`);
    }
    for (const [name, bytes] of rawCases) {
      const a = await raw(base, bytes);
      summary[`${connector}: raw ${name}`] = a.status === 200 ? `200 code ${a.code}` : String(a.status);
      // Refused, or the connection closed without an answer (0) for bytes that are not HTTP.
      if (!(refused(a) || (a.status === 0 && name === 'not HTTP at all'))) failures.push(`${connector}: raw ${name} → ${a.status} ${a.text}`);
    }
  }
  const outcomes: Record<string, number> = {};
  for (const v of Object.values(summary)) outcomes[v] = (outcomes[v] ?? 0) + 1;
  t.diagnostic(JSON.stringify({ plugin_apis: Object.keys(plugin).length, cases_per_api: cases.length + rawCases.length, outcomes }));
  assert.deepEqual(failures, []);
  assert.ok(sp.alive, 'the process is still up');
  for (const base of Object.values(plugin)) assert.equal((await send(`${base}/health`, { method: 'GET' })).code, 200);
  assert.equal((await fetch(`${sp.adminUrl}/healthz`)).status, 200);
  for (const name of ['uplink', 'command', 'poll']) {
    const q = queueOf(REDIS_URL, h.redisPrefix, name);
    const c = await q.getJobCounts();
    await q.close();
    assert.equal(Object.values(c).reduce((x, y) => x + y, 0), 0, `nothing queued on ${name}: ${JSON.stringify(c)}`);
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

/** Asks the process to collect garbage and report its heap (test/helpers/gc-probe.mjs). */
async function heap(): Promise<{ heap_used: number; rss: number; gc: boolean }> {
  const n = sp.lines.filter((l) => l.includes('"gc_probe":true')).length;
  sp.kill('SIGUSR2');
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probes = sp.lines.filter((l) => l.includes('"gc_probe":true'));
    if (probes.length > n) return JSON.parse(probes.at(-1)!) as { heap_used: number; rss: number; gc: boolean };
    if (Date.now() > deadline) throw new Error('no gc probe answer');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('5,000 hostile webhook requests: every one refused with a 4xx, heap after GC bounded, nothing queued', async (t) => {
  const hook = `${sp.webhookUrl}/webhooks/the-things-stack/${apId}`;
  const good = { 'x-webhook-secret': secret };
  const json = { 'content-type': 'application/json', ...good };
  const body = JSON.stringify(tts.uplinkBody('dev1', { t: 1 }));
  const other = JSON.stringify(tts.uplinkBody('dev1', { t: 1 })).replace('"happ"', '"someone-elses-app"');
  const big = new Uint8Array(1100 * 1024).fill(0x20);
  const kinds: [string, () => Promise<number>][] = [
    ['unknown token', () => fetch(`${sp.webhookUrl}/webhooks/the-things-stack/${uid(8)}`, { method: 'POST', headers: json, body }).then((r) => r.status)],
    ['unknown connector', () => fetch(`${sp.webhookUrl}/webhooks/nope/${apId}`, { method: 'POST', headers: json, body }).then((r) => r.status)],
    ['wrong secret', () => fetch(hook, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-secret': `${secret}x` }, body }).then((r) => r.status)],
    ['no secret', () => fetch(hook, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then((r) => r.status)],
    ['malformed JSON', () => fetch(hook, { method: 'POST', headers: json, body: body.slice(0, 200) }).then((r) => r.status)],
    ['invalid UTF-8', () => fetch(hook, { method: 'POST', headers: json, body: new Uint8Array(Buffer.concat([Buffer.from(body.slice(0, 50)), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from(body.slice(50))])) }).then((r) => r.status)],
    ['deep nesting', () => fetch(hook, { method: 'POST', headers: json, body: `{"a":${'['.repeat(10_000)}${']'.repeat(10_000)}}` }).then((r) => r.status)],
    ['wrong content type', () => fetch(hook, { method: 'POST', headers: { 'content-type': 'text/plain', ...good }, body }).then((r) => r.status)],
    ['JSON, not a TTS message', () => fetch(hook, { method: 'POST', headers: json, body: '{"hello":"world","n":[1,2,3]}' }).then((r) => r.status)],
    ["another tenant's application", () => fetch(hook, { method: 'POST', headers: json, body: other }).then((r) => r.status)],
    ['empty body', () => fetch(hook, { method: 'POST', headers: json, body: '' }).then((r) => r.status)],
    ['GET', () => fetch(hook, { headers: good }).then((r) => r.status)],
  ];
  const counts: Record<string, Record<number, number>> = {};
  const bad: string[] = [];
  const fire = async (i: number) => {
    // Every 100th request is an oversized body (1.1 MiB > WEBHOOK_MAX_BODY_BYTES): 413.
    const [name, run]: [string, () => Promise<number>] = i % 100 === 99 ? ['oversized', () => fetch(hook, { method: 'POST', headers: json, body: big }).then((r) => r.status)] : kinds[i % kinds.length]!;
    const status = await run().catch(() => 0);
    (counts[name] ??= {})[status] = (counts[name]![status] ?? 0) + 1;
    // An oversized upload may see the connection closed (0) right after the early 413, before it could read it.
    if (!((status >= 400 && status < 500) || (status === 0 && name === 'oversized'))) bad.push(`${name} → ${status}`);
  };
  const runMany = async (from: number, n: number) => {
    let next = from;
    await Promise.all(Array.from({ length: 16 }, async () => { while (next < from + n) await fire(next++); }));
  };
  await runMany(0, 500); // warm-up: JIT, pools, caches
  const base = await heap();
  const t0 = Date.now();
  await runMany(500, 5000);
  const ms = Date.now() - t0;
  const end = await heap();
  const growth = end.heap_used - base.heap_used;
  t.diagnostic(JSON.stringify({ requests: 5000, ms, per_second: Math.round(5000 / (ms / 1000)), gc_exposed: end.gc, heap_used_mb: { before: +(base.heap_used / 1e6).toFixed(1), after: +(end.heap_used / 1e6).toFixed(1), growth: +(growth / 1e6).toFixed(2) }, rss_mb: { before: +(base.rss / 1e6).toFixed(1), after: +(end.rss / 1e6).toFixed(1) }, answers: counts }));
  assert.deepEqual(bad.slice(0, 20), [], `${bad.length} requests not refused with a 4xx`);
  assert.ok(end.gc, 'the probe could collect garbage');
  assert.ok(growth < 8e6, `heap after GC grew by ${(growth / 1e6).toFixed(1)} MB over 5,000 hostile requests`);
  assert.ok(sp.alive);
  const q = queueOf(REDIS_URL, h.redisPrefix, 'uplink');
  const c = await q.getJobCounts();
  await q.close();
  assert.equal(Object.values(c).reduce((x, y) => x + y, 0), 0, `nothing queued: ${JSON.stringify(c)}`);
});
