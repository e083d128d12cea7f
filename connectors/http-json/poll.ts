// Discovery and polling: list endpoint → devices; state endpoint (per device or one batch) → mapped records.
import type { Ctx, PollResult } from '../../src/core/connector.js';
import { AuthError, ConnectorError, describeError, PermanentError, RateLimitedError, TransientError } from '../../src/core/errors.js';
import type { DiscoveredDevice, JsonValue, RawRecord } from '../../src/core/messages.js';
import { shortId } from '../../src/util/ids.js';
import { call, fetchAllPages, pageSettings } from './client.js';
import { evaluate, evaluateRow, type ExprSpec } from './expr.js';
import { mappingSpecs, stableStringify, toDeviceId, toMappedState, toRecord } from './mapping.js';
import { DEFAULTS, type DeviceCfg, type HttpJsonCred } from './schema.js';
import { parseDeviceCfg, pollMapping, statePath } from './settings.js';
import { renderPath } from './templates.js';

/** Parallel state requests per access point in per_device mode (the vendor HTTP client also rate-limits). */
export const POLL_CONCURRENCY = 4;
const DEVICE_LIST_TTL_MS = 60_000;

const svcr = (key: keyof HttpJsonCred, expr: string | undefined, dflt: string): ExprSpec =>
  expr !== undefined ? { field: `${key} (access point SVCR)`, expr } : { field: `${key} (default ${JSON.stringify(dflt)})`, expr: dflt };

// ---------------------------------------------------------------------------------------------------------
// Discovery

function deviceName(v: JsonValue | undefined, id: string): string {
  if (typeof v === 'string' && v.trim() !== '') return v.trim().slice(0, 255);
  if (typeof v === 'number') return String(v);
  return id;
}

async function allDevices(ctx: Ctx<HttpJsonCred>): Promise<DiscoveredDevice[]> {
  const cred = ctx.cred;
  if (!cred.devices_path) throw new PermanentError('devices_path is not configured: device discovery is off for this access point');
  const itemsSpec = svcr('items_expr', cred.items_expr, DEFAULTS.itemsExpr);
  const idSpec = svcr('device_id_expr', cred.device_id_expr, DEFAULTS.deviceIdExpr);
  const nameSpec = svcr('device_name_expr', cred.device_name_expr, DEFAULTS.deviceNameExpr);
  // The cache key covers everything that shapes the list, so an edited voucher is never served a stale list.
  const cacheKey = `http-json:devices:${shortId(stableStringify([cred.base_url, cred.devices_path, { ...pageSettings(cred) } as unknown as JsonValue, itemsSpec.expr, idSpec.expr, nameSpec.expr]), 16)}`;
  const hit = await ctx.store.get(cacheKey);
  if (hit) {
    try {
      return JSON.parse(hit) as DiscoveredDevice[];
    } catch {
      /* refetch */
    }
  }
  const { items, pages, truncated } = await fetchAllPages(ctx, renderPath(cred.devices_path, {}, 'devices_path'), itemsSpec);
  if (truncated) ctx.log.warn({ pages, items: items.length }, 'http-json: device list truncated at max_pages');
  const results = await evaluate([idSpec, nameSpec], items.map((input) => ({ input })));
  const out: DiscoveredDevice[] = [];
  const seen = new Set<string>();
  for (const r of results) {
    if (!r.ok) throw r.error;
    const id = toDeviceId(r.values[0], idSpec.field);
    if (id === undefined || seen.has(id)) continue;
    seen.add(id);
    out.push({ externalId: id, name: deviceName(r.values[1], id) });
  }
  const text = JSON.stringify(out);
  if (text.length < 1_000_000) await ctx.store.set(cacheKey, text, DEVICE_LIST_TTL_MS);
  return out;
}

export async function listDevices(ctx: Ctx<HttpJsonCred>, page: { page: number; pageSize: number }): Promise<{ items: DiscoveredDevice[]; total: number }> {
  const all = await allDevices(ctx);
  const size = Math.max(1, page.pageSize);
  const start = (Math.max(1, page.page) - 1) * size;
  return { items: all.slice(start, start + size), total: all.length };
}

// ---------------------------------------------------------------------------------------------------------
// Polling

type CfgCache = Map<string, Promise<DeviceCfg | null>>;

function cfgFor(ctx: Ctx<HttpJsonCred>, cache: CfgCache, device: string): Promise<DeviceCfg | null> {
  if (!ctx.deviceConfig) return Promise.resolve(null);
  let p = cache.get(device);
  if (!p) {
    const ask = ctx.deviceConfig;
    p = ask(device).then(parseDeviceCfg);
    cache.set(device, p);
  }
  return p;
}

/** Errors that concern the whole access point: stop at once instead of trying every other device. */
const fatal = (e: unknown) => e instanceof AuthError || e instanceof RateLimitedError;

async function pollOne(ctx: Ctx<HttpJsonCred>, cfgs: CfgCache, device: string, now: number): Promise<RawRecord | null> {
  const cfg = await cfgFor(ctx, cfgs, device);
  const path = statePath(ctx.cred, cfg);
  if (!path) return null;
  const res = await call<JsonValue>(ctx, { method: 'GET', url: renderPath(path.value, { id: device }, path.field), idempotent: true });
  const { slots, specs } = mappingSpecs(pollMapping(ctx.cred, cfg));
  const values = await evaluateRow(specs, res.data ?? null, { device });
  return toRecord(toMappedState(device, slots, specs, values), 'poll', now);
}

