// Commands: render the template (CFG over SVCR), call the vendor, judge the answer with the success predicate.
import type { Ctx } from '../../src/core/connector.js';
import { ConnectorError, PermanentError } from '../../src/core/errors.js';
import type { CommandResult, JsonValue, PlatformCommand } from '../../src/core/messages.js';
import { call } from './client.js';
import { evaluateRow } from './expr.js';
import type { HttpJsonCred } from './schema.js';
import { commandSettings, parseDeviceCfg, type CommandSettings } from './settings.js';
import { renderJsonTemplate, renderPath } from './templates.js';

/** 4xx answers the success predicate may judge; 401/403/429 stay with the HTTP client's error taxonomy. */
const JUDGED_4XX = [400, 404, 405, 409, 410, 412, 415, 422, 423];

export interface RenderedCommand {
  method: CommandSettings['method'];
  url: string;
  body: JsonValue | undefined;
}

/** Pure part of a JSON-template command; JSONata bodies are evaluated by executeCommand. */
export function renderCommandUrl(s: CommandSettings, cmd: PlatformCommand): string {
  if (!s.url) throw new PermanentError('command_url is not configured: this access point cannot send commands');
  return renderPath(s.url.value, { id: cmd.device, method: cmd.method, messageId: cmd.messageId }, s.url.field);
}

function vars(cmd: PlatformCommand): Record<string, JsonValue> {
  return { method: cmd.method, params: cmd.params, device: cmd.device, messageId: cmd.messageId, kind: cmd.kind };
}

export async function renderCommand(s: CommandSettings, cmd: PlatformCommand): Promise<RenderedCommand> {
  const url = renderCommandUrl(s, cmd);
  let body: JsonValue | undefined;
  if (s.bodyType === 'jsonata') [body] = await evaluateRow([{ field: s.body.field, expr: s.body.value }], vars(cmd));
  else body = renderJsonTemplate(s.body.value, vars(cmd), s.body.field);
  return { method: s.method, url, body: s.method === 'GET' ? undefined : body };
}

function detail(body: unknown): string {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    const m = b.message ?? b.error ?? b.msg;
    if (typeof m === 'string' && m) return `: ${m.slice(0, 200)}`;
  }
  if (typeof body === 'string' && body) return `: ${body.slice(0, 200)}`;
  return '';
}

/** Expression problems answer the command with a PermanentError naming the field: never retried. */
function permanent(err: unknown): never {
  if (err instanceof ConnectorError && err.kind === 'payload') throw new PermanentError(err.message, { cause: err });
  throw err;
}

export async function executeCommand(ctx: Ctx<HttpJsonCred>, cmd: PlatformCommand): Promise<CommandResult> {
  const cfg = parseDeviceCfg((await ctx.deviceConfig?.(cmd.device)) ?? null);
  const s = commandSettings(ctx.cred, cfg);
  const req = await renderCommand(s, cmd).catch(permanent);
  const res = await call<JsonValue>(ctx, {
    method: req.method,
    url: req.url,
    ...(req.body !== undefined ? { body: req.body } : {}),
    headers: { 'x-request-id': cmd.messageId },
    acceptStatus: JUDGED_4XX,
    idempotent: false,
  });
  const answer = { status: res.status, body: res.data ?? null };
  const specs = s.reference ? [s.success, s.reference] : [s.success];
  const [ok, ref] = await evaluateRow(specs, answer).catch(permanent);
  const reference = typeof ref === 'string' || typeof ref === 'number' ? String(ref).slice(0, 200) : undefined;
  const result: CommandResult = ok === true
    ? { ok: true, message: `accepted: HTTP ${res.status}` }
    : { ok: false, message: `rejected by the vendor: HTTP ${res.status}${detail(res.data)}` };
  if (reference !== undefined) result.reference = reference;
  return result;
}
