// The plugin API ThingsPanel calls on each connector's http_address (contract §2). Always HTTP 200 with
// {code, message, data}; notifications are answered at once and handled asynchronously.
import { createHash } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Ctx } from '../core/connector.js';
import { AuthError, RateLimitedError, describeError } from '../core/errors.js';
import { toForm } from '../core/forms.js';
import type { Binding } from '../pipeline/registry.js';
import { VoucherError, parseDeviceListQuery } from './voucher.js';

export interface PluginApiDeps {
  binding: Binding;
  log: Logger;
  /** Builds a connector ctx for credentials that are not (yet) an access point: device discovery. */
  discoveryCtx: (cred: unknown, scope: string) => Ctx<unknown>;
  numberFor: (externalId: string, cred: unknown) => string;
  remember: (cred: unknown, items: { externalId: string; name: string }[]) => Promise<void>;
  /** A notification for this access point (or all when undefined) arrived. */
  onAccessPointChanged: (accessPointId: string | undefined) => void;
  onDeviceDisconnect: (deviceId: string) => void;
}

const ok = (data: unknown = null) => ({ code: 200, message: 'success', data });
const fail = (code: number, message: string) => ({ code, message });

const notification = z.object({ message_type: z.union([z.string(), z.number()]).optional(), message: z.unknown().optional() });

export function buildPluginApi(deps: PluginApiDeps): FastifyInstance {
  const { binding, log } = deps;
  const c = binding.connector;
  const app = Fastify({ logger: false, bodyLimit: 256 * 1024 });
  app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
    const status = err.statusCode && err.statusCode < 500 ? 400 : 500;
    void reply.code(200).send(fail(status, status === 400 ? `bad request: ${err.message}` : 'internal error'));
  });
  app.setNotFoundHandler((req, reply) => void reply.code(200).send(fail(404, `no route ${req.method} ${req.url.split('?')[0]}`)));

  app.get('/health', async () => ok({ status: 'ok', service_identifier: binding.serviceIdentifier, connector: c.id }));

  app.get('/api/v1/form/config', async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const formType = q.form_type;
    if (!formType) return fail(400, 'form_type is required');
    if (q.protocol_type && q.protocol_type !== binding.serviceIdentifier) log.debug({ protocol_type: q.protocol_type }, 'form requested for another protocol_type');
    switch (formType) {
      case 'SVCR': return ok(toForm(c.voucherFields));
      case 'CFG': return ok(c.configFields ? toForm(c.configFields) : null);
      case 'VCR': return ok(null);
      case 'VCRT': return ok({});
      default: return fail(400, `not support form type: ${formType}`);
    }
  });

  app.get('/api/v1/plugin/device/list', async (req) => {
    let q;
    try {
      q = parseDeviceListQuery(req.raw.url ?? req.url);
    } catch (err) {
      return fail(400, err instanceof VoucherError ? err.message : 'bad voucher');
    }
    const parsed = c.voucherSchema.safeParse(q.voucher);
    if (!parsed.success) return fail(400, `voucher invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const cred = parsed.data;
    const scope = `discovery:${createHash('sha256').update(JSON.stringify(q.voucher)).digest('hex').slice(0, 16)}`;
    try {
      const res = await c.listDevices(deps.discoveryCtx(cred, scope), { page: q.page, pageSize: q.pageSize });
      await deps.remember(cred, res.items);
      return ok({
        total: res.total,
        list: res.items.map((d) => ({ device_name: d.name, device_number: deps.numberFor(d.externalId, cred), description: d.description ?? '' })),
      });
    } catch (err) {
      const msg = err instanceof AuthError ? `${c.displayName} rejected the credentials: ${describeError(err)}`
        : err instanceof RateLimitedError ? `${c.displayName} rate limit reached; try again shortly`
          : `${c.displayName} device list failed: ${describeError(err)}`;
      log.warn({ reason: msg }, 'device discovery failed');
      return fail(400, msg);
    }
  });

  const onNotify = async (req: import('fastify').FastifyRequest) => {
    const body = notification.safeParse(req.body ?? {});
    let apId: string | undefined;
    if (body.success) {
      const m = body.data.message;
      try {
        const inner = typeof m === 'string' ? (JSON.parse(m) as unknown) : m;
        if (inner && typeof inner === 'object' && typeof (inner as Record<string, unknown>).service_access_id === 'string') apId = (inner as Record<string, string>).service_access_id;
      } catch { /* unknown message: full sync */ }
    }
    setImmediate(() => deps.onAccessPointChanged(apId));
    return ok(null);
  };
  app.post('/api/v1/plugin/notification', onNotify);
  app.post('/api/v1/notify/event', onNotify);

  app.post('/api/v1/device/disconnect', async (req) => {
    const b = req.body as { device_id?: unknown } | undefined;
    if (!b || typeof b.device_id !== 'string' || b.device_id === '') return fail(400, 'device_id is required');
    const id = b.device_id;
    setImmediate(() => deps.onDeviceDisconnect(id));
    return { code: 200, message: 'success' };
  });
  return app;
}
