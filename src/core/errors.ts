// Error taxonomy (architecture.md §4): each class tells the pipeline what happens next.

export type ErrorKind = 'auth' | 'rate_limited' | 'transient' | 'permanent' | 'payload' | 'verification';

export abstract class ConnectorError extends Error {
  abstract readonly kind: ErrorKind;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** 401/403 or a vendor "token invalid" answer after one refresh: mark needs_reauth, pause polling. */
export class AuthError extends ConnectorError {
  readonly kind = 'auth' as const;
}

/** 429 or a vendor quota code: only this access point waits. */
export class RateLimitedError extends ConnectorError {
  readonly kind = 'rate_limited' as const;
  constructor(message: string, readonly retryAfterMs: number, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** 5xx, timeouts, resets: retried with exponential backoff and jitter. */
export class TransientError extends ConnectorError {
  readonly kind = 'transient' as const;
}

/** Other 4xx, unknown device, rejected command: never retried. */
export class PermanentError extends ConnectorError {
  readonly kind = 'permanent' as const;
}

/** Bad vendor or webhook input: 400 with a reason, nothing queued. */
export class PayloadError extends ConnectorError {
  readonly kind = 'payload' as const;
}

/** Missing or wrong webhook secret/signature: 401 without detail. */
export class VerificationError extends ConnectorError {
  readonly kind = 'verification' as const;
}

export function errorKind(err: unknown): ErrorKind {
  if (err instanceof ConnectorError) return err.kind;
  return 'transient';
}

/** A message safe to log or publish: never includes request config, headers or bodies. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
