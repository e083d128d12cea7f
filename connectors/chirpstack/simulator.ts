// A fake ChirpStack v4 (chirpstack-rest-api + HTTP integration) for tests and the demo: device list, downlink queue, faults, event pushes.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import type { JsonObject } from '../../src/core/messages.js';

export interface SimDevice {
  devEui: string;
  name: string;
  description?: string;
  applicationId?: string;
  deviceProfileId?: string;
  deviceProfileName?: string;
  tags?: Record<string, string>;
  lastSeenAt?: string | null;
}

export interface SimQueueItem {
  id: string;
  devEui: string;
  confirmed: boolean;
  fPort: number;
  data: string | null;
  object: JsonObject | null;
  isPending: boolean;
  fCntDown: number;
  isEncrypted: boolean;
  expiresAt: string | null;
}

export interface SimRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization: string | undefined;
  body: unknown;
}

export type SimFault = 'none' | '401' | '429' | '500' | 'timeout';

export interface ChirpstackSimOptions {
  token?: string;
  applicationId?: string;
  devices?: SimDevice[];
  /**
   * ChirpStack's access check answers 401 for a tenant API key asking for a device outside its tenant (e.g. a
   * deleted one); an admin key passes the check and gets 404 instead. Default 'tenant'.
   */
  keyKind?: 'tenant' | 'admin';
}

export interface ChirpstackSim {
  url: string;
  token: string;
  applicationId: string;
  devices: SimDevice[];
  /** Enqueued downlinks per lower-case devEui, oldest first. */
  queue: Map<string, SimQueueItem[]>;
  /** Every API request received, for assertions (e.g. that limit was sent). */
  requests: SimRequest[];
  /** Applies to API requests until changed; `times` limits it to the next n requests. */
  setFault(kind: SimFault, opts?: { times?: number }): void;
  /** A vendor fixture event (test/fixtures/chirpstack/event-<event>.json) for one of our devices, with fresh ids and time. */
  eventBody(event: string, opts?: { devEui?: string; patch?: JsonObject }): Promise<JsonObject>;
  /**
   * POSTs an event like the HTTP integration does: `<targetUrl>?event=<event>`, JSON, configured headers.
   * Without a body the fixture event is used; an object is JSON-encoded; a string or Buffer is sent as is.
   */
  sendEvent(targetUrl: string, event: string, body?: JsonObject | string | Buffer, headers?: Record<string, string>): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

export const SIM_TOKEN = 'cs-sim-api-token';
/** The application id of the vendor fixtures. */
export const SIM_APPLICATION_ID = '17c82e96-be03-4f38-aef3-f83d48582d97';

const FIXTURES = new URL('../../test/fixtures/chirpstack/', import.meta.url);

const defaultDevices = (): SimDevice[] => [
  // The device of the vendor fixtures first, so unmodified fixture events belong to the simulator.
  { devEui: '0101010101010101', name: 'Test device', description: 'vendor docs example device' },
  { devEui: '0016c001f000175a', name: 'LR1110' },
  { devEui: 'a84041000181c2b1', name: 'Cellar climate', description: 'temperature / humidity' },
];

/** grpc-gateway's error body (google.rpc.Status). */
const rpc = (code: number, message: string) => ({ code, message, details: [] });

/** ChirpStack's RFC3339 rendering: nanoseconds and +00:00. */
function chirpTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, (_, f: string) => `.${f}${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}+00:00`);
}

