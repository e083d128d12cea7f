// The connector interface every vendor cloud implements (architecture.md §3).
import type { z } from 'zod';
import type { Logger } from 'pino';
import type { FormField } from './forms.js';
import type { CommandResult, DiscoveredDevice, JsonValue, PlatformCommand, PlatformMessage, RawRecord } from './messages.js';
import type { VendorHttp } from './vendor-http.js';

export interface AccessPointInfo {
  /** ThingsPanel service access point id. */
  id: string;
  name: string;
}

/** Shared per-access-point state in Redis (tokens, caches); keys are namespaced by the pipeline. */
export interface ApStore {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  del(key: string): Promise<void>;
  /** Runs fn while holding a cross-replica lock named `name` for this access point. */
  withLock<T>(name: string, ttlMs: number, fn: () => Promise<T>): Promise<T>;
}

export interface Ctx<Cred> {
  accessPoint: AccessPointInfo;
  cred: Cred;
  log: Logger;
  signal: AbortSignal;
  now(): number;
  /** Rate-limited, error-classifying HTTP client bound to this access point. */
  http: VendorHttp;
  store: ApStore;
  /** CFG form values of the device template(s) bound to this access point, by device id when known. */
  deviceConfig?: (externalId: string) => Promise<Record<string, JsonValue> | null>;
}

export interface WebhookRequest {
  /** Exact bytes received. */
  rawBody: Buffer;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  query: Record<string, string | undefined>;
  /** Path after /webhooks/<connector>/<token>, e.g. "/up". */
  subPath: string;
}

export interface PollResult {
  records: RawRecord[];
  cursor: JsonValue | null;
}

export interface NormaliseMeta {
  accessPointId: string;
  receivedAt: number;
}

export interface Connector<Cred = unknown> {
  /** kebab-case id, also used in webhook paths and Redis keys. */
  id: string;
  displayName: string;
  /** Short prefix for ThingsPanel device numbers, e.g. "tts". */
  deviceNumberPrefix: string;
  /** SVCR form: the access point's credentials. */
  voucherFields: readonly FormField[];
  /** Turns the voucher JSON (already parsed) into typed credentials; throws a ZodError on bad input. */
  voucherSchema: z.ZodType<Cred>;
  /** CFG form on the device template, or null. */
  configFields?: readonly FormField[] | null;
  /** Per access point limits toward the vendor. */
  limits: { requestsPerSecond: number; burst: number };
  /** Scope that makes device numbers unique across tenants (e.g. the application id). */
  deviceScope(cred: Cred): string;
  listDevices(ctx: Ctx<Cred>, page: { page: number; pageSize: number }): Promise<{ items: DiscoveredDevice[]; total: number }>;
  poll?: {
    intervalMs(cred: Cred): number;
    run(ctx: Ctx<Cred>, cursor: JsonValue | null, devices: readonly string[]): Promise<PollResult>;
  };
  webhook?: {
    /** Secrets accepted for this access point (rotation: several); empty = webhook disabled (fail closed). */
    secrets(cred: Cred): string[];
    /**
     * Optional own verification (e.g. an HMAC over the raw body with a timestamp window). When present the
     * pipeline calls it instead of comparing a shared secret; it must throw VerificationError on any doubt.
     */
    verify?(req: WebhookRequest, cred: Cred, now: number): void;
    /**
     * Pure: validates and splits the request into records. Throws PayloadError on bad input.
     * Must also reject data that does not belong to this access point (e.g. another application).
     */
    parse(req: WebhookRequest, cred: Cred): RawRecord[];
    /** Non-secret values learnt from request headers, stored per access point (e.g. TTS downlink webhook id). */
    learn?(req: WebhookRequest, cred: Cred): Record<string, string>;
  };
  /** Pure: vendor record → platform messages, keyed by vendor device id. Throws PayloadError. */
  normalise(record: RawRecord, meta: NormaliseMeta): PlatformMessage[];
  executeCommand?(ctx: Ctx<Cred>, cmd: PlatformCommand): Promise<CommandResult>;
  /** Seconds without data after which a device is reported offline; 0 disables. */
  offlineTimeoutS?(cred: Cred): number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyConnector = Connector<any>;
