// Credential/health state per access point (ok / needs_reauth / rate_limited / failing), shared in Redis.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { metrics } from '../core/metrics.js';

export type ApStateName = 'ok' | 'needs_reauth' | 'rate_limited' | 'failing';
export interface ApState {
  state: ApStateName;
  reason: string;
  since: number;
  /** Consecutive failures (for `failing`). */
  failures: number;
  until?: number;
}

const STATES: ApStateName[] = ['ok', 'needs_reauth', 'rate_limited', 'failing'];

export class StateStore {
  constructor(private readonly redis: Redis, private readonly key: string, private readonly log: Logger) {}

  async get(apId: string): Promise<ApState> {
    const raw = await this.redis.hget(this.key, apId);
    if (!raw) return { state: 'ok', reason: '', since: 0, failures: 0 };
    try {
      return JSON.parse(raw) as ApState;
    } catch {
      return { state: 'ok', reason: '', since: 0, failures: 0 };
    }
  }

  async all(): Promise<Record<string, ApState>> {
    const h = await this.redis.hgetall(this.key);
    const out: Record<string, ApState> = {};
    for (const [k, v] of Object.entries(h)) {
      try { out[k] = JSON.parse(v) as ApState; } catch { /* ignore */ }
    }
    return out;
  }

  /** Sets the state; logs and counts only real changes, so a failing vendor does not flood the logs. */
  async set(apId: string, connector: string, state: ApStateName, reason = '', extra: { until?: number } = {}): Promise<ApState> {
    const prev = await this.get(apId);
    const failures = state === 'failing' ? prev.failures + 1 : 0;
    const next: ApState = { state, reason, since: prev.state === state ? prev.since : Date.now(), failures, ...extra };
    await this.redis.hset(this.key, apId, JSON.stringify(next));
    for (const s of STATES) metrics.apState.set({ connector, access_point: apId, state: s }, s === state ? 1 : 0);
    if (prev.state !== state) {
      const log = this.log.child({ connector, access_point: apId });
      if (state === 'ok') log.info({ from: prev.state }, 'access point recovered');
      else log.warn({ state, reason }, `access point ${state.replace('_', ' ')}`);
    }
    return next;
  }

  async remove(apId: string): Promise<void> {
    await this.redis.hdel(this.key, apId);
  }
}
