// The simulator's platform HTTP API (contract §3) and the calls it makes to the plugin (§2).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GoHttpError, startThingsPanelSim, type ThingsPanelSim } from '../../src/sim/thingspanel.js';
import { MQTT_URL, postJson, startFakePlugin, uniqueId, type FakePlugin } from './helpers.js';

const DEVICE_KEYS = [
  'id', 'name', 'voucher', 'tenant_id', 'is_enabled', 'activate_flag', 'created_at', 'update_at', 'device_number',
  'product_id', 'parent_id', 'protocol', 'label', 'location', 'sub_device_addr', 'current_version', 'additional_info',
  'protocol_config', 'remark1', 'remark2', 'remark3', 'device_config_id', 'batch_number', 'activate_at', 'is_online',
  'access_way', 'description', 'service_access_id', 'last_offline_time',
];
const AP_KEYS = ['create_at', 'description', 'devices', 'id', 'name', 'remark', 'service_access_config', 'service_plugin_id', 'tenant_id', 'update_at', 'voucher'];

describe('ThingsPanel simulator: HTTP', () => {
  let sim: ThingsPanelSim;
  let plugin: FakePlugin;
  const SVC = uniqueId();
  const post = (path: string, body: unknown, headers?: Record<string, string>) => postJson(`${sim.url}${path}`, body, headers);

  before(async () => {
    plugin = await startFakePlugin();
    sim = await startThingsPanelSim({ mqttUrl: MQTT_URL });
    sim.registerService({ serviceIdentifier: SVC, httpAddress: plugin.hostPort, subTopicPrefix: `plugin/${SVC}/` });
  });
  after(async () => {
    await sim.close();
    await plugin.close();
  });

  test('heartbeat: ok, localised message, unknown identifier, validation', async () => {
    let r = await post('/api/v1/plugin/heartbeat', { service_identifier: SVC });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { code: 200, message: '操作成功', data: {} });
    assert.equal(sim.serviceActive(SVC), true);
    assert.equal(sim.heartbeats.at(-1)?.serviceIdentifier, SVC);

    r = await post('/api/v1/plugin/heartbeat', { service_identifier: SVC }, { 'accept-language': 'en-US,en;q=0.9' });
    assert.equal(r.json.message, 'Success');

    r = await post('/api/v1/plugin/heartbeat', { service_identifier: 'NOPE_' + SVC });
    assert.equal(r.status, 200);
    assert.equal(r.json.code, 101001);
    assert.equal(r.json.data.sql_error, 'service plugin not found');

    r = await post('/api/v1/plugin/heartbeat', {});
    assert.equal(r.json.code, 100002);
    assert.match(r.json.message, /ServiceIdentifier.*required/);

    r = await post('/api/v1/plugin/heartbeat', '');
    assert.equal(r.json.code, 100002);
    assert.equal(r.json.message, 'EOF');

    r = await post('/api/v1/plugin/heartbeat', { service_identifier: 7 });
    assert.equal(r.json.code, 100002);
    assert.match(r.json.message, /cannot unmarshal number/);

    // Go's encoding/json matches keys case-insensitively; gin ignores the Content-Type.
    const res = await fetch(`${sim.url}/api/v1/plugin/heartbeat`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"Service_Identifier":"' + SVC + '"}' });
    assert.equal(((await res.json()) as { code: number }).code, 200);
  });

  test('access list: null when empty, 100000 for an unknown plugin, 100002 without identifier', async () => {
    const other = uniqueId();
    sim.registerService({ serviceIdentifier: other, httpAddress: plugin.hostPort, subTopicPrefix: `plugin/${other}/` });
    let r = await post('/api/v1/plugin/service/access/list', { service_identifier: other });
    assert.deepEqual(r.json, { code: 200, message: '操作成功', data: null });
    r = await post('/api/v1/plugin/service/access/list', { service_identifier: 'NOPE_' + other });
    assert.equal(r.json.code, 100000);
    r = await post('/api/v1/plugin/service/access/list', {});
    assert.equal(r.json.code, 100002);
  });

  test('bind devices → notification, then list / access / device config in backend shapes', async () => {
    const tpl = sim.addTemplate({ protocolType: SVC, deviceType: '1', protocolConfig: { interval: 60, mode: 'poll' } });
    const apId = sim.createAccessPoint({ serviceIdentifier: SVC, name: 'My cloud', voucher: { AppKey: 'k', AppSecret: 's' }, tenantId: 't-1' });
    plugin.requests.length = 0;
    const rows = await sim.bindDevices(apId, [
      { device_number: `${SVC}-a`, device_name: 'A', templateId: tpl.id },
      { device_number: `${SVC}-b`, device_name: 'B', templateId: tpl.id },
      { device_number: `${SVC}-a`, device_name: 'dup', templateId: tpl.id }, // silently skipped
    ]);
    assert.equal(rows.length, 2);
    const [a, b] = rows as [(typeof rows)[0], (typeof rows)[0]];

    // notification (≥ v1.2.6 path), message is a JSON string
    assert.equal(plugin.requests.length, 1);
    const n = plugin.requests[0]!;
    assert.equal(n.method, 'POST');
    assert.equal(n.url, '/api/v1/plugin/notification');
    assert.equal(n.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(n.body), { message_type: '1', message: JSON.stringify({ service_access_id: apId }) });
    assert.equal(sim.pluginCalls.at(-1)?.ok, true);

    // list
    const r = await post('/api/v1/plugin/service/access/list', { service_identifier: SVC });
    assert.equal(r.json.code, 200);
    assert.ok(Array.isArray(r.json.data));
    const ap = r.json.data.find((x: { id: string }) => x.id === apId);
    assert.deepEqual(Object.keys(ap), AP_KEYS);
    assert.equal(ap.voucher, '{"AppKey":"k","AppSecret":"s","auth_type":"manual"}');
    assert.equal(ap.tenant_id, 't-1');
    assert.equal(ap.name, 'My cloud');
    assert.match(ap.create_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert.equal(ap.devices.length, 2);
    const d0 = ap.devices[0];
    assert.deepEqual(Object.keys(d0), DEVICE_KEYS);
    assert.equal(d0.id, a.id);
    assert.match(d0.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.match(d0.voucher, /^\{"username":"[0-9a-f-]{22}"\}$/);
    assert.equal(d0.access_way, 'B');
    assert.equal(d0.is_online, 0);
    assert.equal(d0.product_id, null);
    assert.equal(d0.last_offline_time, null);
    assert.equal(d0.protocol_config, '{}');
    assert.equal(d0.additional_info, '{}');
    assert.equal(d0.service_access_id, apId);
    assert.equal(d0.device_config_id, tpl.id);
    assert.equal(d0.tenant_id, 't-1');
    assert.equal(d0.activate_flag, 'active');

    // single access point
    const one = await post('/api/v1/plugin/service/access', { service_access_id: apId });
    assert.deepEqual(one.json.data, ap);
    assert.equal((await post('/api/v1/plugin/service/access', { service_access_id: 'nope' })).json.code, 100000);
    assert.equal((await post('/api/v1/plugin/service/access', {})).json.code, 100002);

    // device config: by id / voucher / number, priority id > voucher > number
    const expectCfg = (data: Record<string, unknown>, dev: typeof a) => {
      assert.deepEqual(Object.keys(data), ['id', 'voucher', 'device_type', 'protocol_type', 'device_number', 'config', 'protocol_config_template', 'sub_devices']);
      assert.deepEqual(data, {
        id: dev.id, voucher: dev.voucher, device_type: '1', protocol_type: SVC, device_number: dev.device_number,
        config: {}, protocol_config_template: { interval: 60, mode: 'poll' }, sub_devices: null,
      });
    };
    expectCfg((await post('/api/v1/plugin/device/config', { device_id: a.id })).json.data, a);
    expectCfg((await post('/api/v1/plugin/device/config', { voucher: b.voucher })).json.data, b);
    expectCfg((await post('/api/v1/plugin/device/config', { device_number: b.device_number })).json.data, b);
    expectCfg((await post('/api/v1/plugin/device/config', { device_id: a.id, voucher: b.voucher, device_number: b.device_number })).json.data, a);
    expectCfg((await post('/api/v1/plugin/device/config', { voucher: b.voucher, device_number: a.device_number })).json.data, b);
    let e = (await post('/api/v1/plugin/device/config', {})).json;
    assert.equal(e.code, 100002);
    assert.equal(e.data.error, 'device id and voucher and device_number must have one');
    e = (await post('/api/v1/plugin/device/config', { device_number: 'does-not-exist' })).json;
    assert.equal(e.code, 101001);
    e = (await post('/api/v1/plugin/device/config', { device_id: 'x'.repeat(37) })).json;
    assert.equal(e.code, 100002);

    // /plugin/devices
    let p = (await post('/api/v1/plugin/devices', { service_identifier: SVC, device_type: '1', page: 1, page_size: 1 })).json;
    assert.equal(p.code, 200);
    assert.equal(p.data.total, 2);
    assert.equal(p.data.list.length, 1);
    assert.deepEqual(p.data.list[0].sub_devices, []);
    assert.deepEqual(p.data.list[0].config, {});
    assert.deepEqual(p.data.list[0].protocol_config_template, { interval: 60, mode: 'poll' });
    p = (await post('/api/v1/plugin/devices', { service_identifier: SVC, device_type: '1', page: 2, page_size: 1 })).json;
    assert.equal(p.data.list.length, 1);
    assert.notEqual(p.data.list[0].id, a.id);
    p = (await post('/api/v1/plugin/devices', { service_identifier: SVC, device_type: '2', page: 1, page_size: 10 })).json;
    assert.deepEqual(p.data, { list: null, total: 0 });
    p = (await post('/api/v1/plugin/devices', { service_identifier: SVC, device_type: '1', page_size: 10 })).json;
    assert.equal(p.code, 100002);
    assert.equal(p.message, "Field 'Page' is required");
    p = (await post('/api/v1/plugin/devices', { service_identifier: SVC, device_type: '1', page: 1, page_size: 1001 })).json;
    assert.equal(p.code, 100002);
    assert.match(p.message, /at most 1000/);
    p = (await post('/api/v1/plugin/devices', { service_identifier: SVC, device_type: 1, page: 1, page_size: 10 })).json;
    assert.equal(p.code, 100002);
  });

  test('voucher update notifies; delete device does not; disconnect posts {device_id}; old notification path', async () => {
    const apId = sim.createAccessPoint({ serviceIdentifier: SVC, name: 'second', voucher: { AppKey: 'x' } });
    const [dev] = await sim.bindDevices(apId, [{ device_number: `${SVC}-c`, device_name: 'C' }]);
    assert.ok(dev);
    plugin.requests.length = 0;

    const call = await sim.updateAccessPointVoucher(apId, { AppKey: 'y' });
    assert.equal(call?.ok, true);
    assert.equal(plugin.requests.length, 1);
    assert.equal(plugin.requests[0]!.url, '/api/v1/plugin/notification');
    assert.equal(sim.accessPoint(apId)?.voucher, '{"AppKey":"y","auth_type":"manual"}');

    assert.equal(sim.deleteDevice(dev.id), true);
    assert.equal(plugin.requests.length, 1, 'device deletion must not reach the plugin');
    assert.equal((await post('/api/v1/plugin/device/config', { device_id: dev.id })).json.code, 101001);

    const [dev2] = await sim.bindDevices(apId, [{ device_number: `${SVC}-d`, device_name: 'D' }]);
    assert.ok(dev2);
    plugin.requests.length = 0;
    const dc = await sim.disconnectDevice(dev2.id);
    assert.equal(dc.ok, true);
    assert.equal(plugin.requests[0]!.url, '/api/v1/device/disconnect');
    assert.deepEqual(JSON.parse(plugin.requests[0]!.body), { device_id: dev2.id });

    sim.updateService(SVC, { notificationPath: '/api/v1/notify/event' });
    plugin.requests.length = 0;
    await sim.bindDevices(apId, [{ device_number: `${SVC}-e`, device_name: 'E' }]);
    assert.equal(plugin.requests[0]!.url, '/api/v1/notify/event');
    sim.updateService(SVC, { notificationPath: '/api/v1/plugin/notification' });

    assert.throws(() => sim.deleteAccessPoint(apId), /still has/);
    sim.deleteAccessPoint(apId, { force: true });
    assert.equal(sim.accessPoint(apId), undefined);
  });

  test('a plugin that is down: devices persist, the failed notification is recorded', async () => {
    const down = uniqueId();
    sim.registerService({ serviceIdentifier: down, httpAddress: '127.0.0.1:1', subTopicPrefix: `plugin/${down}/` });
    const apId = sim.createAccessPoint({ serviceIdentifier: down, name: 'x', voucher: { k: 1 } });
    const rows = await sim.bindDevices(apId, [{ device_number: `${down}-1`, device_name: 'one' }]);
    assert.equal(rows.length, 1);
    const last = sim.pluginCalls.at(-1)!;
    assert.equal(last.ok, false);
    assert.match(last.error ?? '', /ECONNREFUSED/);
  });

  test('fetchForm sends the query unencoded, in the backend order', async () => {
    plugin.requests.length = 0;
    const body = (await sim.fetchForm(SVC, 'SVCR', '')) as { code: number; data: unknown[] };
    assert.equal(body.code, 200);
    assert.equal(plugin.requests[0]!.url, `/api/v1/form/config?protocol_type=${SVC}&device_type=&form_type=SVCR`);
    assert.equal(plugin.requests[0]!.headers['user-agent'], 'Go-http-client/1.1');
    await sim.fetchForm(SVC, 'CFG', '1');
    assert.equal(plugin.requests[1]!.url, `/api/v1/form/config?protocol_type=${SVC}&device_type=1&form_type=CFG`);
  });

  test('fetchDeviceList sends the voucher raw (not URL-encoded) and throws on non-200', async () => {
    plugin.requests.length = 0;
    const voucher = '{"AppKey":"k+1&x=y","AppSecret":"s/%41","auth_type":"manual"}';
    const body = (await sim.fetchDeviceList(SVC, voucher, 2, 20)) as { code: number; data: { total: number } };
    assert.equal(body.code, 200);
    assert.equal(body.data.total, 1);
    assert.equal(plugin.requests[0]!.url, `/api/v1/plugin/device/list?voucher=${voucher}&page_size=20&page=2`);

    // objects are serialised compactly, like the stored voucher string
    await sim.fetchDeviceList(SVC, { AppKey: 'k' }, 1, 10);
    assert.equal(plugin.requests[1]!.url, '/api/v1/plugin/device/list?voucher={"AppKey":"k"}&page_size=10&page=1');

    // '#' ends the request target (Go treats it as a fragment): page_size/page never arrive
    await sim.fetchDeviceList(SVC, '{"AppKey":"a#b"}', 1, 10);
    assert.equal(plugin.requests[2]!.url, '/api/v1/plugin/device/list?voucher={"AppKey":"a');

    // a raw space is sent as Go would; Node's HTTP parser answers 400 → error with the status
    await assert.rejects(sim.fetchDeviceList(SVC, '{"AppKey":"a b"}', 1, 10), (e: unknown) => e instanceof GoHttpError && e.status === 400);
  });
});
