// Simulator of the ThingsPanel community backend as a third-party service plugin sees it
// (/work/shared/docs/thingspanel-contract.md): the plugin-facing HTTP API (§3), the calls the backend makes
// to the plugin (§2: forms, device list, notification, disconnect), the downlinks it publishes (§4.4), and
// an MQTT observer that subscribes and decodes exactly like the backend (§4.2/§4.3) and sends its ACKs (§4.5).
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { connectAsync, type MqttClient } from 'mqtt';
import { pino, type Logger } from 'pino';
import { goRequest, GoHttpError, parseJsonBody } from './go-http.js';
import { goTime } from './go-compat.js';
import { buildPlatformApi, type HeartbeatRecord, type HttpRequestRecord } from './tp-http.js';
import { decodeUplink, PLATFORM_SUBSCRIPTIONS, type GatewayKind, type MqttResponse, type SimValuesEncoding } from './tp-mqtt.js';
import {
  SimState,
  type AccessPointRow,
  type DeviceRow,
  type DeviceType,
  type DownlinkEra,
  type NotificationPath,
  type ServicePlugin,
  type Template,
} from './tp-state.js';

export { GoHttpError } from './go-http.js';
export { decodeEnvelopeLikeBackend, decodeUplink, PLATFORM_SUBSCRIPTIONS } from './tp-mqtt.js';
export type { AccessPointRow, DeviceRow, DeviceConfigJson, DownlinkEra, NotificationPath, ServicePlugin, Template } from './tp-state.js';
export type { HeartbeatRecord, HttpRequestRecord } from './tp-http.js';
export type { MqttResponse, GatewayKind, SimValuesEncoding } from './tp-mqtt.js';

export interface ThingsPanelSimOptions {
  mqttUrl: string;
  /** Platform MQTT account (the backend connects as `root`). */
  mqttUsername?: string;
  mqttPassword?: string;
  /** 'base64' = the community backend (default); 'json' = accept a JSON object in `values`. */
  valuesEncoding?: SimValuesEncoding;
  /** HTTP port for the platform API; 0/undefined = ephemeral. */
  port?: number;
  logger?: Logger;
  /**
   * Messages for device ids minted by *another* simulator instance on the same broker (parallel test files
   * share devices/telemetry etc.) are ignored by default and only counted in `foreignMessages`; 'error'
   * records them in `errors` like any unknown device.
   */
  foreignDevices?: 'ignore' | 'error';
  /** Timeout for the backend's HTTP calls to the plugin (ms, default 10000). */
  pluginTimeoutMs?: number;
  /** Publish the platform ACKs of §4.5 (default true). */
  acks?: boolean;
}

export interface TelemetryRecord { deviceId: string; values: Record<string, unknown>; at: number }
export interface AttributeRecord { deviceId: string; messageId: string; values: Record<string, unknown>; at: number }
export interface EventRecord { deviceId: string; method: string; params: Record<string, unknown>; messageId: string; at: number }
export interface StatusRecord { deviceId: string; online: boolean; at: number }
export interface ResponseRecord extends MqttResponse { kind: 'command' | 'attributes_set'; deviceId: string; messageId: string; at: number }
export interface GatewayRecord { kind: GatewayKind; deviceId: string; messageId?: string; values: Record<string, unknown>; at: number }
export interface SimErrorRecord { topic: string; reason: string; payload: string; at: number }
export interface DownlinkRecord {
  kind: 'command' | 'attributes_set' | 'attributes_get' | 'telemetry_control';
  deviceId: string;
  topic: string;
  payload: unknown;
  messageId?: string;
  at: number;
}
export interface AckRecord { topic: string; payload: Record<string, unknown>; at: number }
export interface PluginCallRecord {
  kind: 'notification' | 'disconnect';
  serviceIdentifier: string;
  /** http://<http_address><path> */
  url: string;
  body: string;
  trigger?: 'bind_devices' | 'voucher_update' | 'template_update' | 'manual';
  status?: number;
  response?: unknown;
  error?: string;
  /** HTTP 200 (and for disconnect, also code 200 — otherwise the backend only logs a warning). */
  ok: boolean;
  at: number;
}

