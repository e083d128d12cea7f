// The Things Stack v3: webhook request → raw records (pure). One ApplicationUp per request.
import { z } from 'zod';
import type { WebhookRequest } from '../../src/core/connector.js';
import { PayloadError } from '../../src/core/errors.js';
import type { JsonValue, RawRecord } from '../../src/core/messages.js';
import { sha256hex } from '../../src/util/ids.js';
import type { TtsCred } from './schema.js';

/** Message types TTS can send (lorawan-stack pkg/applicationserver/io/web). */
export const MESSAGE_TYPES = [
  'uplink_message', 'uplink_normalized', 'join_accept', 'downlink_ack', 'downlink_nack', 'downlink_sent',
  'downlink_failed', 'downlink_queued', 'downlink_queue_invalidated', 'location_solved', 'service_data',
] as const;

const envelope = z.object({
  end_device_ids: z.object({
    device_id: z.string().min(1).max(36),
    application_ids: z.object({ application_id: z.string().min(1) }),
    dev_eui: z.string().optional(),
  }),
  correlation_ids: z.array(z.string()).optional().default([]),
  received_at: z.string().optional(),
});

export function secrets(cred: TtsCred): string[] {
  return cred.webhook_secret.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

export function parse(req: WebhookRequest, cred: TtsCred): RawRecord[] {
  const ct = req.headers['content-type'] ?? '';
  if (!/^application\/(?:[\w.+-]*\+)?json\b/i.test(ct)) throw new PayloadError(`content-type must be application/json (TTS webhook format "json"), got "${ct.slice(0, 60)}"`);
  let body: unknown;
  try {
    body = JSON.parse(req.rawBody.toString('utf8'));
  } catch {
    throw new PayloadError('body is not valid JSON');
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new PayloadError('body must be a JSON object (ApplicationUp)');
  const env = envelope.safeParse(body);
  if (!env.success) throw new PayloadError(`not a TTS ApplicationUp: ${env.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`);
  const app = env.data.end_device_ids.application_ids.application_id;
  if (app !== cred.application_id) throw new PayloadError(`application "${app}" does not belong to this access point`);
  const type = MESSAGE_TYPES.find((t) => t in (body as Record<string, unknown>));
  if (!type) throw new PayloadError(`no known message type in body (expected one of ${MESSAGE_TYPES.join(', ')})`);
  const msg = (body as Record<string, unknown>)[type];
  if (!msg || typeof msg !== 'object' || Array.isArray(msg)) throw new PayloadError(`${type} must be an object`);
  // as:up:<ULID> is unique per uplink; other messages hash their content (TTS sends each at most once, so a
  // replay of the exact same body is the same record).
  const up = env.data.correlation_ids.find((c) => c.startsWith('as:up:'));
  const key = type === 'uplink_message' && up ? `${app}:${up}` : `${app}:${type}:${sha256hex(req.rawBody)}`;
  return [{ key, device: env.data.end_device_ids.device_id, type, body: body as JsonValue }];
}

/** The webhook id TTS itself puts in X-Downlink-Push: .../webhooks/{webhook_id}/devices/{device_id}/down/push. */
export function learn(req: WebhookRequest): Record<string, string> {
  const push = req.headers['x-downlink-push'];
  if (!push) return {};
  const m = /\/webhooks\/([^/]+)\/devices\//.exec(push);
  return m?.[1] ? { webhook_id: decodeURIComponent(m[1]) } : {};
}
