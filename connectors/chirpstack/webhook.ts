// Pure webhook side of the ChirpStack HTTP integration: accepted secrets and request → RawRecord[] (the secret is checked before, by the pipeline).
import { z } from 'zod';
import type { WebhookRequest } from '../../src/core/connector.js';
import { PayloadError } from '../../src/core/errors.js';
import type { JsonValue, RawRecord } from '../../src/core/messages.js';
import { sha256hex } from '../../src/util/ids.js';
import { check, deviceInfoSchema, isEventType } from './events.js';
import type { ChirpstackCred } from './schema.js';

export function secrets(cred: ChirpstackCred): string[] {
  return cred.webhookSecrets;
}

// Only what routing, the tenant check and the idempotency key need; normalise validates the rest.
const envelope = z.object({
  deviceInfo: deviceInfoSchema,
  deduplicationId: z.string().default(''),
  devAddr: z.string().default(''),
  fCnt: z.number().int().min(0).default(0),
});

/** JSON with object keys sorted, so the same event always hashes the same whatever the key order. */
export function canonicalJson(v: JsonValue): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(v).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k] as JsonValue)}`).join(',')}}`;
}

function requireJson(contentType: string | undefined): void {
  const ct = (contentType ?? '').toLowerCase();
  if (ct.includes('application/octet-stream') || ct.includes('protobuf')) {
    // "content-type" in the reason makes the webhook answer 415.
    throw new PayloadError(`unsupported content-type ${(ct.split(';')[0] ?? '').slice(0, 64)}: ChirpStack is sending Protobuf; set the HTTP integration "Payload encoding" to JSON`);
  }
}

function parseBody(raw: Buffer): Record<string, JsonValue> {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new PayloadError('body is not valid JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new PayloadError('body is not a JSON object');
  if (depth(body) > MAX_DEPTH) throw new PayloadError(`body is nested deeper than ${MAX_DEPTH} levels`);
  return body as Record<string, JsonValue>;
}

/** Real events are < 10 levels deep; the bound keeps the recursive hashing and validation below off the stack limit. */
const MAX_DEPTH = 64;

function depth(root: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[root, 1]];
  for (let top = stack.pop(); top; top = stack.pop()) {
    const [v, d] = top;
    if (v === null || typeof v !== 'object') continue;
    if (d > max) max = d;
    if (max > MAX_DEPTH) return max;
    for (const c of Object.values(v)) stack.push([c, d + 1]);
  }
  return max;
}

export function parse(req: WebhookRequest, cred: ChirpstackCred): RawRecord[] {
  requireJson(req.headers['content-type']);
  const event = req.query.event?.trim().toLowerCase();
  if (!event) throw new PayloadError('missing ?event= query parameter (ChirpStack adds it to the configured endpoint URL)');
  if (!isEventType(event)) return [];

  const body = parseBody(req.rawBody);
  if (!('deviceInfo' in body) && ('devEUI' in body || 'applicationID' in body)) {
    throw new PayloadError('this looks like a ChirpStack v3 event; only ChirpStack v4 JSON events are supported');
  }
  const env = check(envelope, body, event);
  const appId = env.deviceInfo.applicationId.toLowerCase();
  if (appId !== cred.applicationId) {
    throw new PayloadError(appId === ''
      ? `event has no deviceInfo.applicationId; this access point accepts application ${cred.applicationId} only`
      : `event belongs to application ${appId.slice(0, 64)}; this access point accepts application ${cred.applicationId} only`);
  }
  const device = env.deviceInfo.devEui.toLowerCase();
  const key = event === 'up'
    ? env.deduplicationId || `up:${device}:${env.devAddr}:${env.fCnt}`
    : sha256hex(`${event}\n${canonicalJson(body)}`);
  return [{ key, device, type: event, body }];
}
