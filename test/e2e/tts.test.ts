// The Things Stack end to end: discovery, webhook → telemetry, command → downlink → response, bad input.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTtsSim, type TtsSim } from '../../connectors/the-things-stack/simulator.js';
import { type Harness, startHarness, until } from '../helpers/harness.js';

let h: Harness;
let tts: TtsSim;
let apId: string;
const secret = `whs-${Math.random().toString(36).slice(2)}-secret`;
let devices: { id: string; device_number: string }[];
let hookUrl: string;

before(async () => {
  tts = await startTtsSim({ applicationId: 'app1', devices: 3 });
  h = await startHarness({ connector: 'the-things-stack' });
  const voucher = { server_url: tts.url, application_id: 'app1', api_key: tts.apiKey, webhook_secret: secret, offline_timeout: '2' };
  apId = h.tp.createAccessPoint({ serviceIdentifier: h.si, name: 'tenant A', voucher });
  const list = (await h.tp.fetchDeviceList(h.si, { ...voucher, auth_type: 'manual' }, 1, 10)) as { code: number; data: { total: number; list: { device_number: string; device_name: string }[] } };
  assert.equal(list.code, 200, JSON.stringify(list));
  assert.equal(list.data.total, 3);
  const rows = await h.tp.bindDevices(apId, list.data.list.map((d) => ({ device_number: d.device_number, device_name: d.device_name })));
  devices = rows.map((r) => ({ id: r.id as string, device_number: r.device_number as string }));
  await until(() => h.services[0]!.rt.registry.get(apId)?.devices.size === 3, 10_000, 'access point synced after notification');
  hookUrl = `${h.services[0]!.webhookUrl}/webhooks/the-things-stack/${apId}`;
});

after(async () => {
  await h?.close();
  await tts?.close();
});

test('discovery numbers are namespaced and ≤ 36 characters', () => {
  assert.deepEqual(devices.map((d) => d.device_number).sort(), ['tts-app1-dev1', 'tts-app1-dev2', 'tts-app1-dev3']);
});

test('forms are served as the contract says', async () => {
  const svcr = (await h.tp.fetchForm(h.si, 'SVCR', '')) as { code: number; data: { dataKey: string }[] };
  assert.equal(svcr.code, 200);
  assert.ok(svcr.data.some((e) => e.dataKey === 'api_key'));
  assert.deepEqual(await h.tp.fetchForm(h.si, 'VCR', '1'), { code: 200, message: 'success', data: null });
  assert.deepEqual(((await h.tp.fetchForm(h.si, 'VCRT', '1')) as { data: unknown }).data, {});
  assert.deepEqual(await h.tp.fetchForm(h.si, 'XYZ', '1'), { code: 400, message: 'not support form type: XYZ' });
});

test('uplink webhook → telemetry, attributes and online status at the platform', async () => {
  const dev = devices.find((d) => d.device_number === 'tts-app1-dev1')!;
  const res = await tts.deliver(hookUrl, tts.uplinkBody('dev1', { temperature: 21.5, humidity: 40 }), { 'x-webhook-secret': secret });
  assert.equal(res.status, 200, res.body);
  const tel = await h.tp.waitFor((s) => s.telemetry.find((t) => t.deviceId === dev.id && t.values.temperature === 21.5), 10_000);
  assert.deepEqual(tel.values, { temperature: 21.5, humidity: 40 });
  await h.tp.waitFor((s) => s.attributes.find((a) => a.deviceId === dev.id && a.values.gateway_id === 'gtw1'), 5000);
  await h.tp.waitFor((s) => s.status.find((st) => st.deviceId === dev.id && st.online), 5000);
  assert.deepEqual(h.tp.errors, []);
});

test('a replayed webhook is published once', async () => {
  const dev = devices.find((d) => d.device_number === 'tts-app1-dev2')!;
  const body = tts.uplinkBody('dev2', { counter: 777 });
  for (let i = 0; i < 3; i++) assert.equal((await tts.deliver(hookUrl, body, { authorization: `Bearer ${secret}` })).status, 200);
  await h.tp.waitFor((s) => s.telemetry.find((t) => t.deviceId === dev.id && t.values.counter === 777), 10_000);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(h.tp.telemetry.filter((t) => t.deviceId === dev.id && t.values.counter === 777).length, 1);
});

