// `tp-connector convert <connector> <payload-file>`: runs a connector's webhook parser and normaliser on a
// saved payload and prints the platform messages, without Redis, broker or vendor.
import { readFile } from 'node:fs/promises';
import { builtInConnectors } from '../../connectors/index.js';
import type { RawRecord } from '../core/messages.js';

export async function runConvert(connectorId: string, file: string, args: string[]): Promise<void> {
  const c = builtInConnectors[connectorId];
  if (!c) throw new Error(`unknown connector "${connectorId}" (built in: ${Object.keys(builtInConnectors).join(', ')})`);
  const raw = await readFile(file);
  const typeIdx = args.indexOf('--type');
  const type = typeIdx >= 0 ? args[typeIdx + 1] : undefined;
  let records: RawRecord[];
  if (c.webhook) {
    // Credentials are only used for scope checks: take the application from the payload itself.
    const guess = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    const appId = ((guess.end_device_ids as Record<string, Record<string, string>> | undefined)?.application_ids?.application_id)
      ?? ((guess.deviceInfo as Record<string, string> | undefined)?.applicationId) ?? '';
    const cred = c.voucherSchema.safeParse({ server_url: 'http://localhost', application_id: appId, applicationId: appId, application_id_: appId, api_key: 'x', api_token: 'x', webhook_secret: 'x', url: 'http://localhost', base_url: 'http://localhost' });
    records = c.webhook.parse({ rawBody: raw, headers: { 'content-type': 'application/json' }, query: type ? { event: type } : {}, subPath: '' }, cred.success ? cred.data : {});
  } else {
    records = [{ key: 'convert', type: type ?? 'status', body: JSON.parse(raw.toString('utf8')) }];
  }
  const out = records.map((r) => ({ record: { key: r.key, type: r.type, device: r.device }, messages: c.normalise(r, { accessPointId: 'convert', receivedAt: Date.now() }) }));
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}
