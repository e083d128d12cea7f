// The uplink envelope the Go backend decodes: {"device_id": uuid, "values": base64(JSON)} (contract §4.2).

export type ValuesEncoding = 'base64' | 'json';

export function encodeEnvelope(deviceId: string, values: unknown, encoding: ValuesEncoding = 'base64'): string {
  const json = JSON.stringify(values);
  if (encoding === 'json') return `{"device_id":${JSON.stringify(deviceId)},"values":${json}}`;
  return `{"device_id":${JSON.stringify(deviceId)},"values":"${Buffer.from(json, 'utf8').toString('base64')}"}`;
}

export interface DecodedEnvelope {
  deviceId: string;
  values: unknown;
}

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes like the backend's verifyPayload: standard base64 with padding, ≥ 1 byte, JSON inside. */
export function decodeEnvelope(payload: Buffer | string): DecodedEnvelope {
  let obj: unknown;
  try {
    obj = JSON.parse(payload.toString());
  } catch {
    throw new Error('envelope is not JSON');
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new Error('envelope is not an object');
  const { device_id: deviceId, values } = obj as Record<string, unknown>;
  if (typeof deviceId !== 'string' || deviceId === '') throw new Error('envelope has no device_id');
  if (typeof values !== 'string') throw new Error('values is not a base64 string');
  if (values === '' || !B64.test(values)) throw new Error('values is not standard base64');
  const text = Buffer.from(values, 'base64').toString('utf8');
  try {
    return { deviceId, values: JSON.parse(text) };
  } catch {
    throw new Error('values does not decode to JSON');
  }
}

/** Response object for command / attribute-set replies (contract §4.3). */
export function responsePayload(ok: boolean, message: string, method: string | undefined, now = Date.now()): Record<string, unknown> {
  const r: Record<string, unknown> = { result: ok ? 0 : 1, message, ts: Math.floor(now / 1000) };
  if (!ok) r.errcode = 'error';
  if (method) r.method = method;
  return r;
}
