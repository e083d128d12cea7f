// Forms and schemas: SVCR (the vendor account, per access point) and CFG (mapping, per device template).
import { z } from 'zod';
import type { FormField } from '../../src/core/forms.js';
import { checkExpression } from './expr.js';
import { checkJsonTemplate, parseSignedPayload, pathPlaceholders, PATH_VARS } from './templates.js';

export const AUTH_METHODS = ['none', 'api_key_header', 'api_key_query', 'bearer', 'basic', 'oauth2_client_credentials'] as const;
export const CLIENT_AUTH = ['body', 'basic'] as const;
export const PAGE_STYLES = ['none', 'page', 'offset', 'cursor', 'next_link'] as const;
export const STATE_MODES = ['per_device', 'batch'] as const;
export const WEBHOOK_AUTH = ['off', 'shared_secret', 'hmac'] as const;
export const HMAC_ALGORITHMS = ['sha256', 'sha1', 'sha512'] as const;
export const SIGNATURE_ENCODINGS = ['hex', 'base64'] as const;
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export const BODY_TYPES = ['json_template', 'jsonata'] as const;

export const DEFAULTS = {
  itemsExpr: '$',
  deviceIdExpr: 'id',
  deviceNameExpr: 'name',
  telemetryExpr: '$',
  webhookDeviceExpr: 'device_id',
  commandBody: '{"method": "{{method}}", "params": "{{params}}"}',
  commandSuccessExpr: 'status >= 200 and status < 300',
  signedPayload: '{body}',
} as const;

// ---------------------------------------------------------------------------------------------------------
// Coercion: the ThingsPanel UI stores "" for untouched inputs, numbers for numeric inputs, strings otherwise,
// and adds its own `auth_type` key ("manual"/"auto") to every voucher, which the object schema drops.

const blank = (v: unknown): boolean => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
const asText = (v: unknown): unknown => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : typeof v === 'string' ? v.trim() : v);

const text = (max = 8192) => z.preprocess((v) => (blank(v) ? undefined : asText(v)), z.string().max(max).optional());
const int = (dflt: number, min: number, max: number) =>
  z.preprocess((v) => (blank(v) ? dflt : typeof v === 'string' ? Number(v.trim()) : v), z.number().int().min(min).max(max));
const choice = <T extends readonly [string, ...string[]]>(values: T, dflt: T[number], upper = false) =>
  z.preprocess((v) => {
    if (blank(v)) return dflt;
    const s = asText(v);
    return typeof s === 'string' ? (upper ? s.toUpperCase() : s.toLowerCase()) : s;
  }, z.enum(values));
const optChoice = <T extends readonly [string, ...string[]]>(values: T, upper = false) =>
  z.preprocess((v) => {
    if (blank(v)) return undefined;
    const s = asText(v);
    return typeof s === 'string' ? (upper ? s.toUpperCase() : s.toLowerCase()) : s;
  }, z.enum(values).optional());

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Parses `extra_headers`: a JSON object of header name → string/number. */
export function parseExtraHeaders(s: string | undefined): Record<string, string> {
  if (!s) return {};
  const v = JSON.parse(s) as unknown;
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('must be a JSON object');
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k)) throw new Error(`invalid header name ${JSON.stringify(k.slice(0, 40))}`);
    if (typeof x !== 'string' && typeof x !== 'number') throw new Error(`header ${k} must be a string`);
    out[k.toLowerCase()] = String(x);
  }
  return out;
}

/** Every key holding a JSONata expression (SVCR and CFG). */
export const EXPRESSION_KEYS = [
  'auth_expired_expr', 'next_expr', 'items_expr', 'device_id_expr', 'device_name_expr', 'state_items_expr', 'state_device_id_expr',
  'telemetry_expr', 'attributes_expr', 'events_expr', 'online_expr', 'ts_expr',
  'webhook_items_expr', 'webhook_device_expr', 'webhook_telemetry_expr', 'webhook_attributes_expr', 'webhook_events_expr',
  'webhook_online_expr', 'webhook_ts_expr', 'command_success_expr', 'command_reference_expr',
] as const;

type Issues = { addIssue(i: { code: 'custom'; path: string[]; message: string }): void };

