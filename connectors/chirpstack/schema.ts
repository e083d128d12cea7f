// ChirpStack v4 forms and credentials: the SVCR voucher form, its zod schema, and the optional CFG (device template) form.
import { z } from 'zod';
import type { FormField } from '../../src/core/forms.js';

export interface ChirpstackCred {
  /** chirpstack-rest-api base URL, no trailing slash and no trailing "/api". */
  apiUrl: string;
  apiToken: string;
  /** Lower-case application UUID; events of other applications are rejected. */
  applicationId: string;
  /** Accepted values of the X-Webhook-Secret header (several during rotation). */
  webhookSecrets: string[];
  offlineTimeoutS: number;
  /** Downlink defaults when neither the command nor the device template says otherwise. */
  fPort: number;
  confirmed: boolean;
}

/** Device-template (CFG) overrides of the downlink defaults; absent keys fall back to the voucher. */
export interface ChirpstackDeviceConfig {
  fPort?: number;
  confirmed?: boolean;
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const MIN_SECRET_LENGTH = 16;
export const DEFAULT_OFFLINE_TIMEOUT_S = 7200;
export const DEFAULT_F_PORT = 10;
/** LoRaWAN application ports; 0 is MAC-only and 224+ are reserved. */
export const F_PORT_MIN = 1;
export const F_PORT_MAX = 223;

const CONFIRMED_OPTIONS = [
  { label: 'false (unconfirmed)', value: 'false' },
  { label: 'true (confirmed)', value: 'true' },
];

export const voucherFields: readonly FormField[] = [
  { key: 'api_url', label: 'REST API URL', required: true, placeholder: 'http://chirpstack-rest-api:8090', rules: '/^https?:\\/\\/\\S+$/', message: 'REST API URL must start with http:// or https://' },
  { key: 'api_token', label: 'API token', required: true, placeholder: 'API key token from the ChirpStack web UI' },
  { key: 'application_id', label: 'Application ID', required: true, placeholder: '17c82e96-be03-4f38-aef3-f83d48582d97', rules: '/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/', message: 'Application ID must be a UUID' },
  { key: 'webhook_secret', label: 'Webhook secret', required: true, placeholder: `X-Webhook-Secret header value (>= ${MIN_SECRET_LENGTH} chars; comma-separate several to rotate)` },
  { key: 'offline_timeout_s', label: 'Offline timeout (s, 0 = off)', valueType: 'number', placeholder: String(DEFAULT_OFFLINE_TIMEOUT_S), rules: '/^\\d{1,}$/' },
  { key: 'f_port', label: 'Default downlink fPort', valueType: 'number', placeholder: String(DEFAULT_F_PORT), rules: '/^\\d{1,3}$/' },
  { key: 'confirmed', label: 'Confirmed downlinks', options: CONFIRMED_OPTIONS },
];

export const configFields: readonly FormField[] = [
  { key: 'f_port', label: 'Downlink fPort (empty = access point default)', valueType: 'number', placeholder: String(DEFAULT_F_PORT), rules: '/^\\d{1,3}$/' },
  { key: 'confirmed', label: 'Confirmed downlinks (empty = access point default)', options: CONFIRMED_OPTIONS },
];

// The ThingsPanel UI initialises untouched fields to "" and may store numbers as strings: both mean "not set".
const blank = (v: unknown): unknown => (v === null || (typeof v === 'string' && v.trim() === '') ? undefined : v);
const trim = (v: unknown): unknown => (typeof v === 'string' ? v.trim() : v);

const TRUE = new Set<unknown>([true, 'true', 'TRUE', 'True', 1, '1', 'yes']);
const FALSE = new Set<unknown>([false, 'false', 'FALSE', 'False', 0, '0', 'no']);
const toBool = (v: unknown): unknown => {
  const b = blank(trim(v));
  return TRUE.has(b) ? true : FALSE.has(b) ? false : b;
};

const fPort = z.coerce.number().int().min(F_PORT_MIN, `fPort must be ${F_PORT_MIN}..${F_PORT_MAX}`).max(F_PORT_MAX, `fPort must be ${F_PORT_MIN}..${F_PORT_MAX}`);

/** Strips trailing slashes and a pasted "/api" suffix: the client appends "/api/..." itself. */
export function normaliseApiUrl(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/api$/i, '').replace(/\/+$/, '');
}

export function splitSecrets(v: string): string[] {
  return [...new Set(v.split(',').map((s) => s.trim()).filter((s) => s !== ''))];
}

const apiUrl = z.preprocess(trim, z.string().min(1, 'REST API URL is required').refine((s) => {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.username === '' && u.password === '' && u.search === '' && u.hash === '';
  } catch {
    return false;
  }
}, 'REST API URL must be an http(s) URL without credentials, query or fragment').transform(normaliseApiUrl));

// Users often paste the header value ("Bearer ...") instead of the bare token.
const apiToken = z.preprocess(trim, z.string().min(1, 'API token is required').transform((s) => s.replace(/^bearer(?:\s+|$)/i, '').trim()).pipe(z.string().min(1, 'API token is required').regex(/^\S+$/, 'API token must not contain spaces')));

const applicationId = z.preprocess(trim, z.string().regex(UUID_RE, 'Application ID must be a UUID').transform((s) => s.toLowerCase()));

const webhookSecrets = z.preprocess(
  (v) => (typeof v === 'string' ? splitSecrets(v) : v),
  z.array(z.string().min(MIN_SECRET_LENGTH, `each webhook secret must be at least ${MIN_SECRET_LENGTH} characters`)
    .regex(/^[\x21-\x7e]+$/, 'webhook secrets must be printable ASCII without spaces (they travel in an HTTP header)'))
    .min(1, 'webhook secret is required'),
);

export const voucherSchema = z.object({
  api_url: apiUrl,
  api_token: apiToken,
  application_id: applicationId,
  webhook_secret: webhookSecrets,
  offline_timeout_s: z.preprocess(blank, z.coerce.number().int().min(0).max(30 * 86_400).default(DEFAULT_OFFLINE_TIMEOUT_S)),
  f_port: z.preprocess(blank, fPort.default(DEFAULT_F_PORT)),
  confirmed: z.preprocess(toBool, z.boolean().default(false)),
}).transform((v): ChirpstackCred => ({
  apiUrl: v.api_url,
  apiToken: v.api_token,
  applicationId: v.application_id,
  webhookSecrets: v.webhook_secret,
  offlineTimeoutS: v.offline_timeout_s,
  fPort: v.f_port,
  confirmed: v.confirmed,
}));

export const deviceConfigSchema = z.object({
  f_port: z.preprocess(blank, fPort.optional()),
  confirmed: z.preprocess(toBool, z.boolean().optional()),
}).transform((v): ChirpstackDeviceConfig => {
  const out: ChirpstackDeviceConfig = {};
  if (v.f_port !== undefined) out.fPort = v.f_port;
  if (v.confirmed !== undefined) out.confirmed = v.confirmed;
  return out;
});
