// `tp-connector convert <connector> <payload-file>`: runs a connector's webhook parser and normaliser on a saved
// payload and prints the platform messages, without Redis, broker or vendor. Verification is not part of it.
import { readFile } from 'node:fs/promises';
import { builtInConnectors } from '../../connectors/index.js';
import type { AnyConnector } from '../core/connector.js';
import type { JsonValue, PlatformMessage, RawRecord } from '../core/messages.js';

export interface ConvertOptions {
  /** The access point's voucher (JSON object); webhook parsers check payloads against it (e.g. application id). */
  voucher?: Record<string, unknown>;
  /** Request headers, lower-cased names (content-type defaults to application/json). */
  headers?: Record<string, string>;
  /** Query parameters, e.g. ChirpStack's `event`. */
  query?: Record<string, string>;
  /** Record type for connectors without a webhook (poll records), e.g. Tuya `status`. */
  type?: string;
}

export interface Conversion {
  record: { key: string; type: string; device?: string };
  messages: PlatformMessage[];
}

export function convert(c: AnyConnector, payload: Buffer, o: ConvertOptions = {}): Conversion[] {
  let records: RawRecord[];
  if (c.webhook) {
    const cred = c.voucherSchema.safeParse(o.voucher ?? {});
    if (!cred.success) {
      throw new Error(`${c.id} checks payloads against the access point's voucher: pass --voucher <file> (${cred.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})`);
    }
    records = c.webhook.parse({ rawBody: payload, headers: { 'content-type': 'application/json', ...o.headers }, query: o.query ?? {}, subPath: '' }, cred.data);
  } else {
    let body: JsonValue;
    try {
      body = JSON.parse(payload.toString('utf8')) as JsonValue;
    } catch {
      throw new Error('payload is not JSON');
    }
    records = [{ key: 'convert', type: o.type ?? 'status', body }];
  }
  return records.map((r) => ({ record: { key: r.key, type: r.type, device: r.device }, messages: c.normalise(r, { accessPointId: 'convert', receivedAt: Date.now() }) }));
}

export async function runConvert(connectorId: string, file: string, args: string[]): Promise<void> {
  const c = builtInConnectors[connectorId];
  if (!c) throw new Error(`unknown connector "${connectorId}" (built in: ${Object.keys(builtInConnectors).join(', ')})`);
  const o: ConvertOptions = { headers: {}, query: {} };
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--voucher') o.voucher = JSON.parse(await readFile(value, 'utf8')) as Record<string, unknown>;
    else if (flag === '--header') {
      const at = value.indexOf(':');
      if (at <= 0) throw new Error('--header takes name:value');
      o.headers![value.slice(0, at).trim().toLowerCase()] = value.slice(at + 1).trim();
    } else if (flag === '--event') o.query!.event = value;
    else if (flag === '--type') o.type = value;
    else throw new Error(`unknown option ${flag}`);
  }
  process.stdout.write(`${JSON.stringify(convert(c, await readFile(file), o), null, 2)}\n`);
}
