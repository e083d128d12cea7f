// Uplink worker: normalise records, map vendor devices to ThingsPanel devices, drop duplicates,
// publish with QoS 1 and complete the job only after every PUBACK.
import type { Job } from 'bullmq';
import { PayloadError, describeError } from '../core/errors.js';
import type { PlatformMessage } from '../core/messages.js';
import { metrics } from '../core/metrics.js';
import { encodeEnvelope } from '../platform/envelope.js';
import { uplinkTopics } from '../platform/topics.js';
import { shortId } from '../util/ids.js';
import type { ApEntry, DeviceEntry } from './registry.js';
import type { Runtime, UplinkItem, UplinkJob } from './runtime.js';

interface Out {
  key: string;
  /** The record's idempotency key in Redis. */
  claim: string;
  device: DeviceEntry;
  connector: string;
  msg: PlatformMessage;
  index: number;
}

/** Serialises publish *issuing* across concurrent jobs of this process, so per-device order holds. */
let issueChain: Promise<void> = Promise.resolve();

export function createUplinkProcessor(rt: Runtime) {
  const { k, link, registry } = rt;
  const enc = rt.config.TP_VALUES_ENCODING;

  async function apFor(item: UplinkItem): Promise<ApEntry | undefined> {
    const ap = registry.get(item.ap);
    if (ap) return ap;
    // Another replica may know an access point this one has not synced yet.
    const b = registry.binding(item.si);
    if (!b) return undefined;
    const row = await rt.backend.getAccessPoint(item.ap).catch(() => null);
    return row ? registry.upsert(b, row).entry : undefined;
  }

  return async function processUplink(job: Job<UplinkJob>): Promise<{ published: number; duplicates: number; dropped: number }> {
    const items = job.data.items ?? [];
    const outs: Out[] = [];
    let dropped = 0;

    // 1. Claim each record's idempotency key atomically; a key claimed by another job (a replayed webhook,
    //    a concurrent duplicate) is skipped, a key claimed by this job (a retry of it) is ours again.
    const recordKey = (it: UplinkItem) => ('rec' in it ? it.rec.key : it.key);
    const claimKey = (it: UplinkItem) => k(`done:${it.ap}:${recordKey(it)}`);
    const claims = items.length ? await claimKeys(rt, items.map(claimKey), `c:${job.id}`, rt.config.DEDUP_TTL_S) : [];
    let duplicates = 0;

    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (claims[i] !== 1) { duplicates++; continue; }
      const ap = registry.get(it.ap) ?? (await apFor(it));
      const connectorId = ap?.binding.connector.id ?? 'unknown';
      if (!ap) { dropped++; metrics.uplinkDropped.inc({ connector: connectorId, reason: 'unknown_access_point' }); continue; }
      let msgs: PlatformMessage[];
      const key = recordKey(it);
      if ('rec' in it) {
        try {
          msgs = ap.binding.connector.normalise(it.rec, { accessPointId: ap.id, receivedAt: it.at });
        } catch (err) {
          dropped++;
          metrics.uplinkDropped.inc({ connector: connectorId, reason: err instanceof PayloadError ? 'payload' : 'normalise_error' });
          rt.log.warn({ connector: connectorId, access_point: ap.id, type: it.rec.type, err: describeError(err) }, 'record could not be normalised; dropped');
          continue;
        }
      } else msgs = [it.msg];
      let idx = 0;
      // The messages of one record almost always name the same vendor device: look it up once.
      let lastExt: string | undefined;
      let lastDevice: DeviceEntry | undefined;
      for (const msg of msgs) {
        if (msg.device !== lastExt) { lastExt = msg.device; lastDevice = registry.deviceForExternal(ap, msg.device); }
        const device = lastDevice;
        if (!device) {
          dropped++;
          metrics.uplinkDropped.inc({ connector: connectorId, reason: 'unbound_device' });
          await rt.redis.zadd(k(`seen:${ap.id}`), Date.now(), msg.device).catch(() => undefined);
          continue;
        }
        outs.push({ key, claim: claimKey(it), device, connector: connectorId, msg, index: idx++ });
      }
    }

    // 2. Online state: publish status only when it changes; data from a device means it is online.
    const devIds = [...new Set(outs.map((o) => o.device.id))];
    const online = devIds.length ? await rt.redis.hmget(k('online'), ...devIds) : [];
    const state = new Map(devIds.map((id, i) => [id, online[i] ?? null]));
    const publishes: { topic: string; payload: string; connector: string; kind: string; claim: string }[] = [];
    const statusChanges: [string, string][] = [];
    const attrWrites: [string, Record<string, unknown>][] = [];
    for (const o of outs) {
      const { msg, device } = o;
      const wantOnline = msg.kind === 'status' ? msg.online : true;
      if (state.get(device.id) !== (wantOnline ? '1' : '0')) {
        state.set(device.id, wantOnline ? '1' : '0');
        statusChanges.push([device.id, wantOnline ? '1' : '0']);
        publishes.push({ topic: uplinkTopics.status(device.id), payload: wantOnline ? '1' : '0', connector: o.connector, kind: 'status', claim: o.claim });
      }
      if (msg.kind === 'status') continue;
      // Telemetry carries no message id; attributes and events get one derived from the record (a hash).
      if (msg.kind === 'telemetry') publishes.push({ topic: uplinkTopics.telemetry(), payload: encodeEnvelope(device.id, msg.values, enc), connector: o.connector, kind: 'telemetry', claim: o.claim });
      else if (msg.kind === 'attributes') {
        if (Object.keys(msg.values).length === 0) continue;
        publishes.push({ topic: uplinkTopics.attributes(shortId(`${o.key}:${o.index}`)), payload: encodeEnvelope(device.id, msg.values, enc), connector: o.connector, kind: 'attributes', claim: o.claim });
        attrWrites.push([device.id, msg.values]);
      } else publishes.push({ topic: uplinkTopics.event(shortId(`${o.key}:${o.index}`)), payload: encodeEnvelope(device.id, { method: msg.method, params: msg.params }, enc), connector: o.connector, kind: 'event', claim: o.claim });
    }

    // 3. Publish in order; wait for every PUBACK.
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const prev = issueChain;
    issueChain = prev.then(() => mine);
    let acks: Promise<void>[] = [];
    try {
      await prev;
      acks = publishes.map((p) => link.publish(p.topic, p.payload, 1));
    } finally {
      release();
    }
    // Records whose every message was acknowledged are marked published at once (p:<job>), so even a re-run of
    // this same job after a crash skips them; the duplicate window shrinks to one PUBACK plus one Redis call.
    const settled = await Promise.allSettled(acks);
    const failed = new Set<string>();
    let firstError: unknown;
    settled.forEach((r, i) => {
      if (r.status === 'rejected') {
        failed.add(publishes[i]!.claim);
        firstError ??= r.reason;
      }
    });
    const done = [...new Set(publishes.map((p) => p.claim))].filter((c) => !failed.has(c));
    if (done.length) await rt.redis.eval(MARK_PUBLISHED, done.length, ...done, `p:${job.id}`);
    if (firstError !== undefined) throw firstError;
    const published = new Map<string, { connector: string; kind: string; n: number }>();
    for (const p of publishes) {
      const key = `${p.connector}\u0000${p.kind}`;
      const c = published.get(key);
      if (c) c.n++;
      else published.set(key, { connector: p.connector, kind: p.kind, n: 1 });
    }
    for (const c of published.values()) metrics.uplinks.inc({ connector: c.connector, kind: c.kind }, c.n);

    // 4. Remember what was published, in ONE Redis call: online changes, last-seen time per device (one ZADD per
    //    access point) and the latest attributes per device (merged in publish order, so the later value of a
    //    field wins exactly as with one HSET per message).
    if (outs.length || statusChanges.length) {
      const now = String(Date.now());
      const fresh = new Map<string, Set<string>>();
      for (const o of outs) {
        const set = fresh.get(o.device.apId);
        if (set) set.add(o.device.id);
        else fresh.set(o.device.apId, new Set([o.device.id]));
      }
      const attrs = new Map<string, Record<string, string>>();
      for (const [id, values] of attrWrites) {
        let flat = attrs.get(id);
        if (!flat) attrs.set(id, (flat = {}));
        for (const [a, v] of Object.entries(values)) flat[a] = JSON.stringify(v);
      }
      const online = Object.entries(Object.fromEntries(statusChanges));
      const keys = [k('online'), ...[...fresh.keys()].map((ap) => k(`fresh:${ap}`)), ...[...attrs.keys()].map((id) => k(`attrs:${id}`))];
      const args: string[] = [now, String(online.length)];
      for (const [id, v] of online) args.push(id, v);
      args.push(String(fresh.size));
      for (const ids of fresh.values()) {
        args.push(String(ids.size));
        for (const id of ids) args.push(id);
      }
      for (const flat of attrs.values()) {
        const fields = Object.entries(flat);
        args.push(String(fields.length));
        for (const [a, v] of fields) args.push(a, v);
      }
      // One array argument (ioredis flattens it): a long job must not hit the engine's limit on spread arguments.
      await rt.redis.eval(REMEMBER, keys.length, keys.concat(args));
    }
    return { published: publishes.length, duplicates, dropped };
  };
}

