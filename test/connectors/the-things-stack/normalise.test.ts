import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { theThingsStack as tts } from '../../../connectors/the-things-stack/index.js';
import { toDownlink } from '../../../connectors/the-things-stack/commands.js';
import { voucherSchema } from '../../../connectors/the-things-stack/schema.js';
import { learn, parse } from '../../../connectors/the-things-stack/webhook.js';
import { PayloadError, PermanentError } from '../../../src/core/errors.js';
import type { PlatformMessage } from '../../../src/core/messages.js';
import { fixtureText } from '../../helpers/ctx.js';

const cred = voucherSchema.parse({ server_url: 'https://eu1.cloud.thethings.network/', application_id: 'app1', api_key: 'NNSXS.X.Y', webhook_secret: 's1, s2', auth_type: 'manual' });
const req = (body: string | Buffer, headers: Record<string, string> = {}) => ({ rawBody: Buffer.isBuffer(body) ? body : Buffer.from(body), headers: { 'content-type': 'application/json', ...headers }, query: {}, subPath: '' });
const run = (text: string): PlatformMessage[] => parse(req(text), cred).flatMap((r) => tts.normalise(r, { accessPointId: 'ap', receivedAt: 0 }));

test('voucher: strings from the UI are coerced and defaults applied', () => {
  assert.equal(cred.server_url, 'https://eu1.cloud.thethings.network');
  assert.equal(cred.offline_timeout, 3600);
  assert.equal(cred.default_f_port, 15);
  assert.deepEqual(tts.webhook!.secrets(cred), ['s1', 's2']);
  assert.equal(voucherSchema.safeParse({ ...cred, server_url: 'ftp://x' }).success, false);
});

test('uplink fixture → telemetry from decoded_payload, radio attributes, online', async () => {
  const text = await fixtureText('the-things-stack/uplink-message.json');
  const [rec] = parse(req(text), cred);
  assert.equal(rec!.key, 'app1:as:up:01E0WZGT6Y7657CPFPE5WEYDSQ');
  assert.equal(rec!.device, 'dev1');
  const msgs = run(text);
  const tel = msgs.find((m) => m.kind === 'telemetry');
  assert.deepEqual(tel && tel.kind === 'telemetry' && tel.values, { temperature: 1.0, luminosity: 0.64 });
  const attrs = msgs.find((m) => m.kind === 'attributes');
  assert.ok(attrs && attrs.kind === 'attributes');
  assert.deepEqual(attrs.values, {
    rssi: -35, channel_rssi: -35, snr: 5, gateway_id: 'gtw1', gateway_count: 1, frequency: 868300000, spreading_factor: 7,
    bandwidth: 125000, coding_rate: '4/6', f_cnt: 1, f_port: 0, consumed_airtime_s: 0.056576, latitude: 37.97155556731436, longitude: 23.72678801175413, altitude: 10,
  });
  // f_port is omitted in the vendor example (zero value): defaulted to 0, not a crash.
  assert.equal(tel!.ts, Date.parse('2020-02-12T15:15:45.789Z'));
  assert.ok(msgs.some((m) => m.kind === 'status' && m.online));
});

test('join accept → event and online', async () => {
  for (const f of ['join-accept.json', 'mqtt-join-accept.json']) {
    const msgs = run(await fixtureText(`the-things-stack/${f}`));
    const ev = msgs.find((m) => m.kind === 'event');
    assert.ok(ev && ev.kind === 'event' && ev.method === 'join_accept', f);
    assert.ok(Object.keys(ev.params).length > 0);
    assert.ok(msgs.some((m) => m.kind === 'status' && m.online));
  }
});

test('downlink ack and failure → events with the correlation id and the error', async () => {
  const ack = run(await fixtureText('the-things-stack/downlink-ack.json'));
  assert.equal(ack.length, 1);
  assert.ok(ack[0]!.kind === 'event' && ack[0]!.method === 'downlink_ack');
  assert.deepEqual(ack[0]!.kind === 'event' && ack[0]!.params, { f_port: 15, f_cnt: 1, confirmed: true, priority: 'NORMAL', correlation_ids: [] });
  const mack = run(await fixtureText('the-things-stack/mqtt-downlink-ack.json'));
  assert.deepEqual(mack[0]!.kind === 'event' && mack[0]!.params.correlation_ids, ['my-correlation-id', '...']);
  const failed = run(await fixtureText('the-things-stack/downlink-failed.json'));
  assert.ok(failed[0]!.kind === 'event' && failed[0]!.method === 'downlink_failed');
  assert.equal(failed[0]!.kind === 'event' && failed[0]!.params.error, 'application_downlink_too_long');
});

