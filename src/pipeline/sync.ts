// Keeps the registry in step with ThingsPanel: at start, on notification/disconnect (any replica; fanned
// out over Redis pub/sub), and periodically, since deletions are never announced. Reconciles poll schedulers.
import type { Redis } from 'ioredis';
import { describeError } from '../core/errors.js';
import { pollSchedulerId } from './poll.js';
import type { ApEntry, Binding, SyncDiff } from './registry.js';
import type { Runtime } from './runtime.js';

export class Syncer {
  private timers: NodeJS.Timeout[] = [];
  private sub: Redis | undefined;
  private running = new Map<string, Promise<SyncDiff | null>>();
  private backendOk = new Map<string, boolean>();

  constructor(private readonly rt: Runtime) {}

  /** Full sync of one service identifier (single-flight per process). */
  syncService(si: string): Promise<SyncDiff | null> {
    const cur = this.running.get(si);
    if (cur) return cur;
    // Never rejects: timers and notifications fire it without awaiting (a Redis hiccup must not become unhandled).
    const p = this.doSync(si)
      .catch((err: unknown) => {
        this.rt.log.warn({ service: si, reason: describeError(err) }, 'access point sync failed; retried on the next interval');
        return null;
      })
      .finally(() => this.running.delete(si));
    this.running.set(si, p);
    return p;
  }

  async syncAll(): Promise<void> {
    await Promise.all(this.rt.registry.bindings.map((b) => this.syncService(b.serviceIdentifier)));
  }

  private async doSync(si: string): Promise<SyncDiff | null> {
    const { rt } = this;
    let rows;
    try {
      rows = await rt.backend.listAccessPoints(si);
      this.markBackend(si, true);
    } catch (err) {
      this.markBackend(si, false, describeError(err));
      return null;
    }
    const diff = rt.registry.replace(si, rows);
    for (const ap of diff.credChanged) await rt.state.set(ap.id, ap.binding.connector.id, 'ok', 'credentials updated');
    for (const ap of [...diff.added, ...diff.credChanged]) {
      if (ap.credError) await rt.state.set(ap.id, ap.binding.connector.id, 'failing', ap.credError);
    }
    for (const ap of diff.removed) await this.forget(ap);
    await this.reconcileSchedulers(rt.registry.binding(si)!);
    if (diff.added.length || diff.removed.length || diff.credChanged.length || diff.devicesChanged.length) {
      rt.log.info({ service: si, access_points: rt.registry.all(si).length, added: diff.added.length, removed: diff.removed.length, credentials_changed: diff.credChanged.length, devices_changed: diff.devicesChanged.length }, 'access points synced');
    }
    return diff;
  }

  private markBackend(si: string, ok: boolean, reason = ''): void {
    if (this.backendOk.get(si) === ok) return;
    this.backendOk.set(si, ok);
    if (ok) this.rt.log.info({ service: si }, 'ThingsPanel backend reachable');
    else this.rt.log.warn({ service: si, reason }, 'ThingsPanel backend unreachable; keeping the last known access points');
  }

  /** One poll scheduler per access point that polls; none for deleted ones (also after restarts). */
  async reconcileSchedulers(b: Binding): Promise<void> {
    const { rt } = this;
    const q = rt.queues.poll;
    const want = new Map<string, ApEntry>();
    if (b.connector.poll) for (const ap of rt.registry.all(b.serviceIdentifier)) if (ap.cred) want.set(pollSchedulerId(b.serviceIdentifier, ap.id), ap);
    const existing = await q.getJobSchedulers(0, -1, true);
    const prefix = pollSchedulerId(b.serviceIdentifier, '');
    for (const s of existing) {
      const id = s.key ?? s.id ?? '';
      if (id.startsWith(prefix) && !want.has(id)) await q.removeJobScheduler(id);
    }
    for (const [id, ap] of want) {
      const every = Math.max(rt.config.DISABLE_POLL_MIN_MS, b.connector.poll!.intervalMs(ap.cred));
      const cur = existing.find((s) => (s.key ?? s.id) === id);
      if (cur && Number(cur.every) === every) continue;
      await q.upsertJobScheduler(id, { every }, {
        name: 'poll',
        data: { si: b.serviceIdentifier, ap: ap.id },
        opts: { attempts: rt.config.POLL_ATTEMPTS, backoff: { type: 'exponential', delay: rt.config.RETRY_BASE_MS, jitter: 0.5 }, removeOnComplete: { count: 100 }, removeOnFail: { age: 86400 } },
      });
    }
  }

  private async forget(ap: ApEntry): Promise<void> {
    const { rt } = this;
    await rt.queues.poll.removeJobScheduler(pollSchedulerId(ap.binding.serviceIdentifier, ap.id)).catch(() => undefined);
    await rt.state.remove(ap.id);
    rt.log.info({ connector: ap.binding.connector.id, access_point: ap.id }, 'access point deleted in ThingsPanel; its work stopped');
  }

  /** Called on a notification: re-sync now here and on every replica. */
  async announce(si: string): Promise<void> {
    await this.rt.redis.publish(this.rt.k('sync'), si).catch(() => undefined);
    await this.syncService(si);
  }

  async start(): Promise<void> {
    const { rt } = this;
    await this.syncAll();
    this.sub = rt.redis.duplicate();
    this.sub.on('error', () => undefined);
    await this.sub.subscribe(rt.k('sync'));
    this.sub.on('message', (_ch: string, si: string) => { if (rt.registry.binding(si)) void this.syncService(si); });
    this.timers.push(setInterval(() => void this.syncAll(), rt.config.SYNC_INTERVAL_MS));
    for (const b of rt.registry.bindings) this.startHeartbeat(b.serviceIdentifier);
  }

  private startHeartbeat(si: string): void {
    const { rt } = this;
    let ok: boolean | undefined;
    const beat = async () => {
      try {
        await rt.backend.heartbeat(si);
        if (ok !== true) rt.log.info({ service: si }, 'heartbeat accepted by ThingsPanel');
        ok = true;
      } catch (err) {
        if (ok !== false) rt.log.warn({ service: si, reason: describeError(err) }, 'heartbeat failed; ThingsPanel will show the service as inactive');
        ok = false;
      }
    };
    void beat();
    this.timers.push(setInterval(() => void beat(), rt.config.HEARTBEAT_INTERVAL_MS));
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.sub) this.sub.disconnect();
  }
}
