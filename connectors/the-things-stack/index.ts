// The Things Stack v3 (TTN / TTI) connector: webhooks in, device list and downlink push out.
import type { Connector } from '../../src/core/connector.js';
import * as client from './client.js';
import { toDownlink } from './commands.js';
import { normalise } from './normalise.js';
import { voucherFields, voucherSchema, type TtsCred } from './schema.js';
import * as webhook from './webhook.js';

export const theThingsStack: Connector<TtsCred> = {
  id: 'the-things-stack',
  displayName: 'The Things Stack v3 (TTN / TTI)',
  deviceNumberPrefix: 'tts',
  voucherFields,
  voucherSchema,
  configFields: null,
  // TTS rate limits are operator-configured; stay well below typical values.
  limits: { requestsPerSecond: 10, burst: 20 },
  deviceScope: (cred) => cred.application_id,
  listDevices: (ctx, { page, pageSize }) => client.listDevices(ctx, page, pageSize),
  webhook: { secrets: webhook.secrets, parse: webhook.parse, learn: webhook.learn },
  normalise,
  async executeCommand(ctx, cmd) {
    const downlink = toDownlink(cmd, ctx.cred);
    const webhookId = ctx.cred.webhook_id || (await ctx.store.get('learnt:webhook_id')) || '';
    await client.pushDownlink(ctx, webhookId, cmd.device, downlink);
    return { ok: true, message: `downlink queued on FPort ${downlink.f_port}`, reference: downlink.correlation_ids[0] };
  },
  offlineTimeoutS: (cred) => cred.offline_timeout,
};
