// End-to-end harness: real Redis and MQTT broker, the ThingsPanel simulator, vendor simulators, and one or
// more service replicas, each test with its own Redis prefix, service identifier and topic prefix.
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, waitForPort } from '../../src/util/net.js';
import { pino, type Logger } from 'pino';
import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../src/config.js';
import type { AnyConnector } from '../../src/core/connector.js';
import { startService, type Service } from '../../src/service.js';
import { startThingsPanelSim, type ThingsPanelSim } from '../../src/sim/thingspanel.js';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const MQTT_URL = process.env.TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';

export const uid = (n = 6) => randomBytes(n).toString('hex');

export { freePort };

/** Captures every log line so tests can assert that no secret was ever written. */
export function captureLogger(level = 'debug'): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const dest = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
  return { log: pino({ level }, dest), lines };
}

export interface HarnessOptions {
  connector: string;
  connectors?: Record<string, AnyConnector>;
  env?: Record<string, string>;
  mqttUrl?: string;
  redisUrl?: string;
  valuesEncoding?: 'base64' | 'json';
  notificationPath?: '/api/v1/plugin/notification' | '/api/v1/notify/event';
  downlinkEra?: 'number' | 'id';
  /** In-process replicas started at once (default 1); 0 for tests that run the service as OS processes. */
  replicas?: number;
}

export interface Harness {
  tp: ThingsPanelSim;
  si: string;
  prefix: string;
  redisPrefix: string;
  config: Config;
  /** The environment the configuration was read from (for service subprocesses). */
  env: Record<string, string>;
  connector: string;
  services: Service[];
  logs: string[];
  pluginPort: number;
  /** Starts another replica on the same Redis, broker and service identifier. */
  startReplica(): Promise<Service>;
  close(): Promise<void>;
}

export async function startHarness(o: HarnessOptions): Promise<Harness> {
  const si = `T${uid(4).toUpperCase()}`;
  const redisPrefix = `tpcct${uid(4)}`;
  const prefix = `plugin/${si}/`;
  const mqttUrl = o.mqttUrl ?? MQTT_URL;
  const tp = await startThingsPanelSim({ mqttUrl, valuesEncoding: o.valuesEncoding });
  const pluginPort = await freePort();
  const env: Record<string, string> = {
    REDIS_URL: o.redisUrl ?? REDIS_URL, REDIS_PREFIX: redisPrefix, TP_API_URL: tp.url, TP_MQTT_URL: mqttUrl, TP_MQTT_USERNAME: 'plugin', TP_MQTT_PASSWORD: 'plugin',
    CONNECTORS: `${o.connector}:${si}:${pluginPort}`, WEBHOOK_HOST: '127.0.0.1', WEBHOOK_PORT: '0', PLUGIN_API_HOST: '127.0.0.1',
    HEARTBEAT_INTERVAL_MS: '2000', ADMIN_HOST: '127.0.0.1', ADMIN_PORT: '0', SYNC_INTERVAL_MS: '1000', FRESHNESS_CHECK_MS: '500', RETRY_BASE_MS: '100', LOG_LEVEL: 'debug',
    ...(o.valuesEncoding ? { TP_VALUES_ENCODING: o.valuesEncoding } : {}),
    ...o.env,
  };
  const config = loadConfig(env);
  tp.registerService({ serviceIdentifier: si, httpAddress: `127.0.0.1:${pluginPort}`, subTopicPrefix: prefix, notificationPath: o.notificationPath, downlinkEra: o.downlinkEra });
  const { log, lines } = captureLogger();
  const services: Service[] = [];
  for (let i = 0; i < (o.replicas ?? 1); i++) {
    const cfg = i === 0 ? config : { ...config, CONNECTORS: config.CONNECTORS.map((c) => ({ ...c, port: 0 })) };
    services.push(await startService(cfg, { log, connectors: o.connectors }));
  }
  return {
    tp, si, prefix, redisPrefix, config, env, connector: o.connector, services, logs: lines, pluginPort,
    async startReplica() {
      const s = await startService({ ...config, CONNECTORS: config.CONNECTORS.map((c) => ({ ...c, port: 0 })) }, { log, connectors: o.connectors });
      services.push(s);
      return s;
    },
    async close() {
      await Promise.allSettled(services.map((s) => s.stop()));
      await tp.close();
      if (!o.redisUrl) await cleanRedis(redisPrefix);
    },
  };
}

export async function cleanRedis(prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const r = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await r.del(...keys);
  } while (cursor !== '0');
  r.disconnect();
}

/** Polls until fn returns truthy. */
export async function until<T>(fn: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A Mosquitto broker of the test's own on a free port, which the test can stop and start. */
export async function ownBroker(): Promise<{ url: string; port: number; start(): Promise<void>; stop(): Promise<void> }> {
  const port = await freePort();
  let proc: ChildProcess | undefined;
  const { existsSync } = await import('node:fs');
  const bin = existsSync('/usr/sbin/mosquitto') ? '/usr/sbin/mosquitto' : 'mosquitto';
  const start = async () => {
    proc = spawn(bin, ['-p', String(port)], { stdio: 'ignore' });
    await waitForPort(port);
  };
  await start();
  return {
    url: `mqtt://127.0.0.1:${port}`, port, start,
    async stop() {
      if (!proc) return;
      const p = proc;
      proc = undefined;
      await new Promise<void>((res) => { p.once('exit', () => res()); p.kill('SIGKILL'); });
    },
  };
}

/** A redis-server of the test's own (append-only file on), which the test can stop and start. */
export async function ownRedis(): Promise<{ url: string; start(): Promise<void>; stop(): Promise<void> }> {
  const port = await freePort();
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'tpcc-test-redis-'));
  let proc: ChildProcess | undefined;
  const start = async () => {
    proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''], { stdio: 'ignore' });
    await waitForPort(port);
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`, start,
    async stop() {
      if (!proc) return;
      const p = proc;
      proc = undefined;
      await new Promise<void>((res) => { p.once('exit', () => res()); p.kill('SIGKILL'); });
    },
  };
}