test('the secret may also be the URL key (vendors that cannot send headers)', async () => {
  const ap = h.services[0]!.rt.registry.get(apId)!;
  const res = await tts.deliver(`${h.services[0]!.webhookUrl}/webhooks/the-things-stack/${ap.urlKeys[0]}`, tts.uplinkBody('dev3', { x: 1 }));
  assert.equal(res.status, 200, res.body);
});

test('bad webhook input → 4xx with a reason and nothing queued', async () => {
  const rt = h.services[0]!.rt;
  const total = async () => Object.values(await rt.queues.uplink.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized')).reduce((a, b) => a + b, 0);
  const before = await total();
  const good = JSON.stringify(tts.uplinkBody('dev1', { t: 1 }));
  const cases: [string, Record<string, string>, string | Buffer, number][] = [
    [hookUrl, { 'x-webhook-secret': 'wrong' }, good, 401],
    [hookUrl, {}, good, 401],
    [`${h.services[0]!.webhookUrl}/webhooks/the-things-stack/not-an-access-point`, { 'x-webhook-secret': secret }, good, 401],
    [`${h.services[0]!.webhookUrl}/webhooks/nope/${apId}`, { 'x-webhook-secret': secret }, good, 401],
    [hookUrl, { 'x-webhook-secret': secret }, '{"end_device_ids": ', 400],
    [hookUrl, { 'x-webhook-secret': secret }, good.replace('"app1"', '"app2"'), 400],
    [hookUrl, { 'x-webhook-secret': secret }, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 400],
    [hookUrl, { 'x-webhook-secret': secret }, '['.repeat(1000) + ']'.repeat(1000), 400],
    [hookUrl, { 'x-webhook-secret': secret }, 'x'.repeat(2 * 1024 * 1024), 413],
    [hookUrl, { 'x-webhook-secret': secret, 'content-type': 'text/plain' }, good, 415],
  ];
  for (const [url, headers, body, want] of cases) {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: body as string });
    const text = await res.text();
    assert.equal(res.status, want, `${want} expected for ${JSON.stringify(headers)} ${String(body).slice(0, 40)}: ${text}`);
    if (want !== 401) assert.match(text, /reason|too large/);
    else assert.doesNotMatch(text, /secret|wrong/);
  }
  const afterCount = await total();
  assert.equal(afterCount, before);
});

test('command → TTS downlink push → response topic', async () => {
  const dev = devices.find((d) => d.device_number === 'tts-app1-dev1')!;
  const mid = await h.tp.sendCommand(dev.id, { method: 'SetInterval', params: { interval: 60 } });
  const resp = await h.tp.waitForResponse(mid, 10_000);
  assert.equal(resp.result, 0, resp.message);
  assert.equal(resp.method, 'SetInterval');
  const dl = tts.downlinks.find((d) => JSON.stringify(d.body).includes(`thingspanel:${mid}`));
  assert.ok(dl, 'downlink reached TTS');
  assert.deepEqual((dl.body as { downlinks: { decoded_payload: unknown }[] }).downlinks[0]!.decoded_payload, { interval: 60, method: 'SetInterval' });
});

test('command by device id (backend ≤ v1.1.9) and attribute set', async () => {
  const dev = devices.find((d) => d.device_number === 'tts-app1-dev2')!;
  const mid = await h.tp.sendCommand(dev.id, { method: 'raw', params: { frm_payload: 'vu8=', f_port: 15 } }, { era: 'id' });
  assert.equal((await h.tp.waitForResponse(mid, 10_000)).result, 0);
  const mid2 = await h.tp.setAttributes(dev.id, { led: true });
  const r2 = await h.tp.waitForResponse(mid2, 10_000);
  assert.equal(r2.result, 0, r2.message);
});

test('a command the vendor rejects is answered with result 1 and a clear message', async () => {
  const dev = devices.find((d) => d.device_number === 'tts-app1-dev3')!;
  const mid = await h.tp.sendCommand(dev.id, { method: 'raw', params: { frm_payload: 'not base64' } });
  const r = await h.tp.waitForResponse(mid, 10_000);
  assert.equal(r.result, 1);
  assert.match(r.message, /base64/);
  tts.setFault('500');
  try {
    const mid2 = await h.tp.sendCommand(dev.id, { method: 'x', params: { a: 1 } });
    const r2 = await h.tp.waitForResponse(mid2, 10_000);
    assert.equal(r2.result, 1);
    assert.match(r2.message, /HTTP 503/);
  } finally {
    tts.setFault('none');
  }
});

