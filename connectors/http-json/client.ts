// The only I/O toward the vendor: authenticated calls (re-auth and retry once on 401) and bounded pagination.
import type { Ctx } from '../../src/core/connector.js';
import { AuthError, PayloadError, PermanentError } from '../../src/core/errors.js';
import type { JsonValue } from '../../src/core/messages.js';
import { safeUrl, type VendorResponse } from '../../src/core/vendor-http.js';
import { evaluateRow, type ExprSpec } from './expr.js';
import { dropAccessToken, getAccessToken } from './oauth2.js';
import { parseExtraHeaders, type HttpJsonCred } from './schema.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Hard cap on items collected by one paginated listing, whatever max_pages says. */
export const MAX_ITEMS = 100_000;

/**
 * Joins a path to the base URL (keeping the base path, e.g. /v1) or takes an absolute URL, and refuses any
 * origin other than the base URL's: credentials must never follow a vendor-supplied link elsewhere.
 */
export function resolveUrl(base: string, path: string, relativeTo?: string): URL {
  const b = new URL(base);
  let u: URL;
  if (/^[a-z][a-z0-9+.-]*:/i.test(path)) u = new URL(path);
  else if (relativeTo !== undefined) u = new URL(path, relativeTo);
  else u = new URL(`${b.origin}${b.pathname.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`);
  if (u.origin !== b.origin) throw new PermanentError(`refusing to call ${u.protocol}//${u.host}: only ${b.origin} (base_url) is allowed`);
  return u;
}

export interface CallOptions {
  method: HttpMethod;
  /** Path relative to base_url, or an absolute URL on the same origin. */
  url: string;
  params?: Record<string, string | number | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  /** Statuses handed back instead of thrown (e.g. 4xx for a command's success predicate). */
  acceptStatus?: number[];
  idempotent?: boolean;
}

function authParts(cred: HttpJsonCred, token: string | undefined): { headers: Record<string, string>; params: Record<string, string> } {
  switch (cred.auth_method) {
    case 'api_key_header':
      return { headers: { [(cred.api_key_name ?? 'X-API-Key').toLowerCase()]: cred.api_key ?? '' }, params: {} };
    case 'api_key_query':
      return { headers: {}, params: { [cred.api_key_name ?? 'api_key']: cred.api_key ?? '' } };
    case 'bearer':
      return { headers: { authorization: `Bearer ${cred.api_key ?? ''}` }, params: {} };
    case 'basic':
      return { headers: { authorization: `Basic ${Buffer.from(`${cred.username ?? ''}:${cred.password ?? ''}`).toString('base64')}` }, params: {} };
    case 'oauth2_client_credentials':
      return { headers: { authorization: `Bearer ${token ?? ''}` }, params: {} };
    case 'none':
      return { headers: {}, params: {} };
  }
}

async function tokenExpired(ctx: Ctx<HttpJsonCred>, res: VendorResponse): Promise<boolean> {
  const expr = ctx.cred.auth_expired_expr;
  if (expr === undefined) return false;
  const [v] = await evaluateRow([{ field: 'auth_expired_expr (access point SVCR)', expr }], { status: res.status, body: res.data as JsonValue });
  return v === true;
}

/** One authenticated request. A 401 (or auth_expired_expr) with OAuth2 drops the token and retries once. */
export async function call<T = unknown>(ctx: Ctx<HttpJsonCred>, o: CallOptions): Promise<VendorResponse<T> & { url: string }> {
  const cred = ctx.cred;
  const url = resolveUrl(cred.base_url, o.url).toString();
  const extra = parseExtraHeaders(cred.extra_headers);
  const oauth = cred.auth_method === 'oauth2_client_credentials';
  for (let attempt = 0; ; attempt++) {
    const token = oauth ? await getAccessToken(ctx) : undefined;
    const auth = authParts(cred, token);
    const res = await ctx.http.request<T>({
      method: o.method,
      url,
      headers: { accept: 'application/json', ...extra, ...o.headers, ...auth.headers },
      params: { ...o.params, ...auth.params },
      ...(o.body !== undefined ? { body: o.body } : {}),
      acceptStatus: [401, ...(o.acceptStatus ?? [])],
      ...(o.idempotent !== undefined ? { idempotent: o.idempotent } : {}),
    });
    const refused = res.status === 401 || (res.status < 300 && (await tokenExpired(ctx, res)));
    if (!refused) return { ...res, url };
    const why = res.status === 401 ? 'HTTP 401' : 'auth_expired_expr matched the answer';
    if (oauth && attempt === 0 && token !== undefined) {
      await dropAccessToken(ctx, token);
      continue;
    }
    throw new AuthError(`${o.method} ${safeUrl(url)} → ${why}${oauth ? ' (after a token refresh)' : ''}`);
  }
}