export async function startChirpstackSim(opts: ChirpstackSimOptions = {}): Promise<ChirpstackSim> {
  const token = opts.token ?? SIM_TOKEN;
  const applicationId = (opts.applicationId ?? SIM_APPLICATION_ID).toLowerCase();
  const keyKind = opts.keyKind ?? 'tenant';
  const devices: SimDevice[] = (opts.devices ?? defaultDevices()).map((d) => ({ ...d, devEui: d.devEui.toLowerCase() }));
  const queue = new Map<string, SimQueueItem[]>();
  const requests: SimRequest[] = [];
  const created = new Date().toISOString();
  let fault: SimFault = 'none';
  let faultTimes = Infinity;
  const hanging = new Set<FastifyReply>();
  const logOf = new WeakMap<FastifyRequest, SimRequest>();

  const app = Fastify({ logger: false, forceCloseConnections: true });

  // grpc-gateway answers malformed JSON and unknown routes with its own rpcStatus shape.
  app.setErrorHandler((err: FastifyError, _req, reply) => {
    const status = err.statusCode ?? 500;
    return reply.code(status).send(rpc(status === 400 ? 3 : 13, err.message));
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send(rpc(5, 'Not Found')));

  const appOf = (d: SimDevice) => (d.applicationId ?? applicationId).toLowerCase();

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    if (!req.url.startsWith('/api/')) return;
    const q = req.query as Record<string, string>;
    const h = req.headers;
    const authz = h.authorization ?? (h['grpc-metadata-authorization'] as string | undefined);
    const entry: SimRequest = { method: req.method, path: req.url.split('?')[0] ?? '', query: { ...q }, authorization: authz, body: undefined };
    requests.push(entry);
    logOf.set(req, entry);
    if (fault !== 'none' && faultTimes > 0) {
      const kind = fault;
      if (--faultTimes <= 0) { fault = 'none'; faultTimes = Infinity; }
      if (kind === 'timeout') {
        // Never answer; close() destroys the socket.
        hanging.add(reply);
        return new Promise<never>(() => undefined);
      }
      if (kind === '401') return reply.code(401).send(rpc(16, 'InvalidSignature'));
      if (kind === '429') return reply.code(429).header('retry-after', '2').send(rpc(8, 'rate limit exceeded'));
      return reply.code(500).send(rpc(13, 'simulated internal error'));
    }
    if (authz === undefined) return reply.code(401).send(rpc(16, 'no authorization provided'));
    if (!authz.startsWith('Bearer ')) return reply.code(401).send(rpc(16, "authorization metadata must in format 'Bearer <TOKEN>"));
    if (authz.slice('Bearer '.length) !== token) return reply.code(401).send(rpc(16, 'InvalidSignature'));
  });

  app.addHook('preHandler', async (req) => {
    const entry = logOf.get(req);
    if (entry) entry.body = req.body;
  });

  app.get('/api/devices', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const appId = (q.applicationId ?? '').toLowerCase();
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(appId)) {
      return reply.code(400).send(rpc(3, 'invalid length: expected length 32 for simple format, found 0'));
    }
    // An application the API key cannot access fails ChirpStack's validator, which answers Unauthenticated with no message.
    if (appId !== applicationId) return reply.code(401).send(rpc(16, ''));
    const num = (v: string | undefined) => (v === undefined || v === '' ? 0 : Number(v));
    const limit = num(q.limit);
    const offset = num(q.offset);
    if (!Number.isInteger(limit) || !Number.isInteger(offset) || limit < 0 || offset < 0) {
      return reply.code(400).send(rpc(3, 'invalid limit or offset'));
    }
    const mine = devices.filter((d) => appOf(d) === appId).sort((a, b) => a.name.localeCompare(b.name) || a.devEui.localeCompare(b.devEui));
    // limit omitted or 0 → only totalCount (the real API does the same).
    const page = limit === 0 ? [] : mine.slice(offset, offset + limit);
    return {
      totalCount: mine.length,
      result: page.map((d) => ({
        devEui: d.devEui,
        createdAt: created,
        updatedAt: created,
        lastSeenAt: d.lastSeenAt ?? null,
        name: d.name,
        description: d.description ?? '',
        deviceProfileId: d.deviceProfileId ?? '14855bf7-d10d-4aee-b618-ebfcb64dc7ad',
        deviceProfileName: d.deviceProfileName ?? 'Test device-profile',
        deviceStatus: null,
        tags: d.tags ?? {},
      })),
    };
  });

  app.post('/api/devices/:devEui/queue', async (req, reply) => {
    const devEui = (req.params as { devEui: string }).devEui.toLowerCase();
    if (!/^[0-9a-f]{16}$/.test(devEui)) return reply.code(400).send(rpc(3, 'invalid dev_eui'));
    const dev = devices.find((d) => d.devEui === devEui);
    if (!dev || appOf(dev) !== applicationId) {
      return keyKind === 'tenant' ? reply.code(401).send(rpc(16, '')) : reply.code(404).send(rpc(5, `Object does not exist (id: ${devEui})`));
    }
    const body = (req.body ?? {}) as { queueItem?: Record<string, unknown>; flushQueue?: boolean };
    const qi = body.queueItem;
    if (!qi || typeof qi !== 'object') return reply.code(400).send(rpc(3, 'queue_item is missing'));
    const fPort = Number(qi.fPort ?? 0);
    if (!Number.isInteger(fPort) || fPort < 1 || fPort > 255) return reply.code(400).send(rpc(3, 'FPort must be > 0'));
    const data = typeof qi.data === 'string' && qi.data !== '' ? qi.data : null;
    const object = qi.object && typeof qi.object === 'object' && !Array.isArray(qi.object) ? (qi.object as JsonObject) : null;
    if (data !== null && !/^[A-Za-z0-9+/]*={0,2}$/.test(data)) return reply.code(400).send(rpc(3, 'illegal base64 data'));
    const item: SimQueueItem = {
      id: randomUUID(), devEui, confirmed: qi.confirmed === true, fPort, data, object,
      isPending: false, fCntDown: 0, isEncrypted: false, expiresAt: typeof qi.expiresAt === 'string' ? qi.expiresAt : null,
    };
    const list = body.flushQueue === true ? [] : queue.get(devEui) ?? [];
    list.push(item);
    queue.set(devEui, list);
    return { id: item.id };
  });

  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  if (addr === null || typeof addr === 'string') throw new Error('simulator did not bind a TCP port');

  async function eventBody(event: string, o: { devEui?: string; patch?: JsonObject } = {}): Promise<JsonObject> {
    if (!/^[a-z]+$/.test(event)) throw new Error(`no fixture for event "${event}"`);
    const body = JSON.parse(await readFile(new URL(`event-${event}.json`, FIXTURES), 'utf8')) as JsonObject;
    const devEui = (o.devEui ?? devices[0]?.devEui ?? '0101010101010101').toLowerCase();
    const dev = devices.find((d) => d.devEui === devEui);
    const info = body.deviceInfo;
    if (info && typeof info === 'object' && !Array.isArray(info)) {
      info.devEui = devEui;
      info.applicationId = dev ? appOf(dev) : applicationId;
      if (dev) info.deviceName = dev.name;
    }
    // Real ChirpStack never repeats these; keeping the fixture's would make every push a duplicate.
    if (typeof body.deduplicationId === 'string') body.deduplicationId = randomUUID();
    if (typeof body.time === 'string') body.time = chirpTime(Date.now());
    return { ...body, ...o.patch };
  }

  async function sendEvent(targetUrl: string, event: string, body?: JsonObject | string | Buffer, headers: Record<string, string> = {}) {
    const payload = body === undefined ? JSON.stringify(await eventBody(event))
      : typeof body === 'string' ? body
      : Buffer.isBuffer(body) ? new Uint8Array(body)
      : JSON.stringify(body);
    const u = new URL(targetUrl);
    u.searchParams.append('event', event);
    const res = await fetch(u, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: payload,
      // ChirpStack's HTTP client gives up after 5 s.
      signal: AbortSignal.timeout(5000),
    });
    return { status: res.status, body: await res.text() };
  }

  return {
    url: `http://127.0.0.1:${addr.port}`,
    token,
    applicationId,
    devices,
    queue,
    requests,
    setFault(kind, o = {}) {
      fault = kind;
      faultTimes = o.times ?? Infinity;
    },
    eventBody,
    sendEvent,
    async close() {
      for (const r of hanging) r.raw.destroy();
      hanging.clear();
      await app.close();
    },
  };
}