test('devices that stop sending are reported offline after the access point timeout', async () => {
  const dev = devices.find((d) => d.device_number === 'tts-app1-dev1')!;
  await h.tp.waitFor((s) => s.status.find((st) => st.deviceId === dev.id && !st.online), 8000);
  assert.deepEqual(h.tp.errors, []);
});

test('heartbeats reach the platform and no secret is ever logged', async () => {
  await h.tp.waitFor((s) => s.serviceActive(h.si), 5000);
  const all = h.logs.join('');
  assert.ok(all.length > 0);
  for (const s of [secret, tts.apiKey]) assert.equal(all.includes(s), false, 'secret leaked into logs');
});

test('operator endpoints: probes, Prometheus metrics without device labels, status JSON', async () => {
  const a = h.services[0]!.adminApp;
  assert.equal((await a.inject({ url: '/healthz' })).statusCode, 200);
  const ready = await a.inject({ url: '/readyz' });
  assert.equal(ready.statusCode, 200, ready.body);
  const m = (await a.inject({ url: '/metrics' })).body;
  assert.match(m, /tpcc_uplinks_published_total\{connector="the-things-stack",kind="telemetry"\} \d+/);
  assert.match(m, /tpcc_webhook_requests_total\{connector="the-things-stack",result="accepted"\}/);
  assert.match(m, /tpcc_queue_depth\{queue="uplink",state="waiting"\}/);
  for (const d of devices) assert.equal(m.includes(d.id), false, 'no device ids as labels');
  const st = (await a.inject({ url: '/api/status' })).json() as { access_points: { id: string; state: string; devices: number; webhook: { url: string } }[] };
  const mine = st.access_points.find((x) => x.id === apId)!;
  assert.equal(mine.devices, 3);
  assert.equal(mine.webhook.url, hookUrl);
});

test('device list with a space and non-ASCII characters in the raw voucher (Go sends them unencoded)', async () => {
  const voucher = { server_url: tts.url, application_id: 'app1', api_key: tts.apiKey, webhook_secret: 'Kühl raum+geheim&x', auth_type: 'manual' };
  const list = (await h.tp.fetchDeviceList(h.si, voucher, 1, 2)) as { code: number; message: string; data: { total: number; list: unknown[] } };
  assert.equal(list.code, 200, list.message);
  assert.equal(list.data.total, 3);
  assert.equal(list.data.list.length, 2);
});

test('attribute get answers with the last reported attributes; telemetry control becomes a downlink', async () => {
  const dev = devices.find((d) => d.device_number === 'tts-app1-dev1')!;
  const before = h.tp.attributes.length;
  await h.tp.getAttributes(dev.id, ['gateway_id', 'snr']);
  const a = await h.tp.waitFor((s) => s.attributes.slice(before).find((x) => x.deviceId === dev.id), 10_000);
  assert.deepEqual(a.values, { gateway_id: 'gtw1', snr: 5 });
  const n = tts.downlinks.length;
  await h.tp.controlTelemetry(dev.id, { led: 'on' });
  const dl = await until(() => tts.downlinks.slice(n).find((d) => d.deviceId === 'dev1'), 10_000, 'telemetry control downlink');
  assert.deepEqual((dl.body as { downlinks: { decoded_payload: unknown }[] }).downlinks[0]!.decoded_payload, { led: 'on' });
});

test('a command for a device the vendor does not know is answered with result 1', async () => {
  const [ghost] = await h.tp.bindDevices(apId, [{ device_number: 'tts-app1-ghost', device_name: 'ghost' }]);
  await until(() => h.services[0]!.rt.registry.get(apId)?.devices.has(ghost!.id as string), 10_000, 'ghost synced');
  const mid = await h.tp.sendCommand(ghost!.id as string, { method: 'x', params: { a: 1 } });
  const r = await h.tp.waitForResponse(mid, 10_000);
  assert.equal(r.result, 1);
  assert.match(r.message, /404/);
});

test('disconnect (device config changed) is answered at once and re-syncs the access point', async () => {
  const dev = devices.find((d) => d.device_number === 'tts-app1-dev2')!;
  const call = await h.tp.disconnectDevice(dev.id);
  assert.equal(call.ok, true, JSON.stringify(call.response));
  assert.deepEqual(call.response, { code: 200, message: 'success' });
});
