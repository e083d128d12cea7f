// The Things Stack v3: platform command → downlink (pure).
import { PermanentError } from '../../src/core/errors.js';
import type { JsonObject, JsonValue, PlatformCommand } from '../../src/core/messages.js';
import type { TtsCred } from './schema.js';

export interface Downlink {
  f_port: number;
  frm_payload?: string;
  decoded_payload?: JsonObject;
  priority: string;
  confirmed?: boolean;
  correlation_ids: string[];
}

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const isObj = (v: JsonValue | undefined): v is JsonObject => !!v && typeof v === 'object' && !Array.isArray(v);

/** Correlation id we put on every downlink so acks/failures can be traced to the platform message. */
export const correlationId = (messageId: string) => `thingspanel:${messageId}`;

/**
 * params may hold `frm_payload` (base64) or `decoded_payload` (object, encoded by the application's
 * downlink formatter), plus `f_port`, `confirmed`, `priority`. Any other object is sent as decoded_payload;
 * a scalar becomes `{<method>: value}`. For commands the method is added as `method` unless present.
 */
export function toDownlink(cmd: PlatformCommand, cred: TtsCred): Downlink {
  const p = cmd.params;
  const params: JsonObject = isObj(p) ? p : {};
  const fPortRaw = params.f_port ?? params.fPort ?? cred.default_f_port;
  const fPort = typeof fPortRaw === 'string' ? Number(fPortRaw) : fPortRaw;
  if (typeof fPort !== 'number' || !Number.isInteger(fPort) || fPort < 1 || fPort > 233) throw new PermanentError('f_port must be an integer from 1 to 233');
  const priority = typeof params.priority === 'string' ? params.priority.toUpperCase() : cred.priority;
  if (!['LOWEST', 'LOW', 'BELOW_NORMAL', 'NORMAL', 'ABOVE_NORMAL', 'HIGH', 'HIGHEST'].includes(priority)) throw new PermanentError(`unknown priority ${priority}`);
  const d: Downlink = { f_port: fPort, priority, correlation_ids: [correlationId(cmd.messageId)] };
  if (typeof params.confirmed === 'boolean') d.confirmed = params.confirmed;
  if (params.frm_payload !== undefined) {
    if (typeof params.frm_payload !== 'string' || params.frm_payload === '' || !B64.test(params.frm_payload)) throw new PermanentError('frm_payload must be standard base64');
    d.frm_payload = params.frm_payload;
    return d;
  }
  if (params.decoded_payload !== undefined) {
    if (!isObj(params.decoded_payload)) throw new PermanentError('decoded_payload must be an object');
    d.decoded_payload = params.decoded_payload;
    return d;
  }
  const rest: JsonObject = {};
  for (const [k, v] of Object.entries(params)) if (!['f_port', 'fPort', 'confirmed', 'priority'].includes(k)) rest[k] = v;
  if (!isObj(p) && p !== null && p !== undefined) rest[cmd.method || 'value'] = p;
  if (cmd.kind === 'command' && cmd.method && rest.method === undefined) rest.method = cmd.method;
  if (Object.keys(rest).length === 0) throw new PermanentError('nothing to send: give frm_payload, decoded_payload or values');
  d.decoded_payload = rest;
  return d;
}
