// In-memory model of the ThingsPanel tables a service plugin sees (service_plugins, device_configs,
// service_access, devices) and the JSON shapes the Go backend serialises them to (contract §3).
import { randomBytes, randomUUID } from 'node:crypto';
import { goTime, parseGoMap, sortKeysDeep } from './go-compat.js';

export type NotificationPath = '/api/v1/plugin/notification' | '/api/v1/notify/event';
/** 'number' = backend ≥ v1.1.10 (device_number in downlink topics); 'id' = ≤ v1.1.9 (device_id, attribute topics unprefixed). */
export type DownlinkEra = 'number' | 'id';
export type DeviceType = '1' | '2' | '3';

export interface ServicePlugin {
  id: string;
  name: string;
  serviceIdentifier: string;
  /** host:port of the plugin's HTTP API (no scheme). */
  httpAddress: string;
  subTopicPrefix: string;
  notificationPath: NotificationPath;
  downlinkEra: DownlinkEra;
  lastHeartbeatAt: number | null;
  createdAt: number;
}

export interface Template {
  id: string;
  name: string;
  /** = service_identifier for plugin devices */
  protocolType: string;
  deviceType: DeviceType;
  /** device_configs.protocol_config as stored (JSON string) or null */
  protocolConfig: string | null;
  createdAt: number;
}

/** The service_access row (Go model field names as JSON keys). */
export interface AccessPointRow {
  id: string;
  name: string;
  service_plugin_id: string;
  voucher: string;
  description: string;
  service_access_config: string;
  remark: string;
  create_at: string;
  update_at: string;
  tenant_id: string;
}

/** A devices row exactly as the backend serialises model.Device (field order of devices.gen.go, nulls kept). */
export interface DeviceRow {
  id: string;
  name: string | null;
  voucher: string;
  tenant_id: string;
  is_enabled: string;
  activate_flag: string;
  created_at: string | null;
  update_at: string | null;
  device_number: string;
  product_id: string | null;
  parent_id: string | null;
  protocol: string | null;
  label: string | null;
  location: string | null;
  sub_device_addr: string | null;
  current_version: string | null;
  additional_info: string | null;
  protocol_config: string | null;
  remark1: string | null;
  remark2: string | null;
  remark3: string | null;
  device_config_id: string | null;
  batch_number: string | null;
  activate_at: string | null;
  is_online: number;
  access_way: string | null;
  description: string | null;
  service_access_id: string | null;
  last_offline_time: string | null;
}

/** Shape of /api/v1/plugin/device/config data and of /api/v1/plugin/devices list items (model.DeviceConfigForProtocolPlugin). */
export interface DeviceConfigJson {
  id: string;
  voucher: string;
  device_type: string;
  protocol_type: string;
  device_number: string;
  config: Record<string, unknown> | null;
  protocol_config_template: Record<string, unknown> | null;
  sub_devices: unknown[] | null;
}

export type LookupResult<T> = { ok: true; value: T } | { ok: false; code: number; data?: Record<string, unknown>; message?: string };

const MARKER = 'c0ffee';

export class SimState {
  readonly services = new Map<string, ServicePlugin>(); // by service identifier
  readonly templates = new Map<string, Template>();
  readonly accessPoints = new Map<string, AccessPointRow>();
  readonly devices = new Map<string, DeviceRow>();
  /** Per-simulator tag baked into every device id this simulator creates (see isForeignDeviceId). */
  readonly instanceTag = randomBytes(3).toString('hex');

  /**
   * Device ids are ordinary v4 UUIDs whose last group is `c0ffee<instance tag>`. That lets an observer on a
   * broker shared with other simulators (parallel test files) tell another simulator's devices apart from
   * genuinely unknown ids.
   */
  newDeviceId(): string {
    return `${randomUUID().slice(0, 24)}${MARKER}${this.instanceTag}`;
  }

  isForeignDeviceId(id: string): boolean {
    const m = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-c0ffee([0-9a-f]{6})$/.exec(id);
    return !!m && m[1] !== this.instanceTag;
  }

  serviceById(id: string): ServicePlugin | undefined {
    for (const s of this.services.values()) if (s.id === id) return s;
    return undefined;
  }

  deviceByNumber(n: string): DeviceRow | undefined {
    for (const d of this.devices.values()) if (d.device_number === n) return d;
    return undefined;
  }

  deviceByVoucher(v: string): DeviceRow | undefined {
    for (const d of this.devices.values()) if (d.voucher === v) return d;
    return undefined;
  }

  templateOf(d: DeviceRow): Template | undefined {
    return d.device_config_id ? this.templates.get(d.device_config_id) : undefined;
  }

  /** The service plugin serving a device: its template's protocol_type is the service identifier. */
  serviceOfDevice(d: DeviceRow): ServicePlugin | undefined {
    const t = this.templateOf(d);
    return t ? this.services.get(t.protocolType) : undefined;
  }

