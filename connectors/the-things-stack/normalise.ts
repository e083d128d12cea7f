// The Things Stack v3: ApplicationUp → ThingsPanel telemetry, attributes, events and status (pure).
import { PayloadError } from '../../src/core/errors.js';
import type { JsonObject, JsonValue, PlatformMessage, RawRecord } from '../../src/core/messages.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const num = (v: unknown): number | undefined => {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
};
const json = (v: unknown): JsonValue | undefined => (v === undefined ? undefined : (v as JsonValue));

/** RFC 3339 with up to nanoseconds → ms; the fraction is cut to 3 digits (ECMAScript only promises those). */
export function parseTime(s: unknown): number | undefined {
  if (typeof s !== 'string') return undefined;
  const t = Date.parse(s.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isFinite(t) ? t : undefined;
}

type Pick = (up: Obj) => unknown;
/** Radio metadata → attributes: [attribute key, how to read it]. */
const UPLINK_ATTRIBUTES: [string, Pick][] = [
  ['rssi', (u) => num(bestGateway(u).rssi)],
  ['channel_rssi', (u) => num(bestGateway(u).channel_rssi)],
  ['snr', (u) => num(bestGateway(u).snr)],
  ['gateway_id', (u) => obj(bestGateway(u).gateway_ids).gateway_id],
  ['gateway_count', (u) => (Array.isArray(u.rx_metadata) ? u.rx_metadata.length : undefined)],
  ['frequency', (u) => num(obj(u.settings).frequency)],
  ['spreading_factor', (u) => num(obj(obj(obj(u.settings).data_rate).lora).spreading_factor)],
  ['bandwidth', (u) => num(obj(obj(obj(u.settings).data_rate).lora).bandwidth)],
  ['coding_rate', (u) => obj(u.settings).coding_rate ?? obj(obj(obj(u.settings).data_rate).lora).coding_rate],
  ['f_cnt', (u) => num(u.f_cnt) ?? 0],
  ['f_port', (u) => num(u.f_port) ?? 0],
  ['consumed_airtime_s', (u) => (typeof u.consumed_airtime === 'string' ? num(u.consumed_airtime.replace(/s$/, '')) : undefined)],
  ['latitude', (u) => num(obj(obj(u.locations).user).latitude)],
  ['longitude', (u) => num(obj(obj(u.locations).user).longitude)],
  ['altitude', (u) => num(obj(obj(u.locations).user).altitude)],
];

function bestGateway(u: Obj): Obj {
  const md = Array.isArray(u.rx_metadata) ? u.rx_metadata.map(obj) : [];
  let best: Obj = {};
  for (const g of md) if ((num(g.rssi) ?? -1e9) > (num(best.rssi) ?? -1e9) || Object.keys(best).length === 0) best = g;
  return best;
}

function compact(entries: [string, unknown][]): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of entries) if (v !== undefined && v !== null && v !== '') out[k] = v as JsonValue;
  return out;
}

/** Event params: the platform (≤ v1.1.x) rejects empty params, so a marker is always present. */
function eventParams(entries: [string, unknown][], type: string): JsonObject {
  const p = compact(entries);
  return Object.keys(p).length > 0 ? p : { type };
}

type Handler = (device: string, m: Obj, ts: number | undefined) => PlatformMessage[];

const DOWNLINK_EVENT = (method: string): Handler => (device, m, ts) => {
  const d = method === 'downlink_failed' ? obj(m.downlink) : m;
  const err = obj(m.error);
  return [{
    kind: 'event', device, ts, method,
    params: eventParams([
      ['f_port', num(d.f_port) ?? 0], ['f_cnt', num(d.f_cnt)], ['confirmed', d.confirmed ?? false], ['priority', d.priority],
      ['correlation_ids', Array.isArray(d.correlation_ids) ? d.correlation_ids.filter((c) => typeof c === 'string' && !c.startsWith('as:')) : undefined],
      ['error', err.name], ['error_message', err.message_format], ['error_code', num(err.code)],
    ], method),
  }];
};

const HANDLERS: Record<string, Handler> = {
  uplink_message: (device, u, ts) => {
    const decoded = obj(u.decoded_payload);
    const telemetry: JsonObject = Object.keys(decoded).length > 0
      ? (decoded as JsonObject)
      : compact([['frm_payload', u.frm_payload ?? ''], ['f_port', num(u.f_port) ?? 0]]);
    const out: PlatformMessage[] = [
      { kind: 'telemetry', device, ts, values: telemetry },
      { kind: 'attributes', device, ts, values: compact(UPLINK_ATTRIBUTES.map(([k, f]) => [k, f(u)])) },
      { kind: 'status', device, ts, online: true },
    ];
    return out;
  },
  uplink_normalized: (device, u, ts) => {
    const n = Array.isArray(u.normalized_payload) ? u.normalized_payload.map(obj) : [];
    return n.filter((o) => Object.keys(o).length > 0).map((values) => ({ kind: 'telemetry' as const, device, ts, values: values as JsonObject }));
  },
  join_accept: (device, j, ts) => [
    { kind: 'event', device, ts, method: 'join_accept', params: eventParams([['session_key_id', j.session_key_id], ['received_at', j.received_at]], 'join_accept') },
    { kind: 'status', device, ts, online: true },
  ],
  downlink_ack: DOWNLINK_EVENT('downlink_ack'),
  downlink_nack: DOWNLINK_EVENT('downlink_nack'),
  downlink_sent: DOWNLINK_EVENT('downlink_sent'),
  downlink_queued: DOWNLINK_EVENT('downlink_queued'),
  downlink_failed: DOWNLINK_EVENT('downlink_failed'),
  downlink_queue_invalidated: (device, m, ts) => [{
    kind: 'event', device, ts, method: 'downlink_queue_invalidated',
    params: eventParams([['count', Array.isArray(m.downlinks) ? m.downlinks.length : 0], ['last_f_cnt_down', num(m.last_f_cnt_down)]], 'downlink_queue_invalidated'),
  }],
  location_solved: (device, m, ts) => {
    const loc = obj(m.location);
    const values = compact([['latitude', num(loc.latitude)], ['longitude', num(loc.longitude)], ['altitude', num(loc.altitude)], ['location_source', loc.source]]);
    return Object.keys(values).length > 0 ? [{ kind: 'attributes', device, ts, values }] : [];
  },
  service_data: (device, m, ts) => [{ kind: 'event', device, ts, method: 'service_data', params: eventParams([['service', m.service_name], ['data', json(m.data)]], 'service_data') }],
};

export function normalise(record: RawRecord): PlatformMessage[] {
  const body = obj(record.body);
  const ids = obj(body.end_device_ids);
  const device = typeof ids.device_id === 'string' && ids.device_id ? ids.device_id : record.device;
  if (!device) throw new PayloadError('record has no end_device_ids.device_id');
  const handler = HANDLERS[record.type];
  if (!handler) throw new PayloadError(`unsupported TTS message type ${record.type}`);
  const m = obj(body[record.type]);
  const ts = parseTime(m.received_at) ?? parseTime(body.received_at);
  return handler(device, m, ts);
}
