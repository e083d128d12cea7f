// Robust voucher extraction for GET /api/v1/plugin/device/list (contract §2.2 and §8.8):
// the Go backend concatenates the voucher JSON into the query without URL-encoding it.

export interface DeviceListQuery {
  voucher: Record<string, unknown>;
  page: number;
  pageSize: number;
}

export class VoucherError extends Error {}

function tryJson(s: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(s) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function safeDecode(s: string, plusIsSpace: boolean): string | null {
  try {
    return decodeURIComponent(plusIsSpace ? s.replace(/\+/g, ' ') : s);
  } catch {
    return null;
  }
}

function num(v: string | null | undefined, dflt: number, min: number, max: number): number {
  const n = v === null || v === undefined || v === '' ? NaN : Number(v);
  if (!Number.isInteger(n)) return dflt;
  return Math.min(max, Math.max(min, n));
}

/**
 * `rawUrl` is the request target exactly as received (e.g. req.url), query included.
 * Order matters: the backend always sends voucher, page_size, page. We take the raw slice between
 * `voucher=` and `&page_size=` first (it survives `&`, `+` and `=` inside credentials), then the
 * percent-decoded form (clients that do encode), then ordinary query parsing.
 */
export function parseDeviceListQuery(rawUrl: string): DeviceListQuery {
  const q = rawUrl.indexOf('?');
  const query = q >= 0 ? rawUrl.slice(q + 1) : '';
  const vStart = query.startsWith('voucher=') ? 0 : query.indexOf('&voucher=') + 1;
  if (vStart < 0 || !query.slice(vStart).startsWith('voucher=')) throw new VoucherError('voucher is required');
  const afterV = query.slice(vStart + 'voucher='.length);
  const candidates: string[] = [];
  let rest = '';
  const ps = afterV.lastIndexOf('&page_size=');
  if (ps >= 0) {
    candidates.push(afterV.slice(0, ps));
    rest = afterV.slice(ps + 1);
  } else {
    // page_size missing (a '#' in the voucher truncates the target): try the whole tail, then up to the last '&'.
    candidates.push(afterV);
    const amp = afterV.lastIndexOf('&');
    if (amp >= 0) { candidates.push(afterV.slice(0, amp)); rest = afterV.slice(amp + 1); }
  }
  let voucher: Record<string, unknown> | null = null;
  for (const c of candidates) {
    voucher = tryJson(c) ?? tryJson(safeDecode(c, false) ?? '') ?? tryJson(safeDecode(c, true) ?? '');
    if (voucher) break;
  }
  if (!voucher) {
    const params = new URLSearchParams(query);
    voucher = tryJson(params.get('voucher') ?? '');
  }
  if (!voucher) throw new VoucherError('voucher is not a JSON object');
  const restParams = new URLSearchParams(rest);
  return {
    voucher,
    pageSize: num(restParams.get('page_size'), 10, 1, 1000),
    page: num(restParams.get('page'), 1, 1, 1_000_000),
  };
}
