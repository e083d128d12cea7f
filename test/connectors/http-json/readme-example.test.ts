// The worked example of the README, run against a small fake "Acme Cloud": the documentation cannot rot.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, test } from 'node:test';
import Fastify from 'fastify';
import { closeExpressionEngine, createHttpJsonConnector, validateVoucher } from '../../../connectors/http-json/index.js';
import { signWebhook } from '../../../connectors/http-json/simulator.js';
import { testCtx } from '../../helpers/ctx.js';

after(closeExpressionEngine);

async function readmeVoucher(): Promise<Record<string, string | number>> {
  const text = await readFile(new URL('../../../connectors/http-json/README.md', import.meta.url), 'utf8');
  const block = /SVCR voucher[^\n]*\n\n```json\n([\s\S]*?)\n```/.exec(text);
  assert.ok(block?.[1], 'README has the example voucher');
  return JSON.parse(block[1]) as Record<string, string | number>;
}

test('README worked example: discovery, polling, webhook and a command against a fake Acme Cloud', async () => {
  const app = Fastify();
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_r, b, done) => done(null, Object.fromEntries(new URLSearchParams(String(b)))));
  const actions: unknown[] = [];
  app.post('/oauth2/token', async (req) => {
    const f = req.body as Record<string, string>;
    assert.equal(f.scope, 'things.read things.write');
    return { access_token: `t-${f.client_id}`, token_type: 'bearer', expires_in: 3600 };
  });
  app.addHook('onRequest', async (req, reply) => {
    if (req.url.startsWith('/v2/') && req.headers.authorization !== 'Bearer t-tp-prod') return reply.code(401).send({});
  });
  app.get('/v2/things', async (req) => {
    const q = req.query as { cursor?: string; limit?: string };
    assert.equal(q.limit, '100');
    return q.cursor ? { things: [{ thingId: 'B2', label: 'Heat pump' }], paging: {} } : { things: [{ thingId: 'A1', label: 'Boiler' }], paging: { next: 'eyJwIjoyfQ' } };
  });
  app.get('/v2/things/A1/shadow', async () => ({
    reported: { temp: { v: 21.5 }, rh: { v: 40 }, fw: '3.1' }, connected: 'ONLINE', updatedAt: '2025-06-01T12:00:00Z', faults: [{ code: 'E12', text: 'low pressure' }],
  }));
  app.post('/v2/things/A1/actions', async (req, reply) => {
    actions.push(req.body);
    return reply.code(202).send({ actionId: 'act-9', state: 'PENDING' });
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const origin = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  try {
    const voucher = { ...(await readmeVoucher()), base_url: `${origin}/v2`, token_url: `${origin}/oauth2/token`, client_secret: 'cs', webhook_secret: 'acme-webhook-secret' };
    assert.deepEqual(validateVoucher(voucher).errors, []);
    const now = Date.UTC(2025, 5, 1, 12, 0, 30);
    const connector = createHttpJsonConnector({ now: () => now });
    const cred = connector.voucherSchema.parse(voucher);
    const ctx = testCtx(connector, cred);

    assert.deepEqual(await connector.listDevices(ctx, { page: 1, pageSize: 10 }), { items: [{ externalId: 'A1', name: 'Boiler' }, { externalId: 'B2', name: 'Heat pump' }], total: 2 });

    const { records } = await connector.poll!.run(ctx, null, ['A1']);
    const ts = Date.parse('2025-06-01T12:00:00Z');
    assert.deepEqual(records.flatMap((r) => connector.normalise(r, { accessPointId: 'ap', receivedAt: now })), [
      { kind: 'telemetry', device: 'A1', values: { temperature: 21.5, humidity: 40 }, ts },
      { kind: 'attributes', device: 'A1', values: { firmware: '3.1' }, ts },
      { kind: 'event', device: 'A1', method: 'fault', params: { code: 'E12', text: 'low pressure' }, ts },
      { kind: 'status', device: 'A1', online: true, ts },
    ]);

    const body = Buffer.from(JSON.stringify({ events: [{ thingId: 'A1', reported: { temp: { v: 22 }, rh: { v: 41 } }, at: 1748779200 }] }));
    const stamp = String(Math.floor(now / 1000));
    const headers = { 'x-acme-timestamp': stamp, 'x-acme-signature': signWebhook(body, { secret: 'acme-webhook-secret', prefix: 'sha256=', signedPayload: '{timestamp}.{body}', timestamp: stamp }) };
    const wreq = { rawBody: body, headers, query: {}, subPath: '' };
    connector.webhook!.verify!(wreq, cred, now);
    const hooked = connector.webhook!.parse(wreq, cred).flatMap((r) => connector.normalise(r, { accessPointId: 'ap', receivedAt: now }));
    assert.deepEqual(hooked, [{ kind: 'telemetry', device: 'A1', values: { temperature: 22, humidity: 41 }, ts: 1748779200_000 }]);

    const res = await connector.executeCommand!(ctx, { kind: 'command', device: 'A1', method: 'setpoint', params: { value: 22 }, messageId: 'm1' });
    assert.deepEqual(res, { ok: true, message: 'accepted: HTTP 202', reference: 'act-9' });
    assert.deepEqual(actions, [{ action: 'setpoint', args: { value: 22 } }]);
  } finally {
    await app.close();
  }
});
