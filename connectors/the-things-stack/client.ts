// The Things Stack v3: the only module that talks to the TTS cloud (device list, downlink push).
import type { Ctx } from '../../src/core/connector.js';
import { PayloadError } from '../../src/core/errors.js';
import type { DiscoveredDevice } from '../../src/core/messages.js';
import type { TtsCred } from './schema.js';
import type { Downlink } from './commands.js';

const auth = (cred: TtsCred) => ({ authorization: `Bearer ${cred.api_key}`, accept: 'application/json' });
const enc = encodeURIComponent;

interface EndDevice {
  ids?: { device_id?: string; dev_eui?: string };
  name?: string;
  description?: string;
}

export async function listDevices(ctx: Ctx<TtsCred>, page: number, pageSize: number): Promise<{ items: DiscoveredDevice[]; total: number }> {
  const { cred } = ctx;
  const res = await ctx.http.request<{ end_devices?: EndDevice[] }>({
    method: 'GET',
    url: `${cred.server_url}/api/v3/applications/${enc(cred.application_id)}/devices`,
    params: { field_mask: 'name,description', limit: pageSize, page, order: 'device_id' },
    headers: auth(cred),
    idempotent: true,
  });
  const body = res.data && typeof res.data === 'object' ? res.data : {};
  const list = Array.isArray(body.end_devices) ? body.end_devices : [];
  const items: DiscoveredDevice[] = [];
  for (const d of list) {
    const id = d.ids?.device_id;
    if (typeof id !== 'string' || id === '') continue;
    items.push({ externalId: id, name: d.name || id, description: d.description || (d.ids?.dev_eui ? `DevEUI ${d.ids.dev_eui}` : '') });
  }
  const total = Number(res.headers['x-total-count']);
  return { items, total: Number.isFinite(total) ? total : (page - 1) * pageSize + items.length };
}

export async function pushDownlink(ctx: Ctx<TtsCred>, webhookId: string, deviceId: string, downlink: Downlink): Promise<void> {
  const { cred } = ctx;
  if (!webhookId) throw new PayloadError('no webhook ID: set it in the access point or let TTS send one uplink with a downlink API key configured');
  await ctx.http.request({
    method: 'POST',
    url: `${cred.server_url}/api/v3/as/applications/${enc(cred.application_id)}/webhooks/${enc(webhookId)}/devices/${enc(deviceId)}/down/push`,
    headers: auth(cred),
    body: { downlinks: [downlink] },
  });
}
