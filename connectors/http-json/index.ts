// Declarative REST/JSON connector: any vendor cloud without its own connector, configured in the SVCR and CFG forms.
import type { Connector } from '../../src/core/connector.js';
import { shortId } from '../../src/util/ids.js';
import { executeCommand } from './commands.js';
import { normalise } from './normalise.js';
import { listDevices, runPoll } from './poll.js';
import { configFields, voucherFields, voucherSchema, type HttpJsonCred } from './schema.js';
import * as webhook from './webhook.js';

export type { HttpJsonCred } from './schema.js';
export { validateDeviceConfig, validateVoucher } from './validate.js';
export { closeExpressionEngine } from './expr.js';

/** Device-number scope: explicit, else derived from the API origin and the (non-secret) account name. */
export function deviceScope(cred: HttpJsonCred): string {
  if (cred.device_scope) return cred.device_scope;
  return shortId(`${new URL(cred.base_url).origin}\u0000${cred.client_id ?? cred.username ?? ''}`, 6);
}

export interface HttpJsonOptions {
  /** Clock for the webhook timestamp window when parse is called on its own (tests). */
  now?: () => number;
}

export function createHttpJsonConnector(opts: HttpJsonOptions = {}): Connector<HttpJsonCred> {
  const now = opts.now ?? Date.now;
  return {
    id: 'http-json',
    displayName: 'Generic REST/JSON cloud',
    deviceNumberPrefix: 'hj',
    voucherFields,
    voucherSchema,
    configFields,
    limits: { requestsPerSecond: 5, burst: 10 },
    deviceScope,
    listDevices,
    poll: {
      intervalMs: (cred) => cred.poll_interval_s * 1000,
      run: runPoll,
    },
    webhook: {
      secrets: webhook.secrets,
      verify: webhook.verify,
      parse: (req, cred) => webhook.parse(req, cred, now()),
    },
    normalise,
    executeCommand,
    offlineTimeoutS: (cred) => cred.offline_timeout_s,
  };
}

export const httpJson = createHttpJsonConnector();
