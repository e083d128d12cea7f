// The only I/O of the Tuya connector: signed OpenAPI calls, Tuya error codes, and the shared, encrypted token cache.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, randomUUID } from 'node:crypto';
import pRetry from 'p-retry';
import { z } from 'zod';
import type { Ctx } from '../../src/core/connector.js';
import { AuthError, ConnectorError, PermanentError, RateLimitedError, TransientError, describeError } from '../../src/core/errors.js';
import type { JsonObject, JsonValue } from '../../src/core/messages.js';
import { metrics } from '../../src/core/metrics.js';
import type { TuyaCred } from './schema.js';
import { signBusinessRequest, signTokenRequest, signedUrl, stringToSign, wireUrl, type QueryValue } from './sign.js';

export type TuyaCtx = Pick<Ctx<TuyaCred>, 'cred' | 'http' | 'store' | 'now' | 'log' | 'accessPoint'>;

/** Batch endpoints accept at most 20 device ids per call. */
export const MAX_IDS_PER_CALL = 20;
/** Official SDKs refresh about a minute before expiry. */
const REFRESH_MARGIN_MS = 60_000;
const TOKEN_KEY = 'tuya-token';
const TOKEN_LOCK = 'tuya-token';
/** Token calls are short so that a refresh plus a fallback grant (with retries) fit well inside the lock. */
const TOKEN_CALL_TIMEOUT_MS = 5_000;
const TOKEN_LOCK_TTL_MS = 45_000;
const TOKEN_CODES = new Set([1010, 1011, 1012]);

// ---------------------------------------------------------------------------------------------------------------
// Tuya answer codes → error classes (vendor-clouds.md §3.5). Anything not listed is permanent.

type ErrorFactory = (what: string, code: number, msg: string) => ConnectorError;
const CODE_ERRORS: ReadonlyMap<number, ErrorFactory> = new Map<number, ErrorFactory>([
  [1001, (w, c, m) => new AuthError(`${w}: Tuya ${c} ${m}: the Access Secret is wrong`)],
  [1004, (w, c, m) => new AuthError(`${w}: Tuya ${c} ${m}: the request signature was rejected, check the Access Secret (and that the project uses the current signing algorithm)`)],
  [1005, (w, c, m) => new AuthError(`${w}: Tuya ${c} ${m}: the Access ID is unknown in this data centre, check the Access ID and the data centre`)],
  [1106, (w, c, m) => new AuthError(`${w}: Tuya ${c} ${m}: the cloud project lacks permission, authorise the API service (IoT Core) and link the devices' app account to the project`)],
  [1013, (w, c, m) => new TransientError(`${w}: Tuya ${c} ${m}: this host's clock differs too much from Tuya's, synchronise it (NTP)`)],
  [1110, (w, c, m) => new RateLimitedError(`${w}: Tuya ${c} ${m}`, 1_500)],
  [1111, (w, c, m) => new RateLimitedError(`${w}: Tuya ${c} ${m}`, 2_000)],
  // Tuya's own "system error": the vendor's 5xx in a 200 envelope.
  [500, (w, c, m) => new TransientError(`${w}: Tuya ${c} ${m}`)],
]);

