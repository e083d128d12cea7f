// Webhooks: verification (shared secret, or HMAC over the exact raw bytes with a replay window), then mapping of
// the body with the SVCR webhook expressions into records. Fails closed: no secret configured, nothing accepted.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { WebhookRequest } from '../../src/core/connector.js';
import { PayloadError, VerificationError } from '../../src/core/errors.js';
import type { JsonValue, RawRecord } from '../../src/core/messages.js';
import { evaluateRowSync, evaluateSync, type ExprSpec } from './expr.js';
import { mappingSpecs, toDeviceId, toMappedState, toRecord } from './mapping.js';
import { DEFAULTS, type HttpJsonCred } from './schema.js';
import { webhookMapping } from './settings.js';
import { parseSignedPayload } from './templates.js';

export const MAX_WEBHOOK_ITEMS = 1000;

/** The configured secrets (current and next, for rotation); empty when webhooks are off or unconfigured. */
export function secrets(cred: HttpJsonCred): string[] {
  if (cred.webhook_auth === 'off') return [];
  return [cred.webhook_secret, cred.webhook_secret_next].filter((s): s is string => s !== undefined && s !== '');
}

/** Constant time whatever the lengths: both sides are hashed first. */
function sameSecret(a: string, b: string): boolean {
  const h = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(h(a), h(b));
}

function decodeSignature(s: string, encoding: HttpJsonCred['signature_encoding']): Buffer | null {
  if (encoding === 'hex') return /^(?:[0-9a-fA-F]{2})+$/.test(s) ? Buffer.from(s, 'hex') : null;
  return /^[A-Za-z0-9+/_-]+={0,2}$/.test(s) ? Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64') : null;
}

/** Header timestamp: epoch seconds or milliseconds (by magnitude), or an HTTP/ISO date. */
export function headerTimestampMs(v: string): number | undefined {
  const s = v.trim();
  if (/^\d{1,16}(\.\d+)?$/.test(s)) {
    const n = Number(s);
    return n < 1e11 ? n * 1000 : n;
  }
  const d = Date.parse(s);
  return Number.isFinite(d) ? d : undefined;
}

function presentedSecret(headers: WebhookRequest['headers']): string | undefined {
  const h = headers['x-webhook-secret'];
  if (h) return h;
  const auth = headers.authorization;
  return auth && /^bearer\s+/i.test(auth) ? auth.replace(/^bearer\s+/i, '') : undefined;
}

function verifyHmac(req: WebhookRequest, cred: HttpJsonCred, keys: readonly string[], now: number): void {
  const header = (cred.signature_header ?? 'x-signature').toLowerCase();
  let sig = req.headers[header]?.trim();
  if (!sig) throw new VerificationError(`signature header ${header} missing`);
  const prefix = cred.signature_prefix;
  if (prefix) {
    if (sig.slice(0, prefix.length).toLowerCase() !== prefix.toLowerCase()) throw new VerificationError('signature prefix does not match');
    sig = sig.slice(prefix.length).trim();
  }
  const given = decodeSignature(sig, cred.signature_encoding);
  if (!given) throw new VerificationError('signature is not valid ' + cred.signature_encoding);

  let tsRaw: string | undefined;
  if (cred.timestamp_header) {
    tsRaw = req.headers[cred.timestamp_header.toLowerCase()]?.trim();
    if (!tsRaw) throw new VerificationError(`timestamp header ${cred.timestamp_header.toLowerCase()} missing`);
    const ts = headerTimestampMs(tsRaw);
    if (ts === undefined) throw new VerificationError('timestamp is not a time');
    if (Math.abs(now - ts) > cred.timestamp_window_s * 1000) throw new VerificationError('timestamp outside the allowed window (replay?)');
  }
  let parts;
  try {
    parts = parseSignedPayload(cred.signed_payload ?? DEFAULTS.signedPayload);
  } catch {
    throw new VerificationError('signed_payload is misconfigured');
  }
  if (tsRaw === undefined && parts.some((p) => 'slot' in p && p.slot === 'timestamp')) throw new VerificationError('signed_payload uses {timestamp} but no timestamp_header is set');
  const signed = Buffer.concat(parts.map((p) => ('text' in p ? Buffer.from(p.text, 'utf8') : p.slot === 'body' ? req.rawBody : Buffer.from(tsRaw ?? '', 'utf8'))));
  let ok = false;
  for (const key of keys) {
    const mac = createHmac(cred.hmac_algorithm, key).update(signed).digest();
    // Lengths are public (they follow from the algorithm); the comparison itself is constant time.
    if (mac.length === given.length && timingSafeEqual(mac, given)) ok = true;
  }
  if (!ok) throw new VerificationError('signature does not match');
}