interface Failure {
  device: string;
  error: unknown;
}

async function perDevice(ctx: Ctx<HttpJsonCred>, devices: readonly string[], now: number): Promise<{ records: RawRecord[]; failures: Failure[] }> {
  const cfgs: CfgCache = new Map();
  // Slots keep the records in the order of `devices`, whatever order the answers arrive in.
  const slots: (RawRecord | null)[] = devices.map(() => null);
  const failures: Failure[] = [];
  let stop: unknown;
  let next = 0;
  const worker = async () => {
    while (stop === undefined && next < devices.length) {
      const i = next++;
      const device = devices[i]!;
      try {
        slots[i] = await pollOne(ctx, cfgs, device, now);
      } catch (err) {
        if (fatal(err)) stop = err;
        else failures.push({ device, error: err });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(POLL_CONCURRENCY, devices.length) }, worker));
  if (stop !== undefined) throw stop;
  return { records: slots.filter((r): r is RawRecord => r !== null), failures };
}

async function batch(ctx: Ctx<HttpJsonCred>, devices: readonly string[], now: number): Promise<{ records: RawRecord[]; failures: Failure[] }> {
  const cred = ctx.cred;
  const itemsSpec = svcr('state_items_expr', cred.state_items_expr, DEFAULTS.itemsExpr);
  const idSpec = svcr('state_device_id_expr', cred.state_device_id_expr, DEFAULTS.deviceIdExpr);
  const { items, pages, truncated } = await fetchAllPages(ctx, renderPath(cred.state_path ?? '', {}, 'state_path'), itemsSpec);
  if (truncated) ctx.log.warn({ pages, items: items.length }, 'http-json: batch state truncated at max_pages');
  const wanted = new Set(devices);
  const ids = await evaluate([idSpec], items.map((input) => ({ input })));
  const cfgs: CfgCache = new Map();
  const failures: Failure[] = [];
  // Devices of one template share a mapping: evaluate each group in one engine call.
  const groups = new Map<string, { specs: ExprSpec[]; slots: ReturnType<typeof mappingSpecs>['slots']; rows: { device: string; input: JsonValue }[] }>();
  for (const [i, r] of ids.entries()) {
    if (!r.ok) {
      failures.push({ device: `(item ${i})`, error: r.error });
      continue;
    }
    let device: string | undefined;
    try {
      device = toDeviceId(r.values[0], idSpec.field);
    } catch (err) {
      failures.push({ device: `(item ${i})`, error: err });
      continue;
    }
    if (device === undefined || !wanted.has(device)) continue;
    let cfg: DeviceCfg | null;
    try {
      cfg = await cfgFor(ctx, cfgs, device);
    } catch (err) {
      failures.push({ device, error: err });
      continue;
    }
    const { slots, specs } = mappingSpecs(pollMapping(cred, cfg));
    const sig = JSON.stringify(specs);
    let g = groups.get(sig);
    if (!g) groups.set(sig, (g = { specs, slots, rows: [] }));
    g.rows.push({ device, input: items[i] ?? null });
  }
  const records: RawRecord[] = [];
  for (const g of groups.values()) {
    let results;
    try {
      results = await evaluate(g.specs, g.rows.map((row) => ({ input: row.input, bindings: { device: row.device } })));
    } catch (err) {
      for (const row of g.rows) failures.push({ device: row.device, error: err });
      continue;
    }
    results.forEach((r, i) => {
      const device = g.rows[i]!.device;
      if (!r.ok) return void failures.push({ device, error: r.error });
      try {
        records.push(toRecord(toMappedState(device, g.slots, g.specs, r.values), 'poll', now));
      } catch (err) {
        failures.push({ device, error: err });
      }
    });
  }
  return { records, failures };
}

const lastWarning = new Map<string, string>();

/** Logs a change in the set of failing devices once, not on every poll (house rule 8). */
function report(ctx: Ctx<HttpJsonCred>, failures: Failure[], total: number): void {
  const ap = ctx.accessPoint.id;
  if (failures.length === 0) {
    if (lastWarning.delete(ap)) ctx.log.info('http-json: all devices polled again');
    return;
  }
  const first = failures[0]!;
  const sig = `${failures.length}/${total}:${describeError(first.error)}`;
  if (lastWarning.get(ap) === sig) return;
  lastWarning.set(ap, sig);
  ctx.log.warn({ failed: failures.length, devices: total, device: first.device, error: describeError(first.error) }, 'http-json: some devices could not be polled');
}

export async function runPoll(ctx: Ctx<HttpJsonCred>, _cursor: JsonValue | null, devices: readonly string[]): Promise<PollResult> {
  if (devices.length === 0) return { records: [], cursor: null };
  if (ctx.cred.state_mode === 'batch' && !ctx.cred.state_path) return { records: [], cursor: null };
  const now = ctx.now();
  const { records, failures } = ctx.cred.state_mode === 'batch' ? await batch(ctx, devices, now) : await perDevice(ctx, devices, now);
  report(ctx, failures, devices.length);
  // Nothing at all came through: surface the first error so the access point shows it.
  if (records.length === 0 && failures.length > 0) {
    const e = failures[0]!.error;
    throw e instanceof ConnectorError ? e : new TransientError(describeError(e), { cause: e });
  }
  return { records, cursor: null };
}
