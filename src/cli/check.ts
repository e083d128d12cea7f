// `tp-connector check` (one line per check) and `tp-connector webhook-url <access point>`.
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import { builtInConnectors } from '../../connectors/index.js';
import type { Config } from '../config.js';
import { BackendClient } from '../platform/backend-client.js';
import { Registry, webhookUrlKey } from '../pipeline/registry.js';
import { redisOptions } from '../pipeline/runtime.js';
import { resolveBindings } from '../service.js';

export async function runCheck(cfg: Config): Promise<number> {
  let failed = 0;
  const line = (ok: boolean, what: string, detail: string) => {
    if (!ok) failed++;
    process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${what.padEnd(22)} ${detail}\n`);
  };
  line(true, 'configuration', `${cfg.CONNECTORS.length} connector(s): ${cfg.CONNECTORS.map((c) => `${c.connector}=${c.serviceIdentifier}@${c.port}`).join(', ')}`);
  try {
    resolveBindings(cfg, builtInConnectors);
    line(true, 'connectors', 'all known');
  } catch (err) {
    line(false, 'connectors', (err as Error).message);
  }
  const redis = new Redis(redisOptions(cfg.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 3000, retryStrategy: () => null }));
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const info = await redis.info('persistence');
    const aof = /aof_enabled:1/.test(info);
    line(true, 'redis', `${new URL(cfg.REDIS_URL).host} reachable${aof ? ', append-only file on' : ', WARNING: append-only file off (acknowledged data may be lost if Redis restarts)'}`);
  } catch (err) {
    line(false, 'redis', `${new URL(cfg.REDIS_URL).host}: ${(err as Error).message}`);
  } finally {
    redis.disconnect();
  }
  await new Promise<void>((resolve) => {
    const c = mqtt.connect(cfg.TP_MQTT_URL, { username: cfg.TP_MQTT_USERNAME, password: cfg.TP_MQTT_PASSWORD, reconnectPeriod: 0, connectTimeout: 3000 });
    const done = (ok: boolean, d: string) => { line(ok, 'mqtt broker', d); c.end(true); resolve(); };
    c.once('connect', () => done(true, `${new URL(cfg.TP_MQTT_URL).host} accepted user ${cfg.TP_MQTT_USERNAME}`));
    c.once('error', (e) => done(false, `${new URL(cfg.TP_MQTT_URL).host}: ${e.message}`));
    setTimeout(() => done(false, `${new URL(cfg.TP_MQTT_URL).host}: no answer within 3 s`), 3500).unref();
  });
  const backend = new BackendClient(cfg.TP_API_URL, 3000);
  for (const b of cfg.CONNECTORS) {
    try {
      await backend.heartbeat(b.serviceIdentifier);
      const aps = await backend.listAccessPoints(b.serviceIdentifier);
      line(true, `thingspanel ${b.serviceIdentifier}`, `heartbeat accepted, ${aps.length} access point(s)`);
    } catch (err) {
      line(false, `thingspanel ${b.serviceIdentifier}`, (err as Error).message);
    }
  }
  return failed ? 1 : 0;
}

export async function runWebhookUrl(cfg: Config, apId: string | undefined): Promise<void> {
  if (!apId) throw new Error('usage: tp-connector webhook-url <access-point-id>');
  const bindings = resolveBindings(cfg, builtInConnectors);
  const registry = new Registry(bindings);
  const backend = new BackendClient(cfg.TP_API_URL, 5000);
  for (const b of bindings) {
    const row = await backend.getAccessPoint(apId);
    if (!row) continue;
    const { entry } = registry.upsert(b, row);
    if (!entry.cred) throw new Error(`access point ${apId}: ${entry.credError ?? 'credentials unusable'}`);
    const base = cfg.PUBLIC_BASE_URL ?? `http://<public host>:${cfg.WEBHOOK_PORT}`;
    process.stdout.write(`connector:  ${b.connector.displayName}\n`);
    process.stdout.write(`URL:        ${base}/webhooks/${b.connector.id}/${entry.id}\n`);
    process.stdout.write('header:     X-Webhook-Secret: <the webhook secret of this access point>\n');
    const secrets = b.connector.webhook?.secrets(entry.cred) ?? [];
    if (secrets[0]) process.stdout.write(`or, for vendors that cannot send headers:\n            ${base}/webhooks/${b.connector.id}/${webhookUrlKey(entry.id, secrets[0])}\n`);
    return;
  }
  throw new Error(`access point ${apId} not found in ThingsPanel`);
}
