// Platform downlinks (commands, attribute set/get, telemetry control): MQTT → command queue (job id =
// platform message id, so replicas that all receive it run it once) → vendor call → response topic.
import { DelayedError, type Job } from 'bullmq';
import type { MqttLink } from '../platform/mqtt-link.js';
import { AuthError, RateLimitedError, describeError } from '../core/errors.js';
import type { JsonValue } from '../core/messages.js';
import { metrics } from '../core/metrics.js';
import { encodeEnvelope, responsePayload } from '../platform/envelope.js';
import { parseDownlinkTopic, uplinkTopics } from '../platform/topics.js';
import { randomId, sha256hex, shortId } from '../util/ids.js';
import { externalIdFor } from './devices.js';
import type { CommandJob, Runtime } from './runtime.js';

/** Subscribes each binding's `<prefix>#` and turns messages into command jobs. */
export async function subscribeDownlinks(rt: Runtime, link: MqttLink): Promise<void> {
  link.on('message', (topic: string, payload: Buffer) => {
    void onMessage(rt, topic, payload).catch((err) => rt.log.warn({ topic, err: describeError(err) }, 'downlink not queued'));
  });
  for (const b of rt.registry.bindings) {
    const filter = rt.config.TP_SHARED_SUBSCRIPTION ? `$share/tpcc-${b.serviceIdentifier}/${b.topicPrefix}#` : `${b.topicPrefix}#`;
    await link.subscribe(filter);
  }
}

async function onMessage(rt: Runtime, topic: string, payload: Buffer): Promise<void> {
  for (const b of rt.registry.bindings) {
    const d = parseDownlinkTopic(topic, b.topicPrefix);
    if (!d) continue;
    let body: JsonValue;
    try {
      body = JSON.parse(payload.toString('utf8')) as JsonValue;
    } catch {
      body = payload.toString('utf8');
    }
    const messageId = 'messageId' in d ? d.messageId : '';
    // Messages without a platform id get a content id, so replicas receiving the same message agree on it.
    // BullMQ refuses custom ids with ':' (unless exactly three parts), hence '|'.
    const jobId = messageId ? `${b.serviceIdentifier}|${d.kind}|${messageId}` : `${b.serviceIdentifier}|${d.kind}|${sha256hex(`${topic}\n${payload.toString('base64')}`).slice(0, 24)}|${Math.floor(Date.now() / 10_000)}`;
    const data: CommandJob = { si: b.serviceIdentifier, kind: d.kind, device: d.device, messageId, payload: body, receivedAt: Date.now() };
    await rt.queues.command.add(d.kind, data, {
      jobId,
      attempts: rt.config.COMMAND_ATTEMPTS,
      backoff: { type: 'exponential', delay: rt.config.RETRY_BASE_MS, jitter: 0.5 },
      removeOnComplete: { age: 86400, count: 10_000 },
      removeOnFail: { age: 7 * 86400 },
    });
    return;
  }
}

