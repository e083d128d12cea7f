// Tuya Cloud OpenAPI connector: assembly of schema, client, polling, mapping and commands.
import type { Connector } from '../../src/core/connector.js';
import { PermanentError, describeError } from '../../src/core/errors.js';
import { sendCommands } from './client.js';
import { commandResult, toTuyaCommands, type TuyaCommandBody } from './commands.js';
import { discoverDevices } from './discovery.js';
import { normalise } from './normalise.js';
import { runPoll } from './poll.js';
import { voucherFields, voucherSchema, type TuyaCred } from './schema.js';

export type { TuyaCred } from './schema.js';

export const tuya: Connector<TuyaCred> = {
  id: 'tuya',
  displayName: 'Tuya Cloud',
  deviceNumberPrefix: 'tuya',
  voucherFields,
  voucherSchema,
  configFields: null,
  // Tuya limits per project and per API; the strictest documented one that we call is command issue at 4/s.
  limits: { requestsPerSecond: 4, burst: 8 },
  // Tuya device ids are globally unique.
  deviceScope: () => '',
  listDevices: discoverDevices,
  poll: {
    intervalMs: (cred) => cred.pollIntervalS * 1000,
    run: runPoll,
  },
  normalise,
  async executeCommand(ctx, cmd) {
    let body: TuyaCommandBody;
    try {
      body = toTuyaCommands(cmd);
    } catch (err) {
      if (err instanceof PermanentError) return { ok: false, message: err.message };
      throw err;
    }
    try {
      return commandResult(await sendCommands(ctx, cmd.device, body), body);
    } catch (err) {
      // Rejected by Tuya (unknown code, bad value, device gone): the platform gets the reason; auth, rate-limit
      // and transient errors propagate so the pipeline pauses or retries.
      if (err instanceof PermanentError) return { ok: false, message: describeError(err) };
      throw err;
    }
  },
  offlineTimeoutS: (cred) => cred.offlineTimeoutS,
};

export default tuya;
