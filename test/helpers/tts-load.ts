// A webhook load of The Things Stack uplinks, each carrying telemetry {run, seq}, against service replicas (OS
// processes or in-process), and the bookkeeping to compare what was acknowledged with what ThingsPanel received.
import { startTtsSim, type TtsSim } from '../../connectors/the-things-stack/simulator.js';
import { type Harness, type HarnessOptions, REDIS_URL, startHarness, uid, until } from './harness.js';
import { jobsOf, paced, queueOf, tally } from './fault.js';

export interface TtsSetup {
  h: Harness;
  tts: TtsSim;
  apId: string;
  secret: string;
  devices: string[];
  redisUrl: string;
  close(): Promise<void>;
}

/** TTS simulator + harness + one access point with four bound devices. */
export async function ttsSetup(o: Partial<HarnessOptions> = {}): Promise<TtsSetup> {
  const app = `app${uid(3)}`;
  const tts = await startTtsSim({ applicationId: app, devices: 4 });
  const h = await startHarness({ connector: 'the-things-stack', ...o, env: { LOG_LEVEL: 'info', ...o.env } });
  const secret = `wh-secret-${uid(8)}`;
  const apId = h.tp.createAccessPoint({ serviceIdentifier: h.si, name: 'load', voucher: { server_url: tts.url, application_id: app, api_key: tts.apiKey, webhook_secret: secret, offline_timeout: '0' } });
  const devices = ['dev1', 'dev2', 'dev3', 'dev4'];
  // Bound before OS-process replicas start: they read the devices at start (the notification may find no listener).
  await h.tp.bindDevices(apId, devices.map((d) => ({ device_number: `tts-${app}-${d}`, device_name: d })));
  for (const s of h.services) await until(() => s.rt.registry.get(apId)?.devices.size === 4, 10_000, 'in-process replica synced');
  return {
    h, tts, apId, secret, devices, redisUrl: o.redisUrl ?? REDIS_URL,
    async close() { await h.close(); await tts.close(); },
  };
}

/** Something that takes webhooks: an OS-process replica or an in-process one. */
export interface Target { name: string; webhookUrl: string; readonly alive: boolean }

/** Waits until an OS-process replica has synced the access point with its devices (admin /api/status). */
export async function synced(sp: { name: string; adminUrl: string }, apId: string, devices: number): Promise<void> {
  await until(async () => {
    const r = await fetch(`${sp.adminUrl}/api/status`).then((x) => x.json() as Promise<{ access_points: { id: string; devices: number }[] }>).catch(() => null);
    return r?.access_points.some((a) => a.id === apId && a.devices === devices);
  }, 20_000, `${sp.name} synced`);
}

export interface StreamResult {
  acked: Set<number>;
  /** Non-2xx answers by status (0 = connection error), each followed by a retry elsewhere. */
  non2xx: Map<number, number>;
  /** Seqs that never got a 2xx (after all retries). */
  refused: number[];
  ms: number;
}

/**
 * Sends `n` uplinks round robin to the live targets at about `perSecond`; an answer other than 2xx is retried with
 * the same body (same TTS as:up id, so the same idempotency key) on the next target, up to `attempts` times.
 */
export async function stream(s: TtsSetup, targets: () => Target[], run: string, n: number, perSecond: number, o: { attempts?: number; retryDelayMs?: number; onSend?: (seq: number) => void; status?: (seq: number, status: number, sentAt: number) => void } = {}): Promise<StreamResult> {
  const acked = new Set<number>();
  const non2xx = new Map<number, number>();
  const refused: number[] = [];
  let rr = 0;
  const t0 = Date.now();
  await paced(n, perSecond, 16, async (seq) => {
    o.onSend?.(seq);
    const body = s.tts.uplinkBody(s.devices[seq % s.devices.length]!, { run, seq });
    for (let attempt = 0; attempt < (o.attempts ?? 20); attempt++) {
      const live = targets().filter((r) => r.alive);
      const target = live[rr++ % Math.max(1, live.length)];
      if (!target) break;
      const sentAt = Date.now();
      const res = await s.tts.deliver(`${target.webhookUrl}/webhooks/the-things-stack/${s.apId}`, body, { 'x-webhook-secret': s.secret }).catch(() => ({ status: 0, body: '' }));
      o.status?.(seq, res.status, sentAt);
      if (res.status >= 200 && res.status < 300) { acked.add(seq); return; }
      non2xx.set(res.status, (non2xx.get(res.status) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, o.retryDelayMs ?? 50));
    }
    refused.push(seq);
  });
  return { acked, non2xx, refused, ms: Date.now() - t0 };
}

