// ChirpStack v4 connector: HTTP-integration webhooks in, REST API (chirpstack-rest-api) for device lists and downlinks.
import type { Connector, Ctx } from '../../src/core/connector.js';
import { PermanentError } from '../../src/core/errors.js';
import type { CommandResult, PlatformCommand } from '../../src/core/messages.js';
import { enqueueDownlink, listDevices } from './client.js';
import { toQueueItem, type DownlinkDefaults } from './commands.js';
import { normalise } from './normalise.js';
import { configFields, deviceConfigSchema, voucherFields, voucherSchema, type ChirpstackCred } from './schema.js';
import { parse, secrets } from './webhook.js';

export type { ChirpstackCred } from './schema.js';

/** Command params win, then the device template's CFG form, then the access point's voucher. */
async function downlinkDefaults(ctx: Ctx<ChirpstackCred>, device: string): Promise<DownlinkDefaults> {
  const raw = ctx.deviceConfig ? await ctx.deviceConfig(device) : null;
  const parsed = deviceConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new PermanentError('device template config (fPort / confirmed) is invalid');
  return { fPort: parsed.data.fPort ?? ctx.cred.fPort, confirmed: parsed.data.confirmed ?? ctx.cred.confirmed };
}

export const chirpstack: Connector<ChirpstackCred> = {
  id: 'chirpstack',
  displayName: 'ChirpStack v4',
  deviceNumberPrefix: 'cs',
  voucherFields,
  voucherSchema,
  configFields,
  // Self-hosted: no vendor quota; this only keeps one access point from flooding a small ChirpStack.
  limits: { requestsPerSecond: 10, burst: 20 },
  // DevEUIs are globally unique (IEEE EUI-64), so no tenant scope is needed in device numbers.
  deviceScope: () => '',
  listDevices,
  webhook: { secrets, parse },
  normalise,
  async executeCommand(ctx: Ctx<ChirpstackCred>, cmd: PlatformCommand): Promise<CommandResult> {
    const item = toQueueItem(cmd, await downlinkDefaults(ctx, cmd.device));
    const id = await enqueueDownlink(ctx, cmd.device.toLowerCase(), item);
    return { ok: true, message: 'queued', reference: id };
  },
  offlineTimeoutS: (cred) => cred.offlineTimeoutS,
};
