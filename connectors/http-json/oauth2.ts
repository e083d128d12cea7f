// OAuth2 client-credentials tokens: cached in ctx.store encrypted with a key derived from the client secret,
// refreshed before expiry, fetched once at a time across replicas (ctx.store.withLock) and within a process.
import { metrics } from '../../src/core/metrics.js';
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { ApStore, Ctx } from '../../src/core/connector.js';
import { AuthError, PermanentError, TransientError } from '../../src/core/errors.js';
import { shortId } from '../../src/util/ids.js';
import type { HttpJsonCred } from './schema.js';

/** Refresh this long before expiry (capped at a quarter of the token's lifetime). */
export const REFRESH_MARGIN_MS = 60_000;
const LOCK_TTL_MS = 15_000;
const DEFAULT_EXPIRES_S = 300;

interface CachedToken {
  accessToken: string;
  expiresAt: number;
  refreshAt: number;
}

function tokenUrl(cred: HttpJsonCred): string {
  const t = cred.token_url ?? '';
  if (/^https?:\/\//i.test(t)) return t;
  return `${new URL(cred.base_url).origin}/${t.replace(/^\/+/, '')}`;
}

function identity(cred: HttpJsonCred): string {
  return `${tokenUrl(cred)}\u0000${cred.client_id ?? ''}\u0000${cred.scope ?? ''}`;
}

/** Store key: changes when the token URL, client or scope change, so a stale token is never reused. */
export function tokenStoreKey(cred: HttpJsonCred): string {
  return `http-json:oauth2:${shortId(identity(cred), 16)}`;
}

function keyFor(cred: HttpJsonCred): Buffer {
  return Buffer.from(hkdfSync('sha256', cred.client_secret ?? '', identity(cred), 'tp-cloud-connector/http-json/oauth2-token-cache/v1', 32));
}

/** AES-256-GCM, the store key as associated data: `v1.<iv>.<tag>.<ciphertext>` in base64url. */
export function sealToken(cred: HttpJsonCred, t: CachedToken): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', keyFor(cred), iv);
  c.setAAD(Buffer.from(tokenStoreKey(cred)));
  const ct = Buffer.concat([c.update(JSON.stringify(t), 'utf8'), c.final()]);
  return ['v1', iv.toString('base64url'), c.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
}

const cachedSchema = z.object({ accessToken: z.string().min(1), expiresAt: z.number(), refreshAt: z.number() });

/** Null when absent, tampered with, or sealed under another secret. */
export function openToken(cred: HttpJsonCred, sealed: string | null): CachedToken | null {
  if (!sealed) return null;
  const [v, iv, tag, ct] = sealed.split('.');
  if (v !== 'v1' || !iv || !tag || ct === undefined) return null;
  try {
    const d = createDecipheriv('aes-256-gcm', keyFor(cred), Buffer.from(iv, 'base64url'));
    d.setAAD(Buffer.from(tokenStoreKey(cred)));
    d.setAuthTag(Buffer.from(tag, 'base64url'));
    const plain = Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()]).toString('utf8');
    const r = cachedSchema.safeParse(JSON.parse(plain));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

const tokenResponse = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]).optional(),
});

async function fetchToken(ctx: Ctx<HttpJsonCred>): Promise<CachedToken> {
  const cred = ctx.cred;
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (cred.scope) form.set('scope', cred.scope);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (cred.client_auth === 'basic') {
    // RFC 6749 §2.3.1: both parts form-urlencoded before Basic encoding.
    const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
    headers.authorization = `Basic ${Buffer.from(`${enc(cred.client_id ?? '')}:${enc(cred.client_secret ?? '')}`).toString('base64')}`;
  } else {
    form.set('client_id', cred.client_id ?? '');
    form.set('client_secret', cred.client_secret ?? '');
  }
  const started = ctx.now();
  let res;
  try {
    res = await ctx.http.request<unknown>({ method: 'POST', url: tokenUrl(cred), headers, body: form.toString(), acceptStatus: [400] });
  } catch (err) {
    if (err instanceof PermanentError) throw new AuthError(`OAuth2 token endpoint rejected the request: ${err.message}`);
    throw err;
  }
  if (res.status === 400) {
    const code = (res.data as { error?: unknown } | null)?.error;
    throw new AuthError(`OAuth2 token endpoint rejected the client credentials${typeof code === 'string' ? `: ${code.slice(0, 80)}` : ''}`);
  }
  const body = tokenResponse.safeParse(res.data);
  if (!body.success) throw new TransientError('OAuth2 token endpoint answered without an access_token');
  if (body.data.token_type && body.data.token_type.toLowerCase() !== 'bearer') {
    throw new AuthError(`OAuth2 token type ${body.data.token_type.slice(0, 20)} is not supported (bearer only)`);
  }
  const lifetimeMs = Math.max(1, body.data.expires_in ?? DEFAULT_EXPIRES_S) * 1000;
  const margin = Math.min(REFRESH_MARGIN_MS, lifetimeMs / 4);
  return { accessToken: body.data.access_token, expiresAt: started + lifetimeMs, refreshAt: started + lifetimeMs - margin };
}

// In-process single flight, per store (one store = one access point in one process).
const flights = new WeakMap<ApStore, Map<string, Promise<string>>>();

/** A valid access token: from the store when fresh, else fetched under the access point's lock. */
export async function getAccessToken(ctx: Ctx<HttpJsonCred>): Promise<string> {
  const key = tokenStoreKey(ctx.cred);
  const fresh = (t: CachedToken | null): t is CachedToken => t !== null && ctx.now() < t.refreshAt;
  const cached = openToken(ctx.cred, await ctx.store.get(key));
  if (fresh(cached)) return cached.accessToken;

  let mine = flights.get(ctx.store);
  if (!mine) flights.set(ctx.store, (mine = new Map()));
  const inflight = mine.get(key);
  if (inflight) return inflight;
  const p = ctx.store.withLock(`http-json-oauth2:${shortId(key, 8)}`, LOCK_TTL_MS, async () => {
    // Another replica may have refreshed while we waited for the lock.
    const again = openToken(ctx.cred, await ctx.store.get(key));
    if (fresh(again)) return again.accessToken;
    const labels = { connector: 'http-json', access_point: ctx.accessPoint.id };
    const t = await fetchToken(ctx).catch((err: unknown) => {
      metrics.tokenRefreshes.inc({ ...labels, outcome: 'error' });
      throw err;
    });
    metrics.tokenRefreshes.inc({ ...labels, outcome: 'ok' });
    await ctx.store.set(key, sealToken(ctx.cred, t), Math.max(1, t.expiresAt - ctx.now()));
    ctx.log.debug({ expiresInS: Math.round((t.expiresAt - ctx.now()) / 1000) }, 'http-json: OAuth2 token refreshed');
    return t.accessToken;
  });
  mine.set(key, p);
  try {
    return await p;
  } finally {
    mine.delete(key);
  }
}

/** Forgets `token` after the vendor refused it, unless another caller already replaced it. */
export async function dropAccessToken(ctx: Ctx<HttpJsonCred>, token: string): Promise<void> {
  const key = tokenStoreKey(ctx.cred);
  const cached = openToken(ctx.cred, await ctx.store.get(key));
  if (cached === null || cached.accessToken === token) await ctx.store.del(key);
}
