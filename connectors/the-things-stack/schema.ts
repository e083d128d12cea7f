// The Things Stack v3: SVCR voucher form and its schema.
import { z } from 'zod';
import type { FormField } from '../../src/core/forms.js';

export const voucherFields: FormField[] = [
  { key: 'server_url', label: 'TTS server URL', required: true, placeholder: 'https://eu1.cloud.thethings.network', rules: '/^https?:\\/\\/\\S+$/', message: 'Enter the cluster URL, e.g. https://eu1.cloud.thethings.network' },
  { key: 'application_id', label: 'Application ID', required: true, placeholder: 'my-app', rules: '/^[a-z0-9](?:[-]?[a-z0-9]){2,}$/', message: 'Enter the TTS application ID (lower-case letters, digits, dashes)' },
  { key: 'webhook_id', label: 'Webhook ID (for downlinks)', placeholder: 'thingspanel (learnt from X-Downlink-Push when empty)' },
  { key: 'api_key', label: 'API key', required: true, placeholder: 'NNSXS.…', message: 'An API key with "read devices" and "write downlink application traffic" rights' },
  { key: 'webhook_secret', label: 'Webhook secret', required: true, placeholder: 'sent by TTS in the X-Webhook-Secret header; comma-separate several to rotate', message: 'Choose a long random secret and add it to the TTS webhook headers' },
  { key: 'offline_timeout', label: 'Offline after (seconds without data, 0 = never)', valueType: 'number', placeholder: '3600', rules: '/^\\d{1,}$/' },
  { key: 'default_f_port', label: 'Default downlink FPort', valueType: 'number', placeholder: '15', rules: '/^\\d{1,3}$/' },
  {
    key: 'priority', label: 'Downlink priority', type: 'select',
    options: ['LOWEST', 'LOW', 'BELOW_NORMAL', 'NORMAL', 'ABOVE_NORMAL', 'HIGH', 'HIGHEST'].map((v) => ({ label: v, value: v })),
  },
];

const str = z.preprocess((v) => (typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : v), z.string());
const optNum = (dflt: number, max: number) =>
  z.preprocess((v) => (v === '' || v === null || v === undefined ? dflt : typeof v === 'string' ? Number(v) : v), z.number().int().min(0).max(max));

export const voucherSchema = z.object({
  server_url: str.pipe(z.string().regex(/^https?:\/\/[^\s/]+/i, 'must be an http(s) URL')).transform((s) => s.replace(/\/+$/, '')),
  application_id: str.pipe(z.string().min(1).max(36)),
  webhook_id: str.optional().default(''),
  api_key: str.pipe(z.string().min(1)),
  webhook_secret: str.pipe(z.string().min(1)),
  offline_timeout: optNum(3600, 30 * 86400),
  default_f_port: optNum(15, 233).pipe(z.number().min(1)),
  priority: z.enum(['LOWEST', 'LOW', 'BELOW_NORMAL', 'NORMAL', 'ABOVE_NORMAL', 'HIGH', 'HIGHEST']).optional().default('NORMAL'),
});

export type TtsCred = z.infer<typeof voucherSchema>;
