// Pipeline guarantees with a real broker the test stops and starts, and poll schedules that follow the
// access points ThingsPanel reports (a minimal polling connector against a loopback vendor).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, test } from 'node:test';
import { startTtsSim } from '../../connectors/the-things-stack/simulator.js';
import { pollingConnector } from '../helpers/poll-connector.js';
import { type Harness, ownBroker, startHarness, until } from '../helpers/harness.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => { for (const f of cleanups.reverse()) await f().catch(() => undefined); });

test('broker down for a while: webhooks keep being accepted, nothing is lost or duplicated, order per device holds', async () => {
  const broker = await ownBroker();
  cleanups.push(() => broker.stop());
  const tts = await startTtsSim({ applicationId: 'app1', devices: 2 });
  cleanups.push(() => tts.close());
  const h = await startHarness({ connector: 'the-things-stack', mqttUrl: broker.url });
  cleanups.push(() => h.close());
  const secret = 'outage-secret-123456';
  const voucher = { server_url: tts.url, application_id: 'app1', api_key: tts.apiKey, webhook_secret: secret, offline_timeout: '0' };
  const apId = h.tp.createAccessPoint({ serviceIdentifier: h.si, name: 'outage', voucher });
  const rows = await h.tp.bindDevices(apId, [{ device_number: 'tts-app1-dev1', device_name: 'd1' }, { device_number: 'tts-app1-dev2', device_name: 'd2' }]);
  await until(() => h.services[0]!.rt.registry.get(apId)?.devices.size === 2, 10_000, 'sync');
  const hook = `${h.services[0]!.webhookUrl}/webhooks/the-things-stack/${apId}`;
  const send = async (dev: string, seq: number) => {
    const r = await tts.deliver(hook, tts.uplinkBody(dev, { seq }), { 'x-webhook-secret': secret });
    assert.equal(r.status, 200, r.body);
  };
  for (let i = 0; i < 10; i++) await send(i % 2 ? 'dev2' : 'dev1', i);
  await h.tp.waitFor((s) => s.telemetry.filter((t) => typeof t.values.seq === 'number').length >= 10, 10_000);

  await broker.stop();
  for (let i = 10; i < 60; i++) await send(i % 2 ? 'dev2' : 'dev1', i);
  // While the broker is away the backlog is visible in Redis.
  const rt = h.services[0]!.rt;
  const counts = await rt.queues.uplink.getJobCounts('waiting', 'active', 'delayed');
  assert.ok((counts.waiting ?? 0) + (counts.active ?? 0) + (counts.delayed ?? 0) > 0, `backlog expected, got ${JSON.stringify(counts)}`);
  await new Promise((r) => setTimeout(r, 1500));
  await broker.start();

  const seqs = await h.tp.waitFor((s) => {
    const got = s.telemetry.filter((t) => typeof t.values.seq === 'number');
    return got.length >= 60 ? got : null;
  }, 90_000).catch(async (e: Error) => {
    const got = h.tp.telemetry.filter((t) => typeof t.values.seq === 'number').map((t) => t.values.seq);
    const counts = await h.services[0]!.rt.queues.uplink.getJobCounts();
    throw new Error(`${e.message}; received ${got.length}: ${JSON.stringify(got)}; uplink queue ${JSON.stringify(counts)}; broker connected=${h.services[0]!.rt.link.connected}`);
  });
  await new Promise((r) => setTimeout(r, 500));
  const all = h.tp.telemetry.filter((t) => typeof t.values.seq === 'number').map((t) => ({ dev: t.deviceId, seq: t.values.seq as number }));
  assert.equal(all.length, 60, 'each record exactly once');
  assert.deepEqual([...new Set(all.map((x) => x.seq))].sort((a, b) => a - b), Array.from({ length: 60 }, (_, i) => i));
  for (const row of rows) {
    const mine = all.filter((x) => x.dev === row.id).map((x) => x.seq);
    assert.deepEqual(mine, [...mine].sort((a, b) => a - b), `order per device for ${row.device_number as string}`);
  }
  assert.ok(seqs.length >= 60);
  assert.deepEqual(h.tp.errors, []);
});

