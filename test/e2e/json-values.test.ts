// TP_VALUES_ENCODING=json: for platforms that take a plain JSON object in `values`.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import mqtt from 'mqtt';
import { startTtsSim } from '../../connectors/the-things-stack/simulator.js';
import { MQTT_URL, startHarness, until } from '../helpers/harness.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => { for (const f of cleanups.reverse()) await f(); });

test('values are published as a JSON object when configured', async () => {
  const tts = await startTtsSim({ applicationId: 'app1', devices: 1 });
  cleanups.push(() => tts.close());
  const h = await startHarness({ connector: 'the-things-stack', valuesEncoding: 'json' });
  cleanups.push(() => h.close());
  const secret = 'json-values-secret-123';
  const apId = h.tp.createAccessPoint({ serviceIdentifier: h.si, name: 'j', voucher: { server_url: tts.url, application_id: 'app1', api_key: tts.apiKey, webhook_secret: secret } });
  const [row] = await h.tp.bindDevices(apId, [{ device_number: 'tts-app1-dev1', device_name: 'd1' }]);
  await until(() => h.services[0]!.rt.registry.get(apId)?.devices.size === 1, 10_000, 'sync');
  const raw: string[] = [];
  const sub = await mqtt.connectAsync(MQTT_URL);
  cleanups.push(async () => { await sub.endAsync(); });
  sub.on('message', (_t, p) => { const s = p.toString(); if (s.includes(row!.id as string)) raw.push(s); });
  await sub.subscribeAsync('devices/telemetry', { qos: 1 });
  const r = await tts.deliver(`${h.services[0]!.webhookUrl}/webhooks/the-things-stack/${apId}`, tts.uplinkBody('dev1', { plain: 42 }), { 'x-webhook-secret': secret });
  assert.equal(r.status, 200);
  await h.tp.waitFor((s) => s.telemetry.find((t) => t.deviceId === row!.id && t.values.plain === 42), 10_000);
  const msg = await until(() => raw[0], 5000, 'raw telemetry');
  assert.deepEqual(JSON.parse(msg), { device_id: row!.id, values: { plain: 42 } });
  assert.deepEqual(h.tp.errors, []);
});