export function createCommandProcessor(rt: Runtime) {
  const enc = rt.config.TP_VALUES_ENCODING;

  async function reply(job: CommandJob, ok: boolean, message: string, method: string | undefined): Promise<void> {
    if (!job.messageId) return;
    const topic = job.kind === 'attributes_set' ? uplinkTopics.attributeSetResponse(job.messageId) : uplinkTopics.commandResponse(job.messageId);
    // The response's device is the one the platform named; resolve its id for the envelope.
    const r = rt.registry.resolveDevice(job.si, job.device);
    const deviceId = r?.device.id ?? job.device;
    await rt.link.publish(topic, encodeEnvelope(deviceId, responsePayload(ok, message, method), enc), 1);
  }

  return async function processCommand(job: Job<CommandJob>, token?: string): Promise<{ ok: boolean; message: string }> {
    const data = job.data;
    const b = rt.registry.binding(data.si);
    const connectorId = b?.connector.id ?? 'unknown';
    const payload = data.payload;
    const obj = payload && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Record<string, JsonValue>) : {};
    const method = data.kind === 'command' ? (typeof obj.method === 'string' ? obj.method : '') : data.kind === 'attributes_set' ? 'attributes_set' : data.kind;
    const params: JsonValue = data.kind === 'command' ? (obj.params ?? null) : payload;
    const finish = async (ok: boolean, message: string, outcome: string) => {
      metrics.commands.inc({ connector: connectorId, outcome });
      await reply(data, ok, message, method || undefined);
      return { ok, message };
    };

    const r = rt.registry.resolveDevice(data.si, data.device);
    if (!b || !r) return finish(false, `unknown device ${data.device}`, 'unknown_device');
    const { ap, device } = r;
    const c = ap.binding.connector;

    if (data.kind === 'attributes_get') {
      const keys = Array.isArray(obj.keys) ? obj.keys.filter((x): x is string => typeof x === 'string') : [];
      const h = await rt.redis.hgetall(rt.k(`attrs:${device.id}`));
      const values: Record<string, JsonValue> = {};
      for (const [key, v] of Object.entries(h)) if (keys.length === 0 || keys.includes(key)) values[key] = JSON.parse(v) as JsonValue;
      await rt.link.publish(uplinkTopics.attributes(randomId(8)), encodeEnvelope(device.id, values, enc), 1);
      metrics.commands.inc({ connector: c.id, outcome: 'ok' });
      return { ok: true, message: `${Object.keys(values).length} attributes` };
    }
    if (Date.now() - data.receivedAt > rt.config.COMMAND_TTL_MS) return finish(false, `expired: not sent within ${Math.round(rt.config.COMMAND_TTL_MS / 1000)} s`, 'expired');
    if (!ap.cred) return finish(false, `access point credentials unusable: ${ap.credError ?? 'unknown'}`, 'bad_credentials');
    if (!c.executeCommand) return finish(false, `${c.displayName} does not support commands`, 'unsupported');
    const st = await rt.state.get(ap.id);
    if (st.state === 'needs_reauth') return finish(false, `access point needs re-authentication: ${st.reason}`, 'needs_reauth');

    // At most once toward the vendor: the marker is set before the call; a retry that finds it (a crash or a
    // timeout mid-call) answers "outcome unknown" instead of calling again.
    const marker = rt.k(`cmdexec:${job.id}`);
    if ((await rt.redis.set(marker, String(Date.now()), 'EX', 7 * 86400, 'NX')) !== 'OK') {
      return finish(false, 'interrupted while the vendor call was in flight; not repeated to avoid running it twice', 'interrupted');
    }
    try {
      const ctx = rt.ctx(ap);
      const external = await externalIdFor(rt, ap, device.number, ctx);
      if (!external) return finish(false, `device ${device.number} is not known to ${c.displayName}`, 'unknown_device');
      const kind = data.kind === 'telemetry_control' ? 'telemetry_control' : data.kind;
      const res = await c.executeCommand(ctx, { kind, device: external, method, params, messageId: data.messageId || shortId(job.id ?? '') });
      return finish(res.ok, res.message, res.ok ? 'ok' : 'rejected');
    } catch (err) {
      if (err instanceof RateLimitedError) {
        // Not sent: try again after the vendor's window, unless that passes the command's TTL.
        await rt.redis.del(marker);
        const at = Date.now() + err.retryAfterMs;
        if (at - data.receivedAt < rt.config.COMMAND_TTL_MS && token) {
          await job.moveToDelayed(at, token);
          throw new DelayedError();
        }
        return finish(false, `vendor rate limit: ${describeError(err)}`, 'rate_limited');
      }
      if (err instanceof AuthError) {
        await rt.state.set(ap.id, c.id, 'needs_reauth', describeError(err));
        return finish(false, `vendor rejected the credentials: ${describeError(err)}`, 'auth_error');
      }
      return finish(false, describeError(err), 'failed');
    }
  };
}