/** Checks shared by SVCR and CFG: expression syntax, command body, URL templates. Named by field. */
function refineCommon(c: Record<string, unknown>, ctx: Issues): void {
  const issue = (key: string, message: string) => ctx.addIssue({ code: 'custom', path: [key], message });
  for (const key of EXPRESSION_KEYS) {
    const v = c[key];
    if (typeof v !== 'string') continue;
    const problem = checkExpression(v);
    if (problem) issue(key, `invalid JSONata expression: ${problem}`);
  }
  if (typeof c.command_body === 'string') {
    const problem = c.command_body_type === 'jsonata' ? checkExpression(c.command_body) : checkJsonTemplate(c.command_body);
    if (problem) issue('command_body', problem);
  }
  for (const key of ['command_url', 'state_path']) {
    const v = c[key];
    if (typeof v !== 'string') continue;
    const allowed: readonly string[] = key === 'command_url' ? PATH_VARS : ['id', 'device'];
    const bad = pathPlaceholders(v).filter((p) => !allowed.includes(p.trim()));
    if (bad.length > 0) issue(key, `unknown placeholder {${bad[0]}} (allowed: ${allowed.map((a) => `{${a}}`).join(' ')})`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// SVCR

const mappingShape = {
  telemetry_expr: text(),
  attributes_expr: text(),
  events_expr: text(),
  online_expr: text(),
  ts_expr: text(),
};

const commandShape = {
  command_method: optChoice(HTTP_METHODS, true),
  command_url: text(2048),
  command_body_type: optChoice(BODY_TYPES),
  command_body: text(),
  command_success_expr: text(),
  command_reference_expr: text(),
};

export const voucherSchema = z
  .object({
    base_url: z.preprocess((v) => (blank(v) ? undefined : asText(v)), z.string().max(2048)),
    auth_method: choice(AUTH_METHODS, 'none'),
    api_key_name: text(256),
    api_key: text(4096),
    username: text(512),
    password: text(4096),
    token_url: text(2048),
    client_id: text(512),
    client_secret: text(4096),
    scope: text(1024),
    client_auth: choice(CLIENT_AUTH, 'body'),
    extra_headers: text(4096),
    auth_expired_expr: text(),
    device_scope: text(16),

    devices_path: text(2048),
    page_style: choice(PAGE_STYLES, 'none'),
    page_param: text(128),
    size_param: text(128),
    page_size: int(100, 1, 10_000),
    first_page: int(1, 0, 1),
    next_expr: text(),
    max_pages: int(20, 1, 1000),
    items_expr: text(),
    device_id_expr: text(),
    device_name_expr: text(),

    state_mode: choice(STATE_MODES, 'per_device'),
    state_path: text(2048),
    state_items_expr: text(),
    state_device_id_expr: text(),
    ...mappingShape,
    poll_interval_s: int(60, 5, 86_400),
    offline_timeout_s: int(0, 0, 30 * 86_400),

    webhook_auth: choice(WEBHOOK_AUTH, 'off'),
    webhook_secret: text(4096),
    webhook_secret_next: text(4096),
    hmac_algorithm: choice(HMAC_ALGORITHMS, 'sha256'),
    signature_header: text(128),
    signature_encoding: choice(SIGNATURE_ENCODINGS, 'hex'),
    signature_prefix: text(64),
    timestamp_header: text(128),
    timestamp_window_s: int(300, 1, 86_400),
    signed_payload: text(256),
    webhook_items_expr: text(),
    webhook_device_expr: text(),
    webhook_telemetry_expr: text(),
    webhook_attributes_expr: text(),
    webhook_events_expr: text(),
    webhook_online_expr: text(),
    webhook_ts_expr: text(),

    ...commandShape,
  })
  .superRefine((c, ctx) => {
    const need = (key: keyof typeof c, why: string) => {
      if (c[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: `${key} is required ${why}` });
    };
    if (!isHttpUrl(c.base_url)) ctx.addIssue({ code: 'custom', path: ['base_url'], message: 'base_url must be an http(s) URL' });
    switch (c.auth_method) {
      case 'api_key_header':
      case 'api_key_query':
      case 'bearer':
        need('api_key', `for auth_method ${c.auth_method}`);
        break;
      case 'basic':
        need('username', 'for basic auth');
        need('password', 'for basic auth');
        break;
      case 'oauth2_client_credentials':
        need('token_url', 'for OAuth2');
        need('client_id', 'for OAuth2');
        need('client_secret', 'for OAuth2');
        if (c.token_url !== undefined && !isHttpUrl(c.token_url) && !c.token_url.startsWith('/')) {
          ctx.addIssue({ code: 'custom', path: ['token_url'], message: 'token_url must be an http(s) URL or a path' });
        }
        break;
      case 'none':
        break;
    }
    try {
      parseExtraHeaders(c.extra_headers);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['extra_headers'], message: `extra_headers: ${(err as Error).message}` });
    }
    if (c.device_scope !== undefined && !/^[A-Za-z0-9_.-]+$/.test(c.device_scope)) {
      ctx.addIssue({ code: 'custom', path: ['device_scope'], message: 'device_scope may only hold letters, digits, "_", "." and "-"' });
    }
    refineCommon(c, ctx);
    for (const key of ['devices_path'] as const) {
      const v = c[key];
      if (v !== undefined && pathPlaceholders(v).length > 0) ctx.addIssue({ code: 'custom', path: [key], message: `${key} takes no placeholders` });
    }
    if (c.state_mode === 'batch' && c.state_path !== undefined && pathPlaceholders(c.state_path).length > 0) {
      ctx.addIssue({ code: 'custom', path: ['state_path'], message: 'state_path takes no placeholders in batch mode' });
    }
    if (c.signed_payload !== undefined) {
      try {
        const parts = parseSignedPayload(c.signed_payload);
        if (parts.some((p) => 'slot' in p && p.slot === 'timestamp') && c.timestamp_header === undefined) {
          ctx.addIssue({ code: 'custom', path: ['signed_payload'], message: 'signed_payload uses {timestamp}: set timestamp_header too' });
        }
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['signed_payload'], message: (err as Error).message });
      }
    }
  });

