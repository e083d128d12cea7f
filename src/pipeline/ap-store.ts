// Per-access-point key/value store and cross-replica lock in Redis, handed to connectors as ctx.store.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ApStore } from '../core/connector.js';
import { TransientError } from '../core/errors.js';

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/** Deletes a lock only if it still holds our token (it may have expired and been taken by another replica). */
export async function releaseLock(redis: Redis, key: string, token: string): Promise<void> {
  await redis.eval(RELEASE, 1, key, token).catch(() => undefined);
}

export function redisApStore(redis: Redis, keyPrefix: string): ApStore {
  const k = (key: string) => `${keyPrefix}${key}`;
  return {
    get: (key) => redis.get(k(key)),
    async set(key, value, ttlMs) {
      if (ttlMs && ttlMs > 0) await redis.set(k(key), value, 'PX', Math.ceil(ttlMs));
      else await redis.set(k(key), value);
    },
    async del(key) { await redis.del(k(key)); },
    async withLock(name, ttlMs, fn) {
      const lock = k(`lock:${name}`);
      const token = randomUUID();
      const deadline = Date.now() + ttlMs;
      for (;;) {
        if ((await redis.set(lock, token, 'PX', ttlMs, 'NX')) === 'OK') break;
        if (Date.now() > deadline) throw new TransientError(`lock ${name} busy`);
        await new Promise((r) => setTimeout(r, 25 + Math.random() * 50));
      }
      try {
        return await fn();
      } finally {
        await releaseLock(redis, lock, token);
      }
    },
  };
}

/** In-process store for pure tests and the converter CLI. */
export function memoryApStore(): ApStore {
  const m = new Map<string, { v: string; exp: number }>();
  const locks = new Map<string, Promise<unknown>>();
  return {
    async get(key) {
      const e = m.get(key);
      if (!e) return null;
      if (e.exp && e.exp < Date.now()) { m.delete(key); return null; }
      return e.v;
    },
    async set(key, v, ttlMs) { m.set(key, { v, exp: ttlMs ? Date.now() + ttlMs : 0 }); },
    async del(key) { m.delete(key); },
    async withLock(name, _ttl, fn) {
      const prev = locks.get(name) ?? Promise.resolve();
      const run = prev.catch(() => undefined).then(fn);
      locks.set(name, run);
      return run;
    },
  };
}
