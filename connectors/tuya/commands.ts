// Pure translation of platform commands to Tuya's {commands:[{code,value}]} and of Tuya's answer to a CommandResult.
import { PermanentError } from '../../src/core/errors.js';
import type { CommandResult, JsonObject, JsonValue, PlatformCommand } from '../../src/core/messages.js';

export interface TuyaCommand {
  code: string;
  value: JsonValue;
}

export interface TuyaCommandBody {
  commands: TuyaCommand[];
}

/** Tuya data-point codes are short identifiers such as switch_led or bright_value_v2. */
const CODE = /^[A-Za-z0-9_.-]{1,64}$/;
/** Far above any real device's data-point count; stops a runaway payload. */
const MAX_COMMANDS = 64;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function command(code: string, value: JsonValue | undefined): TuyaCommand {
  if (!CODE.test(code)) throw new PermanentError(`not a Tuya data-point code: ${JSON.stringify(code.slice(0, 64))}`);
  if (value === undefined || value === null) throw new PermanentError(`no value for data point ${code}`);
  return { code, value };
}

/** `{commands:[{code,value}, ...]}` exactly as the Tuya API takes it. */
function passThrough(params: JsonObject): TuyaCommand[] | null {
  const keys = Object.keys(params);
  const list = params.commands;
  if (keys.length !== 1 || !Array.isArray(list) || list.length === 0) return null;
  if (!list.every((c) => isObject(c) && typeof c.code === 'string' && Object.hasOwn(c, 'value'))) return null;
  return list.map((c) => {
    const o = c as JsonObject;
    return command(o.code as string, o.value);
  });
}

/** Rules in order; the first that applies wins. */
const RULES: ReadonlyArray<(cmd: PlatformCommand) => TuyaCommand[] | null> = [
  // {"commands":[{"code":"switch_led","value":true}]} (Tuya's own body shape) is sent as is.
  (cmd) => (isObject(cmd.params) ? passThrough(cmd.params) : null),
  // {"switch_led": true, "bright_value": 255}: each key is a data-point code (commands, attribute sets, controls).
  (cmd) => (isObject(cmd.params) ? Object.entries(cmd.params).map(([code, value]) => command(code, value)) : null),
  // method "switch_led", params true: the method names the data point.
  (cmd) => (cmd.params !== null && !isObject(cmd.params) && cmd.method !== '' ? [command(cmd.method, cmd.params)] : null),
];

export function toTuyaCommands(cmd: PlatformCommand): TuyaCommandBody {
  for (const rule of RULES) {
    const commands = rule(cmd);
    if (commands === null) continue;
    if (commands.length === 0) throw new PermanentError('command without data points');
    if (commands.length > MAX_COMMANDS) throw new PermanentError(`too many data points in one command (max ${MAX_COMMANDS})`);
    return { commands };
  }
  throw new PermanentError('command needs params as {code: value, ...} or a method naming the data point and a scalar value');
}

/** Tuya answers `{"success":true,"result":true}`; `result:false` means the cloud did not issue it. */
export function commandResult(answer: { result: unknown; tid?: string }, sent: TuyaCommandBody): CommandResult {
  const codes = sent.commands.map((c) => c.code).join(', ');
  const res: CommandResult = answer.result === false
    ? { ok: false, message: `Tuya did not issue ${codes}` }
    : { ok: true, message: `Tuya issued ${codes}` };
  if (answer.tid) res.reference = answer.tid;
  return res;
}