export function tuyaError(what: string, code: number, msg: string): ConnectorError {
  const text = msg.replace(/[\r\n]+/g, ' ').slice(0, 200) || 'no message';
  if (TOKEN_CODES.has(code)) return new AuthError(`${what}: Tuya ${code} ${text}: the access token was rejected again after fetching a new one`);
  const make = CODE_ERRORS.get(code);
  return make ? make(what, code, text) : new PermanentError(`${what}: Tuya ${code} ${text}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Signed requests

export interface TuyaCall {
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, QueryValue>;
  body?: JsonValue;
  /** Safe description for error messages (never contains tokens). */
  what: string;
  timeoutMs?: number;
  /** Repeat on network errors/5xx (GETs only; default true for GETs). */
  retry?: boolean;
}

export interface TuyaAnswer<T = unknown> {
  result: T;
  /** Tuya server time of the answer (ms). */
  t?: number;
  tid?: string;
}

type Outcome = { ok: true; answer: TuyaAnswer } | { ok: false; code: number; msg: string };

const Envelope = z.object({
  success: z.boolean(),
  result: z.unknown().optional(),
  code: z.union([z.number(), z.string()]).optional(),
  msg: z.string().optional(),
  t: z.number().optional(),
  tid: z.string().optional(),
});

/** Rebuilds a client error with any secret removed from its message (the refresh token is part of a URL path). */
function redact(err: unknown, secrets: readonly string[]): unknown {
  if (!(err instanceof ConnectorError)) return err;
  let m = err.message;
  for (const s of secrets) if (s) m = m.split(s).join('***').split(encodeURIComponent(s)).join('***');
  if (m === err.message) return err;
  if (err instanceof RateLimitedError) return new RateLimitedError(m, err.retryAfterMs);
  if (err instanceof AuthError) return new AuthError(m);
  if (err instanceof PermanentError) return new PermanentError(m);
  return new TransientError(m);
}

async function sendOnce(ctx: TuyaCtx, call: TuyaCall, accessToken: string | undefined, secrets: readonly string[]): Promise<Outcome> {
  const { accessId, accessSecret, endpoint } = ctx.cred;
  const t = String(Math.round(ctx.now()));
  const nonce = randomUUID().replace(/-/g, '');
  // Serialised once: these exact bytes are hashed, signed and sent.
  const body = call.body === undefined ? undefined : JSON.stringify(call.body);
  const sts = stringToSign({ method: call.method, body, url: signedUrl(call.path, call.query) });
  const sign = accessToken === undefined
    ? signTokenRequest({ clientId: accessId, secret: accessSecret, t, nonce, stringToSign: sts })
    : signBusinessRequest({ clientId: accessId, secret: accessSecret, accessToken, t, nonce, stringToSign: sts });
  const headers: Record<string, string> = { client_id: accessId, sign, sign_method: 'HMAC-SHA256', t, nonce, lang: 'en' };
  if (accessToken !== undefined) headers.access_token = accessToken;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let data: unknown;
  try {
    const res = await ctx.http.request({
      method: call.method,
      url: endpoint + wireUrl(call.path, call.query),
      headers,
      body,
      ...(call.timeoutMs ? { timeoutMs: call.timeoutMs } : {}),
    });
    data = res.data;
  } catch (err) {
    throw redact(err, [...secrets, ...(accessToken ? [accessToken] : [])]);
  }
  const env = Envelope.safeParse(data);
  if (!env.success) throw new TransientError(`${call.what}: unexpected answer from Tuya (not an OpenAPI envelope)`);
  const e = env.data;
  if (e.success) {
    const answer: TuyaAnswer = { result: e.result };
    if (e.t !== undefined) answer.t = e.t;
    if (e.tid !== undefined) answer.tid = e.tid;
    return { ok: true, answer };
  }
  const code = Number(e.code);
  return { ok: false, code: Number.isFinite(code) ? code : -1, msg: e.msg ?? '' };
}

/** Each attempt is signed afresh (new t and nonce); only GETs are repeated on network errors and 5xx. */
async function send(ctx: TuyaCtx, call: TuyaCall, accessToken: string | undefined, secrets: readonly string[] = []): Promise<Outcome> {
  if (call.method !== 'GET' || call.retry === false) return sendOnce(ctx, call, accessToken, secrets);
  return pRetry(() => sendOnce(ctx, call, accessToken, secrets), {
    retries: 2,
    minTimeout: 200,
    maxTimeout: 1_000,
    randomize: true,
    shouldRetry: ({ error }) => error instanceof TransientError,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Token lifecycle, shared by all replicas through ctx.store and encrypted there.

export interface TuyaToken {
  accessToken: string;
  refreshToken: string;
  /** Epoch ms (Tuya's clock: answer t + expire_time). */
  expiresAt: number;
  /** Epoch ms the token was obtained (same clock), to size the refresh margin for short-lived tokens. */
  issuedAt: number;
}

const TokenResult = z.object({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1),
  expire_time: z.number().positive(),
});

const CachedToken = z.object({
  accessToken: z.string().min(1),
  refreshToken: z.string().min(1),
  expiresAt: z.number(),
  issuedAt: z.number(),
});

function cacheKey(cred: TuyaCred): Buffer {
  // Bound to secret, access id and endpoint: a changed voucher can never decrypt an old cache entry.
  return Buffer.from(hkdfSync('sha256', cred.accessSecret, 'tp-cloud-connector/tuya/token-cache/v1', `${cred.accessId}\n${cred.endpoint}`, 32));
}

export function encryptToken(cred: TuyaCred, tok: TuyaToken): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', cacheKey(cred), iv);
  c.setAAD(Buffer.from('tuya-token-v1'));
  const ct = Buffer.concat([c.update(JSON.stringify(tok), 'utf8'), c.final()]);
  return `v1.${Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64url')}`;
}

export function decryptToken(cred: TuyaCred, stored: string): TuyaToken | null {
  if (!stored.startsWith('v1.')) return null;
  try {
    const raw = Buffer.from(stored.slice(3), 'base64url');
    if (raw.length < 29) return null;
    const d = createDecipheriv('aes-256-gcm', cacheKey(cred), raw.subarray(0, 12));
    d.setAAD(Buffer.from('tuya-token-v1'));
    d.setAuthTag(raw.subarray(12, 28));
    const json = Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
    const p = CachedToken.safeParse(JSON.parse(json));
    return p.success ? p.data : null;
  } catch {
    return null;
  }
}

async function readToken(ctx: TuyaCtx): Promise<TuyaToken | null> {
  const s = await ctx.store.get(TOKEN_KEY);
  return s === null ? null : decryptToken(ctx.cred, s);
}

async function writeToken(ctx: TuyaCtx, tok: TuyaToken): Promise<void> {
  // Kept a minute past expiry so a late caller can still try the refresh token first.
  const ttl = Math.max(60_000, tok.expiresAt - ctx.now() + 60_000);
  await ctx.store.set(TOKEN_KEY, encryptToken(ctx.cred, tok), ttl);
}

function isFresh(tok: TuyaToken, now: number): boolean {
  const margin = Math.min(REFRESH_MARGIN_MS, Math.max(0, tok.expiresAt - tok.issuedAt) / 2);
  return now < tok.expiresAt - margin;
}

function countToken(ctx: TuyaCtx, outcome: string): void {
  metrics.tokenRefreshes.inc({ connector: 'tuya', access_point: ctx.accessPoint.id, outcome });
}

async function tokenCall(ctx: TuyaCtx, call: TuyaCall, secrets: readonly string[]): Promise<TuyaToken> {
  const out = await send(ctx, call, undefined, secrets);
  if (!out.ok) {
    // A token code here means the refresh token itself is gone: permanent for this call, the caller falls back.
    throw TOKEN_CODES.has(out.code) ? new PermanentError(`${call.what}: Tuya ${out.code} ${out.msg.slice(0, 200)}`) : tuyaError(call.what, out.code, out.msg);
  }
  const r = TokenResult.safeParse(out.answer.result);
  if (!r.success) throw new TransientError(`${call.what}: Tuya answered without a usable token`);
  const issuedAt = out.answer.t ?? ctx.now();
  return { accessToken: r.data.access_token, refreshToken: r.data.refresh_token, issuedAt, expiresAt: issuedAt + r.data.expire_time * 1000 };
}

async function grantToken(ctx: TuyaCtx): Promise<TuyaToken> {
  try {
    const call: TuyaCall = { method: 'GET', path: '/v1.0/token', query: { grant_type: 1 }, what: 'Tuya token request', timeoutMs: TOKEN_CALL_TIMEOUT_MS };
    const tok = await tokenCall(ctx, call, []);
    countToken(ctx, 'grant');
    return tok;
  } catch (err) {
    countToken(ctx, 'grant_failed');
    throw err;
  }
}

async function refreshToken(ctx: TuyaCtx, old: TuyaToken): Promise<TuyaToken> {
  // Not repeated: a refresh token is one-shot, so a lost answer means it is spent; the fallback grant follows.
  const call: TuyaCall = {
    method: 'GET',
    path: `/v1.0/token/${encodeURIComponent(old.refreshToken)}`,
    what: 'Tuya token refresh',
    timeoutMs: TOKEN_CALL_TIMEOUT_MS,
    retry: false,
  };
  const tok = await tokenCall(ctx, call, [old.refreshToken]);
  countToken(ctx, 'refresh');
  return tok;
}

/** Refresh with the one-shot refresh token; if that fails, a fresh grant; if that fails too, the old token while it lasts. */
async function renew(ctx: TuyaCtx, old: TuyaToken): Promise<TuyaToken> {
  try {
    return await refreshToken(ctx, old);
  } catch (err) {
    countToken(ctx, 'refresh_failed');
    ctx.log.warn({ reason: describeError(err) }, 'tuya token refresh failed, requesting a new token');
  }
  try {
    return await grantToken(ctx);
  } catch (err) {
    if (ctx.now() < old.expiresAt) return old;
    throw err;
  }
}

/** A valid access token: from the shared cache, or obtained by exactly one caller across replicas. */
export async function getAccessToken(ctx: TuyaCtx): Promise<TuyaToken> {
  const cached = await readToken(ctx);
  if (cached && isFresh(cached, ctx.now())) return cached;
  return ctx.store.withLock(TOKEN_LOCK, TOKEN_LOCK_TTL_MS, async () => {
    // Another replica may have renewed it while we waited for the lock.
    const current = await readToken(ctx);
    if (current && isFresh(current, ctx.now())) return current;
    const next = current ? await renew(ctx, current) : await grantToken(ctx);
    if (next !== current) await writeToken(ctx, next);
    return next;
  });
}

/** Tuya said the token is invalid: replace it unless someone already did, with a fresh grant. */
async function replaceRejectedToken(ctx: TuyaCtx, rejected: string): Promise<TuyaToken> {
  return ctx.store.withLock(TOKEN_LOCK, TOKEN_LOCK_TTL_MS, async () => {
    const current = await readToken(ctx);
    if (current && current.accessToken !== rejected && ctx.now() < current.expiresAt) return current;
    await ctx.store.del(TOKEN_KEY);
    const next = await grantToken(ctx);
    await writeToken(ctx, next);
    return next;
  });
}

/** A business call: on 1010/1011/1012 the token is replaced and the call repeated once. */
export async function tuyaCall<T = unknown>(ctx: TuyaCtx, call: TuyaCall): Promise<TuyaAnswer<T>> {
  let tok = await getAccessToken(ctx);
  let out = await send(ctx, call, tok.accessToken);
  if (!out.ok && TOKEN_CODES.has(out.code)) {
    ctx.log.info({ code: out.code }, 'tuya access token rejected, fetching a new one');
    tok = await replaceRejectedToken(ctx, tok.accessToken);
    out = await send(ctx, call, tok.accessToken);
  }
  if (!out.ok) throw tuyaError(call.what, out.code, out.msg);
  return out.answer as TuyaAnswer<T>;
}

// ---------------------------------------------------------------------------------------------------------------
// Endpoints (vendor-clouds.md §3.4)

const DEVICE_ID = /^[A-Za-z0-9_*.-]{1,64}$/;
export function isTuyaDeviceId(id: string): boolean {
  return DEVICE_ID.test(id);
}
function checkId(id: string): string {
  if (!isTuyaDeviceId(id)) throw new PermanentError('not a Tuya device id');
  return id;
}

const JsonObj = z.record(z.string(), z.json());

/** local_key is the device's LAN encryption key: it never leaves this module. */
function withoutSecrets(d: JsonObject): JsonObject {
  const { local_key: _drop, ...rest } = d;
  return rest;
}

function deviceObjects(list: unknown[] | undefined): JsonObject[] {
  const out: JsonObject[] = [];
  for (const item of list ?? []) {
    const p = JsonObj.safeParse(item);
    if (p.success && typeof p.data.id === 'string' && p.data.id !== '') out.push(withoutSecrets(p.data));
  }
  return out;
}

const DeviceListResult = z.object({
  devices: z.array(z.unknown()).optional(),
  // Same endpoint in versions 1.2/1.3 names the array `list`.
  list: z.array(z.unknown()).optional(),
  last_row_key: z.string().nullish(),
  has_more: z.boolean().optional(),
  total: z.number().optional(),
});

export interface DeviceListPage {
  devices: JsonObject[];
  lastRowKey?: string;
  hasMore: boolean;
  total?: number;
  t?: number;
}

/** GET /v1.0/iot-03/devices, one cursor page. */
export async function listDevicesPage(
  ctx: TuyaCtx,
  opts: { pageSize: number; lastRowKey?: string; deviceIds?: readonly string[]; uid?: string },
): Promise<DeviceListPage> {
  const query: Record<string, QueryValue> = { page_size: opts.pageSize };
  if (opts.lastRowKey) query.last_row_key = opts.lastRowKey;
  if (opts.deviceIds) {
    if (opts.deviceIds.length > MAX_IDS_PER_CALL) throw new PermanentError(`at most ${MAX_IDS_PER_CALL} device ids per call`);
    query.device_ids = opts.deviceIds.map(checkId).join(',');
  }
  if (opts.uid) {
    query.source_type = 'tuyaUser';
    query.source_id = opts.uid;
  }
  const a = await tuyaCall(ctx, { method: 'GET', path: '/v1.0/iot-03/devices', query, what: 'Tuya device list' });
  const r = DeviceListResult.safeParse(a.result);
  if (!r.success) throw new TransientError('Tuya device list: unexpected result shape');
  const page: DeviceListPage = { devices: deviceObjects(r.data.devices ?? r.data.list), hasMore: r.data.has_more ?? false };
  if (r.data.last_row_key) page.lastRowKey = r.data.last_row_key;
  if (r.data.total !== undefined) page.total = r.data.total;
  if (a.t !== undefined) page.t = a.t;
  return page;
}

const BatchStatusResult = z.array(z.object({ id: z.string().min(1), status: z.array(z.json()) }));

export interface DeviceStatus {
  id: string;
  status: JsonValue[];
}

/** GET /v1.0/iot-03/devices/status?device_ids=a,b,c (≤ 20 ids). */
export async function batchStatus(ctx: TuyaCtx, ids: readonly string[]): Promise<{ items: DeviceStatus[]; t?: number }> {
  if (ids.length === 0) return { items: [] };
  if (ids.length > MAX_IDS_PER_CALL) throw new PermanentError(`at most ${MAX_IDS_PER_CALL} device ids per call`);
  const a = await tuyaCall(ctx, {
    method: 'GET',
    path: '/v1.0/iot-03/devices/status',
    query: { device_ids: ids.map(checkId).join(',') },
    what: 'Tuya batch status',
  });
  const r = BatchStatusResult.safeParse(a.result);
  if (!r.success) throw new TransientError('Tuya batch status: unexpected result shape');
  return a.t === undefined ? { items: r.data } : { items: r.data, t: a.t };
}

/** GET /v1.0/iot-03/devices/{id}. */
export async function deviceDetail(ctx: TuyaCtx, id: string): Promise<{ device: JsonObject; t?: number }> {
  const a = await tuyaCall(ctx, { method: 'GET', path: `/v1.0/iot-03/devices/${encodeURIComponent(checkId(id))}`, what: 'Tuya device detail' });
  const r = JsonObj.safeParse(a.result);
  if (!r.success) throw new TransientError('Tuya device detail: unexpected result shape');
  const device = withoutSecrets(r.data);
  return a.t === undefined ? { device } : { device, t: a.t };
}

export interface TuyaCommandBody {
  commands: Array<{ code: string; value: JsonValue }>;
}

/** POST /v1.0/iot-03/devices/{id}/commands (not repeated on network errors: it may have been executed). */
export async function sendCommands(ctx: TuyaCtx, id: string, body: TuyaCommandBody): Promise<TuyaAnswer> {
  return tuyaCall(ctx, {
    method: 'POST',
    path: `/v1.0/iot-03/devices/${encodeURIComponent(checkId(id))}/commands`,
    body: body as unknown as JsonValue,
    what: 'Tuya command',
  });
}
