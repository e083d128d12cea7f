// Pure translation of platform commands into ChirpStack downlink queue items (rules in README "Commands").
import { PermanentError } from '../../src/core/errors.js';
import type { JsonObject, JsonValue, PlatformCommand } from '../../src/core/messages.js';
import type { QueueItem } from './client.js';
import { BASE64_RE, EUI64_RE } from './events.js';
import { F_PORT_MAX, F_PORT_MIN } from './schema.js';

/** Largest LoRaWAN application payload at the fastest data rate of any region; ChirpStack enforces the per-DR limit. */
export const MAX_PAYLOAD_BYTES = 242;

/** Keys of command params that steer the downlink instead of being sent. */
export const RESERVED = ['data', 'hex', 'object', 'fPort', 'confirmed'] as const;

export interface DownlinkDefaults {
  fPort: number;
  confirmed: boolean;
}

const isObject = (v: JsonValue | undefined): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);

function fPortOf(v: JsonValue | undefined, dflt: number): number {
  if (v === undefined || v === null || v === '') return dflt;
  const n = typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < F_PORT_MIN || n > F_PORT_MAX) {
    throw new PermanentError(`fPort must be an integer ${F_PORT_MIN}..${F_PORT_MAX}`);
  }
  return n;
}

function confirmedOf(v: JsonValue | undefined, dflt: boolean): boolean {
  if (v === undefined || v === null || v === '') return dflt;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw new PermanentError('confirmed must be true or false');
}

function bytesOf(data: JsonValue | undefined, hex: JsonValue | undefined): string {
  let buf: Buffer;
  if (data !== undefined) {
    if (hex !== undefined) throw new PermanentError('give either data (base64) or hex, not both');
    if (typeof data !== 'string' || !BASE64_RE.test(data)) throw new PermanentError('data must be a base64 string');
    buf = Buffer.from(data, 'base64');
  } else {
    const h = typeof hex === 'string' ? hex.replace(/\s+/g, '').replace(/^0x/i, '') : '';
    if (!/^(?:[0-9a-fA-F]{2})+$/.test(h)) throw new PermanentError('hex must be an even number of hex digits');
    buf = Buffer.from(h, 'hex');
  }
  if (buf.length === 0) throw new PermanentError('downlink payload is empty');
  if (buf.length > MAX_PAYLOAD_BYTES) throw new PermanentError(`downlink payload is ${buf.length} bytes; LoRaWAN allows at most ${MAX_PAYLOAD_BYTES}`);
  return buf.toString('base64');
}

/**
 * params.data / params.hex → raw bytes; params.object → codec input; otherwise the codec input is
 * {method, params} for commands and the params themselves for attribute sets and telemetry control.
 * params.fPort / params.confirmed override the defaults and are never sent as payload.
 */
export function toQueueItem(cmd: PlatformCommand, defaults: DownlinkDefaults): QueueItem {
  if (!EUI64_RE.test(cmd.device)) throw new PermanentError('device id is not a 16-hex-digit DevEUI');
  const p: JsonObject = isObject(cmd.params) ? cmd.params : {};
  const fPort = fPortOf(p.fPort, defaults.fPort);
  const confirmed = confirmedOf(p.confirmed, defaults.confirmed);

  const raw = p.data !== undefined || p.hex !== undefined;
  if (raw && p.object !== undefined) throw new PermanentError('give either data/hex or object, not both');
  if (raw) return { confirmed, fPort, data: bytesOf(p.data, p.hex) };

  if (p.object !== undefined) {
    if (!isObject(p.object)) throw new PermanentError('object must be a JSON object');
    return { confirmed, fPort, object: p.object };
  }

  const rest: JsonObject = {};
  for (const [k, v] of Object.entries(p)) if (!(RESERVED as readonly string[]).includes(k)) rest[k] = v;
  if (cmd.kind === 'command') {
    if (!cmd.method) throw new PermanentError('command has no method');
    // Non-object params (a bare number or string) travel unchanged; absent params are left out.
    const params = isObject(cmd.params) ? rest : cmd.params;
    return { confirmed, fPort, object: params === undefined || params === null ? { method: cmd.method } : { method: cmd.method, params } };
  }
  if (!Object.keys(rest).length) throw new PermanentError(`${cmd.kind} has no values to send`);
  return { confirmed, fPort, object: rest };
}