test('access point deleted in ThingsPanel → its poll schedule stops; the other keeps polling', async () => {
  const polls = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const t = req.url?.split('/').pop() ?? '';
    polls.set(t, (polls.get(t) ?? 0) + 1);
    res.setHeader('content-type', 'application/json');
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(async () => { server.close(); });
  const addr = server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const h: Harness = await startHarness({ connector: 'poll-test', connectors: { 'poll-test': pollingConnector(url) } });
  cleanups.push(() => h.close());
  const a = h.tp.createAccessPoint({ serviceIdentifier: h.si, name: 'A', voucher: { tenant: 'a' } });
  const b = h.tp.createAccessPoint({ serviceIdentifier: h.si, name: 'B', voucher: { tenant: 'b' } });
  await h.tp.bindDevices(a, [{ device_number: 'pt-x1', device_name: 'x1' }]);
  await until(() => (polls.get('a') ?? 0) >= 3 && (polls.get('b') ?? 0) >= 3, 15_000, 'both access points polled');
  // Polls publish data through the pipeline.
  const dev = h.tp.devicesOf(a)[0]!;
  await h.tp.waitFor((s) => s.telemetry.find((t) => t.deviceId === dev.id && typeof t.values.n === 'number'), 10_000);

  h.tp.deleteAccessPoint(b, { force: true });
  const rt = h.services[0]!.rt;
  await until(async () => !(await rt.queues.poll.getJobSchedulers()).some((s) => (s.key ?? s.id ?? '').endsWith(b)), 10_000, 'scheduler of B removed');
  await new Promise((r) => setTimeout(r, 700));
  const bAfter = polls.get('b') ?? 0;
  const aAfter = polls.get('a') ?? 0;
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(polls.get('b') ?? 0, bAfter, 'no more polls for the deleted access point');
  assert.ok((polls.get('a') ?? 0) >= aAfter + 2, 'the remaining access point keeps its schedule');
  assert.deepEqual(h.tp.errors, []);
});

test('Redis down: webhooks get 503 (the vendor retries), the service reconnects by itself and data flows again', async () => {
  const redis = await (await import('../helpers/harness.js')).ownRedis();
  cleanups.push(() => redis.stop());
  const tts = await startTtsSim({ applicationId: 'app1', devices: 1 });
  cleanups.push(() => tts.close());
  const h = await startHarness({ connector: 'the-things-stack', redisUrl: redis.url });
  cleanups.push(() => h.close());
  const secret = 'redis-outage-secret-1234';
  const apId = h.tp.createAccessPoint({ serviceIdentifier: h.si, name: 'r', voucher: { server_url: tts.url, application_id: 'app1', api_key: tts.apiKey, webhook_secret: secret } });
  const [row] = await h.tp.bindDevices(apId, [{ device_number: 'tts-app1-dev1', device_name: 'd1' }]);
  await until(() => h.services[0]!.rt.registry.get(apId)?.devices.size === 1, 10_000, 'sync');
  const hook = `${h.services[0]!.webhookUrl}/webhooks/the-things-stack/${apId}`;
  await redis.stop();
  const down = await tts.deliver(hook, tts.uplinkBody('dev1', { phase: 'down' }), { 'x-webhook-secret': secret });
  assert.equal(down.status, 503, down.body);
  await redis.start();
  const up = await until(async () => {
    const r = await tts.deliver(hook, tts.uplinkBody('dev1', { phase: 'up' }), { 'x-webhook-secret': secret });
    return r.status === 200 ? r : null;
  }, 15_000, 'webhooks accepted again');
  assert.equal(up.status, 200);
  await h.tp.waitFor((s) => s.telemetry.find((t) => t.deviceId === row!.id && t.values.phase === 'up'), 15_000);
});

test('vendor keeps failing: retries with backoff, then the dead-letter queue with the reason; replay runs it again', async () => {
  let healthy = false;
  let calls = 0;
  const server: Server = createServer((_req, res) => {
    calls++;
    res.statusCode = healthy ? 200 : 502;
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(async () => { server.close(); });
  const addr = server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const base = pollingConnector(url);
  const slow = { ...base, poll: { ...base.poll!, intervalMs: () => 60_000 } };
  const h = await startHarness({ connector: 'poll-test', connectors: { 'poll-test': slow }, env: { POLL_ATTEMPTS: '2' } });
  cleanups.push(() => h.close());
  const a = h.tp.createAccessPoint({ serviceIdentifier: h.si, name: 'A', voucher: { tenant: 'dlq' } });
  await h.tp.bindDevices(a, [{ device_number: 'pt-x1', device_name: 'x1' }]);
  const rt = h.services[0]!.rt;
  const { listDeadLetters, replayDeadLetter } = await import('../../src/pipeline/dead-letter.js');
  const dl = await until(async () => (await listDeadLetters(rt)).find((d) => d.letter.queue === 'poll'), 8_000, 'dead letter').catch((e) => { console.error('CALLS', calls, h.logs.filter((l) => !/heartbeat/.test(l)).slice(-15).join('')); throw e; });
  assert.match(dl.letter.reason, /HTTP 502/);
  assert.equal(dl.letter.attempts, 2);
  assert.equal((await rt.state.get(a)).state, 'failing');
  healthy = true;
  const before = calls;
  await replayDeadLetter(rt, dl.id);
  await until(async () => calls > before && (await rt.state.get(a)).state === 'ok', 10_000, 'replayed poll succeeded');
  assert.equal((await listDeadLetters(rt)).length, 0);
});
