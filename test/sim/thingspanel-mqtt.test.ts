// The simulator's MQTT side: the observer decodes like the backend (contract §4.2/§4.3), ACKs (§4.5),
// and downlinks (§4.4). Negative cases always carry a device id minted by this simulator so that
// simulators in parallel test files (same broker) ignore them as foreign.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connectAsync, type MqttClient } from 'mqtt';
import { startThingsPanelSim, type DeviceRow, type ThingsPanelSim } from '../../src/sim/thingspanel.js';
import { b64, MQTT_URL, uniqueId } from './helpers.js';

interface Msg { topic: string; payload: string }

describe('ThingsPanel simulator: MQTT observer and downlink', () => {
  let sim: ThingsPanelSim;
  let pub: MqttClient; // plays the plugin
  const SVC = uniqueId();
  const PREFIX = `plugin/${SVC}/`;
  let dev: DeviceRow;
  const seen: Msg[] = [];

  const publish = (topic: string, payload: string | object) =>
    pub.publishAsync(topic, typeof payload === 'string' ? payload : JSON.stringify(payload), { qos: 1 });
  const waitSeen = async (pred: (m: Msg) => boolean, ms = 3000): Promise<Msg> => {
    const end = Date.now() + ms;
    for (;;) {
      const m = seen.find(pred);
      if (m) return m;
      if (Date.now() > end) throw new Error('message not seen');
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  before(async () => {
    sim = await startThingsPanelSim({ mqttUrl: MQTT_URL });
    sim.registerService({ serviceIdentifier: SVC, httpAddress: '127.0.0.1:1', subTopicPrefix: PREFIX });
    const ap = sim.createAccessPoint({ serviceIdentifier: SVC, name: 'ap', voucher: { k: 'v' } });
    const rows = await sim.bindDevices(ap, [{ device_number: `${SVC}-n1`, device_name: 'n1' }]);
    dev = rows[0]!;
    pub = await connectAsync(MQTT_URL, { username: 'plugin', password: 'plugin', clientId: `test-${SVC}` });
    pub.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString() }));
    await pub.subscribeAsync([`${PREFIX}#`, `devices/attributes/response/${dev.device_number}/+`, `devices/event/response/${dev.device_number}/+`, `devices/attributes/set/${dev.device_number}/+`, `devices/attributes/get/${dev.device_number}`], { qos: 1 });
  });
  after(async () => {
    await pub.endAsync();
    await sim.close();
  });
  beforeEach(() => {
    sim.reset();
    seen.length = 0;
  });

  test('accepts a correct base64 envelope on devices/telemetry', async () => {
    await publish('devices/telemetry', { device_id: dev.id, values: b64({ temperature: 28.5, switch: true }) });
    const t = await sim.waitFor((s) => s.telemetry.find((x) => x.deviceId === dev.id));
    assert.deepEqual(t.values, { temperature: 28.5, switch: true });
    assert.deepEqual(sim.errors, []);
  });

  test('reports a plain-object values, non-base64 values, unknown device id, bad status payload', async () => {
    await publish('devices/telemetry', { device_id: dev.id, values: { temperature: 1 } });
    await sim.waitFor((s) => s.errors.length === 1);
    assert.match(sim.errors[0]!.reason, /base64/);
    assert.equal(sim.errors[0]!.topic, 'devices/telemetry');

    await publish('devices/telemetry', { device_id: dev.id, values: 'not base64!' });
    await sim.waitFor((s) => s.errors.length === 2);
    assert.match(sim.errors[1]!.reason, /base64/);

    await publish('devices/telemetry', { device_id: dev.id, values: 'eyJh' }); // valid base64 of '{"a', not JSON
    await sim.waitFor((s) => s.errors.length === 3);
    assert.match(sim.errors[2]!.reason, /JSON/);

    const unknown = sim.state.newDeviceId(); // ours in shape, but never created
    await publish('devices/telemetry', { device_id: unknown, values: b64({ a: 1 }) });
    await sim.waitFor((s) => s.errors.length === 4);
    assert.match(sim.errors[3]!.reason, /not found/);

    await publish(`devices/status/${dev.id}`, 'online');
    await sim.waitFor((s) => s.errors.length === 5);
    assert.match(sim.errors[4]!.reason, /exactly "1" or "0"/);

    await publish(`devices/status/${dev.id}`, JSON.stringify({ device_id: dev.id, values: b64(1) }));
    await sim.waitFor((s) => s.errors.length === 6);
    assert.equal(sim.telemetry.length, 0);
    assert.equal(sim.status.length, 0);
  });

  test('status "1"/"0" is recorded and updates is_online', async () => {
    await publish(`devices/status/${dev.id}`, '1');
    await sim.waitFor((s) => s.status.length === 1);
    assert.deepEqual({ ...sim.status[0]!, at: 0 }, { deviceId: dev.id, online: true, at: 0 });
    assert.equal(sim.device(dev.id)?.is_online, 1);
    await publish(`devices/status/${dev.id}`, '0');
    await sim.waitFor((s) => s.status.length === 2);
    assert.equal(sim.device(dev.id)?.is_online, 0);
    assert.notEqual(sim.device(dev.id)?.last_offline_time, null);
    assert.deepEqual(sim.errors, []);
  });

  test('attributes and events are recorded and ACKed like the platform', async () => {
    await publish('devices/attributes/a1b2c3', { device_id: dev.id, values: b64({ ip: '10.0.0.1', port: 1883 }) });
    const a = await sim.waitFor((s) => s.attributes[0]);
    assert.deepEqual(a.values, { ip: '10.0.0.1', port: 1883 });
    assert.equal(a.messageId, 'a1b2c3');
    const ack = await waitSeen((m) => m.topic === `devices/attributes/response/${dev.device_number}/a1b2c3`);
    assert.deepEqual({ ...JSON.parse(ack.payload), ts: 0 }, { result: 0, message: 'success', ts: 0 });

    await publish('devices/event/e1', { device_id: dev.id, values: b64({ method: 'Alarm', params: { level: 2 } }) });
    const e = await sim.waitFor((s) => s.events[0]);
    assert.deepEqual({ ...e, at: 0 }, { deviceId: dev.id, method: 'Alarm', params: { level: 2 }, messageId: 'e1', at: 0 });
    const eack = await waitSeen((m) => m.topic === `devices/event/response/${dev.device_number}/e1`);
    assert.equal(JSON.parse(eack.payload).method, 'Alarm');

    await publish('devices/event/e2', { device_id: dev.id, values: b64({ method: 'Alarm', params: {} }) });
    await sim.waitFor((s) => s.errors.length === 1);
    assert.match(sim.errors[0]!.reason, /params/);
  });

  test('commands: topic with device_number (or device_id for the old era), response by message id', async () => {
    const mid = await sim.sendCommand(dev.id, { method: 'ReSet', params: { switch: 1 } });
    assert.match(mid, /^[0-9a-f]{8}$/);
    const m = await waitSeen((x) => x.topic === `${PREFIX}devices/command/${dev.device_number}/${mid}`);
    assert.deepEqual(JSON.parse(m.payload), { method: 'ReSet', params: { switch: 1 } });

    await publish(`devices/command/response/${mid}`, { device_id: dev.id, values: b64({ result: 0, message: 'success', ts: 1700000000, method: 'ReSet' }) });
    const r = await sim.waitForResponse(mid, 3000);
    assert.equal(r.kind, 'command');
    assert.equal(r.result, 0);
    assert.equal(r.method, 'ReSet');
    assert.equal(r.ts, 1700000000);

    const mid2 = await sim.sendCommand(dev.id, { method: 'Ping' }, { era: 'id' });
    const m2 = await waitSeen((x) => x.topic === `${PREFIX}devices/command/${dev.id}/${mid2}`);
    assert.deepEqual(JSON.parse(m2.payload), { method: 'Ping' });

    // a response to an id the platform never issued
    await publish('devices/command/response/deadbeef', { device_id: dev.id, values: b64({ result: 0, message: 'ok' }) });
    await sim.waitFor((s) => s.errors.length === 1);
    assert.match(sim.errors[0]!.reason, /no command was sent/);
    assert.equal(sim.commandResponses.length, 1);
  });

  test('attribute set/get and telemetry control topics', async () => {
    const mid = await sim.setAttributes(dev.id, { ip: '1.2.3.4' });
    const s = await waitSeen((x) => x.topic === `${PREFIX}devices/attributes/set/${dev.device_number}/${mid}`);
    assert.deepEqual(JSON.parse(s.payload), { ip: '1.2.3.4' });
    await publish(`devices/attributes/set/response/${mid}`, { device_id: dev.id, values: b64({ result: 1, errcode: 'E1', message: 'nope', ts: 1 }) });
    const r = await sim.waitForResponse(mid, 3000);
    assert.equal(r.kind, 'attributes_set');
    assert.equal(r.result, 1);
    assert.equal(r.errcode, 'E1');

    await sim.getAttributes(dev.id, ['ip']);
    const g = await waitSeen((x) => x.topic === `${PREFIX}devices/attributes/get/${dev.device_number}`);
    assert.deepEqual(JSON.parse(g.payload), { keys: ['ip'] });

    await sim.controlTelemetry(dev.id, { switch: true });
    const c = await waitSeen((x) => x.topic === `${PREFIX}devices/telemetry/control/${dev.device_number}`);
    assert.deepEqual(JSON.parse(c.payload), { switch: true });

    // ≤ v1.1.9: attribute set/get without prefix (device number), telemetry control with the device id
    const mid3 = await sim.setAttributes(dev.id, { a: 1 }, { era: 'id' });
    await waitSeen((x) => x.topic === `devices/attributes/set/${dev.device_number}/${mid3}`);
    await sim.getAttributes(dev.id, [], { era: 'id' });
    await waitSeen((x) => x.topic === `devices/attributes/get/${dev.device_number}`);
    await sim.controlTelemetry(dev.id, { x: 1 }, { era: 'id' });
    await waitSeen((x) => x.topic === `${PREFIX}devices/telemetry/control/${dev.id}`);
    assert.equal(sim.downlinks.length, 6);
    assert.deepEqual(sim.errors, []);
  });

  test("another simulator's devices are ignored, not reported", async () => {
    const other = await startThingsPanelSim({ mqttUrl: MQTT_URL });
    try {
      const foreignId = other.state.newDeviceId();
      await publish('devices/telemetry', { device_id: foreignId, values: { not: 'base64' } });
      await publish('devices/telemetry', { device_id: dev.id, values: b64({ marker: 1 }) });
      await sim.waitFor((s) => s.telemetry.length === 1);
      await sim.waitFor((s) => s.foreignMessages >= 1);
      assert.deepEqual(sim.errors, []);
      // ...while the simulator that minted it does report it
      await other.waitFor((s) => s.errors.some((e) => e.payload.includes(foreignId)));
    } finally {
      await other.close();
    }
  });
});

