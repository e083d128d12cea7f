// A minimal polling connector for pipeline tests, and a loopback "vendor" whose answers the test controls.
import { createServer, type Server } from 'node:http';
import { z } from 'zod';
import type { Connector } from '../../src/core/connector.js';

export interface FakeVendor {
  url: string;
  /** Calls per tenant. */
  calls: Map<string, number>;
  /** What the vendor answers a tenant: status code and headers (default 200). */
  answer: (tenant: string) => { status: number; headers?: Record<string, string>; delayMs?: number };
  /** Most requests of one tenant that were in flight at the same time. */
  maxInFlight: Map<string, number>;
  close(): Promise<void>;
}

export async function startFakeVendor(): Promise<FakeVendor> {
  const v: FakeVendor = { url: '', calls: new Map(), maxInFlight: new Map(), answer: () => ({ status: 200 }), close: async () => undefined };
  const inFlight = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const tenant = req.url?.split('/').pop() ?? '';
    v.calls.set(tenant, (v.calls.get(tenant) ?? 0) + 1);
    const now = (inFlight.get(tenant) ?? 0) + 1;
    inFlight.set(tenant, now);
    v.maxInFlight.set(tenant, Math.max(now, v.maxInFlight.get(tenant) ?? 0));
    const a = v.answer(tenant);
    setTimeout(() => {
      inFlight.set(tenant, (inFlight.get(tenant) ?? 1) - 1);
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
      res.end(a.status === 200 ? '{}' : '{"message":"vendor says no"}');
    }, a.delayMs ?? 0);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  v.url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  v.close = () => new Promise((r) => server.close(() => r()));
  return v;
}

/** Polls `<vendor>/poll/<tenant>` every `intervalMs`; each poll yields one telemetry record {n}. */
export function pollingConnector(vendorUrl: string, intervalMs = 300): Connector<{ tenant: string }> {
  return {
    id: 'poll-test', displayName: 'poll test', deviceNumberPrefix: 'pt',
    voucherFields: [{ key: 'tenant', label: 'tenant', required: true }],
    voucherSchema: z.object({ tenant: z.string() }),
    limits: { requestsPerSecond: 50, burst: 50 },
    deviceScope: () => '',
    listDevices: async () => ({ items: [{ externalId: 'x1', name: 'x1' }], total: 1 }),
    poll: {
      intervalMs: () => intervalMs,
      async run(ctx, cursor) {
        await ctx.http.request({ method: 'GET', url: `${vendorUrl}/poll/${ctx.cred.tenant}` });
        const n = typeof cursor === 'number' ? cursor + 1 : 1;
        return { records: [{ key: `${ctx.cred.tenant}:${n}`, device: 'x1', type: 'reading', body: { n } }], cursor: n };
      },
    },
    normalise: (rec) => [{ kind: 'telemetry', device: 'x1', values: { n: (rec.body as { n: number }).n } }],
  };
}

/**
 * A polling connector with one device per tenant (`d-<tenant>`, number `tn-d-<tenant>`) and commands: polls GET
 * `<vendor>/poll/<tenant>` (one record {tenant, n} each), commands POST `<vendor>/cmd/<tenant>/<messageId>` with a
 * `commandTimeoutMs` timeout. The fake vendor counts calls by the last path segment (tenant, or message id).
 */
export function tenantConnector(vendorUrl: string, o: { intervalMs?: number; commandTimeoutMs?: number } = {}): Connector<{ tenant: string }> {
  return {
    id: 'tenant-test', displayName: 'tenant test', deviceNumberPrefix: 'tn',
    voucherFields: [{ key: 'tenant', label: 'tenant', required: true }],
    voucherSchema: z.object({ tenant: z.string() }),
    limits: { requestsPerSecond: 200, burst: 200 },
    deviceScope: () => '',
    listDevices: async (ctx) => ({ items: [{ externalId: `d-${ctx.cred.tenant}`, name: ctx.cred.tenant }], total: 1 }),
    poll: {
      intervalMs: () => o.intervalMs ?? 500,
      async run(ctx, cursor) {
        await ctx.http.request({ method: 'GET', url: `${vendorUrl}/poll/${ctx.cred.tenant}` });
        const n = typeof cursor === 'number' ? cursor + 1 : 1;
        return { records: [{ key: `${ctx.cred.tenant}:${n}`, device: `d-${ctx.cred.tenant}`, type: 'reading', body: { n, tenant: ctx.cred.tenant } }], cursor: n };
      },
    },
    normalise: (rec) => {
      const b = rec.body as { n: number; tenant: string };
      return [{ kind: 'telemetry', device: rec.device ?? '', values: { n: b.n, tenant: b.tenant } }];
    },
    async executeCommand(ctx, cmd) {
      await ctx.http.request({ method: 'POST', url: `${vendorUrl}/cmd/${ctx.cred.tenant}/${cmd.messageId}`, body: { method: cmd.method, params: cmd.params }, timeoutMs: o.commandTimeoutMs ?? 2000 });
      return { ok: true, message: `done by ${ctx.cred.tenant}` };
    },
  };
}
