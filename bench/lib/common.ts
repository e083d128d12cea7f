// Shared helpers of the webhook benchmark: ports, /proc CPU sampling, percentiles, and the request-body
// templates (real TTS uplink bodies with placeholders the load generator fills per request).
import { readFileSync } from 'node:fs';
import { freePort, waitForPort as waitForPortOnce } from '../../src/util/net.js';

export { freePort };

/** Resolves once something accepts connections on 127.0.0.1:port (the benchmark allows servers 10 s to start). */
export const waitForPort = (port: number, timeoutMs = 10_000): Promise<void> => waitForPortOnce(port, timeoutMs);

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** user+system CPU seconds of a process (Linux /proc), or NaN when it cannot be read. */
export function cpuSeconds(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return (utime + stime) / 100; // CLK_TCK is 100 on Linux
  } catch {
    return NaN;
  }
}

/** Busy share of all CPUs since boot snapshot: [busy, total] jiffies from /proc/stat. */
export function systemJiffies(): [number, number] {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = (line[3] ?? 0) + (line[4] ?? 0);
    const total = line.reduce((a, b) => a + b, 0);
    return [total - idle, total];
  } catch {
    return [NaN, NaN];
  }
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/**
 * Placeholders in a request-body template. Quoted ones ("@@SEQ@@") become bare numbers, the unquoted one
 * (inside the as:up correlation id) becomes a unique id.
 */
export const MARK = { seq: '@@SEQ@@', sent: '@@SENT@@', fcnt: '@@FCNT@@', up: '@@UP@@' } as const;

export interface BodyTemplate {
  /** TTS device id (dev1 …). */
  device: string;
  /** JSON text with placeholders. */
  json: string;
  /** Headers TTS sends with this device's webhook (without the secret). */
  headers: Record<string, string>;
}

export interface LoadSpec {
  url: string;
  path: string;
  connections: number;
  durationS: number;
  /** Phase tag written into every body ("w" warm-up, "m" measured). */
  phase: string;
  /** Run tag written into every body so the counter ignores anybody else's traffic. */
  run: string;
  secret: string;
  templates: BodyTemplate[];
}

export interface LoadResult {
  phase: string;
  start: number;
  finish: number;
  durationS: number;
  total: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Bodies generated (sequence numbers handed out), ≥ requests sent. */
  generated: number;
  latency: { p50: number; p90: number; p99: number; max: number; mean: number };
  statusCodes: Record<string, number>;
}