describe('ThingsPanel simulator: valuesEncoding "json"', () => {
  test('accepts an object in values and rejects a base64 string', async () => {
    const sim = await startThingsPanelSim({ mqttUrl: MQTT_URL, valuesEncoding: 'json' });
    const pub = await connectAsync(MQTT_URL, { username: 'plugin', password: 'plugin' });
    try {
      const svc = uniqueId();
      sim.registerService({ serviceIdentifier: svc, httpAddress: '127.0.0.1:1', subTopicPrefix: `plugin/${svc}/` });
      const ap = sim.createAccessPoint({ serviceIdentifier: svc, name: 'ap', voucher: {} });
      const [dev] = await sim.bindDevices(ap, [{ device_number: `${svc}-1`, device_name: 'one' }]);
      assert.ok(dev);
      await pub.publishAsync('devices/telemetry', JSON.stringify({ device_id: dev.id, values: { t: 1 } }), { qos: 1 });
      await sim.waitFor((s) => s.telemetry.length === 1);
      assert.deepEqual(sim.telemetry[0]!.values, { t: 1 });
      await pub.publishAsync('devices/telemetry', JSON.stringify({ device_id: dev.id, values: b64({ t: 2 }) }), { qos: 1 });
      await sim.waitFor((s) => s.errors.length === 1);
      assert.equal(sim.telemetry.length, 1);
    } finally {
      await pub.endAsync();
      await sim.close();
    }
  });
});