/** Throws VerificationError unless the request carries a valid secret or signature for this access point. */
export function verify(req: WebhookRequest, cred: HttpJsonCred, now: number): void {
  if (cred.webhook_auth === 'off') throw new VerificationError('webhooks are off for this access point');
  const keys = secrets(cred);
  if (keys.length === 0) throw new VerificationError('no webhook secret configured');
  if (cred.webhook_auth === 'hmac') return verifyHmac(req, cred, keys, now);
  const presented = presentedSecret(req.headers);
  let ok = false;
  for (const k of keys) if (presented !== undefined && sameSecret(presented, k)) ok = true;
  if (!ok) throw new VerificationError('webhook secret missing or wrong');
}

function itemsOf(body: JsonValue, cred: HttpJsonCred): JsonValue[] {
  let items: JsonValue | undefined = body;
  const field = 'webhook_items_expr (access point SVCR)';
  if (cred.webhook_items_expr !== undefined) [items] = evaluateRowSync([{ field, expr: cred.webhook_items_expr }], body);
  const list = items === undefined || items === null ? [] : Array.isArray(items) ? items : [items];
  if (list.length > MAX_WEBHOOK_ITEMS) throw new PayloadError(`webhook body holds more than ${MAX_WEBHOOK_ITEMS} items`);
  return list;
}

/**
 * Verifies (again, so parse is safe on its own), parses the JSON body and maps every item. Items without a
 * device id are skipped (e.g. a vendor's test ping); any other problem rejects the whole request.
 */
export function parse(req: WebhookRequest, cred: HttpJsonCred, now: number = Date.now()): RawRecord[] {
  verify(req, cred, now);
  return mapBody(req.rawBody, cred);
}

/** The mapping half of parse, without verification: for the converter CLI and mapping previews only. */
export function mapBody(rawBody: Buffer, cred: HttpJsonCred): RawRecord[] {
  let body: JsonValue;
  try {
    body = JSON.parse(rawBody.toString('utf8')) as JsonValue;
  } catch {
    throw new PayloadError('body is not valid JSON');
  }
  const items = itemsOf(body, cred);
  if (items.length === 0) return [];
  const idSpec: ExprSpec = cred.webhook_device_expr !== undefined
    ? { field: 'webhook_device_expr (access point SVCR)', expr: cred.webhook_device_expr }
    : { field: `webhook_device_expr (default ${JSON.stringify(DEFAULTS.webhookDeviceExpr)})`, expr: DEFAULTS.webhookDeviceExpr };
  const ids = evaluateSync([idSpec], items.map((input) => ({ input })));
  const rows: { device: string; input: JsonValue }[] = [];
  ids.forEach((r, i) => {
    if (!r.ok) throw r.error;
    const device = toDeviceId(r.values[0], idSpec.field);
    if (device !== undefined) rows.push({ device, input: items[i] ?? null });
  });
  if (rows.length === 0) return [];
  const { slots, specs } = mappingSpecs(webhookMapping(cred));
  const mapped = evaluateSync(specs, rows.map((row) => ({ input: row.input, bindings: { device: row.device } })));
  return mapped.map((r, i) => {
    if (!r.ok) throw r.error;
    return toRecord(toMappedState(rows[i]!.device, slots, specs, r.values), 'webhook');
  });
}
