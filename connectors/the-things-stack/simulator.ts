// A loopback fake of The Things Stack v3 cloud: device list, downlink push, and webhook delivery.
import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';

export interface SimDevice {
  device_id: string;
  name: string;
  dev_eui: string;
}

export interface SimFault {
  kind: 'none' | '401' | '429' | '500' | 'timeout';
  /** Seconds TTS asks us to wait on 429 (X-Rate-Limit-Retry). */
  retryAfterS?: number;
}

export interface TtsSimOptions {
  applicationId?: string;
  apiKey?: string;
  webhookId?: string;
  devices?: number | SimDevice[];
}

const ulid = () => randomBytes(13).toString('hex').toUpperCase().slice(0, 26);

export async function startTtsSim(opts: TtsSimOptions = {}) {
  const applicationId = opts.applicationId ?? 'app1';
  const apiKey = opts.apiKey ?? `NNSXS.${randomBytes(10).toString('hex').toUpperCase()}.${randomBytes(16).toString('hex').toUpperCase()}`;
  const webhookId = opts.webhookId ?? 'thingspanel';
  const devices: SimDevice[] = Array.isArray(opts.devices)
    ? opts.devices
    : Array.from({ length: opts.devices ?? 3 }, (_, i) => ({ device_id: `dev${i + 1}`, name: `Sensor ${i + 1}`, dev_eui: (0x70b3d57ed0000000n + BigInt(i + 1)).toString(16).toUpperCase().padStart(16, '0') }));
  const downlinks: { deviceId: string; body: unknown; at: number }[] = [];
  const stats = { listCalls: 0, pushCalls: 0, rejected: 0 };
  let fault: SimFault = { kind: 'none' };
  const fCnt = new Map<string, number>();

  const app = Fastify({ logger: false });
  app.addHook('onRequest', async (req, reply) => {
    if (fault.kind === 'timeout') await new Promise((r) => setTimeout(r, 30_000));
    if (fault.kind === '500') { stats.rejected++; return reply.code(503).send({ code: 14, message: 'unavailable' }); }
    if (fault.kind === '429') {
      stats.rejected++;
      const retry = fault.retryAfterS ?? 2;
      return reply.code(429).headers({ 'x-rate-limit-limit': '10', 'x-rate-limit-available': '0', 'x-rate-limit-reset': String(retry), 'x-rate-limit-retry': String(retry) }).send({ code: 8, message: 'rate limit exceeded' });
    }
    if (fault.kind === '401' || req.headers.authorization !== `Bearer ${apiKey}`) {
      stats.rejected++;
      return reply.code(401).send({ code: 16, message: 'error:pkg/auth:token_invalid (invalid token)', details: [] });
    }
  });
  app.get<{ Params: { app: string }; Querystring: { limit?: string; page?: string } }>('/api/v3/applications/:app/devices', async (req, reply) => {
    stats.listCalls++;
    if (req.params.app !== applicationId) return reply.code(404).send({ code: 5, message: `application ${req.params.app} not found` });
    const limit = Math.min(1000, Math.max(1, Number(req.query.limit ?? 50) || 50));
    const page = Math.max(1, Number(req.query.page ?? 1) || 1);
    const slice = devices.slice((page - 1) * limit, page * limit);
    reply.header('x-total-count', String(devices.length));
    if (slice.length === 0) return {};
    return {
      end_devices: slice.map((d) => ({
        ids: { device_id: d.device_id, application_ids: { application_id: applicationId }, dev_eui: d.dev_eui },
        created_at: '2024-01-01T00:00:00Z', updated_at: '2024-01-01T00:00:00Z', name: d.name,
      })),
    };
  });
  app.post<{ Params: { app: string; wh: string; dev: string } }>('/api/v3/as/applications/:app/webhooks/:wh/devices/:dev/down/push', async (req, reply) => {
    stats.pushCalls++;
    if (req.params.app !== applicationId || req.params.wh !== webhookId) return reply.code(404).send({ code: 5, message: 'webhook not found' });
    if (!devices.some((d) => d.device_id === req.params.dev)) return reply.code(404).send({ code: 5, message: `end device ${req.params.dev} not found` });
    const body = req.body as { downlinks?: unknown[] } | undefined;
    if (!body || !Array.isArray(body.downlinks) || body.downlinks.length === 0) return reply.code(400).send({ code: 3, message: 'no downlinks' });
    downlinks.push({ deviceId: req.params.dev, body, at: Date.now() });
    return {};
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;

  const ids = (d: SimDevice) => ({ device_id: d.device_id, application_ids: { application_id: applicationId }, dev_eui: d.dev_eui, join_eui: '800000000000000C', dev_addr: '00BCB929' });
  const device = (id: string) => devices.find((d) => d.device_id === id) ?? { device_id: id, name: id, dev_eui: '0000000000000000' };

  /** An uplink shaped like TTS's documented webhook body (test/fixtures/the-things-stack/uplink-message.json). */
  function uplinkBody(deviceId: string, decoded: Record<string, unknown>, at = new Date()) {
    const n = (fCnt.get(deviceId) ?? 0) + 1;
    fCnt.set(deviceId, n);
    const iso = at.toISOString().replace('Z', '123456Z');
    return {
      end_device_ids: ids(device(deviceId)),
      correlation_ids: [`as:up:${ulid()}`, `gs:conn:${ulid()}`, `gs:uplink:${ulid()}`, `ns:uplink:${ulid()}`],
      received_at: iso,
      uplink_message: {
        session_key_id: 'AXA50tHUGUucuzS/bCGMNw==', f_port: 1, f_cnt: n, frm_payload: 'gkHe', decoded_payload: decoded,
        rx_metadata: [{ gateway_ids: { gateway_id: 'gtw1', eui: '9C5C8E00001A05C4' }, time: iso, timestamp: 2463457000, rssi: -35 - (n % 40), channel_rssi: -35, snr: 5, channel_index: 2 }],
        settings: { data_rate: { lora: { bandwidth: 125000, spreading_factor: 7 } }, coding_rate: '4/6', frequency: '868300000', timestamp: 2463457000, time: iso },
        consumed_airtime: '0.056576s', received_at: iso,
      },
    };
  }

  function joinAcceptBody(deviceId: string) {
    return { end_device_ids: ids(device(deviceId)), correlation_ids: [`as:up:${ulid()}`], received_at: new Date().toISOString(), join_accept: { session_key_id: 'AXBSH1Pk6Z0G166RlH16CQ==', received_at: new Date().toISOString() } };
  }

  /** POSTs a body to a webhook URL the way TTS does, with configured headers and the downlink headers. */
  async function deliver(webhookUrl: string, body: unknown, headers: Record<string, string> = {}, withDownlinkHeaders = true): Promise<{ status: number; body: string }> {
    const b = body as { end_device_ids?: { device_id?: string } };
    const dev = b.end_device_ids?.device_id ?? 'dev';
    const h: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'TheThingsStack/3.x (simulator)', 'x-tts-domain': '127.0.0.1', ...headers };
    if (withDownlinkHeaders) {
      h['x-downlink-apikey'] = apiKey;
      h['x-downlink-push'] = `${url}/api/v3/as/applications/${applicationId}/webhooks/${webhookId}/devices/${dev}/down/push`;
      h['x-downlink-replace'] = `${url}/api/v3/as/applications/${applicationId}/webhooks/${webhookId}/devices/${dev}/down/replace`;
    }
    const res = await fetch(webhookUrl, { method: 'POST', headers: h, body: typeof body === 'string' ? body : JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: await res.text() };
  }

  return {
    url, applicationId, apiKey, webhookId, devices, downlinks, stats,
    setFault(f: SimFault | SimFault['kind']) { fault = typeof f === 'string' ? { kind: f } : f; },
    uplinkBody, joinAcceptBody, deliver,
    async close() { await app.close(); },
  };
}

export type TtsSim = Awaited<ReturnType<typeof startTtsSim>>;