export interface RegisterServiceInput {
  serviceIdentifier: string;
  /** host:port of the plugin HTTP API */
  httpAddress: string;
  subTopicPrefix: string;
  name?: string;
  /** '/api/v1/plugin/notification' (≥ v1.2.6, default) or '/api/v1/notify/event' (older backends). */
  notificationPath?: NotificationPath;
  /** Which identifier downlink topics carry: 'number' (≥ v1.1.10, default) or 'id' (≤ v1.1.9). */
  downlinkEra?: DownlinkEra;
}

export interface AddTemplateInput {
  id?: string;
  name?: string;
  protocolType: string;
  deviceType?: DeviceType;
  /** CFG form values → device_configs.protocol_config (→ protocol_config_template). */
  protocolConfig?: Record<string, unknown> | null;
}

export interface CreateAccessPointInput {
  serviceIdentifier: string;
  name: string;
  /** An object is stored as the frontend does: JSON with auth_type "manual" appended. A string is stored as is. */
  voucher: Record<string, unknown> | string;
  tenantId?: string;
  description?: string;
  remark?: string;
  serviceAccessConfig?: string;
}

export interface BindDeviceInput {
  device_number: string;
  device_name: string;
  templateId?: string;
  description?: string;
}

export interface DownlinkOptions {
  /** Overrides the service's downlinkEra for this message. */
  era?: DownlinkEra;
}

export interface ThingsPanelSim {
  readonly url: string;
  readonly port: number;
  readonly state: SimState;
  readonly valuesEncoding: SimValuesEncoding;
  close(): Promise<void>;

  // ---- state / admin (what an admin or tenant does in the UI) ----
  registerService(input: RegisterServiceInput): ServicePlugin;
  updateService(serviceIdentifier: string, patch: Partial<Omit<RegisterServiceInput, 'serviceIdentifier'>>): ServicePlugin;
  addTemplate(input: AddTemplateInput): Template;
  /** Changes a template's protocol_config and POSTs /api/v1/device/disconnect for each of its devices. */
  updateTemplateConfig(templateId: string, protocolConfig: Record<string, unknown> | null): Promise<PluginCallRecord[]>;
  createAccessPoint(input: CreateAccessPointInput): string;
  /** PUT /api/v1/service/access: stores the voucher, then notifies the plugin (message_type "1"). */
  updateAccessPointVoucher(id: string, voucher: Record<string, unknown> | string): Promise<PluginCallRecord | null>;
  /** No notification (like the backend). Refuses when devices are bound, unless force (which also deletes them). */
  deleteAccessPoint(id: string, opts?: { force?: boolean }): void;
  /** POST /api/v1/device/service/access/batch: creates devices, then notifies the plugin (awaited). */
  bindDevices(accessPointId: string, devices: BindDeviceInput[]): Promise<DeviceRow[]>;
  /** Deletes the row; the plugin is NOT told (backend bug, contract §2.4). */
  deleteDevice(id: string): boolean;
  /** POST /api/v1/device/disconnect {device_id} to the device's plugin. */
  disconnectDevice(id: string): Promise<PluginCallRecord>;
  /** GET /api/v1/form/config?protocol_type=&device_type=&form_type= (not URL-encoded); parsed body. */
  fetchForm(serviceIdentifier: string, formType: string, deviceType?: string): Promise<unknown>;
  /** GET /api/v1/plugin/device/list?voucher=<raw>&page_size=&page=; parsed body; throws GoHttpError on non-200. */
  fetchDeviceList(serviceIdentifier: string, voucher: Record<string, unknown> | string, page?: number, pageSize?: number): Promise<unknown>;

