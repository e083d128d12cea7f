// Tuya voucher (SVCR form): field descriptors and the zod schema that turns the raw voucher into TuyaCred.
import { z } from 'zod';
import type { FormField, FormOption } from '../../src/core/forms.js';

/** Tuya OpenAPI data centres (vendor-clouds.md §3.1); a cloud project lives in exactly one. */
export const TUYA_DATA_CENTRES: readonly FormOption[] = [
  { label: 'China', value: 'https://openapi.tuyacn.com' },
  { label: 'Western America', value: 'https://openapi.tuyaus.com' },
  { label: 'Eastern America', value: 'https://openapi-ueaz.tuyaus.com' },
  { label: 'Central Europe', value: 'https://openapi.tuyaeu.com' },
  { label: 'Western Europe', value: 'https://openapi-weaz.tuyaeu.com' },
  { label: 'India', value: 'https://openapi.tuyain.com' },
];

export const DEFAULT_POLL_INTERVAL_S = 60;
export const MIN_POLL_INTERVAL_S = 5;

export interface TuyaCred {
  /** Origin of the OpenAPI host, no trailing slash. */
  endpoint: string;
  accessId: string;
  accessSecret: string;
  /** Tuya app account UID: when set, device discovery lists only that account's devices. */
  appUid?: string;
  pollIntervalS: number;
  onlyChanged: boolean;
  /** 0 = rely on Tuya's own online flag (the default; with "only changed" on, silence is normal). */
  offlineTimeoutS: number;
}

export const voucherFields: readonly FormField[] = [
  { key: 'endpoint', label: 'Data centre', type: 'select', required: true, options: [...TUYA_DATA_CENTRES] },
  { key: 'access_id', label: 'Access ID / Client ID', required: true, placeholder: 'Cloud project > Overview > Access ID' },
  { key: 'access_secret', label: 'Access Secret / Client Secret', required: true },
  { key: 'app_uid', label: 'App account UID (optional)', placeholder: 'Only list devices of this linked app account' },
  { key: 'poll_interval_s', label: 'Poll interval (seconds)', valueType: 'number', placeholder: '60', rules: '/^\\d{1,}$/', message: `Poll interval must be a whole number of seconds, at least ${MIN_POLL_INTERVAL_S}` },
  {
    key: 'only_changed',
    label: 'Publish only changed values',
    type: 'select',
    options: [{ label: 'Yes', value: 'yes' }, { label: 'No', value: 'no' }],
  },
  { key: 'offline_timeout_s', label: 'Offline timeout (seconds, 0 = use Tuya online flag)', valueType: 'number', placeholder: '0', rules: '/^\\d{1,}$/' },
];

const TUYA_HOST = /(^|\.)tuya(cn|us|eu|in)\.com$/;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Accepts the listed data centres, any https host of Tuya's OpenAPI domains, and loopback (the simulator).
 * Anything else is refused: the connector sends signed requests and tokens to this host, and an arbitrary URL
 * would let one tenant make the service call into the internal network.
 */
function endpointOrigin(raw: string, ctx: z.RefinementCtx): string {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    ctx.addIssue({ code: 'custom', message: 'Data centre must be a URL such as https://openapi.tuyaeu.com' });
    return z.NEVER;
  }
  const tuya = u.protocol === 'https:' && TUYA_HOST.test(u.hostname);
  const local = (u.protocol === 'http:' || u.protocol === 'https:') && LOOPBACK.has(u.hostname);
  if ((!tuya && !local) || u.username !== '' || u.password !== '') {
    ctx.addIssue({ code: 'custom', message: 'Data centre must be a Tuya OpenAPI host (https://openapi.tuya…com)' });
    return z.NEVER;
  }
  return u.origin;
}

const blankToUndefined = (v: unknown) => (v === '' || v === null || (typeof v === 'string' && v.trim() === '') ? undefined : v);
const toNumber = (v: unknown) => {
  const b = blankToUndefined(v);
  return typeof b === 'string' ? Number(b.trim()) : b;
};
const toBool = (v: unknown) => {
  const b = blankToUndefined(v);
  if (typeof b === 'string') {
    const s = b.trim().toLowerCase();
    if (['yes', 'true', '1', 'on'].includes(s)) return true;
    if (['no', 'false', '0', 'off'].includes(s)) return false;
  }
  if (b === 1) return true;
  if (b === 0) return false;
  return b;
};
const requiredText = (label: string) =>
  z.preprocess((v) => (typeof v === 'number' ? String(v) : v), z.string({ error: `${label} is required` }).trim().min(1, `${label} is required`).max(256));

/** Raw voucher as ThingsPanel stores it: strings or numbers, plus keys we ignore (e.g. auth_type). */
export const voucherSchema = z
  .object({
    endpoint: z.string({ error: 'Data centre is required' }).transform(endpointOrigin),
    access_id: requiredText('Access ID'),
    access_secret: requiredText('Access Secret'),
    app_uid: z.preprocess(blankToUndefined, z.string().trim().max(128).optional()),
    poll_interval_s: z.preprocess(toNumber, z.number().int().min(MIN_POLL_INTERVAL_S).max(86_400).optional()),
    only_changed: z.preprocess(toBool, z.boolean().optional()),
    offline_timeout_s: z.preprocess(toNumber, z.number().int().min(0).max(30 * 86_400).optional()),
  })
  .transform((v): TuyaCred => {
    const cred: TuyaCred = {
      endpoint: v.endpoint,
      accessId: v.access_id,
      accessSecret: v.access_secret,
      pollIntervalS: v.poll_interval_s ?? DEFAULT_POLL_INTERVAL_S,
      onlyChanged: v.only_changed ?? true,
      offlineTimeoutS: v.offline_timeout_s ?? 0,
    };
    if (v.app_uid !== undefined && v.app_uid !== '') cred.appUid = v.app_uid;
    return cred;
  });
