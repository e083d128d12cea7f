// Pure mapping of Tuya records (polled status/online/detail, MQ protocol-4 status reports) to platform messages.
import { PayloadError } from '../../src/core/errors.js';
import type { NormaliseMeta } from '../../src/core/connector.js';
import type { JsonObject, JsonValue, PlatformMessage, RawRecord } from '../../src/core/messages.js';

/** Record types produced by poll.ts (and, later, the MQ consumer). */
export const RECORD_TYPES = { status: 'status', online: 'online', detail: 'detail', mqStatus: 'mq-status' } as const;

type AttrKind = 'text' | 'boolean' | 'epochSeconds';
interface AttrDescriptor {
  /** Tuya field name, also used as the attribute name. */
  key: string;
  kind: AttrKind;
}

/**
 * Device fields published as attributes. Deliberately absent: local_key (the device's LAN key, a secret),
 * online (a status message), update_time (changes with every status change), uid/owner_id (account ids).
 */
export const DETAIL_FIELDS: readonly AttrDescriptor[] = [
  { key: 'name', kind: 'text' },
  { key: 'product_name', kind: 'text' },
  { key: 'product_id', kind: 'text' },
  { key: 'category', kind: 'text' },
  { key: 'category_name', kind: 'text' },
  { key: 'model', kind: 'text' },
  { key: 'uuid', kind: 'text' },
  { key: 'ip', kind: 'text' },
  { key: 'time_zone', kind: 'text' },
  { key: 'lat', kind: 'text' },
  { key: 'lon', kind: 'text' },
  { key: 'icon', kind: 'text' },
  { key: 'gateway_id', kind: 'text' },
  { key: 'node_id', kind: 'text' },
  { key: 'sub', kind: 'boolean' },
  { key: 'active_time', kind: 'epochSeconds' },
  { key: 'create_time', kind: 'epochSeconds' },
];

const ATTR_CONVERT: Record<AttrKind, (v: JsonValue | undefined) => JsonValue | undefined> = {
  text: (v) => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined),
  boolean: (v) => (typeof v === 'boolean' ? v : undefined),
  // Tuya's device times are epoch seconds (unlike `t`, which is ms).
  epochSeconds: (v) => (typeof v === 'number' && v > 0 && v < 1e11 ? new Date(Math.round(v * 1000)).toISOString() : undefined),
};

/** Only the descriptor-table fields of a vendor device object (what poll.ts stores in a detail record). */
export function pickDetail(device: JsonObject): JsonObject {
  const out: [string, JsonValue][] = [];
  for (const d of DETAIL_FIELDS) {
    const v = Object.hasOwn(device, d.key) ? device[d.key] : undefined;
    if (v !== undefined && v !== null) out.push([d.key, v]);
  }
  return Object.fromEntries(out);
}

// ---------------------------------------------------------------------------------------------------------------

const MAX_CODE_LEN = 128;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function field(o: JsonObject, k: string): JsonValue | undefined {
  return Object.hasOwn(o, k) ? o[k] : undefined;
}

/** Epoch ms when plausible, else undefined (the pipeline then uses the receive time). */
function epochMs(v: JsonValue | undefined): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 && v < 1e14 ? v : undefined;
}

function deviceId(body: JsonObject, ...keys: string[]): string {
  for (const k of keys) {
    const v = field(body, k);
    if (typeof v === 'string' && v !== '' && v.length <= 128) return v;
  }
  throw new PayloadError(`Tuya record without a device id (${keys.join(' or ')})`);
}

/** Json-type data points arrive as JSON text (e.g. "{\"h\":37.0,...}"): publish them as objects. */
export function decodeValue(v: JsonValue): JsonValue {
  if (typeof v !== 'string') return v;
  const s = v.trim();
  if (!(s.startsWith('{') && s.endsWith('}')) && !(s.startsWith('[') && s.endsWith(']'))) return v;
  try {
    return JSON.parse(s) as JsonValue;
  } catch {
    return v;
  }
}

/** [{code, value, t?}] → telemetry, one message per distinct item time (MQ reports carry one per item). */
function statusToTelemetry(body: JsonObject): PlatformMessage[] {
  const device = deviceId(body, 'id', 'devId');
  const status = field(body, 'status');
  if (!Array.isArray(status)) throw new PayloadError('Tuya status record without a status list');
  const bodyTs = epochMs(field(body, 't'));
  const groups = new Map<number | undefined, [string, JsonValue][]>();
  for (const item of status) {
    if (!isObject(item)) continue;
    const code = field(item, 'code');
    const value = field(item, 'value');
    // Tolerant: Tuya adds keys at will (e.g. "<dpId>": "<value>" in MQ reports); items without code/value are skipped.
    if (typeof code !== 'string' || code === '' || code.length > MAX_CODE_LEN || value === undefined) continue;
    const ts = epochMs(field(item, 't')) ?? bodyTs;
    const g = groups.get(ts) ?? [];
    g.push([code, decodeValue(value)]);
    groups.set(ts, g);
  }
  const out: PlatformMessage[] = [];
  for (const [ts, entries] of groups) {
    // fromEntries defines own properties, so a code named "__proto__" stays data.
    const msg: PlatformMessage = { kind: 'telemetry', device, values: Object.fromEntries(entries) };
    if (ts !== undefined) msg.ts = ts;
    out.push(msg);
  }
  return out;
}

function onlineToStatus(body: JsonObject): PlatformMessage[] {
  const device = deviceId(body, 'id', 'devId');
  const online = field(body, 'online');
  if (typeof online !== 'boolean') throw new PayloadError('Tuya online record without a boolean online flag');
  const msg: PlatformMessage = { kind: 'status', device, online };
  const ts = epochMs(field(body, 't'));
  if (ts !== undefined) msg.ts = ts;
  return [msg];
}

/** body = { t?, device: <device object as in the device list / detail answers> }. */
function detailToAttributes(body: JsonObject): PlatformMessage[] {
  const dev = field(body, 'device');
  if (!isObject(dev)) throw new PayloadError('Tuya detail record without a device object');
  const device = deviceId(dev, 'id');
  const values: [string, JsonValue][] = [];
  for (const d of DETAIL_FIELDS) {
    const v = ATTR_CONVERT[d.kind](field(dev, d.key));
    if (v !== undefined) values.push([d.key, v]);
  }
  if (values.length === 0) return [];
  const msg: PlatformMessage = { kind: 'attributes', device, values: Object.fromEntries(values) };
  const ts = epochMs(field(body, 't'));
  if (ts !== undefined) msg.ts = ts;
  return [msg];
}

const HANDLERS: ReadonlyMap<string, (body: JsonObject) => PlatformMessage[]> = new Map([
  [RECORD_TYPES.status, statusToTelemetry],
  // MQ protocol 4, decrypted layer 2: {dataId, devId, productKey, status:[{code, value, t, "<dpId>": ...}]}.
  [RECORD_TYPES.mqStatus, statusToTelemetry],
  [RECORD_TYPES.online, onlineToStatus],
  [RECORD_TYPES.detail, detailToAttributes],
]);

export function normalise(record: RawRecord, _meta: NormaliseMeta): PlatformMessage[] {
  const handler = HANDLERS.get(record.type);
  if (!handler) throw new PayloadError(`unknown Tuya record type ${JSON.stringify(String(record.type).slice(0, 40))}`);
  if (!isObject(record.body)) throw new PayloadError('Tuya record body is not an object');
  return handler(record.body);
}
