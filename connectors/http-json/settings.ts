// Effective settings for one device: a CFG value from the device template wins over the SVCR value of the access
// point, which wins over the built-in default. Every expression keeps the name of the field it came from.
import { PermanentError } from '../../src/core/errors.js';
import type { JsonValue } from '../../src/core/messages.js';
import type { ExprSpec } from './expr.js';
import { configSchema, DEFAULTS, type DeviceCfg, type HttpJsonCred } from './schema.js';

export const MAPPING_SLOTS = ['telemetry', 'attributes', 'events', 'online', 'ts'] as const;
export type MappingSlot = (typeof MAPPING_SLOTS)[number];
export type Mapping = Partial<Record<MappingSlot, ExprSpec>>;

type CfgKey = keyof DeviceCfg;

function pick(key: CfgKey, cred: HttpJsonCred, cfg: DeviceCfg | null): { value: string; field: string } | undefined {
  const c = cfg?.[key];
  if (c !== undefined) return { value: c, field: `${key} (device template CFG)` };
  const v = cred[key];
  if (v !== undefined) return { value: v, field: `${key} (access point SVCR)` };
  return undefined;
}

function spec(key: CfgKey, cred: HttpJsonCred, cfg: DeviceCfg | null, dflt?: string): ExprSpec | undefined {
  const p = pick(key, cred, cfg);
  if (p) return { field: p.field, expr: p.value };
  return dflt === undefined ? undefined : { field: `${key} (default ${JSON.stringify(dflt)})`, expr: dflt };
}

/** Parses the CFG values of a device template; unknown keys are ignored, bad values name the field. */
export function parseDeviceCfg(raw: Record<string, JsonValue> | null | undefined): DeviceCfg | null {
  if (!raw) return null;
  const r = configSchema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new PermanentError(`device template CFG: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`);
}

/** Mapping used for polled state: CFG → SVCR → default (`$` as telemetry). */
export function pollMapping(cred: HttpJsonCred, cfg: DeviceCfg | null): Mapping {
  const m: Mapping = { telemetry: spec('telemetry_expr', cred, cfg, DEFAULTS.telemetryExpr) };
  const a = spec('attributes_expr', cred, cfg);
  const e = spec('events_expr', cred, cfg);
  const o = spec('online_expr', cred, cfg);
  const t = spec('ts_expr', cred, cfg);
  if (a) m.attributes = a;
  if (e) m.events = e;
  if (o) m.online = o;
  if (t) m.ts = t;
  return m;
}

/**
 * Mapping used for webhook items (SVCR only: CFG is not reachable from parse). All or nothing: when any
 * webhook_* mapping field is set, only those apply; when none is, the SVCR polling mapping applies as a whole
 * (for clouds that push the same object they answer on GET). Mixing would silently evaluate polling
 * expressions over a different shape, e.g. an online flag turning false because its field is absent.
 */
export function webhookMapping(cred: HttpJsonCred): Mapping {
  const own: Record<MappingSlot, string | undefined> = {
    telemetry: cred.webhook_telemetry_expr,
    attributes: cred.webhook_attributes_expr,
    events: cred.webhook_events_expr,
    online: cred.webhook_online_expr,
    ts: cred.webhook_ts_expr,
  };
  if (MAPPING_SLOTS.every((slot) => own[slot] === undefined)) return pollMapping(cred, null);
  const m: Mapping = {};
  for (const slot of MAPPING_SLOTS) {
    const v = own[slot];
    if (v !== undefined) m[slot] = { field: `webhook_${slot}_expr (access point SVCR)`, expr: v };
  }
  return m;
}

export function statePath(cred: HttpJsonCred, cfg: DeviceCfg | null): { value: string; field: string } | undefined {
  return pick('state_path', cred, cfg);
}

export interface CommandSettings {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: { value: string; field: string } | undefined;
  bodyType: 'json_template' | 'jsonata';
  body: { value: string; field: string };
  success: ExprSpec;
  reference: ExprSpec | undefined;
}

export function commandSettings(cred: HttpJsonCred, cfg: DeviceCfg | null): CommandSettings {
  const body = pick('command_body', cred, cfg) ?? { value: DEFAULTS.commandBody, field: 'command_body (default)' };
  // The body type travels with the body: a CFG body is read with the CFG type, an SVCR body with the SVCR type.
  const bodyType = cfg?.command_body !== undefined ? cfg.command_body_type : cred.command_body !== undefined ? cred.command_body_type : undefined;
  return {
    method: cfg?.command_method ?? cred.command_method ?? 'POST',
    url: pick('command_url', cred, cfg),
    bodyType: bodyType ?? 'json_template',
    body,
    success: spec('command_success_expr', cred, cfg, DEFAULTS.commandSuccessExpr)!,
    reference: spec('command_reference_expr', cred, cfg),
  };
}
