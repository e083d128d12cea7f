// Public webhook receiver: POST /webhooks/<connector>/<token>[/<anything>]. Verify before parsing (fail
// closed), parse, enqueue, and answer 2xx only once the records are in Redis.
import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { WebhookRequest } from '../core/connector.js';
import { PayloadError, VerificationError, describeError } from '../core/errors.js';
import { throttledLog } from '../core/log.js';
import { metrics } from '../core/metrics.js';
import { BacklogFullError, type IngestBatcher } from '../pipeline/ingest.js';
import type { ApEntry, Registry } from '../pipeline/registry.js';
import type { ApStore } from '../core/connector.js';
import { jsonGuard } from './json-guard.js';

export interface WebhookDeps {
  registry: Registry;
  ingest: Pick<IngestBatcher, 'add'>;
  log: Logger;
  bodyLimit: number;
  trustProxy: boolean | number | string[];
  /** Store for values learnt from headers (non-secret), per access point. */
  storeFor: (ap: ApEntry) => ApStore;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  if (x.length !== y.length) {
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

/** The secret the caller presented: X-Webhook-Secret, or Authorization: Bearer <secret>. */
export function presentedSecret(headers: Record<string, string | undefined>): string | undefined {
  const h = headers['x-webhook-secret'];
  if (h) return h;
  const auth = headers.authorization;
  if (auth && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, '');
  return undefined;
}

/** Module-level on purpose: a closure made per request costs more than the request's own work at high rates. */
function countWebhook(connector: string, result: string): void {
  metrics.webhooks.inc({ connector, result });
}

export function buildWebhookApp(deps: WebhookDeps): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: deps.bodyLimit, trustProxy: deps.trustProxy as never, return503OnClosing: true });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: deps.bodyLimit }, (_req, body, done) => done(null, body));
  const learnt = new Map<string, string>();
  // Refusals repeat (an attacker, a misconfigured vendor): one line per minute per cause, with a count.
  const warnOnce = throttledLog();

  app.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    const connector = (req.params as { connector?: string } | undefined)?.connector ?? 'unknown';
    metrics.webhooks.inc({ connector: deps.registry.bindings.some((b) => b.connector.id === connector) ? connector : 'unknown', result: status === 413 ? 'too_large' : status < 500 ? 'bad_request' : 'error' });
    if (status >= 500) deps.log.error({ err: err.message }, 'webhook handler error');
    void reply.code(status).send({ error: status === 413 ? 'payload too large' : status < 500 ? 'bad request' : 'internal error', reason: status < 500 ? err.message : undefined });
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  const handler = async (req: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply) => {
    const params = req.params as { connector: string; token: string; '*'?: string };
    const known = deps.registry.bindings.some((b) => b.connector.id === params.connector);
    const label = known ? params.connector : 'unknown';
    const ap = known ? deps.registry.byToken(params.connector, params.token) : undefined;
    const c = ap?.binding.connector;
    if (!ap || !c?.webhook) {
      countWebhook(label, 'unknown_token');
      warnOnce(`unknown:${label}`, (suppressed) => deps.log.warn({ connector: label, suppressed }, 'webhook for an unknown connector or token refused'));
      return reply.code(401).send({ error: 'unauthorized' });
    }
    if (!ap.cred) {
      countWebhook(label, 'unusable_credentials');
      return reply.code(401).send({ error: 'unauthorized' });
    }
    const headers: Record<string, string | undefined> = {};
    for (const [key, v] of Object.entries(req.headers)) headers[key] = Array.isArray(v) ? v.join(', ') : v;
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const query: Record<string, string | undefined> = {};
    for (const [key, v] of Object.entries((req.query ?? {}) as Record<string, unknown>)) query[key] = typeof v === 'string' ? v : undefined;
    const wreq: WebhookRequest = { rawBody, headers, query, subPath: params['*'] ? `/${params['*']}` : '' };

    // 1. Verify (fail closed): the token alone counts when it is a secret-derived URL key.
    try {
      if (c.webhook.verify) c.webhook.verify(wreq, ap.cred, Date.now());
      else if (params.token === ap.id) {
        const presented = presentedSecret(headers);
        const secrets = c.webhook.secrets(ap.cred);
        if (!presented || secrets.length === 0 || !secrets.some((s) => safeEqual(presented, s))) throw new VerificationError('secret missing or wrong');
      } else if (!ap.urlKeys.includes(params.token)) throw new VerificationError('token not valid');
    } catch (err) {
      countWebhook(label, 'unauthorized');
      const reason = err instanceof VerificationError ? err.message : 'verification error';
      warnOnce(`refused:${ap.id}:${reason}`, (suppressed) => deps.log.warn({ connector: c.id, access_point: ap.id, reason, suppressed }, 'webhook refused'));
      return reply.code(401).send({ error: 'unauthorized' });
    }
    // 2. Parse.
    if (rawBody.length === 0) { countWebhook(label, 'bad_request'); return reply.code(400).send({ error: 'bad request', reason: 'empty body' }); }
    // Structural JSON checks only for JSON bodies; anything else goes to the connector, which names the fix (415).
    const guard = /json/i.test(headers['content-type'] ?? '') ? jsonGuard(rawBody) : null;
    if (guard) { countWebhook(label, 'bad_request'); return reply.code(400).send({ error: 'bad request', reason: guard }); }
    let records;
    try {
      records = c.webhook.parse(wreq, ap.cred);
    } catch (err) {
      if (err instanceof VerificationError) { countWebhook(label, 'unauthorized'); return reply.code(401).send({ error: 'unauthorized' }); }
      countWebhook(label, 'bad_request');
      const reason = err instanceof PayloadError ? err.message : 'payload could not be parsed';
      if (!(err instanceof PayloadError)) deps.log.warn({ connector: c.id, access_point: ap.id, err: describeError(err) }, 'webhook parser failed unexpectedly');
      const status = /content-type/i.test(reason) ? 415 : 400;
      return reply.code(status).send({ error: status === 415 ? 'unsupported media type' : 'bad request', reason });
    }
    // 3. Learn non-secret routing facts (TTS webhook id) when they change.
    if (c.webhook.learn) {
      for (const [key, value] of Object.entries(c.webhook.learn(wreq, ap.cred))) {
        const mk = `${ap.id}:${key}`;
        if (learnt.get(mk) !== value) {
          learnt.set(mk, value);
          // Not awaited: a Redis outage must not hold the request (the ingest below answers 503 on its own).
          void deps.storeFor(ap).set(`learnt:${key}`, value).catch(() => learnt.delete(mk));
        }
      }
    }
    if (records.length === 0) { countWebhook(label, 'ignored'); return reply.code(200).send({ status: 'ignored', records: 0 }); }
    // 4. Durable, then acknowledge.
    try {
      const at = Date.now();
      await deps.ingest.add(records.map((rec) => ({ si: ap.binding.serviceIdentifier, ap: ap.id, at, rec })));
    } catch (err) {
      countWebhook(label, err instanceof BacklogFullError ? 'backlog_full' : 'unavailable');
      const reason = err instanceof BacklogFullError ? 'backlog full' : describeError(err);
      warnOnce(`unstored:${ap.id}:${reason}`, (suppressed) => deps.log.warn({ connector: c.id, access_point: ap.id, reason, suppressed }, 'webhook not stored; answered 503 so the vendor retries'));
      return reply.code(503).header('retry-after', '5').send({ error: 'temporarily unavailable', reason: err instanceof BacklogFullError ? 'backlog full' : 'queue store unreachable' });
    }
    countWebhook(label, 'accepted');
    return reply.code(200).send({ status: 'accepted', records: records.length });
  };
  app.post('/webhooks/:connector/:token', handler);
  app.post('/webhooks/:connector/:token/*', handler);
  return app;
}
