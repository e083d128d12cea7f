// Device discovery for the platform's page/pageSize list over Tuya's cursor (last_row_key) paging.
import type { Ctx } from '../../src/core/connector.js';
import type { DiscoveredDevice, JsonObject } from '../../src/core/messages.js';
import { shortId } from '../../src/util/ids.js';
import { listDevicesPage } from './client.js';
import type { TuyaCred } from './schema.js';

/** Tuya's documented default page size; larger platform pages are filled from several vendor pages. */
export const VENDOR_PAGE_SIZE = 20;
/** Cursors of vendor pages are remembered briefly so that "next page" does not re-walk from the start. */
const CURSOR_TTL_MS = 5 * 60_000;
/** Bounds the walk for absurd page numbers. */
const MAX_VENDOR_PAGES = 500;

export function toDiscovered(d: JsonObject): DiscoveredDevice {
  const id = String(d.id);
  const name = typeof d.name === 'string' && d.name !== '' ? d.name : id;
  const out: DiscoveredDevice = { externalId: id, name };
  const parts = [d.product_name, d.category].filter((x): x is string => typeof x === 'string' && x !== '');
  if (parts.length) out.description = parts.join(' / ');
  return out;
}

export async function discoverDevices(
  ctx: Ctx<TuyaCred>,
  page: { page: number; pageSize: number },
): Promise<{ items: DiscoveredDevice[]; total: number }> {
  const pageSize = Math.max(1, Math.floor(page.pageSize));
  const start = (Math.max(1, Math.floor(page.page)) - 1) * pageSize;
  const first = Math.floor(start / VENDOR_PAGE_SIZE);
  const scope = shortId(`${ctx.cred.endpoint}|${ctx.cred.accessId}|${ctx.cred.appUid ?? ''}`);
  const cursorKey = (n: number) => `tuya-list:${scope}:${n}`;
  const uid = ctx.cred.appUid;

  // Vendor page n is fetched with the last_row_key that ended page n-1; find the nearest remembered one.
  let n = Math.min(first, MAX_VENDOR_PAGES);
  let rowKey: string | undefined;
  for (; n > 0; n--) {
    const k = await ctx.store.get(cursorKey(n));
    if (k !== null) { rowKey = k; break; }
  }

  const items: DiscoveredDevice[] = [];
  let total = 0;
  for (; n <= MAX_VENDOR_PAGES; n++) {
    const res = await listDevicesPage(ctx, { pageSize: VENDOR_PAGE_SIZE, ...(rowKey ? { lastRowKey: rowKey } : {}), ...(uid ? { uid } : {}) });
    const offset = n * VENDOR_PAGE_SIZE;
    total = res.total ?? offset + res.devices.length + (res.hasMore ? 1 : 0);
    res.devices.forEach((d, i) => {
      const pos = offset + i;
      if (pos >= start && pos < start + pageSize) items.push(toDiscovered(d));
    });
    if (!res.hasMore || !res.lastRowKey || res.devices.length === 0) break;
    rowKey = res.lastRowKey;
    await ctx.store.set(cursorKey(n + 1), rowKey, CURSOR_TTL_MS);
    if (offset + res.devices.length >= start + pageSize) break;
  }
  return { items, total };
}
