// Polling: batch status and device list (online flag, details) for the bound devices, emitting changed values only.
import type { Ctx, PollResult } from '../../src/core/connector.js';
import { PermanentError, describeError } from '../../src/core/errors.js';
import type { JsonObject, JsonValue, RawRecord } from '../../src/core/messages.js';
import { shortId } from '../../src/util/ids.js';
import { MAX_IDS_PER_CALL, batchStatus, isTuyaDeviceId, listDevicesPage, type DeviceStatus } from './client.js';
import { RECORD_TYPES, pickDetail } from './normalise.js';
import type { TuyaCred } from './schema.js';

/**
 * What was last published per device. It travels in the poll cursor rather than in ctx.store because the
 * pipeline saves the cursor only after the records are queued: a failed hand-off then re-publishes, never loses.
 */
export interface DeviceMemory {
  /** code → hash of the last published value. */
  s?: Map<string, string>;
  o?: boolean;
  /** Hash of the last published detail attributes. */
  d?: string;
}

const CURSOR_VERSION = 1;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Tolerant: an unknown or damaged cursor simply means "publish everything once". */
export function readCursor(cursor: JsonValue | null): Map<string, DeviceMemory> {
  const out = new Map<string, DeviceMemory>();
  if (!isObject(cursor) || cursor.v !== CURSOR_VERSION || !isObject(cursor.dev)) return out;
  for (const [id, m] of Object.entries(cursor.dev)) {
    if (!isObject(m)) continue;
    const mem: DeviceMemory = {};
    if (isObject(m.s)) mem.s = new Map(Object.entries(m.s).filter((e): e is [string, string] => typeof e[1] === 'string'));
    if (typeof m.o === 'boolean') mem.o = m.o;
    if (typeof m.d === 'string') mem.d = m.d;
    out.set(id, mem);
  }
  return out;
}

export function writeCursor(mem: ReadonlyMap<string, DeviceMemory>): JsonValue {
  const dev: [string, JsonValue][] = [];
  for (const [id, m] of mem) {
    const o: [string, JsonValue][] = [];
    if (m.s) o.push(['s', Object.fromEntries(m.s)]);
    if (m.o !== undefined) o.push(['o', m.o]);
    if (m.d !== undefined) o.push(['d', m.d]);
    dev.push([id, Object.fromEntries(o)]);
  }
  return { v: CURSOR_VERSION, dev: Object.fromEntries(dev) };
}

const valueHash = (v: JsonValue | undefined) => shortId(JSON.stringify(v) ?? 'undefined', 12);
const recordKey = (type: string, id: string, t: number | undefined, content: JsonValue) =>
  `tuya:${type}:${shortId(`${id}\u0000${t ?? ''}\u0000${JSON.stringify(content)}`, 24)}`;

export interface DeviceObservation {
  id: string;
  /** Status items as Tuya returned them, with the answer time. */
  status?: { t?: number; items: readonly JsonValue[] };
  /** Device object from the device list (local_key already removed by the client), with the answer time. */
  device?: { t?: number; obj: JsonObject };
}

/** Pure: compares one device's observation with what was published and returns the records to publish. */
export function diffDevice(prev: DeviceMemory | undefined, obs: DeviceObservation, onlyChanged: boolean): { records: RawRecord[]; memory: DeviceMemory } {
  const records: RawRecord[] = [];
  const memory: DeviceMemory = { ...prev };
  const { id } = obs;

  if (obs.device) {
    const { obj, t } = obs.device;
    // Details rarely change: published on change whatever the setting, so the platform is not flooded with attribute sets.
    const detail = pickDetail(obj);
    const dh = valueHash(detail);
    if (prev?.d !== dh && Object.keys(detail).length > 0) {
      const body: JsonObject = t === undefined ? { device: { id, ...detail } } : { t, device: { id, ...detail } };
      records.push({ key: recordKey('detail', id, t, detail), device: id, type: RECORD_TYPES.detail, body });
    }
    memory.d = dh;
    const online = obj.online;
    if (typeof online === 'boolean') {
      if (!onlyChanged || prev?.o !== online) {
        const body: JsonObject = t === undefined ? { id, online } : { id, online, t };
        records.push({ key: recordKey('online', id, t, online), device: id, type: RECORD_TYPES.online, body });
      }
      memory.o = online;
    }
  }

  if (obs.status) {
    const { items, t } = obs.status;
    const hashes = new Map<string, string>();
    const changed: JsonValue[] = [];
    for (const item of items) {
      if (!isObject(item) || typeof item.code !== 'string') continue;
      const h = valueHash(item.value);
      hashes.set(item.code, h);
      if (!onlyChanged || prev?.s?.get(item.code) !== h) changed.push(item);
    }
    if (changed.length > 0) {
      const body: JsonObject = t === undefined ? { id, status: changed } : { id, t, status: changed };
      records.push({ key: recordKey('status', id, t, changed), device: id, type: RECORD_TYPES.status, body });
    }
    // Codes missing from this answer keep their last hash, so a flapping field list does not re-publish.
    memory.s = new Map([...(prev?.s ?? []), ...hashes]);
  }
  return { records, memory };
}

function chunks<T>(xs: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

/** poll.run: two calls per 20 bound devices (batch status, device list filtered by id). */
export async function runPoll(ctx: Ctx<TuyaCred>, cursor: JsonValue | null, devices: readonly string[]): Promise<PollResult> {
  const prev = readCursor(cursor);
  const ids = [...new Set(devices)].filter(isTuyaDeviceId);
  const next = new Map<string, DeviceMemory>();
  const records: RawRecord[] = [];
  let failed: unknown;
  let succeeded = 0;

  for (const chunk of chunks(ids, MAX_IDS_PER_CALL)) {
    let status: { items: DeviceStatus[]; t?: number };
    let list: Awaited<ReturnType<typeof listDevicesPage>>;
    try {
      status = await batchStatus(ctx, chunk);
      list = await listDevicesPage(ctx, { pageSize: chunk.length, deviceIds: chunk });
    } catch (err) {
      // Auth, rate-limit and transient errors stop the poll (the pipeline pauses or retries it); a permanent
      // answer for one batch (e.g. a removed device) must not starve the other batches.
      if (!(err instanceof PermanentError)) throw err;
      failed ??= err;
      ctx.log.warn({ devices: chunk.length, reason: describeError(err) }, 'tuya poll batch failed');
      for (const id of chunk) {
        const p = prev.get(id);
        if (p) next.set(id, p);
      }
      continue;
    }
    succeeded++;
    const statusById = new Map(status.items.map((s) => [s.id, s.status] as const));
    const deviceById = new Map(list.devices.map((d) => [d.id as string, d] as const));
    for (const id of chunk) {
      const obs: DeviceObservation = { id };
      const st = statusById.get(id);
      if (st) obs.status = status.t === undefined ? { items: st } : { items: st, t: status.t };
      const dev = deviceById.get(id);
      if (dev) obs.device = list.t === undefined ? { obj: dev } : { obj: dev, t: list.t };
      const r = diffDevice(prev.get(id), obs, ctx.cred.onlyChanged);
      records.push(...r.records);
      next.set(id, r.memory);
    }
  }
  if (failed !== undefined && succeeded === 0) throw failed;
  return { records, cursor: writeCursor(next) };
}
