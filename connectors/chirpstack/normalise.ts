// Pure mapping of ChirpStack v4 events to platform messages, one descriptor table per event type.
import type { z } from 'zod';
import type { NormaliseMeta } from '../../src/core/connector.js';
import { PayloadError } from '../../src/core/errors.js';
import type { JsonObject, JsonValue, PlatformMessage, RawRecord } from '../../src/core/messages.js';
import {
  ackSchema, check, isEventType, joinSchema, locationSchema, logSchema, parseTime, statusSchema, txackSchema, upSchema,
  type EventType,
} from './events.js';

type Up = z.output<typeof upSchema>;
type RxInfo = Up['rxInfo'][number];

interface Common {
  time?: string | undefined;
  deviceInfo: { devEui: string };
}

/** One value of a telemetry or attributes message; undefined = leave the key out. */
interface Field<E> {
  kind: 'telemetry' | 'attributes';
  key: string;
  value: (e: E) => JsonValue | undefined;
}

interface Mapping<E> {
  schema: z.ZodType<E>;
  /** Telemetry taken as a whole (the decoded payload), merged before the single telemetry fields. */
  telemetry?: (e: E) => JsonObject | undefined;
  fields?: readonly Field<E>[];
  event?: { method: string; params: (e: E) => JsonObject };
  /** The event proves the device itself just transmitted. */
  online?: boolean;
}

// Each mapping is only ever called with the output of its own schema, so widening E is safe.
const define = <E extends Common>(m: Mapping<E>): Mapping<Common> => m as unknown as Mapping<Common>;

/**
 * The gateway that heard the device best: highest SNR, but once both are above the demodulation comfort zone
 * (5 dB) SNR no longer tells them apart and RSSI decides; RSSI also breaks ties.
 */
export function bestGateway(rx: readonly RxInfo[]): RxInfo | undefined {
  const better = (a: RxInfo, b: RxInfo) =>
    a.snr === b.snr || (a.snr > 5 && b.snr > 5) ? a.rssi > b.rssi : a.snr > b.snr;
  let best: RxInfo | undefined;
  for (const r of rx) if (!best || better(r, best)) best = r;
  return best;
}

/** Codec output without null readings; undefined when nothing is left. */
function decoded(obj: Up['object']): JsonObject | undefined {
  if (!obj) return undefined;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(obj)) if (v !== null) out[k] = v as JsonValue;
  return Object.keys(out).length ? out : undefined;
}

const nonZero = (n: number | undefined) => (n ? n : undefined);
const nonEmpty = (s: string | undefined) => (s ? s : undefined);

const best = (e: Up) => bestGateway(e.rxInfo);
const lora = (e: Up) => e.txInfo?.modulation.lora;

const MAPPINGS: Record<EventType, Mapping<Common>> = {
  up: define({
    schema: upSchema,
    // Without a codec in the device profile there is no `object`: forward the raw frame instead.
    telemetry: (e) => decoded(e.object) ?? (e.data ? { data: e.data, fPort: e.fPort } : undefined),
    fields: [
      { kind: 'attributes', key: 'rssi', value: (e) => best(e)?.rssi },
      { kind: 'attributes', key: 'snr', value: (e) => best(e)?.snr },
      { kind: 'attributes', key: 'gatewayId', value: (e) => nonEmpty(best(e)?.gatewayId) },
      { kind: 'attributes', key: 'frequency', value: (e) => nonZero(e.txInfo?.frequency) },
      { kind: 'attributes', key: 'spreadingFactor', value: (e) => nonZero(lora(e)?.spreadingFactor) },
      { kind: 'attributes', key: 'bandwidth', value: (e) => nonZero(lora(e)?.bandwidth) },
      { kind: 'attributes', key: 'dr', value: (e) => e.dr },
      { kind: 'attributes', key: 'fCnt', value: (e) => e.fCnt },
      { kind: 'attributes', key: 'fPort', value: (e) => e.fPort },
      { kind: 'attributes', key: 'devAddr', value: (e) => nonEmpty(e.devAddr) },
    ],
    online: true,
  }),
  join: define({
    schema: joinSchema,
    event: { method: 'join', params: (e) => ({ devAddr: e.devAddr }) },
    online: true,
  }),
  status: define({
    schema: statusSchema,
    fields: [
      // 0 is omitted on the wire and ChirpStack sends 0 when the device is mains powered or cannot measure: no reading then.
      {
        kind: 'telemetry', key: 'battery_level',
        value: (e) => (e.batteryLevelUnavailable || e.batteryLevel === undefined || e.batteryLevel < 0 || e.batteryLevel > 100 ? undefined : e.batteryLevel),
      },
      { kind: 'attributes', key: 'margin', value: (e) => e.margin },
      { kind: 'attributes', key: 'externalPowerSource', value: (e) => e.externalPowerSource },
    ],
    online: true,
  }),
  ack: define({
    schema: ackSchema,
    // Not an online proof: ChirpStack also sends acknowledged=false when a confirmed downlink times out.
    event: { method: 'ack', params: (e) => ({ queueItemId: e.queueItemId, acknowledged: e.acknowledged, fCntDown: e.fCntDown }) },
  }),
  txack: define({
    schema: txackSchema,
    event: { method: 'txack', params: (e) => ({ queueItemId: e.queueItemId, downlinkId: e.downlinkId, fCntDown: e.fCntDown, gatewayId: e.gatewayId }) },
  }),
  log: define({
    schema: logSchema,
    event: {
      method: 'log',
      params: (e) => ({ level: e.level, code: e.code, description: e.description, ...(Object.keys(e.context).length ? { context: e.context } : {}) }),
    },
  }),
  location: define({
    schema: locationSchema,
    fields: [
      { kind: 'attributes', key: 'latitude', value: (e) => e.location.latitude },
      { kind: 'attributes', key: 'longitude', value: (e) => e.location.longitude },
      { kind: 'attributes', key: 'altitude', value: (e) => e.location.altitude },
    ],
  }),
};

export function normalise(record: RawRecord, _meta?: NormaliseMeta): PlatformMessage[] {
  if (!isEventType(record.type)) throw new PayloadError(`unsupported ChirpStack event type "${record.type.slice(0, 32)}"`);
  const m = MAPPINGS[record.type];
  const e = check(m.schema, record.body, record.type);
  const device = e.deviceInfo.devEui.toLowerCase();
  if (record.device !== undefined && record.device !== device) throw new PayloadError('record device does not match deviceInfo.devEui');
  const ts = parseTime(e.time);
  const base = ts === undefined ? { device } : { device, ts };

  const telemetry: JsonObject = { ...m.telemetry?.(e) };
  const attributes: JsonObject = {};
  for (const f of m.fields ?? []) {
    const v = f.value(e);
    if (v !== undefined) (f.kind === 'telemetry' ? telemetry : attributes)[f.key] = v;
  }

  const out: PlatformMessage[] = [];
  if (Object.keys(telemetry).length) out.push({ ...base, kind: 'telemetry', values: telemetry });
  if (Object.keys(attributes).length) out.push({ ...base, kind: 'attributes', values: attributes });
  if (m.event) {
    const params = m.event.params(e);
    // Old ThingsPanel backends reject events with empty params.
    if (!Object.keys(params).length) throw new PayloadError(`${record.type} event has nothing to report`);
    out.push({ ...base, kind: 'event', method: m.event.method, params });
  }
  if (m.online) out.push({ ...base, kind: 'status', online: true });
  return out;
}
