// Webhook ingest: records of all requests that arrive in one event-loop turn go to Redis as ONE job,
// and each request is answered only after that job is stored.
import { metrics } from '../core/metrics.js';
import type { Runtime, UplinkItem } from './runtime.js';

export class BacklogFullError extends Error {}

export class IngestBatcher {
  private pending: { items: UplinkItem[]; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;
  private backlog = 0;
  private backlogAt = 0;

  constructor(private readonly rt: Runtime, private readonly maxBatch = 2000) {}

  /** Resolves once the items are durable in Redis; rejects when Redis is unreachable or the backlog is full. */
  async add(items: UplinkItem[]): Promise<void> {
    // While the fail-fast connection is down, answer at once (503) instead of waiting for a reconnect.
    if (this.rt.redisFast.status !== 'ready') throw new Error(`redis connection ${this.rt.redisFast.status}`);
    await this.checkBacklog();
    return new Promise((resolve, reject) => {
      this.pending.push({ items, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async checkBacklog(): Promise<void> {
    const now = Date.now();
    if (now - this.backlogAt > 1000) {
      this.backlogAt = now;
      try {
        this.backlog = await withTimeout(this.rt.uplinkFast.count(), 500);
      } catch {
        /* Redis down: the add itself will fail and answer 503 */
      }
    }
    if (this.backlog >= this.rt.config.BACKLOG_MAX_JOBS) {
      metrics.uplinkDropped.inc({ connector: 'all', reason: 'backlog_full' });
      throw new BacklogFullError('backlog full');
    }
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    for (let i = 0; i < batch.length; ) {
      const group: typeof batch = [];
      let n = 0;
      while (i < batch.length && (group.length === 0 || n + batch[i]!.items.length <= this.maxBatch)) {
        n += batch[i]!.items.length;
        group.push(batch[i++]!);
      }
      const items = group.flatMap((g) => g.items);
      try {
        await withTimeout(this.rt.uplinkFast.add('webhook', { items }, this.rt.uplinkJobOptions()), 3000);
        for (const g of group) g.resolve();
      } catch (err) {
        for (const g of group) g.reject(err);
      }
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`redis did not answer within ${ms} ms`)), ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e) => { clearTimeout(t); reject(e); });
  });
}
