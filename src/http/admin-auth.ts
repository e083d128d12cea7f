// Admin-port authentication: ADMIN_TOKEN as a Bearer token (scripts, Prometheus) or as the password of HTTP
// Basic auth with any user name (browsers prompt for it). Comparison is constant time over SHA-256 digests, so
// neither the content nor the length of the token leaks through timing.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

export const ADMIN_REALM = 'tp-cloud-connector admin';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time string equality (digests of equal length, then a length check that the digest already implies). */
export function safeEqual(given: string, want: string): boolean {
  return timingSafeEqual(digest(given), digest(want)) && given.length === want.length;
}

/** The secret an Authorization header presents: the Bearer token or the Basic password; null when neither. */
export function presentedSecret(header: string | undefined): string | null {
  const m = /^\s*([A-Za-z]+)\s+(\S.*?)\s*$/.exec(header ?? '');
  if (!m) return null;
  const scheme = m[1]!.toLowerCase();
  const value = m[2]!;
  if (scheme === 'bearer') return value;
  if (scheme === 'basic') {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return null;
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    // RFC 7617: the user id cannot contain a colon, so the password is everything after the first one.
    return colon < 0 ? null : decoded.slice(colon + 1);
  }
  return null;
}

/** True when the request carries ADMIN_TOKEN as a Bearer token or as the Basic password. */
export function isAuthorized(header: string | undefined, token: string): boolean {
  const given = presentedSecret(header);
  // Compare even when nothing usable was sent, so malformed headers take the same time as wrong ones.
  return safeEqual(given ?? '', token) && given !== null;
}

/** 401 with both challenges: Basic first so browsers show their log-in prompt, Bearer for API clients. */
export function sendUnauthorized(reply: FastifyReply): FastifyReply {
  return reply
    .code(401)
    .header('www-authenticate', [`Basic realm="${ADMIN_REALM}", charset="UTF-8"`, `Bearer realm="${ADMIN_REALM}"`])
    .header('cache-control', 'no-store')
    .send({ error: 'unauthorized' });
}

/**
 * A state-changing request a browser sent on behalf of another site (CSRF). Browsers replay cached Basic
 * credentials on cross-site form posts, so writes must come from this origin: Sec-Fetch-Site when the browser
 * sends it, else the Origin header against Host. Requests without either (curl, scripts) are not browsers' and pass.
 */
export function isCrossSiteWrite(req: FastifyRequest): boolean {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return false;
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string') return site !== 'same-origin' && site !== 'none';
  const origin = req.headers.origin;
  if (typeof origin !== 'string') return false;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true; // "null" (sandboxed frames, privacy-sensitive contexts) or garbage
  }
}
