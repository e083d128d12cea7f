// A generic fake REST cloud on loopback for tests and the demo: devices with changing readings, a list endpoint
// with every pagination style, per-device and batch state, OAuth2 client credentials with expiry, API key /
// bearer / basic checks, a command endpoint that records commands, and HMAC-signed webhook delivery.
import { createHmac, randomBytes } from 'node:crypto';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';

export type SimAuth =
  | { type: 'none' }
  | { type: 'api_key_header'; name?: string; key: string }
  | { type: 'api_key_query'; name?: string; key: string }
  | { type: 'bearer'; token: string }
  | { type: 'basic'; username: string; password: string }
  | { type: 'oauth2'; clientId: string; clientSecret: string; scope?: string; tokenTtlS?: number; tokenDelayMs?: number };

export type SimPagination = 'none' | 'page' | 'offset' | 'cursor' | 'next_link';

export interface HttpJsonSimOptions {
  /** Number of devices (ids dev-1 … dev-N). Default 5. */
  devices?: number;
  auth?: SimAuth;
  /** Pagination of /api/devices and /api/states. Default none. */
  pagination?: SimPagination;
  /** The server never returns more items per page than this, whatever is asked. Default 100. */
  maxPageSize?: number;
}

export interface SimDevice {
  id: string;
  name: string;
  model: string;
  online: boolean;
  firmware: string;
  reads: number;
  battery: number;
}

export interface SimState {
  device_id: string;
  ts: number;
  online: boolean;
  readings: { temperature: number; humidity: number };
  battery: number;
  firmware: string;
  alarms: { code: string; level: string; value: number }[];
}

export interface SimCommand {
  device: string;
  method: string;
  body: unknown;
  headers: Record<string, string | undefined>;
  at: number;
}

export interface WebhookSendOptions {
  /** hmac (default when a secret is given), shared_secret (x-webhook-secret header), or none. */
  mode?: 'hmac' | 'shared_secret' | 'none';
  secret?: string;
  algorithm?: 'sha256' | 'sha1' | 'sha512';
  encoding?: 'hex' | 'base64';
  header?: string;
  prefix?: string;
  timestampHeader?: string;
  /** Value of the timestamp header; default now in epoch seconds. */
  timestamp?: string | number;
  /** Signed content template, as in the voucher: {body} and {timestamp}. Default {body}. */
  signedPayload?: string;
  headers?: Record<string, string>;
}

/** The signature header value a vendor would send for `raw`. */
export function signWebhook(raw: Buffer | string, o: Required<Pick<WebhookSendOptions, 'secret'>> & WebhookSendOptions & { timestamp?: string | number }): string {
  const body = Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'utf8');
  const tpl = o.signedPayload ?? '{body}';
  const parts = tpl.split(/(\{body\}|\{timestamp\})/).filter((p) => p !== '');
  const signed = Buffer.concat(parts.map((p) => (p === '{body}' ? body : p === '{timestamp}' ? Buffer.from(String(o.timestamp ?? ''), 'utf8') : Buffer.from(p, 'utf8'))));
  const mac = createHmac(o.algorithm ?? 'sha256', o.secret).update(signed).digest(o.encoding ?? 'hex');
  return `${o.prefix ?? ''}${mac}`;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

