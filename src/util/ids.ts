// Deterministic short ids and ThingsPanel device numbers (≤ 36 chars, globally unique by namespace).
import { createHash, randomBytes } from 'node:crypto';

export function sha256hex(s: string | Buffer): string {
  return createHash('sha256').update(s).digest('hex');
}

/** Short id derived from a key: the same record always gets the same MQTT message id. */
export function shortId(key: string, len = 8): string {
  return sha256hex(key).slice(0, len);
}

export function randomId(len = 8): string {
  return randomBytes(Math.ceil(len / 2)).toString('hex').slice(0, len);
}

const MAX = 36;

/**
 * `<prefix>-<scope>-<externalId>` with unsafe characters replaced; when longer than 36 characters the tail
 * becomes a hash of the full identity, so two different devices never share a number.
 */
export function deviceNumber(prefix: string, scope: string, externalId: string): string {
  const clean = (s: string) => s.replace(/[^A-Za-z0-9_.:-]/g, '_');
  const full = [prefix, scope, externalId].filter((s) => s !== '').map(clean).join('-');
  if (full.length <= MAX && clean(externalId) === externalId) return full;
  const h = sha256hex(`${prefix}\u0000${scope}\u0000${externalId}`).slice(0, 10);
  const head = `${clean(prefix)}-${clean(externalId)}`.slice(0, MAX - h.length - 1);
  return `${head}-${h}`;
}
