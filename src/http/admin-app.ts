// Operator endpoints on the admin port: /healthz, /readyz, /metrics (Prometheus), /api/status (JSON).
// Protected by ADMIN_TOKEN (Bearer) when set; listens on ADMIN_HOST (loopback by default), never on the webhook port.
import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { registry as metricsRegistry } from '../core/metrics.js';
import { queueStats } from '../pipeline/maintenance.js';
import type { Runtime } from '../pipeline/runtime.js';

export interface AdminDeps {
  rt: Runtime;
  token?: string;
  webhookBase: string;
  backendReachable: () => Promise<boolean>;
}

export function buildAdminApp(deps: AdminDeps): FastifyInstance {
  const { rt } = deps;
  const app = Fastify({ logger: false });
  app.addHook('onRequest', async (req, reply) => {
    if (!deps.token || req.url === '/healthz' || req.url === '/readyz') return;
    const h = req.headers.authorization ?? '';
    const given = Buffer.from(h.replace(/^bearer\s+/i, ''));
    const want = Buffer.from(deps.token);
    if (given.length !== want.length || !timingSafeEqual(given, want)) return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized' });
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const redis = await rt.redis.ping().then(() => true, () => false);
    const broker = rt.link.connected;
    const backend = await deps.backendReachable().catch(() => false);
    const ready = redis && broker && backend;
    return reply.code(ready ? 200 : 503).send({ ready, redis, broker, backend });
  });

  app.get('/metrics', async (_req, reply) => {
    await queueStats(rt).catch(() => undefined);
    return reply.header('content-type', metricsRegistry.contentType).send(await metricsRegistry.metrics());
  });

  app.get('/api/status', async () => {
    const states = await rt.state.all();
    const queues = await queueStats(rt).catch(() => ({}));
    const aps = [];
    for (const ap of rt.registry.all()) {
      const [lastPoll, fresh] = await Promise.all([
        rt.redis.get(rt.k(`lastpoll:${ap.id}`)),
        rt.redis.zrevrange(rt.k(`fresh:${ap.id}`), 0, 0, 'WITHSCORES'),
      ]);
      const st = states[ap.id] ?? { state: ap.credError ? 'failing' : 'ok', reason: ap.credError ?? '', since: 0, failures: 0 };
      aps.push({
        id: ap.id, name: ap.name, connector: ap.binding.connector.id, service_identifier: ap.binding.serviceIdentifier,
        state: st.state, reason: st.reason, since: st.since || null, devices: ap.devices.size,
        last_poll: lastPoll ? Number(lastPoll) : null, last_data: fresh[1] ? Number(fresh[1]) : null,
        webhook: ap.binding.connector.webhook ? { url: `${deps.webhookBase}/webhooks/${ap.binding.connector.id}/${ap.id}`, header: 'X-Webhook-Secret: <webhook secret of the access point>' } : null,
      });
    }
    return { access_points: aps, queues };
  });
  return app;
}
