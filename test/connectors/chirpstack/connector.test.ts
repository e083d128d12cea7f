// The assembled ChirpStack connector end to end with the simulator: commands with CFG defaults, pushed events through parse + normalise.
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Ctx, WebhookRequest } from '../../../src/core/connector.js';
import { PayloadError, PermanentError } from '../../../src/core/errors.js';
import type { JsonValue, PlatformCommand, PlatformMessage } from '../../../src/core/messages.js';
import { toForm } from '../../../src/core/forms.js';
import { deviceNumber } from '../../../src/util/ids.js';
import { chirpstack } from '../../../connectors/chirpstack/index.js';
import type { ChirpstackCred } from '../../../connectors/chirpstack/schema.js';
import { startChirpstackSim, type ChirpstackSim } from '../../../connectors/chirpstack/simulator.js';
import { testCtx } from '../../helpers/ctx.js';
import { cred, SECRET } from './helpers.js';

let sim: ChirpstackSim;
let hook: Server;
let hookUrl: string;
const received: WebhookRequest[] = [];

function toWebhookRequest(req: IncomingMessage, body: Buffer): WebhookRequest {
  const u = new URL(req.url ?? '/', 'http://x');
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(',') : v;
  return { rawBody: body, headers, query: Object.fromEntries(u.searchParams), subPath: '' };
}

