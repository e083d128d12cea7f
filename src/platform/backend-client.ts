// HTTP client toward the ThingsPanel backend (contract §3): heartbeat, access points, device config.
import axios, { type AxiosInstance } from 'axios';
import { z } from 'zod';

const envelope = z.object({ code: z.number(), message: z.string().optional(), data: z.unknown().optional() });

const strOrNull = z.string().nullish();
export const deviceRowSchema = z.looseObject({
  id: z.string(),
  name: strOrNull,
  device_number: z.string(),
  voucher: strOrNull,
  protocol_config: strOrNull,
  device_config_id: strOrNull,
  is_enabled: strOrNull,
  is_online: z.number().nullish(),
  service_access_id: strOrNull,
});
export type DeviceRow = z.infer<typeof deviceRowSchema>;

export const accessPointSchema = z.looseObject({
  id: z.string(),
  name: z.string().nullish(),
  voucher: z.string().nullish(),
  tenant_id: z.string().nullish(),
  service_plugin_id: z.string().nullish(),
  devices: z.array(deviceRowSchema).nullish(),
});
export type AccessPointRow = z.infer<typeof accessPointSchema>;

export class BackendError extends Error {
  constructor(message: string, readonly code?: number) {
    super(message);
  }
}

export class BackendClient {
  private readonly http: AxiosInstance;

  constructor(baseUrl: string, timeoutMs = 10_000) {
    this.http = axios.create({ baseURL: baseUrl, timeout: timeoutMs, validateStatus: () => true, headers: { 'content-type': 'application/json' } });
  }

  private async post(path: string, body: unknown): Promise<unknown> {
    let res;
    try {
      res = await this.http.post(path, body);
    } catch (err) {
      throw new BackendError(`ThingsPanel ${path} unreachable: ${(err as { code?: string }).code ?? 'network error'}`);
    }
    if (res.status !== 200) throw new BackendError(`ThingsPanel ${path} → HTTP ${res.status}`);
    const env = envelope.safeParse(res.data);
    if (!env.success) throw new BackendError(`ThingsPanel ${path} answered something that is not {code,message,data}`);
    if (env.data.code !== 200) throw new BackendError(`ThingsPanel ${path} → code ${env.data.code}: ${env.data.message ?? ''}`, env.data.code);
    return env.data.data;
  }

  async heartbeat(serviceIdentifier: string): Promise<void> {
    await this.post('/api/v1/plugin/heartbeat', { service_identifier: serviceIdentifier });
  }

  /** All tenants' access points of this plugin, each with its bound devices. `null` means none. */
  async listAccessPoints(serviceIdentifier: string): Promise<AccessPointRow[]> {
    const data = await this.post('/api/v1/plugin/service/access/list', { service_identifier: serviceIdentifier });
    if (data === null || data === undefined) return [];
    const r = z.array(accessPointSchema).safeParse(data);
    if (!r.success) throw new BackendError(`access point list has an unexpected shape: ${r.error.issues[0]?.message ?? ''}`);
    return r.data;
  }

  async getAccessPoint(id: string): Promise<AccessPointRow | null> {
    try {
      const data = await this.post('/api/v1/plugin/service/access', { service_access_id: id });
      const r = accessPointSchema.safeParse(data);
      return r.success ? r.data : null;
    } catch (err) {
      if (err instanceof BackendError && err.code !== undefined) return null;
      throw err;
    }
  }

  async getDeviceConfig(deviceId: string): Promise<{ config: unknown; protocol_config_template: unknown; device_number?: string } | null> {
    try {
      const data = await this.post('/api/v1/plugin/device/config', { device_id: deviceId });
      return (data ?? null) as { config: unknown; protocol_config_template: unknown; device_number?: string } | null;
    } catch (err) {
      if (err instanceof BackendError && err.code !== undefined) return null;
      throw err;
    }
  }
}