  // ---- downlink (§4.4) ----
  sendCommand(deviceId: string, cmd: { method: string; params?: unknown }, opts?: DownlinkOptions): Promise<string>;
  setAttributes(deviceId: string, attrs: Record<string, unknown>, opts?: DownlinkOptions): Promise<string>;
  getAttributes(deviceId: string, keys?: string[], opts?: DownlinkOptions): Promise<void>;
  controlTelemetry(deviceId: string, values: Record<string, unknown>, opts?: DownlinkOptions): Promise<void>;
  waitForResponse(messageId: string, timeoutMs?: number): Promise<ResponseRecord>;

  // ---- lookups ----
  device(id: string): DeviceRow | undefined;
  deviceByNumber(deviceNumber: string): DeviceRow | undefined;
  devicesOf(accessPointId: string): DeviceRow[];
  /** The §3.3 map for an access point (same as POST /api/v1/plugin/service/access). */
  accessPoint(id: string): Record<string, unknown> | undefined;
  /** Like the plugin list's service_heartbeat: a heartbeat within the last 60 s. */
  serviceActive(serviceIdentifier: string): boolean;

  // ---- observations ----
  readonly telemetry: TelemetryRecord[];
  readonly attributes: AttributeRecord[];
  readonly events: EventRecord[];
  readonly status: StatusRecord[];
  readonly commandResponses: ResponseRecord[];
  readonly attributeSetResponses: ResponseRecord[];
  readonly gateway: GatewayRecord[];
  readonly errors: SimErrorRecord[];
  readonly heartbeats: HeartbeatRecord[];
  readonly httpRequests: HttpRequestRecord[];
  readonly pluginCalls: PluginCallRecord[];
  readonly downlinks: DownlinkRecord[];
  readonly acks: AckRecord[];
  readonly foreignMessages: number;
  /** Polls `predicate(sim)` every 10 ms until it returns a truthy value, which is returned. */
  waitFor<T>(predicate: (sim: ThingsPanelSim) => T | false | null | undefined | 0 | '', timeoutMs?: number): Promise<T>;
  /** Empties every observation array (in place) and the foreign counter. */
  reset(): void;
}

export class SimInputError extends Error {
  constructor(message: string, readonly code?: number) {
    super(message);
    this.name = 'SimInputError';
  }
}

function encodeVoucher(v: Record<string, unknown> | string): string {
  if (typeof v === 'string') return v;
  return JSON.stringify('auth_type' in v ? v : { ...v, auth_type: 'manual' });
}

const nowS = () => Math.floor(Date.now() / 1000);

