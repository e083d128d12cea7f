// Shared runtime of one process: Redis connections, BullMQ queues, MQTT link, registry, connector contexts.
import { Queue } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { AnyConnector, ApStore, Ctx } from '../core/connector.js';
import type { JsonValue, PlatformMessage, RawRecord } from '../core/messages.js';
import { createVendorHttp } from '../core/vendor-http.js';
import type { MqttLink } from '../platform/mqtt-link.js';
import type { BackendClient } from '../platform/backend-client.js';
import { redisApStore } from './ap-store.js';
import { RateLimiter } from './rate-limit.js';
import type { ApEntry, Registry } from './registry.js';
import { StateStore } from './state.js';

export const QUEUES = { uplink: 'uplink', poll: 'poll', command: 'command', maint: 'maintenance', dead: 'dead-letter' } as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export type UplinkItem =
  | { si: string; ap: string; at: number; rec: RawRecord }
  | { si: string; ap: string; at: number; key: string; msg: PlatformMessage };

export interface UplinkJob { items: UplinkItem[] }
export interface PollJob { si: string; ap: string }
export interface CommandJob {
  si: string;
  kind: 'command' | 'attributes_set' | 'attributes_get' | 'telemetry_control';
  /** Device number or device id as it appeared in the topic. */
  device: string;
  messageId: string;
  payload: JsonValue;
  receivedAt: number;
}

export function redisOptions(url: string, extra: RedisOptions = {}): RedisOptions {
  const u = new URL(url);
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 6379),
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: u.pathname && u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    tls: u.protocol === 'rediss:' ? {} : undefined,
    ...extra,
  };
}

export class Runtime {
  /** For workers and blocking calls: waits through Redis outages. */
  readonly redis: Redis;
  /** For request-path calls: fails fast while Redis is down so webhooks answer 503. */
  readonly redisFast: Redis;
  readonly queues: Record<QueueName, Queue>;
  /** Producer used on the webhook path (fail-fast connection). */
  readonly uplinkFast: Queue;
  readonly limiter: RateLimiter;
  readonly state: StateStore;
  readonly k: (s: string) => string;

  constructor(
    readonly config: Config,
    readonly log: Logger,
    readonly registry: Registry,
    readonly link: MqttLink,
    readonly backend: BackendClient,
  ) {
    const prefix = config.REDIS_PREFIX;
    this.k = (s: string) => `${prefix}:${s}`;
    this.redis = new Redis(redisOptions(config.REDIS_URL, { maxRetriesPerRequest: null, lazyConnect: false }));
    this.redisFast = new Redis(redisOptions(config.REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000 }));
    for (const r of [this.redis, this.redisFast]) r.on('error', (err) => log.debug({ err: err.message }, 'redis connection error'));
    const conn = { connection: this.redis, prefix };
    this.queues = {
      uplink: new Queue(QUEUES.uplink, conn),
      poll: new Queue(QUEUES.poll, conn),
      command: new Queue(QUEUES.command, conn),
      maintenance: new Queue(QUEUES.maint, conn),
      'dead-letter': new Queue(QUEUES.dead, conn),
    };
    for (const q of Object.values(this.queues)) q.on('error', (err) => log.debug({ err: err.message }, 'queue error'));
    this.uplinkFast = new Queue(QUEUES.uplink, { connection: this.redisFast, prefix });
    this.uplinkFast.on('error', (err) => log.debug({ err: err.message }, 'queue error'));
    this.limiter = new RateLimiter(this.redis, `${prefix}:`);
    this.state = new StateStore(this.redis, this.k('apstate'), log);
  }

  uplinkJobOptions() {
    return {
      attempts: this.config.UPLINK_ATTEMPTS,
      backoff: { type: 'exponential' as const, delay: this.config.RETRY_BASE_MS, jitter: 0.5 },
      removeOnComplete: { age: 3600, count: 10_000 },
      removeOnFail: { age: 7 * 86400 },
    };
  }

  /** The shared key/value store of one access point (or discovery scope). */
  store(id: string): ApStore {
    return redisApStore(this.redis, this.k(`ap:{${id}}:`));
  }

  /**
   * A connector context for credentials: its own throttle scope, store namespace and logger. `httpId` names
   * the throttle scope and metrics label when it must differ from the store id (discovery shares one label).
   */
  credCtx(connector: AnyConnector, accessPoint: { id: string; name: string }, cred: unknown, opts: { signal?: AbortSignal; httpId?: string } = {}): Ctx<unknown> {
    const signal = opts.signal ?? new AbortController().signal;
    return {
      accessPoint,
      cred,
      log: this.log.child({ connector: connector.id, access_point: accessPoint.id }),
      signal,
      now: Date.now,
      http: createVendorHttp({ connector: connector.id, accessPointId: opts.httpId ?? accessPoint.id, limits: connector.limits, throttle: this.limiter, signal }),
      store: this.store(accessPoint.id),
    };
  }

  /** A connector context for a bound access point, with its devices' template configuration. */
  ctx(ap: ApEntry, signal?: AbortSignal): Ctx<unknown> {
    return {
      ...this.credCtx(ap.binding.connector, { id: ap.id, name: ap.name }, ap.cred, { signal }),
      deviceConfig: async (externalId: string) => {
        const d = this.registry.deviceForExternal(ap, externalId);
        if (!d) return null;
        const cfg = await this.backend.getDeviceConfig(d.id).catch(() => null);
        const tpl = cfg?.protocol_config_template;
        return tpl && typeof tpl === 'object' && !Array.isArray(tpl) ? (tpl as Record<string, JsonValue>) : null;
      },
    };
  }

  async close(): Promise<void> {
    await Promise.allSettled([...Object.values(this.queues), this.uplinkFast].map((q) => q.close()));
    this.redis.disconnect();
    this.redisFast.disconnect();
  }
}
