// Pure: a mapped record → platform messages. No expressions run here; poll.run and webhook.parse already mapped.
import { z } from 'zod';
import { PayloadError } from '../../src/core/errors.js';
import type { NormaliseMeta } from '../../src/core/connector.js';
import type { JsonObject, JsonValue, PlatformMessage, RawRecord } from '../../src/core/messages.js';
import type { MappedState } from './mapping.js';

const json: z.ZodType<JsonValue> = z.lazy(() => z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(json), z.record(z.string(), json)]));
const object = z.record(z.string(), json) as z.ZodType<JsonObject>;

const mappedSchema = z.object({
  device: z.string().min(1).max(256),
  telemetry: object.optional(),
  attributes: object.optional(),
  events: z.array(z.object({ method: z.string().min(1).max(128), params: object })).max(100).optional(),
  online: z.boolean().optional(),
  ts: z.number().int().positive().optional(),
}) satisfies z.ZodType<MappedState>;

export function normalise(record: RawRecord, _meta: NormaliseMeta): PlatformMessage[] {
  if (record.type !== 'poll' && record.type !== 'webhook') throw new PayloadError(`http-json: unknown record type ${JSON.stringify(record.type).slice(0, 40)}`);
  const r = mappedSchema.safeParse(record.body);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new PayloadError(`http-json: malformed record${i ? ` at ${i.path.join('.') || '(root)'}: ${i.message}` : ''}`);
  }
  const s = r.data;
  const at = s.ts !== undefined ? { ts: s.ts } : {};
  const out: PlatformMessage[] = [];
  if (s.telemetry && Object.keys(s.telemetry).length > 0) out.push({ kind: 'telemetry', device: s.device, values: s.telemetry, ...at });
  if (s.attributes && Object.keys(s.attributes).length > 0) out.push({ kind: 'attributes', device: s.device, values: s.attributes, ...at });
  for (const e of s.events ?? []) out.push({ kind: 'event', device: s.device, method: e.method, params: e.params, ...at });
  if (s.online !== undefined) out.push({ kind: 'status', device: s.device, online: s.online, ...at });
  return out;
}
