// Operator endpoints on the admin port: /healthz, /readyz, /metrics (Prometheus), /api/status (JSON), the status
// page (/ and /status), the queue dashboard (/queues, bull-board) and dead-letter replay.
// Protected by ADMIN_TOKEN when set (Bearer token, or HTTP Basic with any user name and the token as password);
// listens on ADMIN_HOST (loopback by default), never on the webhook port.
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { registry as metricsRegistry } from '../core/metrics.js';
import { replayDeadLetter } from '../pipeline/dead-letter.js';
import { queueStats } from '../pipeline/maintenance.js';
import type { Runtime } from '../pipeline/runtime.js';
import { isAuthorized, isCrossSiteWrite, sendUnauthorized } from './admin-auth.js';
import { registerQueueDashboard } from './queue-dashboard.js';
import { buildStatus, deadLetterRows } from './status-data.js';
import { renderStatusPage, type PageOptions } from './status-page.js';

export interface AdminDeps {
  rt: Runtime;
  token?: string;
  webhookBase: string;
  backendReachable: () => Promise<boolean>;
}

const OPEN_PATHS = new Set(['/healthz', '/readyz']);

export function buildAdminApp(deps: AdminDeps): FastifyInstance {
  const { rt } = deps;
  const app = Fastify({ logger: false });
  app.addHook('onRequest', async (req, reply) => {
    // Browsers replay Basic credentials (and reach a token-less loopback port) on cross-site posts: refuse those.
    if (isCrossSiteWrite(req)) return reply.code(403).send({ error: 'cross-site request refused' });
    if (!deps.token) return;
    const path = req.url.split('?', 1)[0] ?? '';
    if (OPEN_PATHS.has(path)) return;
    if (!isAuthorized(req.headers.authorization, deps.token)) return sendUnauthorized(reply);
  });
  // HTML forms (the status page's replay buttons) post url-encoded bodies; their content is not used.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_req, _body, done) => done(null, {}));

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

  app.get('/api/status', async () => buildStatus(rt, deps.webhookBase));

  app.get('/api/dead-letters', async () => ({ dead_letters: await deadLetterRows(rt, 500) }));

  app.post<{ Params: { id: string } }>('/api/dead-letters/:id/replay', async (req, reply) => {
    const id = req.params.id;
    // A status-page form expects to be sent back to the page; API clients get JSON.
    const fromForm = (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
    const back = (q: string) => reply.code(303).header('location', `../../../?${q}`).send();
    try {
      const job = await replayDeadLetter(rt, id);
      rt.log.info({ dead_letter: id, job }, 'dead letter replayed from the admin port');
      return fromForm ? back(`replayed=${encodeURIComponent(id)}`) : { replayed: id, job };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (fromForm) return back(`replay_error=${encodeURIComponent(message.slice(0, 300))}`);
      return reply.code(message.startsWith('no dead letter') ? 404 : 500).send({ error: message });
    }
  });

  const page = async (req: FastifyRequest, reply: FastifyReply) => {
    const q = (req.query ?? {}) as Record<string, unknown>;
    const flash: PageOptions['flash'] = typeof q.replayed === 'string' ? { kind: 'ok', text: `Dead letter ${q.replayed.slice(0, 300)} put back on its queue.` }
      : typeof q.replay_error === 'string' ? { kind: 'error', text: `Replay failed: ${q.replay_error.slice(0, 300)}` } : null;
    const [report, deadLetters] = await Promise.all([buildStatus(rt, deps.webhookBase), deadLetterRows(rt).catch(() => null)]);
    const nonce = randomBytes(16).toString('base64');
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('x-content-type-options', 'nosniff')
      .header('x-frame-options', 'DENY')
      .header('referrer-policy', 'no-referrer')
      .header('content-security-policy', `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`)
      .send(renderStatusPage(report, { nonce, deadLetters, flash }));
  };
  app.get('/', page);
  app.get('/status', page);

  registerQueueDashboard(app, rt);
  return app;
}
