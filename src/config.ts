// Environment configuration, validated once with zod; every problem is reported together.
import { z } from 'zod';

const bool = z.preprocess((v) => (typeof v === 'string' ? ['1', 'true', 'yes', 'on'].includes(v.toLowerCase()) : v), z.boolean());
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** `<connector>:<SERVICE_IDENTIFIER>:<plugin-api port>[:<topic prefix>]`, comma-separated. */
export const connectorSpec = z.string().transform((s, ctx) => {
  const parts = s.split(',').map((p) => p.trim()).filter(Boolean);
  const out: { connector: string; serviceIdentifier: string; port: number; topicPrefix: string }[] = [];
  for (const part of parts) {
    const [connector, si, port, prefix] = part.split(':');
    const p = Number(port);
    if (!connector || !si || !Number.isInteger(p) || p < 0 || p > 65535) {
      ctx.addIssue({ code: 'custom', message: `"${part}" is not <connector>:<SERVICE_IDENTIFIER>:<port>[:<topic prefix>]` });
      continue;
    }
    if (si.length > 100 || si === 'MQTT') ctx.addIssue({ code: 'custom', message: `service identifier "${si}" is reserved or too long` });
    const topicPrefix = prefix && prefix !== '' ? (prefix.endsWith('/') ? prefix : `${prefix}/`) : `plugin/${si}/`;
    out.push({ connector, serviceIdentifier: si, port: p, topicPrefix });
  }
  if (parts.length === 0) ctx.addIssue({ code: 'custom', message: 'enable at least one connector' });
  const ids = new Set(out.map((o) => o.serviceIdentifier));
  if (ids.size !== out.length) ctx.addIssue({ code: 'custom', message: 'service identifiers must be unique' });
  return out;
});

const trustProxy = z.string().transform((s): boolean | number | string[] => {
  const v = s.trim().toLowerCase();
  if (v === '' || v === 'false' || v === '0' || v === 'no') return false;
  if (v === 'true' || v === 'yes') return true;
  if (/^\d+$/.test(v)) return Number(v);
  return s.split(',').map((x) => x.trim()).filter(Boolean);
});

export const configSchema = z.object({
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').default('redis://127.0.0.1:6379'),
  REDIS_PREFIX: z.string().regex(/^[\w{}:.-]+$/, 'letters, digits, {}:._- only').default('tpcc'),
  TP_API_URL: z.string().regex(/^https?:\/\/\S+$/, 'must be an http(s) URL').default('http://127.0.0.1:9999').transform((s) => s.replace(/\/+$/, '')),
  TP_MQTT_URL: z.string().regex(/^(mqtts?|wss?|tcp):\/\/\S+$/, 'must be mqtt://, mqtts://, ws:// or wss://').default('mqtt://127.0.0.1:1883'),
  TP_MQTT_USERNAME: z.string().default('plugin'),
  TP_MQTT_PASSWORD: z.string().default('plugin'),
  TP_MQTT_CLIENT_ID: z.string().optional(),
  TP_VALUES_ENCODING: z.enum(['base64', 'json']).default('base64'),
  TP_SHARED_SUBSCRIPTION: bool.default(false),
  TP_MQTT_RECONNECT_HOLD_MS: int(0, 600_000).default(3000),
  /** all = everything; web = HTTP (webhooks, plugin API) + downlink subscription, no workers; worker = workers only. */
  PROCESS_ROLE: z.enum(['all', 'web', 'worker']).default('all'),
  CONNECTORS: connectorSpec.prefault('the-things-stack:TTS:8501'),
  WEBHOOK_HOST: z.string().default('0.0.0.0'),
  WEBHOOK_PORT: int(0, 65535).default(8088),
  PUBLIC_BASE_URL: z.string().regex(/^https?:\/\/\S+$/, 'must be an http(s) URL').optional().transform((s) => s?.replace(/\/+$/, '')),
  TRUST_PROXY: trustProxy.default(false),
  WEBHOOK_MAX_BODY_BYTES: int(1024, 64 * 1024 * 1024).default(1024 * 1024),
  PLUGIN_API_HOST: z.string().default('0.0.0.0'),
  ADMIN_HOST: z.string().default('127.0.0.1'),
  ADMIN_PORT: int(0, 65535).default(9464),
  ADMIN_TOKEN: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_PRETTY: bool.optional(),
  HEARTBEAT_INTERVAL_MS: int(1000, 600_000).default(30_000),
  SYNC_INTERVAL_MS: int(500, 3_600_000).default(60_000),
  FRESHNESS_CHECK_MS: int(200, 3_600_000).default(30_000),
  UPLINK_CONCURRENCY: int(1, 1000).default(16),
  POLL_CONCURRENCY: int(1, 1000).default(8),
  COMMAND_CONCURRENCY: int(1, 1000).default(8),
  UPLINK_ATTEMPTS: int(1, 1000).default(50),
  COMMAND_ATTEMPTS: int(1, 20).default(3),
  POLL_ATTEMPTS: int(1, 20).default(3),
  RETRY_BASE_MS: int(10, 600_000).default(1000),
  COMMAND_TTL_MS: int(1000, 86_400_000).default(120_000),
  DEDUP_TTL_S: int(60, 30 * 86400).default(86_400),
  MQTT_PUBLISH_TIMEOUT_MS: int(1000, 3_600_000).default(60_000),
  BACKLOG_MAX_JOBS: int(100, 100_000_000).default(1_000_000),
  DISABLE_POLL_MIN_MS: int(0, 3_600_000).default(0),
  WORKER_LOCK_DURATION_MS: int(1000, 600_000).default(30_000),
  WORKER_STALLED_INTERVAL_MS: int(500, 600_000).default(15_000),
  SHUTDOWN_GRACE_MS: int(0, 600_000).default(10_000),
  REPLICA_ID: z.string().regex(/^[\w.:@-]{1,100}$/, 'letters, digits, .:@_- only, at most 100').optional(),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const picked: Record<string, string> = {};
  for (const k of Object.keys(configSchema.shape)) {
    const v = env[k];
    if (v !== undefined && v !== '') picked[k] = v;
  }
  const r = configSchema.safeParse(picked);
  if (!r.success) throw new ConfigError(r.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`));
  return r.data;
}
