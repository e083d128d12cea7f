// A fake Tuya OpenAPI on loopback for tests and the demo: verifies signatures, issues one-shot refresh tokens, faults.
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import type { JsonObject, JsonValue } from '../../src/core/messages.js';
import { signBusinessRequest, signTokenRequest, signaturesEqual, signedUrl, stringToSign, type SignedHeaders } from './sign.js';

export interface SimDevice {
  /** Device object as the device list/detail answers carry it (id, name, online, local_key, ...). */
  detail: JsonObject & { id: string };
  status: Array<{ code: string; value: JsonValue }>;
}

export type TuyaSimFault = 'none' | '429' | '1110' | '500' | 'timeout' | 'expire-token-now' | '1010';
/** 'business' (default): only device calls are faulted; 'all': token grant/refresh too. */
export type TuyaSimFaultScope = 'business' | 'all';

export interface TuyaSimOptions {
  accessId?: string;
  accessSecret?: string;
  devices?: SimDevice[];
  /** expire_time of issued tokens, seconds (Tuya: 7200). */
  tokenExpireS?: number;
  /** Server clock (ms); share it with the client's ctx.now to test expiry without waiting. */
  now?: () => number;
  /** Larger differences between the request `t` and the server clock answer 1013. */
  maxClockSkewMs?: number;
}

export interface TuyaSimStats {
  tokenGrants: number;
  tokenRefreshes: number;
  /** Business (non-token) requests received, faulted ones included. */
  calls: number;
  signFailures: number;
  /** Business requests answered 1010 (unknown or expired token). */
  tokenRejections: number;
}

export interface TuyaSimCommand {
  deviceId: string;
  commands: Array<{ code: string; value: JsonValue }>;
  t: number;
}

export interface TuyaSim {
  url: string;
  accessId: string;
  accessSecret: string;
  devices: Map<string, SimDevice>;
  commands: TuyaSimCommand[];
  stats: TuyaSimStats;
  close(): Promise<void>;
  setDeviceStatus(id: string, codes: Record<string, JsonValue>): void;
  setDeviceOnline(id: string, online: boolean): void;
  /**
   * `times` limits how many calls are affected (default: until cleared). 'expire-token-now' acts at once (every
   * issued access token expires; refresh tokens stay usable); '1010' answers "token invalid" whatever the token.
   */
  setFault(fault: TuyaSimFault, times?: number, scope?: TuyaSimFaultScope): void;
}

/** Copies of the device-list and device-detail fixtures (test/fixtures/tuya), each with the status fixture's data points. */
export function defaultSimDevices(): SimDevice[] {
  const status = (): SimDevice['status'] => [
    { code: 'switch_led', value: true },
    { code: 'colour_data', value: '{"h":37.0,"s":255.0,"v":189.0}' },
    { code: 'flash_scene_3', value: '' },
    {
      code: 'flash_scene_4',
      value: '{"bright":255,"frequency":80,"hsv":[{"h":0.0,"s":255.0,"v":255.0},{"h":120.0,"s":255.0,"v":255.0},{"h":240.0,"s":255.0,"v":255.0},{"h":300.0,"s":255.0,"v":255.0},{"h":240.0,"s":255.0,"v":255.0},{"h":0.0,"s":255.0,"v":255.0}],"temperature":255}',
    },
  ];
  return [
    {
      detail: {
        active_time: 1584063323, category: 'znyxss', create_time: 1575017570, icon: 'smart/program_category_icon/znyxss.png',
        id: '747b2165d9449964****', ip: '58.251.**.****', local_key: '11d7f7286caa****', model: 'SS190', name: 'WiFi智能音箱 SS190',
        online: false, asset_id: '1160****', product_id: 'i9vkzktd', product_name: 'WiFi智能音箱 SS190', sub: false,
        time_zone: '+08:00', uid: 'ay156531946658X****', update_time: 1584939489, uuid: '12****',
      },
      status: status(),
    },
    {
      detail: {
        active_time: 1589505938, category: 'qt', create_time: 1560827137, icon: 'smart/icon/15402589135gknz23xajb_0.png',
        id: '60613135b121cddc294****', ip: '120.198.****.****', local_key: '3a9b50126fe473****', name: '体脂秤', online: true,
        asset_id: '1070****', product_id: 'g0er6hSKgMqr****', product_name: 'Wifi scales_OEM', sub: false, time_zone: '+08:00',
        uid: 'ay157896239864843g****', update_time: 1589764585, uuid: '60613135b23cddc294****',
      },
      status: status(),
    },
  ];
}

// Tuya's texts for the codes the simulator answers (vendor-clouds.md §3.5).
const MSG: Record<number, string> = {
  500: 'system error', 1002: 'access_token is null', 1003: 'grant type invalid', 1004: 'sign invalid', 1005: 'clientId invalid',
  1010: 'token invalid', 1011: 'token invalid', 1013: 'request time is invalid', 1100: 'param is empty', 1101: 'params range invalid',
  1103: 'commands issue error', 1106: 'permission deny', 1108: 'uri path invalid', 1109: 'param is illegal', 1110: 'concurrent request over limit',
};

