// A running service (harness + TTS simulator) with ADMIN_TOKEN set and a few access points in different states,
// shared by the admin-port tests and the browser test.
import assert from 'node:assert/strict';
import { startTtsSim, type TtsSim } from '../../connectors/the-things-stack/simulator.js';
import type { DeadLetter } from '../../src/pipeline/dead-letter.js';
import { type Harness, startHarness, uid, until } from '../helpers/harness.js';

export interface AdminScenario {
  h: Harness;
  tts: TtsSim;
  token: string;
  /** Access point with three bound devices and data flowing. */
  apId: string;
  /** Access point whose name carries markup and whose state is needs_reauth. */
  evilApId: string;
  evilName: string;
  hookUrl: string;
  adminUrl: string;
  addDeadLetter(reason?: string): Promise<string>;
  close(): Promise<void>;
}

export const basic = (password: string, user = 'operator') => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

export async function startAdminScenario(): Promise<AdminScenario> {
  const token = `adm-${uid(12)}`;
  const secret = `whs-${uid(8)}`;
  const tts = await startTtsSim({ applicationId: 'app1', devices: 3 });
  const h = await startHarness({ connector: 'the-things-stack', env: { ADMIN_TOKEN: token } });
  const svc = h.services[0]!;
  const voucher = { server_url: tts.url, application_id: 'app1', api_key: tts.apiKey, webhook_secret: secret, offline_timeout: '0' };
  const apId = h.tp.createAccessPoint({ serviceIdentifier: h.si, name: 'Acme farms', voucher });
  const list = (await h.tp.fetchDeviceList(h.si, { ...voucher, auth_type: 'manual' }, 1, 10)) as { data: { list: { device_number: string; device_name: string }[] } };
  await h.tp.bindDevices(apId, list.data.list.map((d) => ({ device_number: d.device_number, device_name: d.device_name })));
  const evilName = `Tenant <script>alert("x")</script> & "co"`;
  const evilApId = h.tp.createAccessPoint({ serviceIdentifier: h.si, name: evilName, voucher: { ...voucher, application_id: 'app2', webhook_secret: `${secret}-2` } });
  await until(() => svc.rt.registry.get(apId)?.devices.size === 3 && svc.rt.registry.get(evilApId), 10_000, 'access points synced');
  await svc.rt.state.set(evilApId, 'the-things-stack', 'needs_reauth', 'HTTP 401 from TTS: API key <revoked>');

  const hookUrl = `${svc.webhookUrl}/webhooks/the-things-stack/${apId}`;
  const res = await tts.deliver(hookUrl, tts.uplinkBody('dev1', { temperature: 21.5 }), { 'x-webhook-secret': secret });
  assert.equal(res.status, 200, res.body);
  await h.tp.waitFor((s) => s.telemetry.find((t) => t.values.temperature === 21.5), 10_000);

  const addr = svc.adminApp.server.address();
  assert.ok(addr && typeof addr === 'object');
  return {
    h, tts, token, apId, evilApId, evilName, hookUrl, adminUrl: `http://127.0.0.1:${addr.port}`,
    async addDeadLetter(reason = 'vendor said no') {
      // What attachDeadLetter writes; the maintenance processor ignores unknown job names, so a replay is harmless.
      const dl: DeadLetter = { queue: 'maintenance', name: 'noop', jobId: `gone-${uid(4)}`, data: {}, reason, attempts: 3, failedAt: Date.now() - 90_000 };
      const job = await svc.rt.queues['dead-letter'].add(`maintenance:noop`, dl, { jobId: `maintenance|${dl.jobId}|3`, removeOnComplete: false, removeOnFail: false });
      return job.id!;
    },
    async close() {
      await h.close();
      await tts.close();
    },
  };
}
