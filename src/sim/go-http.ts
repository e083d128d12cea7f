// A tiny HTTP/1.1 client that behaves like the Go backend's net/http client where it matters to a plugin:
// the request target is sent byte-for-byte as the backend concatenates it (JSON punctuation, spaces, '+',
// '&' and non-ASCII stay raw; a '#' ends the target because Go's url.Parse treats it as a fragment), with
// Go's default headers. Used for GET /api/v1/form/config, GET /api/v1/plugin/device/list and the POSTs
// the backend makes to the plugin (contract §2).
import { connect, type Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface GoHttpResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export class GoHttpError extends Error {
  constructor(message: string, readonly status?: number, readonly body?: string) {
    super(message);
    this.name = 'GoHttpError';
  }
}

function splitHostPort(hostPort: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(hostPort) ?? /^([^:]+):(\d+)$/.exec(hostPort);
  if (!m || m[1] === undefined || m[2] === undefined) {
    // Go would default to port 80 for a bare host; the plugin address is always host:port in practice.
    if (/^[^:/]+$/.test(hostPort)) return { host: hostPort, port: 80 };
    throw new GoHttpError(`invalid http_address ${JSON.stringify(hostPort)}`);
  }
  return { host: m[1], port: Number(m[2]) };
}

/** What Go's url.Parse does to the part after the host: cut the fragment, refuse control characters. */
export function goRequestTarget(pathAndQuery: string): string {
  const hash = pathAndQuery.indexOf('#');
  const target = hash >= 0 ? pathAndQuery.slice(0, hash) : pathAndQuery;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(target)) throw new GoHttpError('net/url: invalid control character in URL');
  return target === '' ? '/' : target;
}

interface Parsed {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Returns the parsed response once `buf` holds a complete one; null if more bytes are needed. */
function tryParse(buf: Buffer, ended: boolean, method: string): Parsed | null {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) {
    if (ended) throw new GoHttpError('malformed HTTP response: connection closed before headers');
    return null;
  }
  const head = buf.subarray(0, headEnd).toString('latin1').split('\r\n');
  const statusLine = head.shift() ?? '';
  const sm = /^HTTP\/\d\.\d (\d{3})/.exec(statusLine);
  if (!sm || sm[1] === undefined) throw new GoHttpError(`malformed HTTP status line ${JSON.stringify(statusLine)}`);
  const status = Number(sm[1]);
  const headers: Record<string, string> = {};
  for (const line of head) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const rest = buf.subarray(headEnd + 4);
  if (method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200)) {
    return { status, headers, body: Buffer.alloc(0) };
  }
  if ((headers['transfer-encoding'] ?? '').toLowerCase().includes('chunked')) {
    const parts: Buffer[] = [];
    let pos = 0;
    for (;;) {
      const lineEnd = rest.indexOf('\r\n', pos);
      if (lineEnd < 0) return ended ? fail('truncated chunked body') : null;
      const size = parseInt(rest.subarray(pos, lineEnd).toString('latin1').split(';')[0] ?? '', 16);
      if (!Number.isFinite(size)) throw new GoHttpError('malformed chunk size');
      const start = lineEnd + 2;
      if (size === 0) {
        return { status, headers, body: Buffer.concat(parts) };
      }
      if (rest.length < start + size + 2) return ended ? fail('truncated chunked body') : null;
      parts.push(rest.subarray(start, start + size));
      pos = start + size + 2;
    }
  }
  const cl = headers['content-length'];
  if (cl !== undefined) {
    const n = Number(cl);
    if (rest.length >= n) return { status, headers, body: rest.subarray(0, n) };
    return ended ? fail('truncated body') : null;
  }
  return ended ? { status, headers, body: rest } : null;
}

function fail(msg: string): never {
  throw new GoHttpError(`malformed HTTP response: ${msg}`);
}

export interface GoRequestOptions {
  method: 'GET' | 'POST';
  hostPort: string;
  /** Path and query exactly as the backend concatenates them (not encoded). */
  target: string;
  body?: string;
  timeoutMs?: number;
}

/** Sends one request over a fresh TCP connection, like the Go client would, and reads one response. */
export function goRequest(opts: GoRequestOptions): Promise<GoHttpResponse> {
  const { host, port } = splitHostPort(opts.hostPort);
  const target = goRequestTarget(opts.target);
  const lines = [`${opts.method} ${target} HTTP/1.1`, `Host: ${opts.hostPort}`, 'User-Agent: Go-http-client/1.1'];
  const body = opts.body === undefined ? undefined : Buffer.from(opts.body, 'utf8');
  if (body) lines.push(`Content-Length: ${body.length}`, 'Content-Type: application/json');
  lines.push('Accept-Encoding: gzip', '', '');
  const request = Buffer.concat([Buffer.from(lines.join('\r\n'), 'utf8'), body ?? Buffer.alloc(0)]);

  return new Promise<GoHttpResponse>((resolve, reject) => {
    let settled = false;
    let chunks = Buffer.alloc(0);
    const sock: Socket = connect({ host, port });
    const done = (err: Error | null, res?: GoHttpResponse) => {
      if (settled) return;
      settled = true;
      sock.destroy();
      if (err) reject(err);
      else resolve(res as GoHttpResponse);
    };
    const check = (ended: boolean) => {
      try {
        const parsed = tryParse(chunks, ended, opts.method);
        if (!parsed) return;
        let resBody = parsed.body;
        if ((parsed.headers['content-encoding'] ?? '').toLowerCase() === 'gzip' && resBody.length > 0) resBody = gunzipSync(resBody);
        done(null, { status: parsed.status, headers: parsed.headers, body: resBody });
      } catch (e) {
        done(e as Error);
      }
    };
    sock.setTimeout(opts.timeoutMs ?? 10_000, () => done(new GoHttpError(`timeout after ${opts.timeoutMs ?? 10_000} ms: ${opts.method} http://${opts.hostPort}${target}`)));
    sock.on('connect', () => sock.write(request));
    sock.on('data', (d: Buffer) => {
      chunks = Buffer.concat([chunks, d]);
      check(false);
    });
    sock.on('end', () => check(true));
    sock.on('close', () => {
      if (!settled) check(true);
      if (!settled) done(new GoHttpError('connection closed without a response'));
    });
    sock.on('error', (e) => done(e));
  });
}

/** Parses a JSON body the way the backend does before looking at it; throws GoHttpError on bad JSON. */
export function parseJsonBody(res: GoHttpResponse): unknown {
  const text = res.body.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new GoHttpError(`response is not JSON (HTTP ${res.status}): ${text.slice(0, 200)}`, res.status, text);
  }
}
