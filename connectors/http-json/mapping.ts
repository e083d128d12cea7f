// Pure: turns expression results into a checked MappedState and a RawRecord with a content-hash key.
import { PayloadError } from '../../src/core/errors.js';
import type { JsonObject, JsonValue, RawRecord } from '../../src/core/messages.js';
import { sha256hex } from '../../src/util/ids.js';
import type { ExprSpec } from './expr.js';
import { MAPPING_SLOTS, type Mapping, type MappingSlot } from './settings.js';

export const MAX_EVENTS_PER_RECORD = 100;
export const MAX_DEVICE_ID_LENGTH = 256;

/** What one device reported, after mapping; the body of every record this connector produces. */
export interface MappedState {
  device: string;
  telemetry?: JsonObject;
  attributes?: JsonObject;
  events?: { method: string; params: JsonObject }[];
  online?: boolean;
  ts?: number;
}

const typeName = (v: JsonValue | undefined): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

export function toDeviceId(v: JsonValue | undefined, field: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v) && v.length === 1) return toDeviceId(v[0], field);
  let s: string;
  if (typeof v === 'string') s = v.trim();
  else if (typeof v === 'number' && Number.isFinite(v)) s = String(v);
  else throw new PayloadError(`${field}: device id must be a string or number, got ${typeName(v)}`);
  if (s === '') return undefined;
  if (s.length > MAX_DEVICE_ID_LENGTH) throw new PayloadError(`${field}: device id is longer than ${MAX_DEVICE_ID_LENGTH} characters`);
  return s;
}

function toObject(v: JsonValue | undefined, field: string): JsonObject | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new PayloadError(`${field}: must produce a JSON object, got ${typeName(v)}`);
  return Object.keys(v).length > 0 ? v : undefined;
}

function toEvents(v: JsonValue | undefined, field: string): MappedState['events'] {
  if (v === undefined || v === null) return undefined;
  const list = Array.isArray(v) ? v : [v];
  if (list.length > MAX_EVENTS_PER_RECORD) throw new PayloadError(`${field}: more than ${MAX_EVENTS_PER_RECORD} events`);
  const out = list.map((e) => {
    if (!e || typeof e !== 'object' || Array.isArray(e)) throw new PayloadError(`${field}: each event must be an object {method, params}, got ${typeName(e)}`);
    const method = e.method;
    if (typeof method !== 'string' || method.trim() === '' || method.length > 128) {
      throw new PayloadError(`${field}: event method must be a non-empty string of at most 128 characters`);
    }
    const p = e.params;
    const params: JsonObject = p === undefined || p === null ? {} : typeof p === 'object' && !Array.isArray(p) ? p : { value: p };
    return { method: method.trim(), params };
  });
  return out.length > 0 ? out : undefined;
}

const TRUE = new Set(['true', 'online', '1', 'yes', 'on', 'connected', 'up']);
const FALSE = new Set(['false', 'offline', '0', 'no', 'off', 'disconnected', 'down']);

function toOnline(v: JsonValue | undefined, field: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number' && (v === 0 || v === 1)) return v === 1;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (TRUE.has(s)) return true;
    if (FALSE.has(s)) return false;
  }
  throw new PayloadError(`${field}: online flag must be a boolean (or 0/1, "online"/"offline"), got ${typeName(v)}`);
}

/** Epoch seconds, milliseconds, microseconds or nanoseconds (by magnitude), numeric strings, or ISO 8601 → ms. */
export function toTimestamp(v: JsonValue | undefined, field: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(v)) n = Number(v);
  else if (typeof v === 'string') {
    n = Date.parse(v);
    if (!Number.isFinite(n)) throw new PayloadError(`${field}: timestamp ${JSON.stringify(v.slice(0, 40))} is not a date`);
    return n;
  } else throw new PayloadError(`${field}: timestamp must be a number or a date string, got ${typeName(v)}`);
  if (!Number.isFinite(n) || n <= 0) throw new PayloadError(`${field}: timestamp must be a positive number`);
  const ms = n < 1e11 ? n * 1000 : n < 1e14 ? n : n < 1e17 ? n / 1e3 : n / 1e6;
  return Math.round(ms);
}

/** Specs of a mapping in a fixed order, for one engine call. */
export function mappingSpecs(m: Mapping): { slots: MappingSlot[]; specs: ExprSpec[] } {
  const slots = MAPPING_SLOTS.filter((s) => m[s] !== undefined);
  return { slots, specs: slots.map((s) => m[s]!) };
}

/** Checks expression results against what each slot must produce. Throws PayloadError naming the field. */
export function toMappedState(device: string, slots: readonly MappingSlot[], specs: readonly ExprSpec[], values: readonly (JsonValue | undefined)[]): MappedState {
  const out: MappedState = { device };
  slots.forEach((slot, i) => {
    const v = values[i];
    const field = specs[i]?.field ?? slot;
    switch (slot) {
      case 'telemetry': {
        const o = toObject(v, field);
        if (o) out.telemetry = o;
        break;
      }
      case 'attributes': {
        const o = toObject(v, field);
        if (o) out.attributes = o;
        break;
      }
      case 'events': {
        const e = toEvents(v, field);
        if (e) out.events = e;
        break;
      }
      case 'online': {
        const o = toOnline(v, field);
        if (o !== undefined) out.online = o;
        break;
      }
      case 'ts': {
        const t = toTimestamp(v, field);
        if (t !== undefined) out.ts = t;
        break;
      }
    }
  });
  return out;
}

/** JSON with sorted object keys, so equal content always hashes equally. */
export function stableStringify(v: JsonValue | undefined): string {
  if (v === undefined) return 'null';
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stableStringify(v[k])}`).join(',')}}`;
}

/**
 * Key = hash of device + values + timestamp. Without a vendor timestamp, `fallbackTs` (the poll time) is used
 * for polled state, so unchanged readings still count as fresh data; webhooks pass none, so a redelivered body
 * is a duplicate.
 */
export function toRecord(state: MappedState, type: 'poll' | 'webhook', fallbackTs?: number): RawRecord {
  const { device, ts, ...values } = state;
  // The source is not part of the key: the same reading seen by a poll and a webhook is one record.
  const key = sha256hex(stableStringify([device, values as JsonValue, ts ?? fallbackTs ?? null])).slice(0, 32);
  return { key: `hj:${key}`, device, type, body: state as unknown as JsonValue };
}
