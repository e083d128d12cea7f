// `npm run demo`: the real service on embedded defaults, end to end. Starts an embedded MQTT broker (unless
// TP_MQTT_URL is set), uses Redis at REDIS_URL or a private redis-server, simulated ThingsPanel and TTS clouds,
// binds a demo access point, streams uplinks and runs a command round trip. Ctrl-C stops everything.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { builtInConnectors } from '../../connectors/index.js';
import { loadConfig } from '../config.js';
import { startService } from '../service.js';
import { startThingsPanelSim } from '../sim/thingspanel.js';
import { freePort } from '../util/net.js';
import { scenarios } from './demo-scenarios.js';

const c = { dim: '\x1b[2m', green: '\x1b[32m', cyan: '\x1b[36m', yellow: '\x1b[33m', red: '\x1b[31m', bold: '\x1b[1m', off: '\x1b[0m' };
const say = (s: string) => process.stdout.write(`${s}\n`);

async function redisReachable(url: string): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 1500, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    await r.ping();
    return true;
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

async function ensureRedis(cleanup: (() => Promise<void>)[]): Promise<string> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (await redisReachable(url)) return url;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tpcc-demo-redis-'));
  let proc: ChildProcess;
  try {
    proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''], { stdio: 'ignore' });
    await new Promise<void>((resolve, reject) => { proc.once('error', reject); proc.once('spawn', () => resolve()); });
  } catch {
    throw new Error(`no Redis at ${url} and no redis-server binary: install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL`);
  }
  cleanup.push(async () => { proc.kill('SIGTERM'); });
  const local = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50 && !(await redisReachable(local)); i++) await new Promise((r) => setTimeout(r, 100));
  say(`${c.dim}started a private redis-server on ${local} (append-only file in ${dir})${c.off}`);
  return local;
}

async function ensureBroker(cleanup: (() => Promise<void>)[]): Promise<string> {
  if (process.env.TP_MQTT_URL) return process.env.TP_MQTT_URL;
  const { Aedes } = await import('aedes');
  const broker = await Aedes.createBroker();
  const server: Server = createServer(broker.handle as never);
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  cleanup.push(async () => { await new Promise<void>((r) => broker.close(() => r())); server.close(); });
  say(`${c.dim}started an embedded MQTT broker (aedes) on mqtt://127.0.0.1:${port}${c.off}`);
  return `mqtt://127.0.0.1:${port}`;
}

