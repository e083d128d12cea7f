// Shapes of ChirpStack v4 integration events (protobuf JSON mapping: zero/false/empty fields are omitted, so they default).
import { z } from 'zod';
import { PayloadError } from '../../src/core/errors.js';

/** Events the HTTP integration posts that this connector maps; anything else (e.g. "integration") is ignored. */
export const EVENT_TYPES = ['up', 'join', 'ack', 'txack', 'status', 'log', 'location'] as const;
export type EventType = (typeof EVENT_TYPES)[number];
export const isEventType = (s: string): s is EventType => (EVENT_TYPES as readonly string[]).includes(s);

export const EUI64_RE = /^[0-9a-fA-F]{16}$/;
/** Standard base64 as protobuf `bytes` are encoded (padding optional for tolerance). */
export const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

const u32 = z.number().int().min(0).max(0xffff_ffff);
const i32 = z.number().int().min(-0x8000_0000).max(0x7fff_ffff);

export const deviceInfoSchema = z.object({
  applicationId: z.string().default(''),
  devEui: z.string().regex(EUI64_RE, 'devEui must be 16 hex digits'),
  deviceName: z.string().default(''),
});

const base = {
  time: z.string().optional(),
  deviceInfo: deviceInfoSchema,
};

const loraModulation = z.object({
  bandwidth: u32.default(0),
  spreadingFactor: u32.default(0),
  codeRate: z.string().optional(),
});

const txInfo = z.object({
  frequency: u32.default(0),
  modulation: z.object({ lora: loraModulation.optional() }).default({}),
});

const rxInfo = z.object({
  gatewayId: z.string().default(''),
  rssi: i32.default(0),
  snr: z.number().default(0),
});

export const upSchema = z.object({
  ...base,
  deduplicationId: z.string().default(''),
  devAddr: z.string().default(''),
  dr: u32.default(0),
  fCnt: u32.default(0),
  fPort: u32.default(0),
  data: z.string().regex(BASE64_RE, 'data must be base64').optional(),
  // google.protobuf.Struct: only present when the device profile has a codec.
  object: z.record(z.string(), z.json()).optional(),
  rxInfo: z.array(rxInfo).default([]),
  txInfo: txInfo.optional(),
});

export const joinSchema = z.object({ ...base, devAddr: z.string().default('') });

export const ackSchema = z.object({
  ...base,
  queueItemId: z.string().default(''),
  acknowledged: z.boolean().default(false),
  fCntDown: u32.default(0),
});

export const txackSchema = z.object({
  ...base,
  downlinkId: u32.default(0),
  queueItemId: z.string().default(''),
  fCntDown: u32.default(0),
  gatewayId: z.string().default(''),
});

export const statusSchema = z.object({
  ...base,
  margin: i32.default(0),
  externalPowerSource: z.boolean().default(false),
  batteryLevelUnavailable: z.boolean().default(false),
  batteryLevel: z.number().optional(),
});

// Enums are names in JSON; numbers are accepted too and mapped by the proto's enum order.
const LOG_LEVELS = ['INFO', 'WARNING', 'ERROR'];
const LOG_CODES = ['UNKNOWN', 'DOWNLINK_PAYLOAD_SIZE', 'UPLINK_CODEC', 'DOWNLINK_CODEC', 'OTAA', 'UPLINK_F_CNT_RESET', 'UPLINK_MIC', 'UPLINK_F_CNT_RETRANSMISSION', 'DOWNLINK_GATEWAY'];
const enumName = (names: readonly string[]) =>
  z.union([z.string().min(1), z.number().int().min(0)]).transform((v) => (typeof v === 'number' ? names[v] ?? String(v) : v));

export const logSchema = z.object({
  ...base,
  level: enumName(LOG_LEVELS).default('INFO'),
  code: enumName(LOG_CODES).default('UNKNOWN'),
  description: z.string().default(''),
  context: z.record(z.string(), z.string()).default({}),
});

export const locationSchema = z.object({
  ...base,
  location: z.object({
    latitude: z.number().min(-90).max(90).default(0),
    longitude: z.number().min(-180).max(180).default(0),
    altitude: z.number().default(0),
  }),
});

/** Parses with a schema or throws PayloadError naming the first problems (paths only, never values). */
export function check<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issues = r.error.issues.slice(0, 3).map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`);
  throw new PayloadError(`invalid ChirpStack ${what} event: ${issues.join('; ')}`);
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Milliseconds since epoch of an RFC3339 timestamp, or undefined. The fraction is cut to 3 digits first:
 * nanosecond fractions are outside the ECMAScript date format, so Date.parse would be engine-dependent.
 */
export function parseTime(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const [, date, time, frac, zone] = m;
  const ms = (frac ?? '').slice(0, 3).padEnd(3, '0');
  const tz = zone === 'z' || zone === 'Z' ? 'Z' : zone;
  const t = Date.parse(`${date}T${time}.${ms}${tz}`);
  return Number.isFinite(t) ? t : undefined;
}
