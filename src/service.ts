// Wires one process: registry sync, plugin APIs, webhook receiver, BullMQ workers, MQTT link.
// Shutdown order: stop taking work (HTTP) → finish or return in-flight jobs → MQTT → Redis.
import { hostname } from 'node:os';
import { Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { builtInConnectors } from '../connectors/index.js';
import type { Config } from './config.js';
import type { AnyConnector } from './core/connector.js';
import { buildAdminApp } from './http/admin-app.js';
import { buildWebhookApp } from './http/webhook-app.js';
import { BackendClient } from './platform/backend-client.js';
import { MqttLink } from './platform/mqtt-link.js';
import { buildPluginApi } from './platform/plugin-api.js';
import { createCommandProcessor, subscribeDownlinks } from './pipeline/commands.js';
import { attachDeadLetter } from './pipeline/dead-letter.js';
import { numberFor, rememberDevices } from './pipeline/devices.js';
import { IngestBatcher } from './pipeline/ingest.js';
import { createMaintenanceProcessor, queueStats } from './pipeline/maintenance.js';
import { createPollProcessor } from './pipeline/poll.js';
import { Registry, type Binding } from './pipeline/registry.js';
import { QUEUES, Runtime } from './pipeline/runtime.js';
import { Syncer } from './pipeline/sync.js';
import { createUplinkProcessor } from './pipeline/uplink.js';
import { randomId } from './util/ids.js';

export interface ServiceOptions {
  log: Logger;
  connectors?: Record<string, AnyConnector>;
}

export interface Service {
  rt: Runtime;
  syncer: Syncer;
  webhookApp: FastifyInstance;
  adminApp: FastifyInstance;
  pluginApis: Map<string, FastifyInstance>;
  webhookUrl: string;
  /** This replica's name: stored on every job its workers process (BullMQ `processedBy`). */
  replicaId: string;
  pluginApiUrl(si: string): string;
  /** Closes everything; `graceful` waits for in-flight jobs first. */
  stop(): Promise<void>;
}

export function resolveBindings(config: Config, connectors: Record<string, AnyConnector>): Binding[] {
  return config.CONNECTORS.map((spec) => {
    const connector = connectors[spec.connector];
    if (!connector) throw new Error(`unknown connector "${spec.connector}" (built in: ${Object.keys(connectors).join(', ')})`);
    return { connector, serviceIdentifier: spec.serviceIdentifier, port: spec.port, topicPrefix: spec.topicPrefix };
  });
}

export async function startService(config: Config, opts: ServiceOptions): Promise<Service> {
  const log = opts.log;
  const bindings = resolveBindings(config, opts.connectors ?? builtInConnectors);
  const registry = new Registry(bindings);
  const link = new MqttLink({ url: config.TP_MQTT_URL, username: config.TP_MQTT_USERNAME, password: config.TP_MQTT_PASSWORD, clientId: config.TP_MQTT_CLIENT_ID, reconnectHoldMs: config.TP_MQTT_RECONNECT_HOLD_MS, log });
  const backend = new BackendClient(config.TP_API_URL);
  const rt = new Runtime(config, log, registry, link, backend);
  const syncer = new Syncer(rt);
  const ingest = new IngestBatcher(rt);

  // Registry first: workers must know every access point before they take jobs.
  await rt.redis.ping();
  await syncer.start();
  const web = config.PROCESS_ROLE !== 'worker';
  const working = config.PROCESS_ROLE !== 'web';
  if (web) await subscribeDownlinks(rt, link);

  // A job whose replica died (lock not renewed for lockDuration) is moved back to waiting by the next stalled check
  // of any replica: recovery takes at most lockDuration + stalledInterval.
  const replicaId = config.REPLICA_ID ?? `${hostname()}:${process.pid}:${randomId(4)}`;
  const workerOpts = {
    connection: rt.redis, prefix: config.REDIS_PREFIX, name: replicaId, maxStalledCount: 5,
    stalledInterval: config.WORKER_STALLED_INTERVAL_MS, lockDuration: config.WORKER_LOCK_DURATION_MS,
  };
  const workers = !working ? [] : [
    new Worker(QUEUES.uplink, createUplinkProcessor(rt), { ...workerOpts, concurrency: config.UPLINK_CONCURRENCY }),
    new Worker(QUEUES.poll, createPollProcessor(rt), { ...workerOpts, concurrency: config.POLL_CONCURRENCY }),
    new Worker(QUEUES.command, createCommandProcessor(rt), { ...workerOpts, concurrency: config.COMMAND_CONCURRENCY }),
    new Worker(QUEUES.maint, createMaintenanceProcessor(rt), { ...workerOpts, concurrency: 1 }),
  ];
  const names = [QUEUES.uplink, QUEUES.poll, QUEUES.command, QUEUES.maint] as const;
  if (working) log.info({ uplink: config.UPLINK_CONCURRENCY, poll: config.POLL_CONCURRENCY, command: config.COMMAND_CONCURRENCY }, 'workers started');
  workers.forEach((w, i) => {
    w.on('error', (err) => log.debug({ err: err.message }, 'worker error'));
    attachDeadLetter(rt, w, names[i]!);
  });
  await rt.queues.maintenance.upsertJobScheduler('freshness', { every: config.FRESHNESS_CHECK_MS }, { name: 'freshness', data: {}, opts: { removeOnComplete: true, removeOnFail: 100 } });
  const statsTimer = setInterval(() => void queueStats(rt).catch(() => undefined), 5000);

  // HTTP: public webhook port, one plugin-API port per connector binding.
  const webhookApp = buildWebhookApp({
    registry, ingest, log, bodyLimit: config.WEBHOOK_MAX_BODY_BYTES, trustProxy: config.TRUST_PROXY,
    storeFor: (ap) => rt.store(ap.id),
  });
  if (web) await webhookApp.listen({ host: config.WEBHOOK_HOST, port: config.WEBHOOK_PORT });
  const whAddr = web ? webhookApp.server.address() : null;
  const webhookPort = typeof whAddr === 'object' && whAddr ? whAddr.port : config.WEBHOOK_PORT;
  const webhookUrl = config.PUBLIC_BASE_URL ?? `http://127.0.0.1:${webhookPort}`;

  const pluginApis = new Map<string, FastifyInstance>();
  for (const b of web ? bindings : []) {
    const api = buildPluginApi({
      binding: b,
      log: log.child({ connector: b.connector.id, service: b.serviceIdentifier }),
      discoveryCtx: (cred, scope) => rt.credCtx(b.connector, { id: scope, name: 'device discovery' }, cred, { httpId: 'discovery' }),
      numberFor: (ext, cred) => numberFor(b.connector, cred, ext),
      remember: (cred, items) => rememberDevices(rt, b.connector, cred, items),
      onAccessPointChanged: () => void syncer.announce(b.serviceIdentifier),
      onDeviceDisconnect: () => void syncer.announce(b.serviceIdentifier),
    });
    await api.listen({ host: config.PLUGIN_API_HOST, port: b.port });
    pluginApis.set(b.serviceIdentifier, api);
  }

  const adminApp = buildAdminApp({
    rt, token: config.ADMIN_TOKEN, webhookBase: webhookUrl,
    backendReachable: async () => { await backend.heartbeat(bindings[0]!.serviceIdentifier); return true; },
  });
  await adminApp.listen({ host: config.ADMIN_HOST, port: config.ADMIN_PORT });

  log.info({ replica: replicaId, role: config.PROCESS_ROLE, webhook: `${webhookUrl}/webhooks/<connector>/<token>`, connectors: bindings.map((b) => `${b.connector.id}=${b.serviceIdentifier}@${b.port}`) }, 'tp-cloud-connector started');

  let stopped = false;
  return {
    rt, syncer, webhookApp, pluginApis, webhookUrl, adminApp, replicaId,
    pluginApiUrl(si: string) {
      const a = pluginApis.get(si)?.server.address();
      return `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(statsTimer);
      await syncer.stop();
      await Promise.allSettled([webhookApp.close(), adminApp.close(), ...[...pluginApis.values()].map((a) => a.close())]);
      // Let active jobs finish (they complete on PUBACK); anything still active after this is left to stalled-job recovery.
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled(workers.map((w) => w.close())),
        new Promise((r) => { grace = setTimeout(r, config.SHUTDOWN_GRACE_MS); }),
      ]);
      clearTimeout(grace);
      await link.close();
      await Promise.allSettled(workers.map((w) => w.close(true)));
      await rt.close();
    },
  };
}
