// How the Go backend reads what a plugin publishes (contract §4.2/§4.3): the topics it subscribes to and a
// pure decoder for each message. Device existence is checked by the caller (it needs the device table).

export type SimValuesEncoding = 'base64' | 'json';

/** Exactly the backend's subscriptions (internal/adapter/mqttadapter/topics.go) with their QoS. */
export const PLATFORM_SUBSCRIPTIONS: Readonly<Record<string, { qos: 0 | 1 }>> = {
  'devices/telemetry': { qos: 1 },
  'devices/attributes/+': { qos: 1 },
  'devices/event/+': { qos: 1 },
  'devices/status/+': { qos: 1 },
  'devices/command/response/+': { qos: 1 },
  'devices/attributes/set/response/+': { qos: 1 },
  'gateway/telemetry': { qos: 0 },
  'gateway/attributes/+': { qos: 1 },
  'gateway/event/+': { qos: 1 },
  'gateway/command/response/+': { qos: 1 },
  'gateway/attributes/set/response/+': { qos: 1 },
};

export interface MqttResponse {
  result: number;
  message: string;
  errcode?: string;
  ts?: number;
  method?: string;
}

export type GatewayKind = 'telemetry' | 'attributes' | 'event' | 'command_response' | 'attribute_set_response';

export type Decoded =
  | { kind: 'telemetry'; deviceId: string; values: Record<string, unknown> }
  | { kind: 'attributes'; deviceId: string; messageId: string; values: Record<string, unknown> }
  | { kind: 'event'; deviceId: string; messageId: string; method: string; params: Record<string, unknown> }
  | { kind: 'status'; deviceId: string; online: boolean }
  | { kind: 'command_response' | 'attribute_set_response'; deviceId: string; messageId: string; response: MqttResponse }
  | { kind: 'gateway'; sub: GatewayKind; deviceId: string; messageId?: string; values: Record<string, unknown> }
  | { kind: 'invalid'; reason: string; deviceId?: string };

type Route =
  | { kind: 'telemetry' | 'attributes' | 'event' | 'command_response' | 'attribute_set_response'; gateway: boolean; messageId?: string }
  | { kind: 'status'; deviceId: string }
  | null;

function route(topic: string): Route {
  const p = topic.split('/');
  const root = p[0];
  if (root !== 'devices' && root !== 'gateway') return null;
  const gw = root === 'gateway';
  const [, a, b, c, d] = p;
  if (p.length === 2 && a === 'telemetry') return { kind: 'telemetry', gateway: gw };
  if (p.length === 3 && a === 'attributes') return { kind: 'attributes', gateway: gw, messageId: b ?? '' };
  if (p.length === 3 && a === 'event') return { kind: 'event', gateway: gw, messageId: b ?? '' };
  if (p.length === 3 && a === 'status' && !gw) return { kind: 'status', deviceId: b ?? '' };
  if (p.length === 4 && a === 'command' && b === 'response') return { kind: 'command_response', gateway: gw, messageId: c ?? '' };
  if (p.length === 5 && a === 'attributes' && b === 'set' && c === 'response') return { kind: 'attribute_set_response', gateway: gw, messageId: d ?? '' };
  return null;
}

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** encoding/json field matching: exact key, else a case-insensitive match. */
function field(obj: Record<string, unknown>, key: string): unknown {
  if (Object.prototype.hasOwnProperty.call(obj, key)) return obj[key];
  let found: unknown;
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === key) found = v;
  return found;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'a JSON object' : `a ${typeof v}`;
}

