// What /api/status returns and the status page shows: per access point state, devices, last poll / data and the
// webhook to configure at the vendor; queue backlog; dead letters. Reads are bounded in time so the operator
// still gets an answer (marked degraded) while Redis is unreachable.
import { listDeadLetters } from '../pipeline/dead-letter.js';
import { queueStats } from '../pipeline/maintenance.js';
import type { Runtime } from '../pipeline/runtime.js';
import type { ApState, ApStateName } from '../pipeline/state.js';

export const WEBHOOK_HEADER_HINT = 'X-Webhook-Secret: <webhook secret of the access point>';

export interface AccessPointStatus {
  id: string;
  name: string;
  connector: string;
  service_identifier: string;
  state: ApStateName;
  reason: string;
  /** Epoch ms of the last state change; null when it never changed. */
  since: number | null;
  /** End of a rate-limit window (epoch ms), when one is known. */
  until: number | null;
  devices: number;
  last_poll: number | null;
  last_data: number | null;
  webhook: { url: string; header: string } | null;
  polling: boolean;
}

export type QueueStat = Awaited<ReturnType<typeof queueStats>>[string];

export interface StatusReport {
  generated_at: number;
  /** False when Redis did not answer in time: states, last poll/data and queues may be missing. */
  redis: boolean;
  broker: boolean;
  access_points: AccessPointStatus[];
  queues: Record<string, QueueStat>;
}

export interface DeadLetterRow {
  id: string;
  queue: string;
  name: string;
  reason: string;
  attempts: number;
  failed_at: number | null;
}

const READ_TIMEOUT_MS = 3000;

/** Resolves to the promise's value, or rejects after `ms` (the Redis command itself is left to finish). */
function bounded<T>(p: Promise<T>, ms = READ_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_res, rej) => { timer = setTimeout(() => rej(new Error('redis read timed out')), ms); });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const num = (v: string | null | undefined): number | null => {
  if (v === null || v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
};

export async function buildStatus(rt: Runtime, webhookBase: string): Promise<StatusReport> {
  const aps = rt.registry.all();
  let redis = true;
  const [states, queues, perAp] = await Promise.all([
    bounded(rt.state.all()).catch(() => { redis = false; return {} as Record<string, ApState>; }),
    bounded(queueStats(rt)).catch(() => { redis = false; return {} as Record<string, QueueStat>; }),
    (async () => {
      if (aps.length === 0) return [] as [Error | null, unknown][];
      const pipe = rt.redis.pipeline();
      for (const ap of aps) {
        pipe.get(rt.k(`lastpoll:${ap.id}`));
        pipe.zrevrange(rt.k(`fresh:${ap.id}`), 0, 0, 'WITHSCORES');
      }
      return ((await bounded(pipe.exec())) ?? []) as [Error | null, unknown][];
    })().catch(() => { redis = false; return [] as [Error | null, unknown][]; }),
  ]);

  const out: AccessPointStatus[] = aps.map((ap, i) => {
    const lastPoll = perAp[2 * i]?.[1] as string | null | undefined;
    const fresh = perAp[2 * i + 1]?.[1] as string[] | undefined;
    const st: ApState = states[ap.id] ?? { state: ap.credError ? 'failing' : 'ok', reason: ap.credError ?? '', since: 0, failures: 0 };
    const c = ap.binding.connector;
    return {
      id: ap.id, name: ap.name, connector: c.id, service_identifier: ap.binding.serviceIdentifier,
      state: st.state, reason: st.reason, since: st.since || null, until: st.until ?? null, devices: ap.devices.size,
      last_poll: num(lastPoll), last_data: num(fresh?.[1]),
      webhook: c.webhook ? { url: `${webhookBase}/webhooks/${c.id}/${ap.id}`, header: WEBHOOK_HEADER_HINT } : null,
      polling: !!c.poll,
    };
  });
  out.sort((a, b) => a.connector.localeCompare(b.connector) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  return { generated_at: Date.now(), redis, broker: rt.link.connected, access_points: out, queues };
}

/** Dead letters, oldest first, for the page and /api/dead-letters (never their job data). */
export async function deadLetterRows(rt: Runtime, limit = 50): Promise<DeadLetterRow[]> {
  const rows = await bounded(listDeadLetters(rt, limit));
  return rows.map(({ id, letter }) => ({
    id, queue: String(letter?.queue ?? ''), name: String(letter?.name ?? ''), reason: String(letter?.reason ?? ''),
    attempts: Number(letter?.attempts ?? 0), failed_at: typeof letter?.failedAt === 'number' ? letter.failedAt : null,
  }));
}
