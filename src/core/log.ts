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