const hex = (n: number) => randomBytes(n).toString('hex');

export async function startTuyaSim(opts: TuyaSimOptions = {}): Promise<TuyaSim> {
  const accessId = opts.accessId ?? `sim${hex(8)}`;
  const accessSecret = opts.accessSecret ?? hex(16);
  const now = opts.now ?? Date.now;
  const expireS = opts.tokenExpireS ?? 7200;
  const skew = opts.maxClockSkewMs ?? 10 * 60_000;
  const devices = new Map((opts.devices ?? defaultSimDevices()).map((d) => [d.detail.id, structuredClone(d)] as const));
  const commands: TuyaSimCommand[] = [];
  const stats: TuyaSimStats = { tokenGrants: 0, tokenRefreshes: 0, calls: 0, signFailures: 0, tokenRejections: 0 };
  const access = new Map<string, { expiresAt: number; refresh: string }>();
  const refreshes = new Map<string, string>(); // refresh token → access token it belongs to
  let fault: TuyaSimFault = 'none';
  let faultLeft = 0;
  let faultScope: TuyaSimFaultScope = 'business';
  const hung = new Set<FastifyReply>();

  const ok = (result: unknown) => ({ success: true, result, t: now(), tid: hex(16) });
  const fail = (code: number) => ({ code, msg: MSG[code] ?? 'error', success: false, t: now(), tid: hex(16) });

  function issue(): JsonObject {
    const at = hex(16);
    const rt = hex(16);
    access.set(at, { expiresAt: now() + expireS * 1000, refresh: rt });
    refreshes.set(rt, at);
    return { access_token: at, expire_time: expireS, refresh_token: rt, uid: 'sim-uid' };
  }

  /** Returns an error envelope, or null when client_id, time and signature are right. */
  function verify(req: FastifyRequest, accessToken: string | undefined): object | null {
    const h = (k: string) => {
      const v = req.headers[k];
      return Array.isArray(v) ? v[0] : v;
    };
    if (h('client_id') !== accessId) return fail(1005);
    const t = h('t') ?? '';
    if (!/^\d{13}$/.test(t) || Math.abs(Number(t) - now()) > skew) return fail(1013);
    if (h('sign_method') !== 'HMAC-SHA256') { stats.signFailures++; return fail(1004); }
    const u = new URL(req.url, 'http://sim');
    const query: Record<string, string> = {};
    for (const [k, v] of u.searchParams) query[k] = v;
    const signedHeaders: SignedHeaders = (h('signature-headers') ?? '').split(':').filter(Boolean).map((k) => [k, h(k.toLowerCase()) ?? ''] as const);
    let path: string;
    try { path = decodeURIComponent(u.pathname); } catch { path = u.pathname; }
    const body = typeof req.body === 'string' ? req.body : '';
    const sts = stringToSign({ method: req.method, body, signedHeaders, url: signedUrl(path, query) });
    const nonce = h('nonce') ?? '';
    const expected = accessToken === undefined
      ? signTokenRequest({ clientId: accessId, secret: accessSecret, t, nonce, stringToSign: sts })
      : signBusinessRequest({ clientId: accessId, secret: accessSecret, accessToken, t, nonce, stringToSign: sts });
    if (!signaturesEqual(expected, h('sign') ?? '')) { stats.signFailures++; return fail(1004); }
    return null;
  }

  /** Answers the injected fault, if one applies; returns true when it did. */
  async function injectFault(reply: FastifyReply, business: boolean): Promise<boolean> {
    if (fault === 'none' || faultLeft <= 0 || (!business && faultScope !== 'all')) return false;
    const f = fault;
    if (f === '1010' && !business) return false;
    if (--faultLeft <= 0) fault = 'none';
    if (f === '429') { await reply.code(429).header('retry-after', '1').send({ success: false, code: 429, msg: 'too many requests' }); return true; }
    if (f === '500') { await reply.code(500).send(fail(500)); return true; }
    if (f === '1110') { await reply.send(fail(1110)); return true; }
    if (f === '1010') { stats.tokenRejections++; await reply.send(fail(1010)); return true; }
    if (f === 'timeout') { hung.add(reply); await new Promise<void>((r) => reply.raw.once('close', r)); return true; }
    return false;
  }

  /** Business-call preamble: faults, signature, token. Returns true when it already answered. */
  async function guard(req: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    stats.calls++;
    if (await injectFault(reply, true)) return true;
    const token = typeof req.headers.access_token === 'string' ? req.headers.access_token : undefined;
    if (!token) { await reply.send(fail(1002)); return true; }
    const err = verify(req, token);
    if (err) { await reply.send(err); return true; }
    const tok = access.get(token);
    if (!tok || tok.expiresAt <= now()) { stats.tokenRejections++; await reply.send(fail(1010)); return true; }
    return false;
  }

  const app = Fastify({ logger: false, forceCloseConnections: true });
  // Raw text: the signature covers the exact body bytes.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.setNotFoundHandler(async (_req, reply) => reply.send(fail(1108)));

  app.get('/v1.0/token', async (req, reply) => {
    if (await injectFault(reply, false)) return reply;
    const err = verify(req, undefined);
    if (err) return reply.send(err);
    if ((req.query as Record<string, string>).grant_type !== '1') return reply.send(fail(1003));
    stats.tokenGrants++;
    return reply.send(ok(issue()));
  });

  app.get<{ Params: { refresh: string } }>('/v1.0/token/:refresh', async (req, reply) => {
    if (await injectFault(reply, false)) return reply;
    const err = verify(req, undefined);
    if (err) return reply.send(err);
    const oldAccess = refreshes.get(req.params.refresh);
    // One-shot: the refresh token and the access token it belonged to die here.
    if (oldAccess === undefined) return reply.send(fail(1011));
    refreshes.delete(req.params.refresh);
    access.delete(oldAccess);
    stats.tokenRefreshes++;
    return reply.send(ok(issue()));
  });

  const idsParam = (q: unknown): string[] | null => {
    const v = (q as Record<string, string | undefined>).device_ids;
    return v === undefined || v === '' ? null : v.split(',').filter(Boolean);
  };

  app.get('/v1.0/iot-03/devices', async (req, reply) => {
    if (await guard(req, reply)) return reply;
    const q = req.query as Record<string, string | undefined>;
    const ids = idsParam(q);
    const size = q.page_size === undefined ? 20 : Number(q.page_size);
    if (!Number.isInteger(size) || size < 1 || size > 200 || (ids && ids.length > 20)) return reply.send(fail(1101));
    let all = [...devices.values()].map((d) => d.detail);
    if (ids) all = all.filter((d) => ids.includes(d.id));
    if (q.source_type === 'tuyaUser' && q.source_id) all = all.filter((d) => d.uid === q.source_id);
    const from = q.last_row_key ? all.findIndex((d) => d.id === q.last_row_key) + 1 : 0;
    if (from < 0) return reply.send(fail(1109));
    const page = all.slice(from, from + size);
    const last = page.at(-1);
    return reply.send(ok({ devices: page, last_row_key: last ? last.id : '', has_more: from + size < all.length, total: all.length }));
  });

  app.get('/v1.0/iot-03/devices/status', async (req, reply) => {
    if (await guard(req, reply)) return reply;
    const ids = idsParam(req.query);
    if (!ids) return reply.send(fail(1100));
    if (ids.length > 20) return reply.send(fail(1101));
    const result = ids.flatMap((id) => {
      const d = devices.get(id);
      return d ? [{ id, status: d.status }] : [];
    });
    return reply.send(ok(result));
  });

  app.get<{ Params: { id: string } }>('/v1.0/iot-03/devices/:id', async (req, reply) => {
    if (await guard(req, reply)) return reply;
    const d = devices.get(req.params.id);
    return reply.send(d ? ok(d.detail) : fail(1106));
  });

  app.post<{ Params: { id: string } }>('/v1.0/iot-03/devices/:id/commands', async (req, reply) => {
    if (await guard(req, reply)) return reply;
    const d = devices.get(req.params.id);
    if (!d) return reply.send(fail(1106));
    let body: unknown;
    try { body = JSON.parse(typeof req.body === 'string' ? req.body : ''); } catch { return reply.send(fail(1109)); }
    const list = (body as { commands?: unknown })?.commands;
    if (!Array.isArray(list) || list.length === 0) return reply.send(fail(1109));
    const cmds: Array<{ code: string; value: JsonValue }> = [];
    for (const c of list as Array<{ code?: unknown; value?: JsonValue }>) {
      if (typeof c?.code !== 'string' || c.value === undefined) return reply.send(fail(1109));
      if (!d.status.some((s) => s.code === c.code)) return reply.send(fail(1103));
      cmds.push({ code: c.code, value: c.value });
    }
    commands.push({ deviceId: d.detail.id, commands: cmds, t: now() });
    for (const c of cmds) {
      const s = d.status.find((x) => x.code === c.code);
      if (s) s.value = c.value;
    }
    return reply.send(ok(true));
  });

  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;

  return {
    url: `http://127.0.0.1:${port}`,
    accessId,
    accessSecret,
    devices,
    commands,
    stats,
    async close() {
      for (const r of hung) r.raw.destroy();
      await app.close();
    },
    setDeviceStatus(id, codes) {
      const d = devices.get(id);
      if (!d) throw new Error(`unknown sim device ${id}`);
      for (const [code, value] of Object.entries(codes)) {
        const s = d.status.find((x) => x.code === code);
        if (s) s.value = value;
        else d.status.push({ code, value });
      }
    },
    setDeviceOnline(id, online) {
      const d = devices.get(id);
      if (!d) throw new Error(`unknown sim device ${id}`);
      d.detail.online = online;
    },
    setFault(f, times = Number.POSITIVE_INFINITY, scope = 'business') {
      if (f === 'expire-token-now') {
        for (const tok of access.values()) tok.expiresAt = now() - 1;
        fault = 'none';
        return;
      }
      fault = f;
      faultLeft = f === 'none' ? 0 : times;
      faultScope = scope;
    },
  };
}
