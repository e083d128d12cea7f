// The one HTTP client connectors use toward vendor clouds: rate limited per access point, errors classified once.
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import pRetry from 'p-retry';
import { AuthError, PermanentError, RateLimitedError, TransientError } from './errors.js';
import { metrics } from './metrics.js';

export interface VendorRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  url: string;
  headers?: Record<string, string>;
  params?: Record<string, string | number | undefined>;
  /** A string is sent byte for byte (signing needs that); an object is JSON-encoded. */
  body?: unknown;
  timeoutMs?: number;
  /** Safe to repeat inside one attempt (GETs): short retries on network errors. */
  idempotent?: boolean;
  /** Statuses that are answers, not errors (e.g. 404 on an optional lookup). */
  acceptStatus?: number[];
}

export interface VendorResponse<T = unknown> {
  status: number;
  headers: Record<string, string>;
  data: T;
}

export interface VendorHttp {
  request<T = unknown>(req: VendorRequest): Promise<VendorResponse<T>>;
}

export interface Throttle {
  take(scope: string, rate: number, burst: number): Promise<number>;
  block(scope: string, ms: number): Promise<void>;
}

export interface VendorHttpOptions {
  connector: string;
  accessPointId: string;
  limits: { requestsPerSecond: number; burst: number };
  throttle?: Throttle;
  /** Longest we wait for a token before giving up with RateLimitedError. */
  maxThrottleWaitMs?: number;
  defaultTimeoutMs?: number;
  signal?: AbortSignal;
  userAgent?: string;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(t); reject(new TransientError('aborted')); }, { once: true });
  });

/** Parses Retry-After (seconds or HTTP date) and TTS's X-Rate-Limit-Retry; defaults to 60 s. */
export function retryAfterMs(headers: Record<string, string | undefined>, now = Date.now()): number {
  const ra = headers['retry-after'] ?? headers['x-rate-limit-retry'];
  if (ra !== undefined && ra !== '') {
    const n = Number(ra);
    if (Number.isFinite(n)) return Math.max(0, n * 1000);
    const d = Date.parse(ra);
    if (Number.isFinite(d)) return Math.max(0, d - now);
  }
  const reset = headers['x-rate-limit-reset'] ?? headers['x-ratelimit-reset'];
  if (reset !== undefined) {
    const n = Number(reset);
    if (Number.isFinite(n)) return n > 1e9 ? Math.max(0, n * 1000 - now) : n * 1000;
  }
  return 60_000;
}

/** Path only: the query may carry credentials, so it never reaches a message or a log. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return url.split('?')[0] ?? '';
  }
}

let shared: AxiosInstance | undefined;
function http(): AxiosInstance {
  shared ??= axios.create({ validateStatus: () => true, maxRedirects: 3, maxContentLength: 16 * 1024 * 1024, transitional: { clarifyTimeoutError: true } });
  return shared;
}

export function createVendorHttp(opts: VendorHttpOptions): VendorHttp {
  const labels = { connector: opts.connector, access_point: opts.accessPointId };
  const scope = `${opts.connector}:${opts.accessPointId}`;

  async function throttle(): Promise<void> {
    if (!opts.throttle) return;
    const deadline = Date.now() + (opts.maxThrottleWaitMs ?? 30_000);
    for (;;) {
      const wait = await opts.throttle.take(scope, opts.limits.requestsPerSecond, opts.limits.burst);
      if (wait <= 0) return;
      if (Date.now() + wait > deadline) throw new RateLimitedError(`rate limit of access point reached; next slot in ${wait} ms`, wait);
      await sleep(wait, opts.signal);
    }
  }

  async function once<T>(req: VendorRequest): Promise<VendorResponse<T>> {
    await throttle();
    const what = `${req.method} ${safeUrl(req.url)}`;
    let res: AxiosResponse;
    try {
      res = await http().request({
        method: req.method,
        url: req.url,
        params: req.params,
        headers: { 'user-agent': opts.userAgent ?? 'tp-cloud-connector', ...(req.body !== undefined && typeof req.body !== 'string' ? { 'content-type': 'application/json' } : {}), ...req.headers },
        data: req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body),
        timeout: req.timeoutMs ?? opts.defaultTimeoutMs ?? 10_000,
        signal: opts.signal,
        responseType: 'json',
        transformResponse: [(d: unknown) => { if (typeof d !== 'string' || d === '') return d; try { return JSON.parse(d); } catch { return d; } }],
      });
    } catch (err) {
      metrics.vendorCalls.inc({ ...labels, status: 'network' });
      const code = (err as { code?: string }).code ?? 'network error';
      throw new TransientError(`${what} failed: ${code}`);
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers ?? {})) if (v !== undefined && v !== null) headers[k.toLowerCase()] = String(v);
    metrics.vendorCalls.inc({ ...labels, status: `${Math.floor(res.status / 100)}xx` });
    const ok = (res.status >= 200 && res.status < 300) || req.acceptStatus?.includes(res.status);
    if (ok) return { status: res.status, headers, data: res.data as T };
    const detail = vendorMessage(res.data);
    if (res.status === 429) {
      const ms = retryAfterMs(headers);
      metrics.vendorRateLimited.inc(labels);
      await opts.throttle?.block(scope, ms);
      throw new RateLimitedError(`${what} → HTTP 429 (retry after ${Math.round(ms / 1000)} s)`, ms);
    }
    if (res.status === 401 || res.status === 403) throw new AuthError(`${what} → HTTP ${res.status}${detail}`);
    if (res.status >= 500 || res.status === 408) throw new TransientError(`${what} → HTTP ${res.status}${detail}`);
    throw new PermanentError(`${what} → HTTP ${res.status}${detail}`);
  }

  return {
    async request<T>(req: VendorRequest) {
      if (!req.idempotent) return once<T>(req);
      return pRetry(() => once<T>(req), {
        retries: 2,
        minTimeout: 200,
        maxTimeout: 1000,
        randomize: true,
        shouldRetry: ({ error }) => error instanceof TransientError,
        onFailedAttempt: ({ error }) => { if (error instanceof TransientError) metrics.vendorRetries.inc(labels); },
      });
    },
  };
}

/** A short vendor error text (gRPC-status `message`, Tuya `msg`), length-bounded. */
function vendorMessage(data: unknown): string {
  if (data && typeof data === 'object') {
    const m = (data as Record<string, unknown>).message ?? (data as Record<string, unknown>).msg ?? (data as Record<string, unknown>).error;
    if (typeof m === 'string' && m) return `: ${m.slice(0, 200)}`;
  }
  return '';
}
