// In-memory view of ThingsPanel access points and their bound devices, per service identifier.
// Every replica holds its own copy (synced from the backend); vouchers never go to Redis.
import type { AnyConnector } from '../core/connector.js';
import type { AccessPointRow } from '../platform/backend-client.js';
import { deviceNumber, sha256hex } from '../util/ids.js';

export interface Binding {
  connector: AnyConnector;
  serviceIdentifier: string;
  port: number;
  topicPrefix: string;
}

export interface DeviceEntry {
  id: string;
  number: string;
  name: string;
  apId: string;
  protocolConfig: string | null;
}

export interface ApEntry {
  id: string;
  name: string;
  binding: Binding;
  voucherHash: string;
  cred: unknown;
  /** Why the voucher could not be used, when it could not. */
  credError: string | null;
  devices: Map<string, DeviceEntry>;
  byNumber: Map<string, DeviceEntry>;
  /** Webhook path tokens that identify this access point without a header: sha256(apId:secret)[0,32]. */
  urlKeys: string[];
}

export interface SyncDiff {
  added: ApEntry[];
  removed: ApEntry[];
  /** Voucher changed (new credentials). */
  credChanged: ApEntry[];
  devicesChanged: ApEntry[];
}

/** The ThingsPanel device number of a vendor device under this connector and credentials. */
export function numberFor(connector: AnyConnector, cred: unknown, externalId: string): string {
  return deviceNumber(connector.deviceNumberPrefix, cred ? connector.deviceScope(cred) : '', externalId);
}

export const webhookUrlKey = (apId: string, secret: string) => sha256hex(`${apId}:${secret}`).slice(0, 32);

export class Registry {
  private readonly aps = new Map<string, ApEntry>();
  private readonly bySi = new Map<string, Set<string>>();
  private readonly tokens = new Map<string, ApEntry>();
  private readonly deviceIndex = new Map<string, DeviceEntry>();

  constructor(readonly bindings: readonly Binding[]) {
    for (const b of bindings) this.bySi.set(b.serviceIdentifier, new Set());
  }

  binding(si: string): Binding | undefined {
    return this.bindings.find((b) => b.serviceIdentifier === si);
  }

  get(apId: string): ApEntry | undefined {
    return this.aps.get(apId);
  }

  all(si?: string): ApEntry[] {
    if (si === undefined) return [...this.aps.values()];
    return [...(this.bySi.get(si) ?? [])].map((id) => this.aps.get(id)).filter((a): a is ApEntry => !!a);
  }

  /** Webhook token (access point id or URL key) → access point of the given connector. */
  byToken(connectorId: string, token: string): ApEntry | undefined {
    const ap = this.tokens.get(token);
    return ap && ap.binding.connector.id === connectorId ? ap : undefined;
  }

  /** Resolves the `{X}` of a downlink topic: device number (≥ v1.1.10) or device id (≤ v1.1.9). */
  resolveDevice(si: string, x: string): { ap: ApEntry; device: DeviceEntry } | undefined {
    for (const ap of this.all(si)) {
      const d = ap.byNumber.get(x) ?? ap.devices.get(x);
      if (d) return { ap, device: d };
    }
    return undefined;
  }

  deviceById(id: string): DeviceEntry | undefined {
    return this.deviceIndex.get(id);
  }

  /** The bound device a vendor device id maps to in this access point, if any. */
  deviceForExternal(ap: ApEntry, externalId: string): DeviceEntry | undefined {
    return ap.byNumber.get(numberFor(ap.binding.connector, ap.cred, externalId));
  }

  /** Replaces the access points of one service identifier with what the backend returned. */
  replace(si: string, rows: readonly AccessPointRow[]): SyncDiff {
    const binding = this.binding(si);
    if (!binding) throw new Error(`unknown service identifier ${si}`);
    const diff: SyncDiff = { added: [], removed: [], credChanged: [], devicesChanged: [] };
    const seen = new Set<string>();
    for (const row of rows) {
      seen.add(row.id);
      const r = this.upsert(binding, row);
      if (r.added) diff.added.push(r.entry);
      else {
        if (r.credChanged) diff.credChanged.push(r.entry);
        if (r.devicesChanged) diff.devicesChanged.push(r.entry);
      }
    }
    for (const id of [...(this.bySi.get(si) ?? [])]) {
      if (!seen.has(id)) {
        const e = this.aps.get(id);
        if (e) diff.removed.push(e);
        this.remove(id);
      }
    }
    return diff;
  }

  upsert(binding: Binding, row: AccessPointRow): { entry: ApEntry; added: boolean; credChanged: boolean; devicesChanged: boolean } {
    const prev = this.aps.get(row.id);
    const voucherRaw = row.voucher ?? '';
    const voucherHash = sha256hex(voucherRaw);
    let cred: unknown = prev?.voucherHash === voucherHash ? prev.cred : null;
    let credError: string | null = prev?.voucherHash === voucherHash ? prev.credError : null;
    if (!prev || prev.voucherHash !== voucherHash) {
      try {
        const parsed = binding.connector.voucherSchema.safeParse(JSON.parse(voucherRaw || '{}'));
        if (parsed.success) cred = parsed.data;
        else credError = `voucher invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
      } catch {
        credError = 'voucher is not JSON';
      }
    }
    const devices = new Map<string, DeviceEntry>();
    const byNumber = new Map<string, DeviceEntry>();
    for (const d of row.devices ?? []) {
      const e: DeviceEntry = { id: d.id, number: d.device_number, name: d.name ?? d.device_number, apId: row.id, protocolConfig: d.protocol_config ?? null };
      devices.set(e.id, e);
      byNumber.set(e.number, e);
    }
    const devicesChanged = !prev || prev.devices.size !== devices.size || [...devices.keys()].some((k) => !prev.devices.has(k));
    const urlKeys = cred && binding.connector.webhook ? binding.connector.webhook.secrets(cred).map((s: string) => webhookUrlKey(row.id, s)) : [];
    const entry: ApEntry = { id: row.id, name: row.name ?? row.id, binding, voucherHash, cred, credError, devices, byNumber, urlKeys };
    if (prev) this.unindex(prev);
    this.aps.set(row.id, entry);
    this.bySi.get(binding.serviceIdentifier)?.add(row.id);
    this.index(entry);
    return { entry, added: !prev, credChanged: !!prev && prev.voucherHash !== voucherHash, devicesChanged };
  }

  remove(apId: string): void {
    const e = this.aps.get(apId);
    if (!e) return;
    this.unindex(e);
    this.aps.delete(apId);
    this.bySi.get(e.binding.serviceIdentifier)?.delete(apId);
  }

  private index(e: ApEntry): void {
    this.tokens.set(e.id, e);
    for (const k of e.urlKeys) this.tokens.set(k, e);
    for (const d of e.devices.values()) this.deviceIndex.set(d.id, d);
  }

  private unindex(e: ApEntry): void {
    if (this.tokens.get(e.id) === e) this.tokens.delete(e.id);
    for (const k of e.urlKeys) if (this.tokens.get(k) === e) this.tokens.delete(k);
    for (const d of e.devices.values()) if (this.deviceIndex.get(d.id)?.apId === e.id) this.deviceIndex.delete(d.id);
  }
}
