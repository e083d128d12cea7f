// The system under load, run as its own process: `node --import tsx bench/lib/target.ts <kind>`, configured by
// environment variables; tells the parent "ready" over IPC and stops (flushing a --cpu-prof) on "stop".
//   bare    Fastify handler that does nothing (raw-body parser like the service, no JSON parse): the ceiling
//   direct  Fastify + JSON.parse + mqtt.js QoS 1 publish of the telemetry envelope, answer after PUBACK
//           (fast, NOT durable: a crash loses what is in memory)
//   naive   Fastify + JSON.parse + one BullMQ Queue.add per request (answer once stored), a BullMQ worker
//           (concurrency 16) publishing QoS 1 and completing on PUBACK; no batching, no dedup
//   service the real tp-cloud-connector (src/service.ts) with its configuration from the environment
import Fastify, { type FastifyInstance } from 'fastify';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { encodeEnvelope } from '../../src/platform/envelope.js';
import { redisOptions } from '../../src/pipeline/runtime.js';
import { startService } from '../../src/service.js';

const kind = process.argv[2] ?? 'bare';
const env = process.env;
const port = Number(env.WEBHOOK_PORT ?? 0);
const ROUTE = '/webhooks/:connector/:token';

interface TtsUp { end_device_ids: { device_id: string }; uplink_message: { decoded_payload: Record<string, unknown> } }

function rawApp(): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  return app;
}

/** Stand-in ThingsPanel device ids for the baselines (the counter only reads the values). */
const deviceIds = new Map<string, string>();
const tpDevice = (ext: string) => {
  let id = deviceIds.get(ext);
  if (!id) deviceIds.set(ext, (id = `00000000-0000-4000-8000-${ext.replace(/\D/g, '').padStart(12, '0')}`));
  return id;
};

async function connectMqtt(): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(env.TP_MQTT_URL ?? 'mqtt://127.0.0.1:1883', { username: 'plugin', password: 'plugin', clean: true, keepalive: 30, clientId: `bench-${kind}-${process.pid}` });
}

const publish1 = (c: mqtt.MqttClient, topic: string, payload: string) =>
  new Promise<void>((resolve, reject) => c.publish(topic, payload, { qos: 1 }, (err) => (err ? reject(err) : resolve())));

async function main(): Promise<() => Promise<void>> {
  if (kind === 'bare') {
    const app = rawApp();
    app.post(ROUTE, async () => ({ status: 'accepted', records: 1 }));
    await app.listen({ host: '127.0.0.1', port });
    return () => app.close();
  }
  if (kind === 'direct') {
    const client = await connectMqtt();
    const app = rawApp();
    app.post(ROUTE, async (req) => {
      const up = JSON.parse((req.body as Buffer).toString('utf8')) as TtsUp;
      await publish1(client, 'devices/telemetry', encodeEnvelope(tpDevice(up.end_device_ids.device_id), up.uplink_message.decoded_payload));
      return { status: 'accepted', records: 1 };
    });
    await app.listen({ host: '127.0.0.1', port });
    return async () => { await app.close(); await client.endAsync(); };
  }
  if (kind === 'naive') {
    const prefix = env.REDIS_PREFIX ?? 'bench';
    const url = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    const producer = new Redis(redisOptions(url, { maxRetriesPerRequest: null }));
    const consumer = new Redis(redisOptions(url, { maxRetriesPerRequest: null }));
    const queue = new Queue('uplink', { connection: producer, prefix });
    const client = await connectMqtt();
    const worker = new Worker('uplink', async (job) => {
      const up = job.data.body as TtsUp;
      await publish1(client, 'devices/telemetry', encodeEnvelope(tpDevice(up.end_device_ids.device_id), up.uplink_message.decoded_payload));
    }, { connection: consumer, prefix, concurrency: 16 });
    const opts = { attempts: 50, backoff: { type: 'exponential' as const, delay: 1000 }, removeOnComplete: { age: 3600, count: 10_000 }, removeOnFail: { age: 7 * 86400 } };
    const app = rawApp();
    app.post(ROUTE, async (req) => {
      const body = JSON.parse((req.body as Buffer).toString('utf8')) as TtsUp;
      await queue.add('webhook', { body }, opts);
      return { status: 'accepted', records: 1 };
    });
    await app.listen({ host: '127.0.0.1', port });
    return async () => {
      await app.close();
      await worker.close();
      await queue.close();
      await client.endAsync();
      producer.disconnect();
      consumer.disconnect();
    };
  }
  if (kind === 'service') {
    const config = loadConfig(env);
    const svc = await startService(config, { log: pino({ level: env.LOG_LEVEL ?? 'warn' }) });
    return () => svc.stop();
  }
  throw new Error(`unknown target kind ${kind}`);
}

main().then(
  (stop) => {
    process.send!({ ready: true });
    process.on('message', (m: { stop?: boolean }) => {
      if (!m.stop) return;
      void stop().finally(() => process.exit(0));
    });
  },
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