export type HttpJsonCred = z.output<typeof voucherSchema>;

// ---------------------------------------------------------------------------------------------------------
// CFG: per device template. Every key is optional and, when set, wins over the same key in the voucher.

export const configSchema = z
  .object({
    state_path: text(2048),
    ...mappingShape,
    ...commandShape,
  })
  .superRefine((c, ctx) => refineCommon(c, ctx));

export type DeviceCfg = z.output<typeof configSchema>;

// ---------------------------------------------------------------------------------------------------------
// Form descriptors (contract §5). Labels carry the section, because the UI has no sections.

const opts = (values: readonly string[]) => values.map((v) => ({ label: v, value: v }));
const num = (key: string, label: string, placeholder: string): FormField => ({ key, label, valueType: 'number', rules: '/^\\d{1,}$/', placeholder });
const input = (key: string, label: string, placeholder: string, required = false): FormField => ({ key, label, placeholder, ...(required ? { required } : {}) });
const select = (key: string, label: string, values: readonly string[], placeholder: string): FormField => ({ key, label, type: 'select', options: opts(values), placeholder });

const mappingFields = (scope: string): FormField[] => [
  input('telemetry_expr', `${scope}: telemetry (JSONata → object)`, 'e.g. readings, or {"temp": t.value}; default $ (whole state)'),
  input('attributes_expr', `${scope}: attributes (JSONata → object)`, 'e.g. {"firmware": fw, "battery": battery}'),
  input('events_expr', `${scope}: events (JSONata → {method, params} or array)`, 'e.g. alarms.{"method": "alarm", "params": $}'),
  input('online_expr', `${scope}: online flag (JSONata → boolean)`, 'e.g. online, or status = "ONLINE"'),
  input('ts_expr', `${scope}: timestamp (JSONata → epoch s/ms or ISO 8601)`, 'e.g. ts; empty = time of receipt'),
];

const commandFields = (scope: string): FormField[] => [
  select('command_method', `${scope}: command HTTP method`, HTTP_METHODS, 'POST'),
  input('command_url', `${scope}: command URL template`, 'e.g. /devices/{id}/commands ({id} {method} {messageId})'),
  select('command_body_type', `${scope}: command body type`, BODY_TYPES, 'json_template'),
  input('command_body', `${scope}: command body`, 'e.g. {"cmd": "{{method}}", "args": {{params}}} or a JSONata expression'),
  input('command_success_expr', `${scope}: command success (JSONata over {status, body})`, DEFAULTS.commandSuccessExpr),
  input('command_reference_expr', `${scope}: command reference (JSONata over {status, body})`, 'e.g. body.id'),
];