before(async () => {
  sim = await startChirpstackSim();
  // Stands in for the service's webhook route: records what ChirpStack (the simulator) posts.
  hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => { received.push(toWebhookRequest(req, Buffer.concat(chunks))); res.end('ok'); });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/webhooks/chirpstack/tok`;
});
after(async () => {
  await sim.close();
  await new Promise((r) => hook.close(r));
});
beforeEach(() => { received.length = 0; sim.queue.clear(); sim.setFault('none'); });

const C = () => cred({ api_url: sim.url, api_token: sim.token, f_port: '15', confirmed: 'false' });
const cmd = (params: JsonValue, over: Partial<PlatformCommand> = {}): PlatformCommand =>
  ({ kind: 'command', device: '0101010101010101', method: 'reboot', params, messageId: 'abc12345', ...over });

test('assembly: ids, forms, scope, limits, offline timeout', () => {
  assert.equal(chirpstack.id, 'chirpstack');
  assert.equal(chirpstack.deviceNumberPrefix, 'cs');
  const c = C();
  assert.equal(chirpstack.deviceScope(c), '');
  assert.equal(deviceNumber(chirpstack.deviceNumberPrefix, chirpstack.deviceScope(c), '0101010101010101'), 'cs-0101010101010101');
  assert.ok(toForm(chirpstack.voucherFields).length >= 7);
  assert.ok(toForm(chirpstack.configFields ?? []).length === 2);
  assert.ok(chirpstack.limits.requestsPerSecond > 0 && chirpstack.limits.burst >= chirpstack.limits.requestsPerSecond);
  assert.equal(chirpstack.offlineTimeoutS?.(cred({ offline_timeout_s: '600' })), 600);
  assert.equal(chirpstack.offlineTimeoutS?.(cred({ offline_timeout_s: 0 })), 0);
  assert.ok(chirpstack.webhook && chirpstack.executeCommand);
  assert.equal(chirpstack.voucherSchema.safeParse({ api_url: sim.url }).success, false);
});

test('executeCommand queues the downlink and returns the queue item id as reference', async () => {
  const ctx = testCtx(chirpstack, C());
  const r = await chirpstack.executeCommand?.(ctx, cmd({ delay: 3 }));
  const q = sim.queue.get('0101010101010101') ?? [];
  assert.deepEqual(r, { ok: true, message: 'queued', reference: q[0]?.id });
  assert.deepEqual([q[0]?.fPort, q[0]?.confirmed, q[0]?.object], [15, false, { method: 'reboot', params: { delay: 3 } }]);
});

test('executeCommand: command params beat the device template (CFG), which beats the voucher', async () => {
  const ctx: Ctx<ChirpstackCred> = { ...testCtx(chirpstack, C()), deviceConfig: async () => ({ f_port: '42', confirmed: 'true' }) };
  await chirpstack.executeCommand?.(ctx, cmd({ data: 'AQID' }));
  await chirpstack.executeCommand?.(ctx, cmd({ data: 'AQID', fPort: 3, confirmed: false }));
  const blankCfg: Ctx<ChirpstackCred> = { ...testCtx(chirpstack, C()), deviceConfig: async () => ({ f_port: '', confirmed: '' }) };
  await chirpstack.executeCommand?.(blankCfg, cmd({ data: 'AQID' }));
  const q = sim.queue.get('0101010101010101') ?? [];
  assert.deepEqual(q.map((i) => [i.fPort, i.confirmed]), [[42, true], [3, false], [15, false]]);
  const badCfg: Ctx<ChirpstackCred> = { ...testCtx(chirpstack, C()), deviceConfig: async () => ({ f_port: 999 }) };
  await assert.rejects(chirpstack.executeCommand!(badCfg, cmd({ data: 'AQID' })), PermanentError);
});

test('executeCommand: bad params and unknown devices are PermanentErrors, nothing is queued', async () => {
  const ctx = testCtx(chirpstack, C());
  await assert.rejects(chirpstack.executeCommand!(ctx, cmd({ data: '***' })), PermanentError);
  await assert.rejects(chirpstack.executeCommand!(ctx, cmd({ data: 'AQID' }, { device: '0202020202020202' })), PermanentError);
  assert.equal(sim.queue.size, 0);
});

test('pushed events (fixture bodies) go through parse + normalise; the ack matches the enqueue reference', async () => {
  const c = C();
  const headers = { 'x-webhook-secret': SECRET };
  for (const event of ['up', 'join', 'status', 'txack', 'log', 'location', 'integration']) {
    assert.equal((await sim.sendEvent(hookUrl, event, undefined, headers)).status, 200);
  }
  const ref = (await chirpstack.executeCommand!(testCtx(chirpstack, c), cmd({ data: 'AQID' }, { device: 'a84041000181c2b1' }))).reference;
  const ack = await sim.eventBody('ack', { devEui: 'a84041000181c2b1', patch: { queueItemId: ref ?? '' } });
  await sim.sendEvent(hookUrl, 'ack', ack, headers);

  assert.equal(received.length, 8);
  for (const r of received) {
    assert.equal(r.headers['x-webhook-secret'], SECRET);
    assert.equal(r.headers['content-type'], 'application/json');
  }
  const records = received.flatMap((r) => chirpstack.webhook!.parse(r, c));
  assert.deepEqual(records.map((r) => r.type), ['up', 'join', 'status', 'txack', 'log', 'location', 'ack']);
  const msgs: PlatformMessage[] = records.flatMap((r) => chirpstack.normalise(r, { accessPointId: 'ap', receivedAt: Date.now() }));
  const last = msgs[msgs.length - 1];
  assert.deepEqual(last?.kind === 'event' && [last.device, last.method, last.params.queueItemId], ['a84041000181c2b1', 'ack', ref]);
  // Fresh ids and times per push: two pushes of the same event are not duplicates.
  assert.ok(msgs.every((m) => m.ts !== undefined && Math.abs(m.ts - Date.now()) < 60_000));
  const again = await sim.eventBody('up');
  assert.notEqual(again.deduplicationId, records[0]?.key);
});

test('protobuf-mode pushes are rejected with a reason', async () => {
  await sim.sendEvent(hookUrl, 'up', Buffer.from([0x0a, 0x24, 0x33]), { 'content-type': 'application/octet-stream' });
  assert.throws(() => chirpstack.webhook!.parse(received[0]!, C()), PayloadError);
});
