// The only I/O of the ChirpStack connector: chirpstack-rest-api (gRPC-gateway) calls through ctx.http.
import { z } from 'zod';
import type { Ctx } from '../../src/core/connector.js';
import { AuthError, PermanentError } from '../../src/core/errors.js';
import type { DiscoveredDevice, JsonObject } from '../../src/core/messages.js';
import type { VendorResponse } from '../../src/core/vendor-http.js';
import type { ChirpstackCred } from './schema.js';

/** Body of `queueItem` in POST /api/devices/{devEui}/queue: exactly one of data/object is set. */
export interface QueueItem {
  confirmed: boolean;
  fPort: number;
  data?: string;
  object?: JsonObject;
}

/** ChirpStack has no documented page-size cap; we keep one so a huge page cannot time out the call. */
export const MAX_PAGE_SIZE = 1000;

const auth = (cred: ChirpstackCred) => ({ authorization: `Bearer ${cred.apiToken}`, accept: 'application/json' });

// grpc-gateway emits unpopulated fields (null messages, "" strings); v3 sent totalCount as a string.
const listResponse = z.object({
  totalCount: z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]).optional(),
  result: z.array(z.object({
    devEui: z.string().regex(/^[0-9a-fA-F]{16}$/),
    name: z.string().nullish(),
    description: z.string().nullish(),
  })).nullish(),
});

const enqueueResponse = z.object({ id: z.string().min(1) });

function unexpected(what: string, data: unknown): PermanentError {
  const hint = typeof data === 'string' && /<html|<!doctype/i.test(data)
    ? ' (got an HTML page: is the URL the chirpstack-rest-api proxy, default port 8090, rather than the web UI?)'
    : '';
  return new PermanentError(`unexpected ${what} response from the ChirpStack REST API${hint}`);
}

export async function listDevices(
  ctx: Ctx<ChirpstackCred>,
  page: { page: number; pageSize: number },
): Promise<{ items: DiscoveredDevice[]; total: number }> {
  const { cred } = ctx;
  // limit omitted or 0 makes ChirpStack answer with totalCount only: always send a positive one.
  const limit = Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(page.pageSize) || 1));
  const offset = Math.max(0, (Math.max(1, Math.floor(page.page) || 1) - 1) * limit);
  const res = await ctx.http.request<unknown>({
    method: 'GET',
    url: `${cred.apiUrl}/api/devices`,
    headers: auth(cred),
    params: { applicationId: cred.applicationId, limit, offset },
    idempotent: true,
  });
  const parsed = listResponse.safeParse(res.data);
  if (!parsed.success) throw unexpected('device list', res.data);
  const items = (parsed.data.result ?? []).map((d): DiscoveredDevice => {
    const externalId = d.devEui.toLowerCase();
    const item: DiscoveredDevice = { externalId, name: d.name?.trim() || externalId };
    if (d.description?.trim()) item.description = d.description.trim();
    return item;
  });
  return { items, total: parsed.data.totalCount ?? items.length };
}

/**
 * Returns the queue item id that later ack/txack events carry as queueItemId.
 * ChirpStack answers 401 (not 404) when a tenant API key asks for a device it cannot see, e.g. one deleted in
 * ChirpStack: a cheap list call tells that apart from a bad token, so one stale device does not flag the access point for re-auth.
 */
export async function enqueueDownlink(ctx: Ctx<ChirpstackCred>, devEui: string, item: QueueItem): Promise<string> {
  const { cred } = ctx;
  let res: VendorResponse<unknown>;
  try {
    res = await ctx.http.request<unknown>({
      method: 'POST',
      url: `${cred.apiUrl}/api/devices/${encodeURIComponent(devEui)}/queue`,
      headers: auth(cred),
      body: { queueItem: item, flushQueue: false },
      // Not idempotent: a repeated POST would queue the downlink twice.
      idempotent: false,
    });
  } catch (err) {
    if (!(err instanceof AuthError)) throw err;
    await listDevices(ctx, { page: 1, pageSize: 1 });
    throw new PermanentError(`device ${devEui} does not exist in ChirpStack or is not visible to this API key`, { cause: err });
  }
  const parsed = enqueueResponse.safeParse(res.data);
  if (!parsed.success) throw unexpected('enqueue', res.data);
  return parsed.data.id;
}