/** verifyPayload: json.Unmarshal into {DeviceId string; Values []byte} then ≥ 1 byte of values. */
export function decodeEnvelopeLikeBackend(
  payload: Buffer,
  encoding: SimValuesEncoding,
): { ok: true; deviceId: string; values: unknown } | { ok: false; reason: string; deviceId?: string } {
  let obj: unknown;
  try {
    obj = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, reason: 'payload is not JSON (expected {"device_id","values"})' };
  }
  if (obj !== null && !isPlainObject(obj)) return { ok: false, reason: `payload is ${describe(obj)}, expected {"device_id","values"}` };
  const env = (obj ?? {}) as Record<string, unknown>;
  const rawId = field(env, 'device_id');
  if (rawId !== undefined && rawId !== null && typeof rawId !== 'string') return { ok: false, reason: `device_id is ${describe(rawId)}, not a string` };
  const deviceId = typeof rawId === 'string' ? rawId : '';
  if (deviceId === '') return { ok: false, reason: 'device_id is missing or empty' };
  const raw = field(env, 'values');
  let text: string;
  if (encoding === 'base64') {
    if (raw === undefined || raw === null) return { ok: false, reason: 'values is missing', deviceId };
    if (typeof raw !== 'string') {
      return { ok: false, reason: `values is ${describe(raw)}; the backend needs a standard base64 string of the JSON`, deviceId };
    }
    const s = raw.replace(/[\r\n]/g, ''); // base64.StdEncoding ignores CR/LF
    if (!B64.test(s)) return { ok: false, reason: 'values is not standard (padded) base64', deviceId };
    const bytes = Buffer.from(s, 'base64');
    if (bytes.length === 0) return { ok: false, reason: 'values is empty', deviceId };
    text = bytes.toString('utf8');
  } else {
    if (!isPlainObject(raw)) return { ok: false, reason: `values is ${describe(raw)}; expected a JSON object (valuesEncoding "json")`, deviceId };
    return { ok: true, deviceId, values: raw };
  }
  try {
    return { ok: true, deviceId, values: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, reason: 'values does not decode to JSON', deviceId };
  }
}

function response(v: Record<string, unknown>): MqttResponse | string {
  const result = v.result;
  if (typeof result !== 'number' || (result !== 0 && result !== 1)) return 'response "result" must be 0 or 1';
  if (typeof v.message !== 'string') return 'response "message" must be a string';
  const out: MqttResponse = { result, message: v.message };
  if (v.errcode !== undefined) {
    if (typeof v.errcode !== 'string') return 'response "errcode" must be a string';
    out.errcode = v.errcode;
  }
  if (v.ts !== undefined) {
    if (typeof v.ts !== 'number' || !Number.isInteger(v.ts)) return 'response "ts" must be an integer (seconds)';
    out.ts = v.ts;
  }
  if (v.method !== undefined) {
    if (typeof v.method !== 'string') return 'response "method" must be a string';
    out.method = v.method;
  }
  return out;
}

/**
 * Decodes one uplink message. Stricter than the backend only where the contract tells plugins what to do
 * (telemetry/attributes must be objects, events need method + non-empty params, responses need result 0|1
 * and a message), so a test that asserts "no errors" also catches those.
 */
export function decodeUplink(topic: string, payload: Buffer, encoding: SimValuesEncoding): Decoded {
  const r = route(topic);
  if (!r) return { kind: 'invalid', reason: 'topic is not one the platform handles' };
  if (r.kind === 'status') {
    if (r.deviceId === '') return { kind: 'invalid', reason: 'status topic has no device id' };
    const s = payload.toString('utf8');
    if (s !== '1' && s !== '0') return { kind: 'invalid', reason: `status payload must be exactly "1" or "0", got ${JSON.stringify(s.slice(0, 64))}`, deviceId: r.deviceId };
    return { kind: 'status', deviceId: r.deviceId, online: s === '1' };
  }
  if (r.messageId !== undefined && r.messageId === '') return { kind: 'invalid', reason: 'topic has an empty message id' };
  const env = decodeEnvelopeLikeBackend(payload, encoding);
  if (!env.ok) return env.deviceId === undefined ? { kind: 'invalid', reason: env.reason } : { kind: 'invalid', reason: env.reason, deviceId: env.deviceId };
  const { deviceId, values } = env;
  if (!isPlainObject(values)) return { kind: 'invalid', reason: `decoded values is ${describe(values)}, expected a JSON object`, deviceId };
  if (r.gateway) {
    const out: Decoded = { kind: 'gateway', sub: r.kind, deviceId, values };
    if (r.messageId !== undefined) out.messageId = r.messageId;
    return out;
  }
  const mid = r.messageId ?? '';
  switch (r.kind) {
    case 'telemetry':
      return { kind: 'telemetry', deviceId, values };
    case 'attributes':
      return { kind: 'attributes', deviceId, messageId: mid, values };
    case 'event': {
      const method = values.method;
      if (typeof method !== 'string' || method === '') return { kind: 'invalid', reason: 'event needs a non-empty string "method"', deviceId };
      const params = values.params;
      if (!isPlainObject(params) || Object.keys(params).length === 0) {
        return { kind: 'invalid', reason: 'event "params" must be a non-empty object (older backends reject empty params)', deviceId };
      }
      return { kind: 'event', deviceId, messageId: mid, method, params };
    }
    case 'command_response':
    case 'attribute_set_response': {
      const res = response(values);
      if (typeof res === 'string') return { kind: 'invalid', reason: res, deviceId };
      return { kind: r.kind, deviceId, messageId: mid, response: res };
    }
  }
}
