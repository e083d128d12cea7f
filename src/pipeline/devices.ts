// ThingsPanel device number ↔ vendor device id. Numbers are derived from vendor ids (src/util/ids.ts);
// long ones are hashed, so the reverse map is kept in Redis, written whenever a device list is served.
import type { AnyConnector, Ctx } from '../core/connector.js';
import type { DiscoveredDevice } from '../core/messages.js';
import { numberFor, type ApEntry } from './registry.js';
import type { Runtime } from './runtime.js';

export { numberFor };

export async function rememberDevices(rt: Runtime, connector: AnyConnector, cred: unknown, items: readonly DiscoveredDevice[]): Promise<void> {
  if (items.length === 0) return;
  const map: Record<string, string> = {};
  for (const d of items) map[numberFor(connector, cred, d.externalId)] = d.externalId;
  await rt.redis.hset(rt.k('devnum'), map);
}

/** Vendor id of a bound device, or null when the vendor does not know it (any more). */
export async function externalIdFor(rt: Runtime, ap: ApEntry, number: string, ctx?: Ctx<unknown>): Promise<string | null> {
  const c = ap.binding.connector;
  const known = await rt.redis.hget(rt.k('devnum'), number);
  if (known && numberFor(c, ap.cred, known) === number) return known;
  const head = `${c.deviceNumberPrefix}-${ap.cred ? c.deviceScope(ap.cred) : ''}`.replace(/-$/, '') + '-';
  if (number.startsWith(head)) {
    const candidate = number.slice(head.length);
    if (numberFor(c, ap.cred, candidate) === number) return candidate;
  }
  // Hashed number we have not seen listed: ask the vendor once (bounded) and remember.
  if (!ap.cred) return null;
  const context = ctx ?? rt.ctx(ap);
  for (let page = 1; page <= 20; page++) {
    const res = await c.listDevices(context, { page, pageSize: 100 });
    await rememberDevices(rt, c, ap.cred, res.items);
    const hit = res.items.find((d) => numberFor(c, ap.cred, d.externalId) === number);
    if (hit) return hit.externalId;
    if (res.items.length < 100 || page * 100 >= res.total) break;
  }
  return null;
}
