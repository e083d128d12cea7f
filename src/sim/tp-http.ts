// The platform endpoints a service plugin calls (contract §3), served like the Go backend:
// POST + JSON body (bound with ShouldBindJSON semantics, any Content-Type), HTTP 200 and {code,message,data}.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { bindJson, errWithData, errWithMessage, goJson, okEnvelope, type GoEnvelope, type GoStruct } from './go-compat.js';
import type { SimState } from './tp-state.js';

export interface HttpRequestRecord {
  method: string;
  url: string;
  body: string | undefined;
  at: number;
}

export interface HeartbeatRecord {
  serviceIdentifier: string;
  at: number;
}

export interface PlatformApiHooks {
  onRequest(r: HttpRequestRecord): void;
  onHeartbeat(r: HeartbeatRecord): void;
}

const HeartbeatReq: GoStruct = {
  name: 'model.HeartbeatReq',
  style: 'binding',
  fields: [{ json: 'service_identifier', go: 'ServiceIdentifier', type: 'string', required: true }],
};
const GetPluginServiceAccessListReq: GoStruct = {
  name: 'model.GetPluginServiceAccessListReq',
  style: 'binding',
  fields: [{ json: 'service_identifier', go: 'ServiceIdentifier', type: 'string', required: true }],
};
const GetPluginServiceAccessReq: GoStruct = {
  name: 'model.GetPluginServiceAccessReq',
  style: 'binding',
  fields: [{ json: 'service_access_id', go: 'ServiceAccessID', type: 'string', required: true }],
};
const GetDeviceConfigReq: GoStruct = {
  name: 'model.GetDeviceConfigReq',
  style: 'validate',
  fields: [
    { json: 'device_id', go: 'DeviceId', type: 'string', max: 36 },
    { json: 'voucher', go: 'Voucher', type: 'string', max: 255 },
    { json: 'device_number', go: 'DeviceNumber', type: 'string', max: 255 },
  ],
};
const GetDevicesByProtocolPluginReq: GoStruct = {
  name: 'model.GetDevicesByProtocolPluginReq',
  style: 'validate',
  fields: [
    { json: 'service_identifier', go: 'ServiceIdentifier', type: 'string', required: true, max: 255 },
    { json: 'device_type', go: 'DeviceType', type: 'string', required: true, max: 10 },
    { json: 'page', go: 'Page', type: 'int', required: true, gte: 1 },
    { json: 'page_size', go: 'PageSize', type: 'int', required: true, gte: 1, lte: 1000 },
  ],
};

export async function buildPlatformApi(state: SimState, hooks: PlatformApiHooks, logger?: Logger): Promise<FastifyInstance> {
  // No per-request logging (the simulator records requests in `httpRequests`); only route errors are logged.
  const app = Fastify({ logger: false });
  app.setErrorHandler((err, req, reply) => {
    logger?.error({ err, url: req.url }, 'simulator route failed');
    return reply.code(200).send({ code: 100000, message: (err as Error).message });
  });

  // gin's ShouldBindJSON ignores Content-Type: take every body as text and bind it ourselves.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.addHook('preHandler', async (req) => {
    hooks.onRequest({ method: req.method, url: req.url, body: typeof req.body === 'string' ? req.body : undefined, at: Date.now() });
  });

  const send = (reply: FastifyReply, env: GoEnvelope) =>
    reply.code(200).header('content-type', 'application/json; charset=utf-8').send(goJson(env));
  const lang = (req: FastifyRequest) => req.headers['accept-language'];
  const rawBody = (req: FastifyRequest) => (typeof req.body === 'string' ? req.body : undefined);

  app.post('/api/v1/plugin/heartbeat', async (req, reply) => {
    const b = bindJson(rawBody(req), HeartbeatReq);
    if (!b.ok) return send(reply, errWithMessage(100002, b.message));
    const id = String(b.value.service_identifier);
    const svc = state.services.get(id);
    if (!svc) return send(reply, errWithData(101001, { sql_error: 'service plugin not found' }, lang(req)));
    const at = Date.now();
    svc.lastHeartbeatAt = at;
    hooks.onHeartbeat({ serviceIdentifier: id, at });
    return send(reply, okEnvelope({}, lang(req)));
  });

  app.post('/api/v1/plugin/service/access/list', async (req, reply) => {
    const b = bindJson(rawBody(req), GetPluginServiceAccessListReq);
    if (!b.ok) return send(reply, errWithMessage(100002, b.message));
    const svc = state.services.get(String(b.value.service_identifier));
    // dal error returned unwrapped → response middleware turns it into a system error with the raw text.
    if (!svc) return send(reply, errWithMessage(100000, 'record not found'));
    const list = [...state.accessPoints.values()].filter((ap) => ap.service_plugin_id === svc.id).map((ap) => state.accessPointJson(ap));
    return send(reply, okEnvelope(list.length === 0 ? null : list, lang(req)));
  });

  app.post('/api/v1/plugin/service/access', async (req, reply) => {
    const b = bindJson(rawBody(req), GetPluginServiceAccessReq);
    if (!b.ok) return send(reply, errWithMessage(100002, b.message));
    const ap = state.accessPoints.get(String(b.value.service_access_id));
    if (!ap) return send(reply, errWithMessage(100000, 'record not found'));
    return send(reply, okEnvelope(state.accessPointJson(ap), lang(req)));
  });

  app.post('/api/v1/plugin/device/config', async (req, reply) => {
    const b = bindJson(rawBody(req), GetDeviceConfigReq);
    if (!b.ok) return send(reply, errWithMessage(100002, b.message));
    const q = { device_id: String(b.value.device_id), voucher: String(b.value.voucher), device_number: String(b.value.device_number) };
    if (q.device_id === '' && q.voucher === '' && q.device_number === '') {
      return send(reply, errWithData(100002, { error: 'device id and voucher and device_number must have one' }, lang(req)));
    }
    const r = state.deviceConfig(q);
    if (!r.ok) return send(reply, r.data ? errWithData(r.code, r.data, lang(req)) : errWithMessage(r.code, r.message ?? ''));
    return send(reply, okEnvelope(r.value, lang(req)));
  });

  app.post('/api/v1/plugin/devices', async (req, reply) => {
    const b = bindJson(rawBody(req), GetDevicesByProtocolPluginReq);
    if (!b.ok) return send(reply, errWithMessage(100002, b.message));
    const data = state.pluginDevices({
      service_identifier: String(b.value.service_identifier),
      device_type: String(b.value.device_type),
      page: Number(b.value.page),
      page_size: Number(b.value.page_size),
    });
    return send(reply, okEnvelope(data, lang(req)));
  });

  // gin's default 404 / 405 answers.
  app.setNotFoundHandler((_req, reply) => reply.code(404).header('content-type', 'text/plain').send('404 page not found'));
  return app;
}