export async function startThingsPanelSim(opts: ThingsPanelSimOptions): Promise<ThingsPanelSim> {
  const log = (opts.logger ?? pino({ level: 'silent' })).child({ component: 'tp-sim' });
  const encoding: SimValuesEncoding = opts.valuesEncoding ?? 'base64';
  const pluginTimeoutMs = opts.pluginTimeoutMs ?? 10_000;
  const sendAcks = opts.acks ?? true;
  const state = new SimState();

  const telemetry: TelemetryRecord[] = [];
  const attributes: AttributeRecord[] = [];
  const events: EventRecord[] = [];
  const status: StatusRecord[] = [];
  const commandResponses: ResponseRecord[] = [];
  const attributeSetResponses: ResponseRecord[] = [];
  const gateway: GatewayRecord[] = [];
  const errors: SimErrorRecord[] = [];
  const heartbeats: HeartbeatRecord[] = [];
  const httpRequests: HttpRequestRecord[] = [];
  const pluginCalls: PluginCallRecord[] = [];
  const downlinks: DownlinkRecord[] = [];
  const acks: AckRecord[] = [];
  let foreignMessages = 0;
  /** message ids the platform issued (commands / attribute sets), to flag responses to ids never sent */
  const issued = new Map<string, DownlinkRecord['kind']>();

  // ---- HTTP API ------------------------------------------------------------------------------
  const app = await buildPlatformApi(
    state,
    { onRequest: (r) => httpRequests.push(r), onHeartbeat: (h) => heartbeats.push(h) },
    opts.logger ? log : undefined,
  );
  await app.listen({ host: '127.0.0.1', port: opts.port ?? 0 });
  const port = (app.server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  // ---- MQTT observer -------------------------------------------------------------------------
  let client: MqttClient;
  try {
    client = await connectAsync(
      opts.mqttUrl,
      {
        clientId: `tp-sim-${state.instanceTag}-${randomBytes(4).toString('hex')}`,
        username: opts.mqttUsername ?? 'root',
        password: opts.mqttPassword ?? 'root',
        clean: true,
        keepalive: 30,
        reconnectPeriod: 1000,
        connectTimeout: 5000,
      },
      false,
    );
  } catch (e) {
    await app.close();
    throw e;
  }

  const publishAck = (topic: string, payload: Record<string, unknown>) => {
    if (!sendAcks) return;
    acks.push({ topic, payload, at: Date.now() });
    client.publishAsync(topic, JSON.stringify(payload), { qos: 1, retain: false }).catch((e: unknown) => log.warn({ err: e, topic }, 'ack publish failed'));
  };

  const onMessage = (topic: string, payload: Buffer) => {
    const at = Date.now();
    const err = (reason: string) => {
      errors.push({ topic, reason, payload: payload.toString('utf8'), at });
      log.debug({ topic, reason }, 'rejected uplink');
    };
    const d = decodeUplink(topic, payload, encoding);
    const deviceId = d.deviceId;
    if (deviceId !== undefined && !state.devices.has(deviceId) && state.isForeignDeviceId(deviceId) && (opts.foreignDevices ?? 'ignore') === 'ignore') {
      foreignMessages++;
      return;
    }
    if (d.kind === 'invalid') return err(d.reason);
    const dev = state.devices.get(d.deviceId);
    if (!dev) return err(`device ${JSON.stringify(d.deviceId)} not found`);
    switch (d.kind) {
      case 'telemetry':
        telemetry.push({ deviceId: d.deviceId, values: d.values, at });
        return;
      case 'attributes':
        attributes.push({ deviceId: d.deviceId, messageId: d.messageId, values: d.values, at });
        publishAck(`devices/attributes/response/${dev.device_number}/${d.messageId}`, { result: 0, message: 'success', ts: nowS() });
        return;
      case 'event':
        events.push({ deviceId: d.deviceId, method: d.method, params: d.params, messageId: d.messageId, at });
        publishAck(`devices/event/response/${dev.device_number}/${d.messageId}`, { result: 0, message: 'success', ts: nowS(), method: d.method });
        return;
      case 'status':
        status.push({ deviceId: d.deviceId, online: d.online, at });
        dev.is_online = d.online ? 1 : 0;
        if (!d.online) dev.last_offline_time = goTime(at);
        return;
      case 'command_response':
      case 'attribute_set_response': {
        const kind = d.kind === 'command_response' ? 'command' : 'attributes_set';
        if (issued.get(d.messageId) !== kind) {
          return err(`no ${kind === 'command' ? 'command' : 'attribute set'} was sent with message id ${JSON.stringify(d.messageId)}`);
        }
        const rec: ResponseRecord = { kind, deviceId: d.deviceId, messageId: d.messageId, ...d.response, at };
        (kind === 'command' ? commandResponses : attributeSetResponses).push(rec);
        return;
      }
      case 'gateway': {
        const rec: GatewayRecord = { kind: d.sub, deviceId: d.deviceId, values: d.values, at };
        if (d.messageId !== undefined) rec.messageId = d.messageId;
        gateway.push(rec);
        return;
      }
    }
  };
  client.on('message', (topic, payload) => {
    try {
      onMessage(topic, payload);
    } catch (e) {
      errors.push({ topic, reason: `simulator failure: ${(e as Error).message}`, payload: payload.toString('utf8'), at: Date.now() });
    }
  });

  try {
    const granted = await client.subscribeAsync({ ...PLATFORM_SUBSCRIPTIONS });
    const refused = granted.filter((g) => g.qos === 128);
    if (refused.length > 0) throw new Error(`broker refused subscriptions: ${refused.map((g) => g.topic).join(', ')}`);
  } catch (e) {
    await client.endAsync(true).catch(() => undefined);
    await app.close();
    throw e;
  }

  // ---- helpers -------------------------------------------------------------------------------
  const needService = (identifier: string): ServicePlugin => {
    const s = state.services.get(identifier);
    if (!s) throw new SimInputError(`service plugin ${JSON.stringify(identifier)} is not registered`);
    return s;
  };
  const needDevice = (id: string): DeviceRow => {
    const d = state.devices.get(id);
    if (!d) throw new SimInputError(`device ${JSON.stringify(id)} not found`);
    return d;
  };

  const callPlugin = async (
    kind: PluginCallRecord['kind'],
    svc: ServicePlugin,
    path: string,
    bodyObj: Record<string, unknown>,
    trigger: PluginCallRecord['trigger'],
  ): Promise<PluginCallRecord> => {
    const body = JSON.stringify(bodyObj);
    const rec: PluginCallRecord = { kind, serviceIdentifier: svc.serviceIdentifier, url: `http://${svc.httpAddress}${path}`, body, ok: false, at: Date.now() };
    if (trigger) rec.trigger = trigger;
    try {
      if (svc.httpAddress === '') throw new GoHttpError('service plugin http_address is empty (error 200067)');
      const res = await goRequest({ method: 'POST', hostPort: svc.httpAddress, target: path, body, timeoutMs: pluginTimeoutMs });
      rec.status = res.status;
      const text = res.body.toString('utf8');
      try {
        rec.response = JSON.parse(text) as unknown;
      } catch {
        rec.response = text;
      }
      const code = (rec.response as { code?: unknown } | null)?.code;
      rec.ok = res.status === 200 && (kind === 'notification' || code === 200);
      if (res.status !== 200) rec.error = `HTTP ${res.status}`;
      else if (kind === 'disconnect' && code !== 200) rec.error = `reply code ${String(code)} (backend logs a warning)`;
    } catch (e) {
      rec.error = (e as Error).message;
    }
    pluginCalls.push(rec);
    log.debug({ kind, url: rec.url, status: rec.status, error: rec.error }, 'plugin call');
    return rec;
  };

  const notify = (svc: ServicePlugin, accessPointId: string, trigger: PluginCallRecord['trigger']) =>
    callPlugin('notification', svc, svc.notificationPath, { message_type: '1', message: JSON.stringify({ service_access_id: accessPointId }) }, trigger);

  const disconnect = (d: DeviceRow, trigger: PluginCallRecord['trigger']) => {
    const svc = state.serviceOfDevice(d);
    if (!svc) throw new SimInputError(`device ${d.id} has no template of a registered service plugin`);
    return callPlugin('disconnect', svc, '/api/v1/device/disconnect', { device_id: d.id }, trigger);
  };

  const getFromPlugin = async (svc: ServicePlugin, target: string): Promise<unknown> => {
    const res = await goRequest({ method: 'GET', hostPort: svc.httpAddress, target, timeoutMs: pluginTimeoutMs });
    if (res.status !== 200) {
      throw new GoHttpError(`GET http://${svc.httpAddress}${target} → HTTP ${res.status}`, res.status, res.body.toString('utf8'));
    }
    return parseJsonBody(res);
  };

  const publishDownlink = async (rec: Omit<DownlinkRecord, 'at'>, payload: string) => {
    const full: DownlinkRecord = { ...rec, at: Date.now() };
    downlinks.push(full);
    if (rec.messageId !== undefined) issued.set(rec.messageId, rec.kind);
    await client.publishAsync(rec.topic, payload, { qos: 1, retain: false });
  };

  const downlinkTarget = (deviceId: string, opts2: DownlinkOptions | undefined) => {
    const d = needDevice(deviceId);
    const svc = state.serviceOfDevice(d);
    if (!svc) throw new SimInputError(`device ${deviceId} has no template of a registered service plugin`);
    return { d, svc, era: opts2?.era ?? svc.downlinkEra };
  };

  const newMessageId = () => randomUUID().slice(0, 8);

  const waitFor = async <T>(predicate: (sim: ThingsPanelSim) => T | false | null | undefined | 0 | '', timeoutMs = 5000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = predicate(sim);
      if (v) return v;
      if (Date.now() >= deadline) {
        const errs = errors.slice(-5).map((e) => `${e.topic}: ${e.reason}`).join('; ');
        throw new Error(`waitFor timed out after ${timeoutMs} ms${errs ? ` (recent simulator errors: ${errs})` : ''}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  let closed = false;

  const sim: ThingsPanelSim = {
    url,
    port,
    state,
    valuesEncoding: encoding,
    telemetry,
    attributes,
    events,
    status,
    commandResponses,
    attributeSetResponses,
    gateway,
    errors,
    heartbeats,
    httpRequests,
    pluginCalls,
    downlinks,
    acks,
    get foreignMessages() {
      return foreignMessages;
    },

    async close() {
      if (closed) return;
      closed = true;
      const endMqtt = Promise.race([
        client.endAsync(),
        new Promise<void>((resolve) => setTimeout(resolve, 2000).unref()),
      ]).then(() => (client.connected || client.reconnecting ? client.endAsync(true) : undefined));
      await Promise.allSettled([endMqtt, app.close()]);
    },

    registerService(input) {
      if (input.serviceIdentifier === '') throw new SimInputError('service_identifier is required');
      if (input.serviceIdentifier === 'MQTT') throw new SimInputError('"MQTT" is reserved');
      if (state.services.has(input.serviceIdentifier)) throw new SimInputError(`service ${input.serviceIdentifier} already registered`);
      const svc: ServicePlugin = {
        id: randomUUID(),
        name: input.name ?? input.serviceIdentifier,
        serviceIdentifier: input.serviceIdentifier,
        httpAddress: input.httpAddress,
        subTopicPrefix: input.subTopicPrefix,
        notificationPath: input.notificationPath ?? '/api/v1/plugin/notification',
        downlinkEra: input.downlinkEra ?? 'number',
        lastHeartbeatAt: null,
        createdAt: Date.now(),
      };
      state.services.set(svc.serviceIdentifier, svc);
      return { ...svc };
    },

    updateService(identifier, patch) {
      const svc = needService(identifier);
      if (patch.httpAddress !== undefined) svc.httpAddress = patch.httpAddress;
      if (patch.subTopicPrefix !== undefined) svc.subTopicPrefix = patch.subTopicPrefix;
      if (patch.name !== undefined) svc.name = patch.name;
      if (patch.notificationPath !== undefined) svc.notificationPath = patch.notificationPath;
      if (patch.downlinkEra !== undefined) svc.downlinkEra = patch.downlinkEra;
      return { ...svc };
    },

    addTemplate(input) {
      const t: Template = {
        id: input.id ?? randomUUID(),
        name: input.name ?? `${input.protocolType} template`,
        protocolType: input.protocolType,
        deviceType: input.deviceType ?? '1',
        protocolConfig: input.protocolConfig === undefined || input.protocolConfig === null ? null : JSON.stringify(input.protocolConfig),
        createdAt: Date.now(),
      };
      if (state.templates.has(t.id)) throw new SimInputError(`template ${t.id} already exists`);
      state.templates.set(t.id, t);
      return { ...t };
    },

    async updateTemplateConfig(templateId, protocolConfig) {
      const t = state.templates.get(templateId);
      if (!t) throw new SimInputError(`template ${templateId} not found`);
      t.protocolConfig = protocolConfig === null ? null : JSON.stringify(protocolConfig);
      const out: PluginCallRecord[] = [];
      for (const d of state.devices.values()) {
        if (d.device_config_id === templateId && state.serviceOfDevice(d)) out.push(await disconnect(d, 'template_update'));
      }
      return out;
    },

    createAccessPoint(input) {
      const svc = needService(input.serviceIdentifier);
      if (input.name === '') throw new SimInputError('name is required', 100002);
      const voucher = encodeVoucher(input.voucher);
      if (voucher === '') throw new SimInputError('voucher is required', 100002);
      const t = goTime(Date.now());
      const ap: AccessPointRow = {
        id: randomUUID(),
        name: input.name,
        service_plugin_id: svc.id,
        voucher,
        description: input.description ?? '',
        service_access_config: input.serviceAccessConfig ?? '',
        remark: input.remark ?? '',
        create_at: t,
        update_at: t,
        tenant_id: input.tenantId ?? 'tenant-sim',
      };
      state.accessPoints.set(ap.id, ap);
      return ap.id;
    },

    async updateAccessPointVoucher(id, voucher) {
      const ap = state.accessPoints.get(id);
      if (!ap) throw new SimInputError(`access point ${id} not found`);
      ap.voucher = encodeVoucher(voucher);
      ap.update_at = goTime(Date.now());
      if (ap.voucher === '') return null;
      const svc = state.serviceById(ap.service_plugin_id);
      if (!svc) throw new SimInputError(`service plugin of access point ${id} is gone`);
      return notify(svc, id, 'voucher_update');
    },

    deleteAccessPoint(id, o) {
      if (!state.accessPoints.has(id)) throw new SimInputError(`access point ${id} not found`);
      const devs = state.devicesOfAccessPoint(id);
      if (devs.length > 0 && !o?.force) throw new SimInputError(`access point ${id} still has ${devs.length} device(s); the backend refuses to delete it`);
      for (const d of devs) state.devices.delete(d.id);
      state.accessPoints.delete(id);
    },

    async bindDevices(accessPointId, items) {
      const ap = state.accessPoints.get(accessPointId);
      if (!ap) throw new SimInputError(`access point ${accessPointId} not found`, 101001);
      const svc = state.serviceById(ap.service_plugin_id);
      if (!svc) throw new SimInputError(`service plugin of access point ${accessPointId} is gone`);
      let defaultTemplate: string | undefined;
      const templateFor = (item: BindDeviceInput): string => {
        if (item.templateId !== undefined) {
          if (!state.templates.has(item.templateId)) throw new SimInputError(`template ${item.templateId} not found`);
          return item.templateId;
        }
        if (defaultTemplate) return defaultTemplate;
        const existing = [...state.templates.values()].find((t) => t.protocolType === svc.serviceIdentifier && t.deviceType === '1');
        defaultTemplate = existing?.id ?? sim.addTemplate({ protocolType: svc.serviceIdentifier, deviceType: '1' }).id;
        return defaultTemplate;
      };
      const now = Date.now();
      const created: DeviceRow[] = [];
      const seen = new Set<string>();
      for (const item of items) {
        if (item.device_number === '' && item.device_name === '' && item.templateId === undefined) continue;
        if (item.device_number === '') throw new SimInputError('device_number is required', 100005);
        if (item.device_name === '') throw new SimInputError('device_name is required', 100005);
        if (item.device_number.length > 36) throw new SimInputError(`device_number longer than 36 characters: ${item.device_number}`, 100002);
        if (seen.has(item.device_number) || state.deviceByNumber(item.device_number)) continue; // silently skipped
        seen.add(item.device_number);
        const row = state.newDeviceRow({
          deviceNumber: item.device_number,
          name: item.device_name,
          tenantId: ap.tenant_id,
          templateId: templateFor(item),
          accessPointId,
          description: item.description ?? null,
          now,
        });
        created.push(row);
      }
      for (const row of created) state.devices.set(row.id, row);
      if (created.length > 0) await notify(svc, accessPointId, 'bind_devices');
      return created.map((r) => ({ ...r }));
    },

    deleteDevice(id) {
      return state.devices.delete(id);
    },

    disconnectDevice(id) {
      return disconnect(needDevice(id), 'manual');
    },

    fetchForm(serviceIdentifier, formType, deviceType = '') {
      const svc = needService(serviceIdentifier);
      return getFromPlugin(svc, `/api/v1/form/config?protocol_type=${serviceIdentifier}&device_type=${deviceType}&form_type=${formType}`);
    },

    fetchDeviceList(serviceIdentifier, voucher, page = 1, pageSize = 10) {
      const svc = needService(serviceIdentifier);
      const v = typeof voucher === 'string' ? voucher : JSON.stringify(voucher);
      return getFromPlugin(svc, `/api/v1/plugin/device/list?voucher=${v}&page_size=${pageSize}&page=${page}`);
    },

    async sendCommand(deviceId, cmd, o) {
      const { d, svc, era } = downlinkTarget(deviceId, o);
      const messageId = newMessageId();
      const body: Record<string, unknown> = { method: cmd.method };
      if (cmd.params !== undefined) body.params = cmd.params;
      const topic = `${svc.subTopicPrefix}devices/command/${era === 'id' ? d.id : d.device_number}/${messageId}`;
      await publishDownlink({ kind: 'command', deviceId, topic, payload: body, messageId }, JSON.stringify(body));
      return messageId;
    },

    async setAttributes(deviceId, attrs, o) {
      const { d, svc, era } = downlinkTarget(deviceId, o);
      const messageId = newMessageId();
      // ≤ v1.1.9 published attribute set/get without the prefix, always with the device number.
      const topic = `${era === 'id' ? '' : svc.subTopicPrefix}devices/attributes/set/${d.device_number}/${messageId}`;
      await publishDownlink({ kind: 'attributes_set', deviceId, topic, payload: attrs, messageId }, JSON.stringify(attrs));
      return messageId;
    },

    async getAttributes(deviceId, keys = [], o) {
      const { d, svc, era } = downlinkTarget(deviceId, o);
      const body = { keys };
      const topic = `${era === 'id' ? '' : svc.subTopicPrefix}devices/attributes/get/${d.device_number}`;
      await publishDownlink({ kind: 'attributes_get', deviceId, topic, payload: body }, JSON.stringify(body));
    },

    async controlTelemetry(deviceId, values, o) {
      const { d, svc, era } = downlinkTarget(deviceId, o);
      const topic = `${svc.subTopicPrefix}devices/telemetry/control/${era === 'id' ? d.id : d.device_number}`;
      await publishDownlink({ kind: 'telemetry_control', deviceId, topic, payload: values }, JSON.stringify(values));
    },

    waitForResponse(messageId, timeoutMs = 5000) {
      return waitFor(() => commandResponses.find((r) => r.messageId === messageId) ?? attributeSetResponses.find((r) => r.messageId === messageId), timeoutMs);
    },

    device(id) {
      const d = state.devices.get(id);
      return d ? { ...d } : undefined;
    },
    deviceByNumber(n) {
      const d = state.deviceByNumber(n);
      return d ? { ...d } : undefined;
    },
    devicesOf(apId) {
      return state.devicesOfAccessPoint(apId).map((d) => ({ ...d }));
    },
    accessPoint(id) {
      const ap = state.accessPoints.get(id);
      return ap ? state.accessPointJson(ap) : undefined;
    },
    serviceActive(identifier) {
      const s = state.services.get(identifier);
      return !!s && s.lastHeartbeatAt !== null && Date.now() - s.lastHeartbeatAt < 60_000;
    },

    waitFor,

    reset() {
      for (const a of [telemetry, attributes, events, status, commandResponses, attributeSetResponses, gateway, errors, heartbeats, httpRequests, pluginCalls, downlinks, acks] as unknown[][]) {
        a.length = 0;
      }
      foreignMessages = 0;
    },
  };
  return sim;
}