function asArray(v: JsonValue | undefined, field: string): JsonValue[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v;
  if (typeof v === 'object') return [v];
  throw new PayloadError(`${field}: must produce an array of items, got ${typeof v}`);
}

/** `<url>; rel="next"` from an RFC 8288 Link header. */
export function nextFromLinkHeader(link: string | undefined): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (m && /;\s*rel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?\s*(;|$)/i.test(m[2] ?? '')) return m[1];
  }
  return undefined;
}

export interface PageSettings {
  style: HttpJsonCred['page_style'];
  pageParam: string | undefined;
  sizeParam: string | undefined;
  pageSize: number;
  firstPage: number;
  maxPages: number;
  next: ExprSpec | undefined;
}

export function pageSettings(cred: HttpJsonCred): PageSettings {
  const dflt: Record<HttpJsonCred['page_style'], [string | undefined, string | undefined]> = {
    none: [undefined, undefined],
    page: ['page', 'page_size'],
    offset: ['offset', 'limit'],
    cursor: ['cursor', 'limit'],
    next_link: [undefined, undefined],
  };
  const [p, s] = dflt[cred.page_style];
  const next = cred.next_expr !== undefined
    ? { field: 'next_expr (access point SVCR)', expr: cred.next_expr }
    : cred.page_style === 'cursor' ? { field: 'next_expr (default "next_cursor")', expr: 'next_cursor' } : undefined;
  return {
    style: cred.page_style,
    pageParam: cred.page_param ?? p,
    sizeParam: cred.size_param ?? s,
    pageSize: cred.page_size,
    firstPage: cred.first_page,
    maxPages: cred.max_pages,
    next,
  };
}

function cursorValue(v: JsonValue | undefined, field: string): string | undefined {
  if (v === undefined || v === null || v === '' || v === false) return undefined;
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  throw new PayloadError(`${field}: must produce a string, number or nothing, got ${Array.isArray(v) ? 'array' : typeof v}`);
}

/**
 * Fetches every page of a list endpoint (bounded by max_pages and MAX_ITEMS) and returns the items selected by
 * `items`. `truncated` says the bound was hit before the vendor said "no more".
 */
export async function fetchAllPages(ctx: Ctx<HttpJsonCred>, path: string, items: ExprSpec): Promise<{ items: JsonValue[]; pages: number; truncated: boolean }> {
  const ps = pageSettings(ctx.cred);
  const out: JsonValue[] = [];
  const size = ps.sizeParam ? { [ps.sizeParam]: ps.pageSize } : {};
  let url = path;
  let offset = 0;
  let cursor: string | undefined;
  const seen = new Set<string>();
  for (let page = 0; page < ps.maxPages; page++) {
    let params: Record<string, string | number | undefined> = {};
    if (ps.style === 'page') params = { ...size, [ps.pageParam ?? 'page']: ps.firstPage + page };
    else if (ps.style === 'offset') params = { ...size, [ps.pageParam ?? 'offset']: offset };
    else if (ps.style === 'cursor') params = { ...size, ...(cursor !== undefined ? { [ps.pageParam ?? 'cursor']: cursor } : {}) };
    else if (ps.style === 'next_link' && page === 0) params = size;
    const res = await call<JsonValue>(ctx, { method: 'GET', url, params, idempotent: true });
    const specs = ps.next && (ps.style === 'cursor' || ps.style === 'next_link') ? [items, ps.next] : [items];
    const [got, next] = await evaluateRow(specs, res.data ?? null);
    const list = asArray(got, items.field);
    out.push(...list.slice(0, MAX_ITEMS - out.length));
    const done = (() => {
      switch (ps.style) {
        case 'none':
          return true;
        case 'page':
        case 'offset':
          offset += list.length;
          return list.length < ps.pageSize || list.length === 0;
        case 'cursor': {
          const c = cursorValue(next, ps.next?.field ?? 'next_expr');
          if (c === undefined || c === cursor || list.length === 0) return true;
          cursor = c;
          return false;
        }
        case 'next_link': {
          const link = ps.next ? cursorValue(next, ps.next.field) : nextFromLinkHeader(res.headers.link);
          if (link === undefined) return true;
          const u = resolveUrl(ctx.cred.base_url, link, res.url).toString();
          if (seen.has(u) || u === res.url) return true;
          seen.add(res.url);
          url = u;
          return false;
        }
      }
    })();
    if (done) return { items: out, pages: page + 1, truncated: false };
    if (out.length >= MAX_ITEMS) return { items: out, pages: page + 1, truncated: true };
  }
  return { items: out, pages: ps.maxPages, truncated: true };
}

