// Shared pieces of the fault tests: a ledger of what was sent and acknowledged versus what ThingsPanel received,
// a dump of every Redis key of a prefix (to look for secrets), a pausable TCP proxy, and Prometheus text parsing.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { redisOptions } from '../../src/pipeline/runtime.js';

export interface Tally {
  /** Acknowledged (2xx) ids that never arrived. */
  missing: number[];
  /** Ids that arrived more than once. */
  duplicates: number[];
  /** Ids that arrived although never acknowledged (allowed: e.g. stored, then the answer was lost). */
  unacked: number[];
  received: number;
}

/** Compares acknowledged ids with received ids (received may contain repeats). */
export function tally(acked: Iterable<number>, received: readonly number[]): Tally {
  const count = new Map<number, number>();
  for (const r of received) count.set(r, (count.get(r) ?? 0) + 1);
  const ack = new Set(acked);
  return {
    missing: [...ack].filter((s) => !count.has(s)).sort((a, b) => a - b),
    duplicates: [...count].filter(([, n]) => n > 1).map(([s]) => s).sort((a, b) => a - b),
    unacked: [...count.keys()].filter((s) => !ack.has(s)).sort((a, b) => a - b),
    received: received.length,
  };
}

/** Runs `fn(i)` for i in [0, n) at about `perSecond`, at most `maxInFlight` at once; resolves when all settled. */
export async function paced(n: number, perSecond: number, maxInFlight: number, fn: (i: number) => Promise<void>): Promise<void> {
  const start = Date.now();
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < n; i++) {
    const due = start + (i * 1000) / perSecond;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    const p: Promise<void> = fn(i).finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await Promise.all(inFlight);
}

export interface RedisEntry { key: string; type: string; text: string }

/** Every key under `<prefix>:` with its value rendered as text (strings, hashes, lists, sets, sorted sets, streams). */
export async function dumpRedis(redisUrl: string, prefix: string): Promise<RedisEntry[]> {
  const r = new Redis(redisOptions(redisUrl));
  const out: RedisEntry[] = [];
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const type = await r.type(key);
        let text = '';
        if (type === 'string') text = (await r.getBuffer(key))?.toString('latin1') ?? '';
        else if (type === 'hash') text = JSON.stringify(await r.hgetall(key));
        else if (type === 'list') text = JSON.stringify(await r.lrange(key, 0, -1));
        else if (type === 'set') text = JSON.stringify(await r.smembers(key));
        else if (type === 'zset') text = JSON.stringify(await r.zrange(key, 0, -1, 'WITHSCORES'));
        else if (type === 'stream') text = JSON.stringify(await r.xrange(key, '-', '+'));
        out.push({ key, type, text: `${key}\n${text}` });
      }
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
  return out;
}

/** Which of `secrets` occur anywhere in `texts` (also base64- and URL-encoded), with where. */
export function findSecrets(secrets: readonly string[], texts: readonly string[], where = 'text'): string[] {
  const hits: string[] = [];
  for (const s of secrets) {
    const forms = [s, Buffer.from(s).toString('base64'), encodeURIComponent(s)];
    for (const t of texts) {
      if (forms.some((f) => t.includes(f))) {
        hits.push(`${where}: secret ${s.slice(0, 4)}… found in ${t.slice(0, 160).replace(/\n/g, ' | ')}`);
        break;
      }
    }
  }
  return hits;
}

/** A queue handle on the test's prefix, for reading job records (processedBy, stalled counter, data). */
export function queueOf(redisUrl: string, prefix: string, name: string): Queue {
  const conn = new Redis(redisOptions(redisUrl, { maxRetriesPerRequest: null }));
  conn.on('error', () => undefined);
  const q = new Queue(name, { connection: conn, prefix });
  q.on('error', () => undefined);
  const close = q.close.bind(q);
  // The connection is ours: close it with the queue, or the test process would never exit.
  q.close = async () => { await close(); conn.disconnect(); };
  return q;
}

/** All jobs of a queue in the given states (completed jobs are kept by removeOnComplete up to its count). */
export async function jobsOf(q: Queue, states: ('completed' | 'failed' | 'active' | 'waiting' | 'delayed')[] = ['completed', 'failed', 'active', 'waiting', 'delayed']): Promise<Job[]> {
  const out: Job[] = [];
  for (let start = 0; ; start += 500) {
    const page = await q.getJobs(states, start, start + 499);
    out.push(...page.filter(Boolean));
    if (page.length < 500) return out;
  }
}

/** The value of one Prometheus sample (labels must match exactly the given subset). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^[^{\s]+(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const got = Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) sum += Number(m[2]);
  }
  return sum;
}

export interface TcpProxy {
  port: number;
  url(scheme: string): string;
  /** From now on drops the bytes of every connection in both directions; the connections stay open. */
  freeze(): void;
  /** A network partition: closes every connection and refuses new ones until restore(). */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/** A loopback TCP proxy to 127.0.0.1:targetPort that the test can freeze. */
export async function tcpProxy(targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let frozen = false;
  let isCut = false;
  const server: Server = createServer((client) => {
    if (isCut) { client.destroy(); return; }
    const upstream = connect(targetPort, '127.0.0.1');
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.on('data', (d) => { if (!frozen) upstream.write(d); });
    upstream.on('data', (d) => { if (!frozen) client.write(d); });
    const end = () => { client.destroy(); upstream.destroy(); pairs.delete(pair); };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  return {
    port,
    url: (scheme) => `${scheme}://127.0.0.1:${port}`,
    freeze() { frozen = true; },
    cut() {
      isCut = true;
      for (const [c, u] of pairs) { c.destroy(); u.destroy(); }
    },
    restore() { isCut = false; },
    async close() {
      for (const [c, u] of pairs) { c.destroy(); u.destroy(); }
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
