// Pure Tuya OpenAPI request signing (vendor-clouds.md §3.3): HMAC-SHA256 over client_id [+ token] + t + nonce + stringToSign.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export type QueryValue = string | number | boolean | undefined;
/** Extra headers covered by the signature, in the order they are listed in `Signature-Headers`. */
export type SignedHeaders = ReadonlyArray<readonly [string, string]>;

/** Path plus query sorted by key, `k=v` joined by `&`, not percent-encoded: the url Tuya signs. */
export function signedUrl(path: string, query: Readonly<Record<string, QueryValue>> = {}): string {
  const pairs = Object.keys(query)
    .filter((k) => query[k] !== undefined)
    .sort()
    .map((k) => `${k}=${String(query[k])}`);
  return pairs.length ? `${path}?${pairs.join('&')}` : path;
}

/** The same query percent-encoded for the wire; key order matches the signed url. */
export function wireUrl(path: string, query: Readonly<Record<string, QueryValue>> = {}): string {
  const pairs = Object.keys(query)
    .filter((k) => query[k] !== undefined)
    .sort()
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(String(query[k]))}`);
  return pairs.length ? `${path}?${pairs.join('&')}` : path;
}

export function sha256Hex(body: string | Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

export interface StringToSignInput {
  method: string;
  /** Exact body bytes sent; undefined or '' for none. */
  body?: string | Buffer;
  signedHeaders?: SignedHeaders;
  /** From signedUrl(). */
  url: string;
}

export function stringToSign(i: StringToSignInput): string {
  const bodyHash = i.body === undefined || i.body.length === 0 ? EMPTY_BODY_SHA256 : sha256Hex(i.body);
  const headers = (i.signedHeaders ?? []).map(([k, v]) => `${k}:${v}\n`).join('');
  return `${i.method.toUpperCase()}\n${bodyHash}\n${headers}\n${i.url}`;
}

/** `Signature-Headers` value for the given signed headers, or undefined when there are none. */
export function signatureHeadersValue(h: SignedHeaders | undefined): string | undefined {
  return h && h.length ? h.map(([k]) => k).join(':') : undefined;
}

export function hmacUpperHex(secret: string, message: string): string {
  return createHmac('sha256', secret).update(message, 'utf8').digest('hex').toUpperCase();
}

export interface SignParts {
  clientId: string;
  secret: string;
  t: string;
  nonce?: string;
  stringToSign: string;
}

/** Token API (GET /v1.0/token...): no access_token in the signed string. */
export function signTokenRequest(p: SignParts): string {
  return hmacUpperHex(p.secret, p.clientId + p.t + (p.nonce ?? '') + p.stringToSign);
}

/** Business API: access_token between client_id and t. */
export function signBusinessRequest(p: SignParts & { accessToken: string }): string {
  return hmacUpperHex(p.secret, p.clientId + p.accessToken + p.t + (p.nonce ?? '') + p.stringToSign);
}

/** Legacy (projects created before 2021-06-30) token request: HMAC(client_id + t). */
export function signLegacyTokenRequest(p: { clientId: string; secret: string; t: string }): string {
  return hmacUpperHex(p.secret, p.clientId + p.t);
}

/** Legacy business request: HMAC(client_id + access_token + t). */
export function signLegacyBusinessRequest(p: { clientId: string; secret: string; accessToken: string; t: string }): string {
  return hmacUpperHex(p.secret, p.clientId + p.accessToken + p.t);
}

/** Constant-time comparison of two hex signatures (case-insensitive). */
export function signaturesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a.toUpperCase(), 'utf8');
  const y = Buffer.from(b.toUpperCase(), 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
