// Voucher and device-template checks for the form/status: every problem named by its field, nothing thrown.
import type { JsonValue } from '../../src/core/messages.js';
import { configSchema, voucherSchema, type HttpJsonCred } from './schema.js';
import { pathPlaceholders } from './templates.js';

export interface FieldProblem {
  field: string;
  message: string;
}

export interface Validation {
  ok: boolean;
  /** The voucher cannot be used as is (schema, expression syntax, templates). */
  errors: FieldProblem[];
  /** It can be used, but part of it will not work or is risky. */
  warnings: FieldProblem[];
}

function warningsFor(c: HttpJsonCred): FieldProblem[] {
  const w: FieldProblem[] = [];
  if (c.webhook_auth !== 'off' && !c.webhook_secret && !c.webhook_secret_next) {
    w.push({ field: 'webhook_secret', message: 'webhooks are on but no secret is set: every webhook will be refused' });
  }
  if (c.webhook_auth === 'hmac' && c.hmac_algorithm === 'sha1') w.push({ field: 'hmac_algorithm', message: 'sha1 is weak; use sha256 when the vendor offers it' });
  if (c.webhook_auth === 'hmac' && !c.timestamp_header) w.push({ field: 'timestamp_header', message: 'without a signed timestamp a captured webhook can be replayed' });
  if (c.webhook_auth === 'shared_secret' && (c.webhook_secret ?? '').length < 16) w.push({ field: 'webhook_secret', message: 'use a secret of at least 16 characters' });
  if (!c.state_path && c.webhook_auth === 'off') w.push({ field: 'state_path', message: 'neither polling (state_path) nor webhooks are configured: no data will arrive' });
  if (c.state_mode === 'per_device' && c.state_path && !pathPlaceholders(c.state_path).some((p) => p === 'id' || p === 'device')) {
    w.push({ field: 'state_path', message: 'per_device mode without {id}: every device would read the same state' });
  }
  if (!c.devices_path) w.push({ field: 'devices_path', message: 'no list endpoint: devices cannot be discovered in ThingsPanel' });
  if (c.page_style === 'cursor' && !c.next_expr) w.push({ field: 'next_expr', message: 'cursor pagination reads next_cursor from the answer unless next_expr says otherwise' });
  if (c.base_url.startsWith('http:') && c.auth_method !== 'none') w.push({ field: 'base_url', message: 'credentials would travel over plain http' });
  return w;
}

function problems(issues: readonly { path: readonly PropertyKey[]; message: string }[]): FieldProblem[] {
  return issues.map((i) => ({ field: String(i.path[0] ?? '(voucher)'), message: i.message }));
}

/** Checks an SVCR voucher as stored by ThingsPanel (strings/numbers, plus its own auth_type key). */
export function validateVoucher(voucher: unknown): Validation {
  if (!voucher || typeof voucher !== 'object' || Array.isArray(voucher)) return { ok: false, errors: [{ field: '(voucher)', message: 'voucher must be a JSON object' }], warnings: [] };
  const r = voucherSchema.safeParse(voucher);
  if (!r.success) return { ok: false, errors: problems(r.error.issues), warnings: [] };
  return { ok: true, errors: [], warnings: warningsFor(r.data) };
}

/** Checks the CFG values of a device template (protocol_config_template). */
export function validateDeviceConfig(cfg: Record<string, JsonValue> | null | undefined): Validation {
  if (!cfg) return { ok: true, errors: [], warnings: [] };
  const r = configSchema.safeParse(cfg);
  if (!r.success) return { ok: false, errors: problems(r.error.issues), warnings: [] };
  return { ok: true, errors: [], warnings: [] };
}