export async function runDemo(opts: { connector?: string; durationMs?: number } = {}): Promise<void> {
  const connectorId = opts.connector ?? process.env.DEMO_CONNECTOR ?? 'the-things-stack';
  const scenario = scenarios[connectorId];
  const connector = builtInConnectors[connectorId];
  if (!scenario || !connector) throw new Error(`no demo for "${connectorId}" (choose one of: ${Object.keys(scenarios).join(', ')})`);
  const cleanup: (() => Promise<void>)[] = [];
  let stopping = false;
  const stop = async (code = 0) => {
    if (stopping) return;
    stopping = true;
    say(`\n${c.dim}stopping…${c.off}`);
    for (const f of cleanup.reverse()) await f().catch(() => undefined);
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  try {
    say(`${c.bold}tp-cloud-connector demo${c.off}: ${connector.displayName} → tp-cloud-connector → ThingsPanel, all on this machine`);
    say(`${c.dim}other demos: ${Object.keys(scenarios).filter((k) => k !== connectorId).map((k) => `npm run demo -- ${k}`).join(' | ')}${c.off}\n`);
    const redisUrl = await ensureRedis(cleanup);
    const mqttUrl = await ensureBroker(cleanup);
    const tp = await startThingsPanelSim({ mqttUrl });
    cleanup.push(() => tp.close());
    const run = await scenario();
    cleanup.push(() => run.close());
    const pluginPort = await freePort();
    const si = 'DEMO';
    const redisPrefix = `tpcc-demo-${process.pid}`;
    const config = loadConfig({
      ...process.env, REDIS_URL: redisUrl, REDIS_PREFIX: redisPrefix, TP_API_URL: tp.url, TP_MQTT_URL: mqttUrl,
      CONNECTORS: `${connectorId}:${si}:${pluginPort}`, WEBHOOK_HOST: '127.0.0.1', WEBHOOK_PORT: process.env.WEBHOOK_PORT ?? '0', PLUGIN_API_HOST: '127.0.0.1',
      SYNC_INTERVAL_MS: '5000', FRESHNESS_CHECK_MS: '2000', ADMIN_PORT: process.env.ADMIN_PORT ?? '0', TP_SHARED_SUBSCRIPTION: 'false',
    });
    tp.registerService({ serviceIdentifier: si, httpAddress: `127.0.0.1:${pluginPort}`, subTopicPrefix: `plugin/${si}/` });
    const svc = await startService(config, { log: pino({ level: process.env.LOG_LEVEL ?? 'warn' }) });
    cleanup.push(async () => {
      await svc.stop();
      const r = new Redis(redisUrl);
      const keys = await r.keys(`${redisPrefix}:*`);
      if (keys.length) await r.del(...keys);
      r.disconnect();
    });
    const admin = svc.adminApp.server.address();
    say(`${c.green}✔${c.off} service up: plugin API http://127.0.0.1:${pluginPort}, status page http://127.0.0.1:${typeof admin === 'object' && admin ? admin.port : '?'}/`);

    // What a tenant does in the ThingsPanel UI.
    const apId = tp.createAccessPoint({ serviceIdentifier: si, name: 'Acme', voucher: run.voucher });
    const list = (await tp.fetchDeviceList(si, { ...run.voucher, auth_type: 'manual' }, 1, 10)) as { code: number; message: string; data: { list: { device_number: string; device_name: string }[] } };
    if (list.code !== 200) throw new Error(`device discovery failed: ${list.message}`);
    say(`${c.green}✔${c.off} device discovery through /api/v1/plugin/device/list: ${list.data.list.map((d) => `${d.device_name} (${d.device_number})`).join(', ')}`);
    const rows = await tp.bindDevices(apId, list.data.list.map((d) => ({ device_number: d.device_number, device_name: d.device_name })));
    const byId = new Map(rows.map((r) => [r.id as string, r.name as string]));
    for (let i = 0; i < 100 && svc.rt.registry.get(apId)?.devices.size !== rows.length; i++) await new Promise((r) => setTimeout(r, 50));
    say(`${c.green}✔${c.off} ${rows.length} devices bound; ThingsPanel notified the service, which synced the access point`);
    const apCred = svc.rt.registry.get(apId)?.cred;
    if (connector.webhook && apCred && connector.webhook.secrets(apCred).length > 0) say(`${c.dim}  vendor webhook: POST ${svc.webhookUrl}/webhooks/${connectorId}/${apId}  header X-Webhook-Secret: <secret>${c.off}`);
    if (connector.poll) say(`${c.dim}  polling the vendor every ${Math.round(connector.poll.intervalMs(apCred) / 1000)} s${c.off}`);
    say('');

    let seen = 0;
    const show = setInterval(() => {
      for (; seen < tp.telemetry.length; seen++) {
        const t = tp.telemetry[seen]!;
        say(`${c.cyan}platform ←${c.off} telemetry ${byId.get(t.deviceId) ?? t.deviceId}: ${JSON.stringify(t.values).slice(0, 160)}`);
      }
      for (const e of tp.errors.splice(0)) say(`${c.red}platform rejected ${e.topic}: ${e.reason}${c.off}`);
    }, 100);
    cleanup.push(async () => clearInterval(show));
    cleanup.push(async () => stopDrive());
    const stopDrive = run.drive(`${svc.webhookUrl}/webhooks/${connectorId}/${apId}`);

    // A command round trip after a few seconds.
    setTimeout(() => void (async () => {
      const target = rows[0]!;
      say(`\n${c.yellow}platform →${c.off} command ${run.command.method} ${JSON.stringify(run.command.params)} to ${target.name as string}`);
      const mid = await tp.sendCommand(target.id as string, run.command);
      const resp = await tp.waitForResponse(mid, 15_000);
      say(`${c.yellow}vendor ←${c.off} ${JSON.stringify(run.vendorSaw(mid)).slice(0, 200)}`);
      say(`${c.yellow}platform ←${c.off} command response ${JSON.stringify({ result: resp.result, message: resp.message, method: resp.method })}\n`);
    })().catch((e: Error) => say(`${c.red}command round trip failed: ${e.message}${c.off}`)), 4000);

    say(`${c.dim}Ctrl-C to stop${c.off}`);
    if (opts.durationMs) setTimeout(() => void stop(0), opts.durationMs);
  } catch (err) {
    say(`${c.red}demo failed: ${(err as Error).message}${c.off}`);
    await stop(1);
  }
}
