// Structured logging with secrets redacted.
import { pino, type Logger } from 'pino';

const REDACT = [
  '*.password', '*.secret', '*.apiKey', '*.api_key', '*.token', '*.accessSecret', '*.access_secret',
  '*.authorization', '*.Authorization', '*.voucher', '*.cred', 'cred', 'voucher', 'headers.authorization',
  'req.headers.authorization', 'req.headers["x-downlink-apikey"]', 'req.headers["x-webhook-secret"]',
];

export function createLogger(level = 'info', opts: { pretty?: boolean; destination?: NodeJS.WritableStream } = {}): Logger {
  const base = { level, redact: { paths: REDACT, censor: '[redacted]' }, base: { svc: 'tp-cloud-connector' } };
  if (opts.destination) return pino(base, opts.destination as never);
  if (opts.pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname,svc' } } });
  }
  return pino(base);
}

/**
 * Logs a repeating condition once per window per key, with how many were suppressed in between, so a flood of
 * refused requests or a failing dependency does not flood the logs.
 */
export function throttledLog(windowMs = 60_000, maxKeys = 10_000) {
  const seen = new Map<string, { at: number; suppressed: number }>();
  return (key: string, emit: (suppressed: number) => void, now = Date.now()): void => {
    const e = seen.get(key);
    if (e && now - e.at < windowMs) {
      e.suppressed++;
      return;
    }
    if (!e && seen.size >= maxKeys) seen.clear();
    seen.set(key, { at: now, suppressed: 0 });
    emit(e?.suppressed ?? 0);
  };
}