  devicesOfAccessPoint(apId: string): DeviceRow[] {
    return [...this.devices.values()].filter((d) => d.service_access_id === apId);
  }

  /** StructToMap(serviceAccess) + devices: a Go map, so keys come out sorted. */
  accessPointJson(ap: AccessPointRow): Record<string, unknown> {
    const m: Record<string, unknown> = { ...ap, devices: this.devicesOfAccessPoint(ap.id).map((d) => ({ ...d })) };
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(m).sort()) out[k] = m[k];
    return out;
  }

  /** service.ProtocolPlugin.GetDeviceConfig */
  deviceConfig(req: { device_id: string; voucher: string; device_number: string }): LookupResult<DeviceConfigJson> {
    let d: DeviceRow | undefined;
    if (req.device_id !== '') d = this.devices.get(req.device_id);
    else if (req.voucher !== '') d = this.deviceByVoucher(req.voucher);
    else d = this.deviceByNumber(req.device_number);
    if (!d) return { ok: false, code: 101001, data: { sql_error: 'record not found' } };
    const t = this.templateOf(d);
    if (!d.device_config_id || !t) {
      // dal.GetDeviceConfigByID failing would be a DB error; a NULL device_config_id is the documented 100000.
      return d.device_config_id
        ? { ok: false, code: 101001, data: { sql_error: 'record not found' } }
        : { ok: false, code: 100000, data: { error: 'device config not found' } };
    }
    let subDevices: unknown[] | null = null;
    if (t.deviceType === '2') {
      for (const sub of this.devices.values()) {
        if (sub.parent_id !== d.id) continue;
        const st = this.templateOf(sub);
        subDevices ??= [];
        subDevices.push({
          device_id: sub.id,
          voucher: sub.voucher,
          sub_device_addr: sub.sub_device_addr ?? '',
          config: parseGoMap(sub.protocol_config),
          protocol_config_template: st ? parseGoMap(st.protocolConfig) : null,
        });
      }
    }
    return {
      ok: true,
      value: {
        id: d.id,
        voucher: d.voucher,
        device_type: t.deviceType,
        protocol_type: t.protocolType,
        device_number: d.device_number,
        config: parseGoMap(d.protocol_config),
        protocol_config_template: parseGoMap(t.protocolConfig),
        sub_devices: subDevices,
      },
    };
  }

  /** dal.GetDeviceListByProtocolType (device_type "1" only; others give {list:null,total:0}). */
  pluginDevices(req: { service_identifier: string; device_type: string; page: number; page_size: number }): { list: DeviceConfigJson[] | null; total: number } {
    if (req.device_type !== '1') return { list: null, total: 0 };
    const all = [...this.devices.values()].filter((d) => {
      const t = this.templateOf(d);
      return !!t && t.protocolType === req.service_identifier && t.deviceType === '1' && d.activate_flag === 'active';
    });
    const page = all.slice((req.page - 1) * req.page_size, req.page * req.page_size);
    const emptyIsMap = (raw: string | null): Record<string, unknown> => {
      if (raw === null || raw === '') return {};
      try {
        const v = JSON.parse(raw) as unknown;
        return v && typeof v === 'object' && !Array.isArray(v) ? (sortKeysDeep(v) as Record<string, unknown>) : {};
      } catch {
        return {};
      }
    };
    return {
      list: page.map((d) => {
        const t = this.templateOf(d) as Template;
        return {
          id: d.id,
          voucher: d.voucher,
          device_type: t.deviceType,
          protocol_type: t.protocolType,
          device_number: d.device_number,
          config: emptyIsMap(d.protocol_config),
          protocol_config_template: emptyIsMap(t.protocolConfig),
          sub_devices: [],
        };
      }),
      total: all.length,
    };
  }

  newDeviceRow(p: { deviceNumber: string; name: string; tenantId: string; templateId: string; accessPointId: string; description?: string | null; now: number }): DeviceRow {
    const t = goTime(p.now);
    return {
      id: this.newDeviceId(),
      name: p.name,
      voucher: `{"username":"${randomUUID().slice(0, 22)}"}`,
      tenant_id: p.tenantId,
      is_enabled: '',
      activate_flag: 'active',
      created_at: t,
      update_at: t,
      device_number: p.deviceNumber,
      product_id: null,
      parent_id: null,
      protocol: null,
      label: null,
      location: null,
      sub_device_addr: null,
      current_version: null,
      additional_info: '{}', // column default
      protocol_config: '{}', // column default
      remark1: null,
      remark2: null,
      remark3: null,
      device_config_id: p.templateId,
      batch_number: null,
      activate_at: null,
      is_online: 0,
      access_way: 'B',
      description: p.description ?? null,
      service_access_id: p.accessPointId,
      last_offline_time: null,
    };
  }
}
