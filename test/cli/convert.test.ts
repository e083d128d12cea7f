import assert from 'node:assert/strict';
import { test } from 'node:test';
import { builtInConnectors } from '../../connectors/index.js';
import { convert } from '../../src/cli/convert.js';
import { fixtureText } from '../helpers/ctx.js';

const ttsVoucher = { server_url: 'https://eu1.cloud.thethings.network', application_id: 'app1', api_key: 'NNSXS.X', webhook_secret: 's' };

test('convert: a saved TTS uplink gives the platform messages', async () => {
  const out = convert(builtInConnectors['the-things-stack']!, Buffer.from(await fixtureText('the-things-stack/uplink-message.json')), { voucher: ttsVoucher });
  assert.equal(out.length, 1);
  assert.equal(out[0]!.record.device, 'dev1');
  assert.deepEqual(out[0]!.messages.find((m) => m.kind === 'telemetry')?.kind === 'telemetry' && out[0]!.messages.find((m) => m.kind === 'telemetry'), { kind: 'telemetry', device: 'dev1', ts: Date.parse('2020-02-12T15:15:45.789Z'), values: { temperature: 1, luminosity: 0.64 } });
});

test('convert: ChirpStack event type from --event; a missing voucher is a clear error', async () => {
  const body = Buffer.from(await fixtureText('chirpstack/event-join.json'));
  const appId = (JSON.parse(body.toString()) as { deviceInfo: { applicationId: string } }).deviceInfo.applicationId;
  const out = convert(builtInConnectors.chirpstack!, body, { voucher: { api_url: 'http://x', api_token: 't', application_id: appId, webhook_secret: 'a-long-enough-secret-1234' }, query: { event: 'join' } });
  assert.ok(out[0]!.messages.some((m) => m.kind === 'event' && m.method === 'join'));
  assert.throws(() => convert(builtInConnectors.chirpstack!, body, { query: { event: 'join' } }), /--voucher/);
});

test('convert: poll connectors normalise a saved record by type', async () => {
  const status = JSON.parse(await fixtureText('tuya/mq-data-protocol4-status-report.json')) as unknown;
  const out = convert(builtInConnectors.tuya!, Buffer.from(JSON.stringify(status)), { type: 'mq-status' });
  assert.equal(out.length, 1);
  const tel = out[0]!.messages.find((m) => m.kind === 'telemetry');
  assert.ok(tel && tel.kind === 'telemetry');
  assert.equal(tel.device, '6c95a93fd9xxx***');
  assert.equal(tel.values.switch_1, false);
  assert.throws(() => convert(builtInConnectors.tuya!, Buffer.from('{'), { type: 'mq-status' }), /not JSON/);
});