export const seqsOf = (h: Harness, run: string) => h.tp.telemetry.filter((t) => t.values.run === run).map((t) => t.values.seq as number);

/** Seqs carried by an uplink job's items (TTS uplink bodies). */
export function jobSeqs(data: unknown): number[] {
  const items = (data as { items?: { rec?: { body?: { uplink_message?: { decoded_payload?: { seq?: number } } } } }[] }).items ?? [];
  return items.map((it) => it.rec?.body?.uplink_message?.decoded_payload?.seq).filter((x): x is number => typeof x === 'number');
}

/**
 * Waits until every acknowledged record arrived (returns when), then until the uplink queue is empty and `quietUntil`
 * has passed (late duplicates would come from stalled jobs recovered after their lock ran out).
 */
export async function settle(s: TtsSetup, run: string, acked: Set<number>, o: { timeoutMs?: number; quietUntil?: number } = {}): Promise<number> {
  const q = queueOf(s.redisUrl, s.h.redisPrefix, 'uplink');
  try {
    await until(() => tally(acked, seqsOf(s.h, run)).missing.length === 0, o.timeoutMs ?? 60_000, 'every acknowledged record received').catch(async (e: Error) => {
      const missing = tally(acked, seqsOf(s.h, run)).missing;
      const counts = await q.getJobCounts().catch(() => ({}));
      const holding = (await jobsOf(q).catch(() => [])).filter((j) => jobSeqs(j.data).some((x) => missing.includes(x)))
        .slice(0, 5).map((j) => ({ id: j.id, state: j.finishedOn ? (j.failedReason ? 'failed' : 'completed') : 'unfinished', by: j.processedBy, attempts: j.attemptsMade, stalled: j.stalledCounter, reason: j.failedReason, result: j.returnvalue as unknown }));
      throw new Error(`${e.message}: ${missing.length} missing ${JSON.stringify(missing.slice(0, 50))}; uplink queue ${JSON.stringify(counts)}; jobs holding them ${JSON.stringify(holding)}`);
    });
    const arrivedAt = Date.now();
    await until(async () => {
      const c = await q.getJobCounts('active', 'waiting', 'delayed');
      return (c.active ?? 0) + (c.waiting ?? 0) + (c.delayed ?? 0) === 0 && Date.now() > (o.quietUntil ?? 0);
    }, 30_000, 'uplink queue drained');
    await new Promise((r) => setTimeout(r, 500));
    return arrivedAt;
  } finally {
    await q.close();
  }
}

/** Uplink jobs that were recovered as stalled at least once: their records and who finished them. */
export async function stalledJobs(s: TtsSetup): Promise<{ seqs: Set<number>; count: number; finishedBy: Set<string>; byReplica: Map<string, number> }> {
  const q = queueOf(s.redisUrl, s.h.redisPrefix, 'uplink');
  try {
    const jobs = await jobsOf(q, ['completed', 'failed']);
    const stalled = jobs.filter((j) => (j.stalledCounter ?? 0) > 0);
    const byReplica = new Map<string, number>();
    for (const j of jobs) byReplica.set(j.processedBy ?? '?', (byReplica.get(j.processedBy ?? '?') ?? 0) + 1);
    return { seqs: new Set(stalled.flatMap((j) => jobSeqs(j.data))), count: stalled.length, finishedBy: new Set(stalled.map((j) => j.processedBy ?? '?')), byReplica };
  } finally {
    await q.close();
  }
}

/** The uplink jobs that carried the given seqs, for diagnostics (state, attempts, stalled counter, replica). */
export async function jobsCarrying(s: TtsSetup, seqs: readonly number[]): Promise<unknown[]> {
  if (seqs.length === 0) return [];
  const q = queueOf(s.redisUrl, s.h.redisPrefix, 'uplink');
  try {
    return (await jobsOf(q)).filter((j) => jobSeqs(j.data).some((x) => seqs.includes(x))).slice(0, 10)
      .map((j) => ({ id: j.id, seqs: jobSeqs(j.data).filter((x) => seqs.includes(x)), by: j.processedBy, attempts: j.attemptsMade, started: j.attemptsStarted, stalled: j.stalledCounter, reason: j.failedReason, result: j.returnvalue as unknown }));
  } finally {
    await q.close();
  }
}