/**
 * KEYS: online hash, then one fresh:<ap> sorted set per access point, then one attrs:<device> hash per device.
 * ARGV: now, n, n × (device id, '1'|'0'), number of fresh keys, per fresh key (count, device ids…), per attrs key
 * (count, count × (field, JSON value)). Long argument lists go to Redis in chunks (Lua's unpack limit). pcall: an
 * error of one write is ignored like an error inside MULTI/EXEC was, so it never fails (and re-publishes) the job.
 */
const REMEMBER = `
local function chunked(cmd, key, list)
  for s = 1, #list, 1000 do
    redis.pcall(cmd, key, unpack(list, s, math.min(s + 999, #list)))
  end
end
local now = ARGV[1]
local i = 2
local n = tonumber(ARGV[i]); i = i + 1
if n > 0 then
  local t = {}
  for j = 1, 2 * n do t[j] = ARGV[i + j - 1] end
  i = i + 2 * n
  chunked('HSET', KEYS[1], t)
end
local nf = tonumber(ARGV[i]); i = i + 1
for f = 1, nf do
  local c = tonumber(ARGV[i]); i = i + 1
  local t = {}
  for j = 1, c do t[2 * j - 1] = now; t[2 * j] = ARGV[i + j - 1] end
  i = i + c
  chunked('ZADD', KEYS[1 + f], t)
end
for a = 2 + nf, #KEYS do
  local c = tonumber(ARGV[i]); i = i + 1
  local t = {}
  for j = 1, 2 * c do t[j] = ARGV[i + j - 1] end
  i = i + 2 * c
  chunked('HSET', KEYS[a], t)
end
return 1
`;

/** Marks claimed records as published, keeping each key's TTL. */
const MARK_PUBLISHED = `
for _, key in ipairs(KEYS) do redis.call('SET', key, ARGV[1], 'KEEPTTL') end
return #KEYS
`;

const CLAIM = `
local out = {}
for i, key in ipairs(KEYS) do
  local v = redis.call('GET', key)
  if not v then
    redis.call('SET', key, ARGV[1], 'EX', ARGV[2])
    out[i] = 1
  elseif v == ARGV[1] then
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
`;

/** 1 = this job owns the record (first time, or its own retry); 0 = another job already has it. */
async function claimKeys(rt: Runtime, keys: string[], owner: string, ttlS: number): Promise<number[]> {
  const res = (await rt.redis.eval(CLAIM, keys.length, ...keys, owner, String(ttlS))) as number[];
  return res.map(Number);
}
