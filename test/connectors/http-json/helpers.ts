// Shared setup for the http-json tests: a simulator, a parsed voucher and a context bound to both.
import type { Ctx } from '../../../src/core/connector.js';
import type { JsonValue } from '../../../src/core/messages.js';
import { httpJson, type HttpJsonCred } from '../../../connectors/http-json/index.js';
import { simVoucher, startHttpJsonSim, type HttpJsonSim, type HttpJsonSimOptions } from '../../../connectors/http-json/simulator.js';
import { testCtx } from '../../helpers/ctx.js';

export const meta = { accessPointId: 'ap-test', receivedAt: 0 };

export function cred(voucher: Record<string, unknown>): HttpJsonCred {
  return httpJson.voucherSchema.parse(voucher);
}

export async function withSim(
  simOpts: HttpJsonSimOptions,
  extra: Record<string, string | number> = {},
  ctxOpts: { now?: () => number; deviceConfig?: (id: string) => Promise<Record<string, JsonValue> | null> } = {},
): Promise<{ sim: HttpJsonSim; ctx: Ctx<HttpJsonCred>; close: () => Promise<void> }> {
  const sim = await startHttpJsonSim(simOpts);
  const c = cred(simVoucher(sim, extra));
  const ctx = testCtx(httpJson, c, ctxOpts.now ? { now: ctxOpts.now } : {});
  if (ctxOpts.deviceConfig) ctx.deviceConfig = ctxOpts.deviceConfig;
  return { sim, ctx, close: () => sim.close() };
}
