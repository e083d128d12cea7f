// The plugin API ThingsPanel calls on each connector's http_address (contract §2). Always HTTP 200 with
// {code, message, data}; notifications are answered at once and handled asynchronously.
import { createHash } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Ctx } from '../core/connector.js';
import { AuthError, RateLimitedError, describeError } from '../core/errors.js';
import { toForm } from '../core/forms.js';
import { jsonGuard } from '../http/json-guard.js';
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
  // The Go backend puts the voucher into the query unencoded: a space or a non-ASCII byte in a credential makes
  // Node's parser refuse the request line (contract §8.8). Such device-list requests are answered from the raw bytes.
  let recoverRawDeviceList: ((rawUrl: string) => Promise<unknown>) | undefined;
  const app = Fastify({
    logger: false,
    bodyLimit: 256 * 1024,
    clientErrorHandler: (err, socket) => {
      const target = rawDeviceListTarget((err as unknown as { rawPacket?: Buffer }).rawPacket);
      if (!target || !recoverRawDeviceList || !socket.writable) {
        if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        else socket.destroy();
        return;
      }
      void recoverRawDeviceList(target).then((body) => {
        const json = Buffer.from(JSON.stringify(body));
        if (socket.writable) socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${json.length}\r\nConnection: close\r\n\r\n`), json]));
      }, () => socket.destroy());
    },
  });
  // ThingsPanel POSTs JSON only: other media types are refused (415 → code 400), and JSON bodies are checked for
  // UTF-8 validity and nesting depth before they are parsed (with the default prototype-poisoning protection).
  app.removeAllContentTypeParsers();
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    const buf = body as Buffer;
    const reason = jsonGuard(buf);
    if (reason) {
      done(Object.assign(new Error(reason), { statusCode: 400 }), undefined);
      return;
    }
    parseJson(req, buf.toString('utf8'), done);
  });
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

  async function deviceList(rawUrl: string) {
    let q;
    try {
      q = parseDeviceListQuery(rawUrl);
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
  }

  app.get('/api/v1/plugin/device/list', async (req) => deviceList(req.raw.url ?? req.url));
  recoverRawDeviceList = deviceList;

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

/**
 * The request target of a raw `GET /api/v1/plugin/device/list?... HTTP/1.1` line, decoded as UTF-8, or undefined
 * for anything else. The target is everything between the method and the last " HTTP/1.x" (it may hold spaces).
 */
export function rawDeviceListTarget(raw: Buffer | undefined): string | undefined {
  if (!raw) return undefined;
  const head = raw.subarray(0, Math.min(raw.length, 64 * 1024)).toString('utf8');
  const eol = head.indexOf('\r\n');
  const line = eol >= 0 ? head.slice(0, eol) : head;
  const m = /^GET (\/api\/v1\/plugin\/device\/list\?.*) HTTP\/1\.[01]$/.exec(line);
  return m?.[1];
}
