// The service as a real OS process (`node bin/tp-connector.mjs start`), configured like the harness's in-process
// replicas (same Redis prefix, service identifier, ThingsPanel simulator), so tests can SIGKILL or SIGTERM it.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort, type Harness } from './harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ServiceProcess {
  /** REPLICA_ID: what BullMQ stores as `processedBy` on the jobs this process ran. */
  name: string;
  proc: ChildProcess;
  pid: number;
  webhookUrl: string;
  adminUrl: string;
  pluginUrl: string;
  /** stdout and stderr, one entry per line (pino JSON). */
  lines: string[];
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly alive: boolean;
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves on exit. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first line matching, rejects on timeout or exit. */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<string>;
}

const running = new Set<ServiceProcess>();

/** Kills (SIGKILL) every service process still running; call from `after`. */
export async function killAllServiceProcesses(): Promise<void> {
  await Promise.all([...running].map(async (p) => {
    if (p.alive) p.kill('SIGKILL');
    await p.exited;
  }));
}

export interface SpawnOptions {
  name?: string;
  /** Plugin-API port; default a free one (use h.pluginPort for the replica ThingsPanel notifies). */
  pluginPort?: number;
  env?: Record<string, string>;
  /** Extra node flags, e.g. ['--expose-gc', '--import', './test/helpers/gc-probe.mjs']. */
  nodeArgs?: string[];
  /** CONNECTORS override (default: the harness connector on pluginPort). */
  connectors?: string;
  readyTimeoutMs?: number;
}

export async function spawnService(h: Harness, o: SpawnOptions = {}): Promise<ServiceProcess> {
  const webhookPort = await freePort();
  const adminPort = await freePort();
  const pluginPort = o.pluginPort ?? (await freePort());
  const name = o.name ?? `replica-${webhookPort}`;
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    ...h.env,
    CONNECTORS: o.connectors ?? `${h.connector}:${h.si}:${pluginPort}`,
    WEBHOOK_PORT: String(webhookPort),
    ADMIN_PORT: String(adminPort),
    LOG_PRETTY: 'false',
    REPLICA_ID: name,
    ...o.env,
  };
  const proc = spawn(process.execPath, [...(o.nodeArgs ?? []), 'bin/tp-connector.mjs', 'start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const onData = (buf: string, chunk: Buffer) => {
    const all = buf + chunk.toString('utf8');
    const parts = all.split('\n');
    const rest = parts.pop() ?? '';
    for (const l of parts) if (l.trim()) lines.push(l);
    for (const w of waiters) w();
    return rest;
  };
  let outBuf = '';
  let errBuf = '';
  proc.stdout!.on('data', (c: Buffer) => { outBuf = onData(outBuf, c); });
  proc.stderr!.on('data', (c: Buffer) => { errBuf = onData(errBuf, c); });
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => {
      exit = { code, signal };
      for (const w of waiters) w();
      resolve(exit);
    });
  });

  const sp: ServiceProcess = {
    name, proc, pid: proc.pid ?? 0, lines, exited,
    webhookUrl: `http://127.0.0.1:${webhookPort}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    pluginUrl: `http://127.0.0.1:${pluginPort}`,
    get alive() { return exit === undefined; },
    kill(signal) { if (exit === undefined) proc.kill(signal); },
    async stop(graceMs = 20_000) {
      if (exit) return exit;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
    waitForLine(re, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines.find((l) => re.test(l));
          if (hit) { done(); resolve(hit); return; }
          if (exit) { done(); reject(new Error(`${name} exited (${JSON.stringify(exit)}) before logging ${re}:\n${lines.slice(-20).join('\n')}`)); }
        };
        const t = setTimeout(() => { done(); reject(new Error(`${name} did not log ${re} within ${timeoutMs} ms:\n${lines.slice(-20).join('\n')}`)); }, timeoutMs);
        const done = () => { clearTimeout(t); waiters.delete(check); };
        waiters.add(check);
        check();
      });
    },
  };
  running.add(sp);
  void exited.then(() => running.delete(sp));
  await sp.waitForLine(/"msg":"tp-cloud-connector started"/, o.readyTimeoutMs ?? 45_000);
  return sp;
}