export async function startHttpJsonSim(opts: HttpJsonSimOptions = {}) {
  const auth: SimAuth = opts.auth ?? { type: 'none' };
  const pagination = opts.pagination ?? 'none';
  const maxPageSize = opts.maxPageSize ?? 100;
  const devices: SimDevice[] = Array.from({ length: opts.devices ?? 5 }, (_, i) => ({
    id: `dev-${i + 1}`,
    name: `Sensor ${i + 1}`,
    model: i % 2 === 0 ? 'TH-100' : 'TH-200',
    online: true,
    firmware: `1.${i % 3}.0`,
    reads: 0,
    battery: 100 - i,
  }));
  const commands: SimCommand[] = [];
  const stats = { requests: 0, listCalls: 0, stateCalls: 0, batchCalls: 0, tokenRequests: 0, authFailures: 0, commandCalls: 0 };
  const tokens = new Map<string, number>();
  let tokenEpoch = 0;

  /** Next reading of a device: every read changes temperature and humidity. */
  function readState(d: SimDevice): SimState {
    d.reads += 1;
    const idx = Number(d.id.replace(/\D/g, '')) || 0;
    const temperature = round1(20 + ((idx * 3 + d.reads * 0.7) % 10));
    const humidity = Math.round(40 + ((d.reads * 7 + idx) % 30));
    if (d.reads % 10 === 0) d.battery = Math.max(0, d.battery - 1);
    return {
      device_id: d.id,
      ts: Date.now(),
      online: d.online,
      readings: { temperature, humidity },
      battery: d.battery,
      firmware: d.firmware,
      alarms: temperature >= 28 ? [{ code: 'HIGH_TEMP', level: 'warning', value: temperature }] : [],
    };
  }

  const app = Fastify({ logger: false });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });

  const deny = (reply: FastifyReply) => {
    stats.authFailures += 1;
    return reply.code(401).send({ error: 'unauthorized', message: 'missing or invalid credentials' });
  };

  function authorised(req: FastifyRequest): boolean {
    const h = req.headers;
    const q = req.query as Record<string, string | undefined>;
    switch (auth.type) {
      case 'none':
        return true;
      case 'api_key_header':
        return h[(auth.name ?? 'X-API-Key').toLowerCase()] === auth.key;
      case 'api_key_query':
        return q[auth.name ?? 'api_key'] === auth.key;
      case 'bearer':
        return h.authorization === `Bearer ${auth.token}`;
      case 'basic':
        return h.authorization === `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
      case 'oauth2': {
        const m = /^Bearer (.+)$/.exec(h.authorization ?? '');
        const exp = m?.[1] ? tokens.get(m[1]) : undefined;
        return exp !== undefined && exp > Date.now();
      }
    }
  }

  app.addHook('onRequest', async (req, reply) => {
    stats.requests += 1;
    if (req.url.startsWith('/api/') && !authorised(req)) return deny(reply);
  });

  app.post('/oauth/token', async (req, reply) => {
    stats.tokenRequests += 1;
    if (auth.type !== 'oauth2') return reply.code(404).send({ error: 'not_found' });
    if (auth.tokenDelayMs) await new Promise((r) => setTimeout(r, auth.tokenDelayMs));
    const form = (req.body ?? {}) as Record<string, string | undefined>;
    let id = form.client_id;
    let secret = form.client_secret;
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    if (basic?.[1]) {
      const [u, p] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
      id = decodeURIComponent((u ?? '').replace(/\+/g, ' '));
      secret = decodeURIComponent((p ?? '').replace(/\+/g, ' '));
    }
    if (form.grant_type !== 'client_credentials') return reply.code(400).send({ error: 'unsupported_grant_type' });
    if (id !== auth.clientId || secret !== auth.clientSecret) return reply.code(401).send({ error: 'invalid_client' });
    if (auth.scope !== undefined && form.scope !== auth.scope) return reply.code(400).send({ error: 'invalid_scope' });
    const ttl = auth.tokenTtlS ?? 3600;
    const token = `tok-${++tokenEpoch}-${randomBytes(8).toString('hex')}`;
    tokens.set(token, Date.now() + ttl * 1000);
    return { access_token: token, token_type: 'Bearer', expires_in: ttl };
  });

  /** One page of `list` in the configured style; `path` is used to build next links. */
  function page<T>(req: FastifyRequest, reply: FastifyReply, list: T[], path: string): Record<string, unknown> {
    const q = req.query as Record<string, string | undefined>;
    const num = (v: string | undefined, d: number) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : d);
    switch (pagination) {
      case 'none':
        return { data: list };
      case 'page': {
        const size = Math.min(maxPageSize, Math.max(1, num(q.page_size, 20)));
        const p = Math.max(1, num(q.page, 1));
        return { data: list.slice((p - 1) * size, p * size), page: p, page_size: size, total: list.length };
      }
      case 'offset': {
        const limit = Math.min(maxPageSize, Math.max(1, num(q.limit, 20)));
        const offset = num(q.offset, 0);
        return { data: list.slice(offset, offset + limit), offset, limit, total: list.length };
      }
      case 'cursor': {
        const limit = Math.min(maxPageSize, Math.max(1, num(q.limit, 20)));
        const start = q.cursor ? Number(Buffer.from(q.cursor, 'base64url').toString('utf8').replace(/^i:/, '')) || 0 : 0;
        const end = start + limit;
        return { data: list.slice(start, end), next_cursor: end < list.length ? Buffer.from(`i:${end}`).toString('base64url') : null };
      }
      case 'next_link': {
        const limit = Math.min(maxPageSize, Math.max(1, num(q.limit, 20)));
        const after = num(q.after, 0);
        const end = after + limit;
        const next = end < list.length ? `${path}?after=${end}&limit=${limit}` : null;
        if (next) void reply.header('link', `<${url}${next}>; rel="next", <${url}${path}>; rel="first"`);
        return { data: list.slice(after, end), links: { next } };
      }
    }
  }

  app.get('/api/devices', async (req, reply) => {
    stats.listCalls += 1;
    return page(req, reply, devices.map((d) => ({ id: d.id, name: d.name, model: d.model })), '/api/devices');
  });

  app.get<{ Params: { id: string } }>('/api/devices/:id/state', async (req, reply) => {
    stats.stateCalls += 1;
    const d = devices.find((x) => x.id === req.params.id);
    if (!d) return reply.code(404).send({ error: 'device not found' });
    return readState(d);
  });

  app.get('/api/states', async (req, reply) => {
    stats.batchCalls += 1;
    return page(req, reply, devices.map(readState), '/api/states');
  });

  app.post<{ Params: { id: string } }>('/api/devices/:id/commands', async (req, reply) => {
    stats.commandCalls += 1;
    const d = devices.find((x) => x.id === req.params.id);
    if (!d) return reply.code(404).send({ error: 'device not found' });
    const body = req.body as Record<string, unknown> | undefined;
    const method = String(body?.method ?? body?.cmd ?? body?.action ?? '');
    commands.push({ device: d.id, method, body, headers: { 'x-request-id': req.headers['x-request-id'] as string | undefined, 'content-type': req.headers['content-type'] }, at: Date.now() });
    if (method === 'reject') return reply.code(422).send({ error: 'command not supported' });
    return reply.code(202).send({ id: `cmd-${commands.length}`, status: 'queued' });
  });

  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;

  return {
    url,
    devices,
    commands,
    stats,
    auth,
    pagination,
    /** The next state of each device, as the batch endpoint would return it. */
    states: (ids?: string[]) => devices.filter((d) => !ids || ids.includes(d.id)).map(readState),
    setOnline(id: string, online: boolean) {
      const d = devices.find((x) => x.id === id);
      if (d) d.online = online;
    },
    /** Invalidates every issued OAuth2 token (the next API call answers 401). */
    revokeTokens() {
      tokens.clear();
    },
    /** POSTs `body` (object → JSON text, or exact bytes) to `target`, signed or with a shared secret. */
    async sendWebhook(target: string, body: unknown, o: WebhookSendOptions = {}): Promise<{ status: number; body: unknown }> {
      const raw = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
      const headers: Record<string, string> = { 'content-type': 'application/json', ...o.headers };
      const mode = o.mode ?? (o.secret !== undefined ? 'hmac' : 'none');
      if (mode === 'shared_secret' && o.secret !== undefined) headers['x-webhook-secret'] = o.secret;
      if (mode === 'hmac' && o.secret !== undefined) {
        const timestamp = o.timestamp ?? Math.floor(Date.now() / 1000);
        if (o.timestampHeader) headers[o.timestampHeader.toLowerCase()] = String(timestamp);
        headers[(o.header ?? 'x-signature').toLowerCase()] = signWebhook(raw, { ...o, secret: o.secret, timestamp });
      }
      const res = await fetch(target, { method: 'POST', headers, body: new Uint8Array(raw) });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      return { status: res.status, body: parsed };
    },
    close: () => app.close(),
  };
}

export type HttpJsonSim = Awaited<ReturnType<typeof startHttpJsonSim>>;

/**
 * A voucher (as the ThingsPanel SVCR form stores it: strings, numbers, plus `auth_type`) that reads this
 * simulator: list, per-device state, mapping, commands, and HMAC webhooks when `webhookSecret` is given.
 */
export function simVoucher(sim: HttpJsonSim, extra: Record<string, string | number> = {}): Record<string, string | number> {
  const a = sim.auth;
  const authFields: Record<string, string | number> =
    a.type === 'none' ? { auth_method: 'none' }
    : a.type === 'api_key_header' ? { auth_method: 'api_key_header', api_key_name: a.name ?? 'X-API-Key', api_key: a.key }
    : a.type === 'api_key_query' ? { auth_method: 'api_key_query', api_key_name: a.name ?? 'api_key', api_key: a.key }
    : a.type === 'bearer' ? { auth_method: 'bearer', api_key: a.token }
    : a.type === 'basic' ? { auth_method: 'basic', username: a.username, password: a.password }
    : { auth_method: 'oauth2_client_credentials', token_url: '/oauth/token', client_id: a.clientId, client_secret: a.clientSecret, scope: a.scope ?? '' };
  const pageFields: Record<string, string | number> =
    sim.pagination === 'next_link' ? { page_style: 'next_link', size_param: 'limit', page_size: 2 }
    : sim.pagination === 'none' ? { page_style: 'none' }
    : { page_style: sim.pagination, page_size: 2 };
  return {
    base_url: `${sim.url}/api`,
    ...authFields,
    devices_path: '/devices',
    ...pageFields,
    items_expr: 'data',
    device_id_expr: 'id',
    device_name_expr: 'name',
    state_mode: 'per_device',
    state_path: '/devices/{id}/state',
    telemetry_expr: 'readings',
    attributes_expr: '{"battery": battery, "firmware": firmware}',
    events_expr: 'alarms.{"method": "alarm", "params": $}',
    online_expr: 'online',
    ts_expr: 'ts',
    poll_interval_s: 30,
    webhook_auth: 'off',
    command_method: 'POST',
    command_url: '/devices/{id}/commands',
    command_body_type: 'json_template',
    command_body: '{"method": "{{method}}", "params": "{{params}}"}',
    command_success_expr: 'status = 202 and body.status = "queued"',
    command_reference_expr: 'body.id',
    auth_type: 'manual',
    ...extra,
  };
}