export const voucherFields: readonly FormField[] = [
  input('base_url', 'API base URL', 'https://api.example.com/v1', true),
  select('auth_method', 'Auth: method', AUTH_METHODS, 'none'),
  input('api_key_name', 'Auth: API key header / query parameter name', 'X-API-Key (header) or api_key (query)'),
  input('api_key', 'Auth: API key or bearer token', ''),
  input('username', 'Auth: username (basic)', ''),
  input('password', 'Auth: password (basic)', ''),
  input('token_url', 'Auth: OAuth2 token URL', 'https://auth.example.com/oauth/token or /oauth/token'),
  input('client_id', 'Auth: OAuth2 client id', ''),
  input('client_secret', 'Auth: OAuth2 client secret', ''),
  input('scope', 'Auth: OAuth2 scope', 'optional, space separated'),
  select('client_auth', 'Auth: OAuth2 client authentication', CLIENT_AUTH, 'body (form fields) or basic (HTTP Basic)'),
  input('extra_headers', 'Auth: extra request headers (JSON object)', '{"Accept": "application/json"}'),
  input('auth_expired_expr', 'Auth: "token expired" in a 2xx answer (JSONata over {status, body})', 'e.g. body.code = 1010'),
  input('device_scope', 'Device number scope', 'short, unique per account; default derived from the URL and account'),

  input('devices_path', 'Devices: list endpoint', '/devices'),
  select('page_style', 'Devices: pagination', PAGE_STYLES, 'none'),
  input('page_param', 'Devices: page / offset / cursor parameter name', 'page, offset or cursor'),
  input('size_param', 'Devices: page size parameter name', 'page_size (page) or limit (offset, cursor)'),
  num('page_size', 'Devices: page size', '100'),
  num('first_page', 'Devices: number of the first page (0 or 1)', '1'),
  input('next_expr', 'Devices: next cursor / next link (JSONata)', 'cursor: next_cursor; next_link: Link header or e.g. links.next'),
  num('max_pages', 'Devices: maximum pages per listing', '20'),
  input('items_expr', 'Devices: item array (JSONata)', 'e.g. data; default $'),
  input('device_id_expr', 'Devices: device id (JSONata, per item)', 'id'),
  input('device_name_expr', 'Devices: device name (JSONata, per item)', 'name'),

  select('state_mode', 'Polling: mode', STATE_MODES, 'per_device'),
  input('state_path', 'Polling: state endpoint', 'per_device: /devices/{id}/state; batch: /states; empty = no polling'),
  input('state_items_expr', 'Polling (batch): item array (JSONata)', 'e.g. items; default $'),
  input('state_device_id_expr', 'Polling (batch): device id (JSONata, per item)', 'id'),
  ...mappingFields('Mapping default'),
  num('poll_interval_s', 'Polling: interval (seconds)', '60'),
  num('offline_timeout_s', 'Polling: offline after seconds without data (0 = off)', '0'),

  select('webhook_auth', 'Webhook: verification', WEBHOOK_AUTH, 'off (webhooks rejected)'),
  input('webhook_secret', 'Webhook: secret', 'shared secret or HMAC key'),
  input('webhook_secret_next', 'Webhook: second secret (rotation)', 'optional'),
  select('hmac_algorithm', 'Webhook: HMAC algorithm', HMAC_ALGORITHMS, 'sha256'),
  input('signature_header', 'Webhook: signature header', 'x-signature'),
  select('signature_encoding', 'Webhook: signature encoding', SIGNATURE_ENCODINGS, 'hex'),
  input('signature_prefix', 'Webhook: signature prefix', 'e.g. sha256='),
  input('timestamp_header', 'Webhook: timestamp header (replay protection)', 'e.g. x-timestamp; empty = none'),
  num('timestamp_window_s', 'Webhook: allowed timestamp skew (seconds)', '300'),
  input('signed_payload', 'Webhook: signed content', '{body} or e.g. {timestamp}.{body}'),
  input('webhook_items_expr', 'Webhook: item array (JSONata)', 'default: the body, or its elements when it is an array'),
  input('webhook_device_expr', 'Webhook: device id (JSONata, per item)', 'device_id'),
  input('webhook_telemetry_expr', 'Webhook: telemetry (JSONata → object)', 'all five webhook mapping fields empty = use the mapping default above'),
  input('webhook_attributes_expr', 'Webhook: attributes (JSONata → object)', 'optional'),
  input('webhook_events_expr', 'Webhook: events (JSONata)', 'optional'),
  input('webhook_online_expr', 'Webhook: online flag (JSONata)', 'optional'),
  input('webhook_ts_expr', 'Webhook: timestamp (JSONata)', 'optional; empty = time of receipt'),

  ...commandFields('Commands default'),
];

export const configFields: readonly FormField[] = [
  input('state_path', 'Polling: state endpoint for devices of this template', 'e.g. /sensors/{id}/latest; empty = access point setting'),
  ...mappingFields('Mapping'),
  ...commandFields('Commands'),
];
