// Operator commands against a running setup: check, webhook-url, dlq list.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { startTtsSim, type TtsSim } from '../../connectors/the-things-stack/simulator.js';
import { MQTT_URL, REDIS_URL, type Harness, startHarness } from '../helpers/harness.js';

let h: Harness;
let tts: TtsSim;
let apId: string;

before(async () => {
  tts = await startTtsSim({ applicationId: 'app1', devices: 1 });
  h = await startHarness({ connector: 'the-things-stack' });
  apId = h.tp.createAccessPoint({ serviceIdentifier: h.si, name: 'ops', voucher: { server_url: tts.url, application_id: 'app1', api_key: tts.apiKey, webhook_secret: 'ops-secret-1' } });
});
after(async () => {
  await h?.close();
  await tts?.close();
});

// Asynchronous on purpose: the ThingsPanel simulator answering the CLI lives in this process.
const cli = (args: string[], env: Record<string, string> = {}) => new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
  const p = spawn(process.execPath, ['bin/tp-connector.mjs', ...args], {
    env: { ...process.env, REDIS_URL, REDIS_PREFIX: h.redisPrefix, TP_API_URL: h.tp.url, TP_MQTT_URL: MQTT_URL, CONNECTORS: `the-things-stack:${h.si}:0`, PUBLIC_BASE_URL: 'https://iot.example.com', ...env },
    timeout: 30_000,
  });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  p.on('close', (status) => resolve({ status, stdout, stderr }));
});

test('check: one line per check, exit 0 when everything answers, 1 when ThingsPanel does not', async () => {
  const r = await cli(['check']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  for (const what of ['configuration', 'connectors', 'redis', 'mqtt broker', `thingspanel ${h.si}`]) assert.match(r.stdout, new RegExp(`^ok +${what}`, 'm'));
  const bad = await cli(['check'], { TP_API_URL: 'http://127.0.0.1:9' });
  assert.equal(bad.status, 1);
  assert.match(bad.stdout, /^FAIL thingspanel/m);
});

test('webhook-url prints the URL and header to configure at the vendor, never the secret', async () => {
  const r = await cli(['webhook-url', apId]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`https://iot\\.example\\.com/webhooks/the-things-stack/${apId}`));
  assert.match(r.stdout, /X-Webhook-Secret/);
  assert.equal(r.stdout.includes('ops-secret-1'), false);
  const missing = await cli(['webhook-url', 'no-such-access-point']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /not found/);
});

test('dlq list on an empty dead-letter queue', async () => {
  const r = await cli(['dlq', 'list']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /dead-letter queue is empty/);
});
