// PROCESS_ROLE: a web-only process (webhooks, plugin API, downlink subscription) and a worker-only process share
// the work through Redis — the way to give HTTP and the workers a core each.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startTtsSim } from '../../connectors/the-things-stack/simulator.js';
import { startService } from '../../src/service.js';
import { startHarness, until } from '../helpers/harness.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => { for (const f of cleanups.reverse()) await f(); });

test('web + worker processes: webhook → telemetry and command → response flow across them', async () => {
  const tts = await startTtsSim({ applicationId: 'app1', devices: 1 });
  cleanups.push(() => tts.close());
  const h = await startHarness({ connector: 'the-things-stack', env: { PROCESS_ROLE: 'web' } });
  cleanups.push(() => h.close());
  const web = h.services[0]!;
  const rtWorkersBefore = (await web.rt.queues.uplink.getWorkers()).length;
  const worker = await startService({ ...h.config, PROCESS_ROLE: 'worker', CONNECTORS: h.config.CONNECTORS.map((c) => ({ ...c, port: 0 })) }, { log: (await import('pino')).pino({ level: 'silent' }) });
  h.services.push(worker);
  assert.equal(worker.pluginApis.size, 0, 'no plugin API in a worker-only process');
  const secret = 'role-split-secret-12345';
  const apId = h.tp.createAccessPoint({ serviceIdentifier: h.si, name: 'r', voucher: { server_url: tts.url, application_id: 'app1', api_key: tts.apiKey, webhook_secret: secret } });
  const [row] = await h.tp.bindDevices(apId, [{ device_number: 'tts-app1-dev1', device_name: 'd1' }]);
  await until(() => web.rt.registry.get(apId)?.devices.size === 1 && worker.rt.registry.get(apId)?.devices.size === 1, 10_000, 'both synced');
  const r = await tts.deliver(`${web.webhookUrl}/webhooks/the-things-stack/${apId}`, tts.uplinkBody('dev1', { split: 1 }), { 'x-webhook-secret': secret });
  assert.equal(r.status, 200, r.body);
  await h.tp.waitFor((s) => s.telemetry.find((t) => t.deviceId === row!.id && t.values.split === 1), 10_000);
  const mid = await h.tp.sendCommand(row!.id as string, { method: 'SetInterval', params: { interval: 5 } });
  assert.equal((await h.tp.waitForResponse(mid, 10_000)).result, 0);
  assert.equal(rtWorkersBefore, 0, 'the web-only process runs no workers');
  const completed = await worker.rt.queues.uplink.getJobs(['completed'], 0, 10);
  assert.ok(completed.length > 0 && completed.every((j) => j.processedBy === worker.replicaId), 'uplink jobs run in the worker process');
});
