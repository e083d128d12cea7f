// Per-access-point token bucket in Redis, shared by all replicas, plus a "blocked until" window set by 429s.
import type { Redis } from 'ioredis';

// KEYS[1] bucket hash, KEYS[2] block key; ARGV: rate per second, burst, now ms, cost.
// Returns ms to wait (0 = token taken). A block window (vendor Retry-After) wins over the bucket.
const TAKE = `
local blocked = redis.call('PTTL', KEYS[2])
if blocked and blocked > 0 then return blocked end
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local b = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil then tokens = burst; ts = now end
local elapsed = math.max(0, now - ts)
tokens = math.min(burst, tokens + elapsed * rate / 1000)
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
else
  wait = math.ceil((cost - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 't', tokens, 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 60000)
return wait
`;

export class RateLimiter {
  constructor(private readonly redis: Redis, private readonly prefix: string) {
    redis.defineCommand('tpccTake', { numberOfKeys: 2, lua: TAKE });
  }

  private keys(scope: string): [string, string] {
    return [`${this.prefix}rl:{${scope}}:bucket`, `${this.prefix}rl:{${scope}}:block`];
  }

  /** Takes one token; returns 0 or the milliseconds to wait before trying again. */
  async take(scope: string, rate: number, burst: number, cost = 1): Promise<number> {
    const [bucket, block] = this.keys(scope);
    const r = await (this.redis as unknown as { tpccTake(...a: (string | number)[]): Promise<number> })
      .tpccTake(bucket, block, rate, burst, Date.now(), cost);
    return Number(r);
  }

  /** Vendor said "slow down": nobody calls for this scope until the window ends. */
  async block(scope: string, ms: number): Promise<void> {
    const [, block] = this.keys(scope);
    await this.redis.set(block, '1', 'PX', Math.max(1, Math.ceil(ms)));
  }

  async blockedFor(scope: string): Promise<number> {
    const [, block] = this.keys(scope);
    const t = await this.redis.pttl(block);
    return t > 0 ? t : 0;
  }
}