test('webhook input errors are PayloadErrors with reasons', async () => {
  const text = await fixtureText('the-things-stack/uplink-message.json');
  assert.throws(() => parse(req(text.replace('"app1"', '"other-app"')), cred), /does not belong/);
  assert.throws(() => parse(req(text, { 'content-type': 'text/plain' }), cred), /content-type/);
  assert.throws(() => parse(req('{"end_device_ids": '), cred), /not valid JSON/);
  assert.throws(() => parse(req('[]'), cred), /JSON object/);
  assert.throws(() => parse(req('{"end_device_ids":{"device_id":"d","application_ids":{"application_id":"app1"}}}'), cred), /no known message type/);
  // The current docs' example with a missing comma (vendor-clouds.md §1.5).
  assert.throws(() => parse(req(text.replace('"received_at": "2020-02-12T15:15:46', '"received_at" "2020')), cred), PayloadError);
});

test('X-Downlink-Push teaches the webhook id, never the API key', () => {
  const l = learn(req('{}', { 'x-downlink-push': 'https://eu1.cloud.thethings.network/api/v3/as/applications/app1/webhooks/tp-hook/devices/dev1/down/push', 'x-downlink-apikey': 'NNSXS.SECRET' }));
  assert.deepEqual(l, { webhook_id: 'tp-hook' });
});

test('commands → downlinks as in the TTS docs', async () => {
  const base = { kind: 'command' as const, device: 'dev1', messageId: 'abcd1234' };
  assert.deepEqual(toDownlink({ ...base, method: 'raw', params: { frm_payload: 'vu8=', f_port: 15, confirmed: true, priority: 'high' } }, cred),
    { f_port: 15, frm_payload: 'vu8=', priority: 'HIGH', confirmed: true, correlation_ids: ['thingspanel:abcd1234'] });
  assert.deepEqual(toDownlink({ ...base, method: 'set', params: { decoded_payload: { temperature: 1.0, luminosity: 0.64 } } }, cred).decoded_payload, { temperature: 1.0, luminosity: 0.64 });
  assert.deepEqual(toDownlink({ ...base, method: 'SetInterval', params: { interval: 60 } }, cred).decoded_payload, { interval: 60, method: 'SetInterval' });
  assert.deepEqual(toDownlink({ ...base, kind: 'attributes_set', method: 'attributes_set', params: { led: true } }, cred).decoded_payload, { led: true });
  assert.throws(() => toDownlink({ ...base, method: 'x', params: { frm_payload: 'not base64!' } }, cred), PermanentError);
  assert.throws(() => toDownlink({ ...base, method: 'x', params: { frm_payload: 'vu8=', f_port: 0 } }, cred), PermanentError);
  assert.throws(() => toDownlink({ ...base, method: '', params: {} }, cred), PermanentError);
  // The body we build matches the documented request shape (fixture downlink-push-confirmed.json).
  const doc = JSON.parse(await fixtureText('the-things-stack/downlink-push-confirmed.json')) as { downlinks: Record<string, unknown>[] };
  const ours = toDownlink({ ...base, method: 'raw', params: { frm_payload: 'vu8=', f_port: 15, priority: 'HIGH', confirmed: true } }, cred);
  assert.deepEqual(Object.keys(ours).sort(), Object.keys(doc.downlinks[0]!).sort());
});

test('property: mutated fixtures give messages or PayloadError, nothing else', async () => {
  const names = ['uplink-message.json', 'join-accept.json', 'downlink-ack.json', 'downlink-failed.json', 'mqtt-downlink-ack.json', 'mqtt-join-accept.json'];
  const bodies = await Promise.all(names.map(async (n) => JSON.parse(await fixtureText(`the-things-stack/${n}`)) as unknown));
  const mutate = (v: unknown, path: number[], repl: unknown): unknown => {
    if (path.length === 0 || !v || typeof v !== 'object') return repl;
    const keys = Object.keys(v as object);
    if (keys.length === 0) return repl;
    const key = keys[path[0]! % keys.length]!;
    const copy: Record<string, unknown> = Array.isArray(v) ? ([...v] as unknown as Record<string, unknown>) : { ...(v as Record<string, unknown>) };
    copy[key] = mutate((v as Record<string, unknown>)[key], path.slice(1), repl);
    return copy;
  };
  fc.assert(fc.property(fc.nat(bodies.length - 1), fc.array(fc.nat(20), { maxLength: 6 }), fc.jsonValue(), (i, path, repl) => {
    const body = mutate(bodies[i], path, repl);
    try {
      const msgs = run(JSON.stringify(body));
      for (const m of msgs) assert.ok(typeof m.device === 'string' && m.device.length > 0);
    } catch (err) {
      if (!(err instanceof PayloadError)) throw err;
    }
  }), { numRuns: 600 });
  fc.assert(fc.property(fc.string(), (s) => {
    try { run(s); } catch (err) { if (!(err instanceof PayloadError)) throw err; }
  }), { numRuns: 300 });
});
