// JSONata expressions for the declarative connector: checked once, evaluated out of process, bounded, errors named.
import jsonata from 'jsonata';
import { PayloadError, PermanentError, TransientError, type ConnectorError } from '../../src/core/errors.js';
import type { JsonValue } from '../../src/core/messages.js';
import { ExprHost, type EvalLimits, type HostError, type HostResponse } from './expr-host.js';

/** Bounds on every evaluation (README "Limits"). */
export const LIMITS: EvalLimits = {
  exprMs: 100,
  stack: 250,
  sequence: 100_000,
  maxOutput: 256 * 1024,
  maxTotalOutput: 16 * 1024 * 1024,
};
export const MAX_EXPR_LENGTH = 8192;
/** Time for one batch of evaluations: poll/list/command calls, and the blocking webhook path. */
export const BUDGET_MS = { async: 3_000, sync: 500 } as const;
const GRACE_MS = { async: 1_000, sync: 500 } as const;

/** One expression and the form field it came from, used in every error message. */
export interface ExprSpec {
  field: string;
  expr: string;
}

export interface EvalInput {
  input: JsonValue;
  bindings?: Record<string, JsonValue>;
}

export type ItemResult = { ok: true; values: (JsonValue | undefined)[] } | { ok: false; error: ConnectorError };

// ---------------------------------------------------------------------------------------------------------
// Syntax check in-process: parsing is linear and bounded by MAX_EXPR_LENGTH; evaluation never happens here.

const checked = new Map<string, string | null>();

/** Returns null when `expr` is a valid JSONata expression, else a short description of the problem. */
export function checkExpression(expr: string): string | null {
  const hit = checked.get(expr);
  if (hit !== undefined) return hit;
  let problem: string | null = null;
  if (expr.length > MAX_EXPR_LENGTH) problem = `expression is longer than ${MAX_EXPR_LENGTH} characters`;
  else {
    try {
      jsonata(expr);
    } catch (err) {
      const e = err as { code?: string; position?: number; message?: string };
      problem = `syntax error ${e.code ?? ''}${typeof e.position === 'number' ? ` at position ${e.position}` : ''}: ${String(e.message ?? err).slice(0, 200)}`;
    }
  }
  if (checked.size >= 5000) checked.clear();
  checked.set(expr, problem);
  return problem;
}

/** PermanentError naming the field when the expression does not compile. */
export function assertExpression(spec: ExprSpec): void {
  const problem = checkExpression(spec.expr);
  if (problem) throw new PermanentError(`${spec.field}: invalid JSONata expression: ${problem}`);
}

function evalError(field: string, e: HostError): ConnectorError {
  const where = e.position !== undefined ? ` at position ${e.position}` : '';
  switch (e.code) {
    case 'D1012':
    case 'TPCC_BUDGET':
      return new PayloadError(`${field}: expression timed out (${e.code === 'D1012' ? `${LIMITS.exprMs} ms per evaluation` : 'time budget of the batch'})`);
    case 'D1011':
      return new PayloadError(`${field}: expression recursion is deeper than ${LIMITS.stack}`);
    case 'D2014':
    case 'D2015':
      return new PayloadError(`${field}: expression built a sequence longer than ${LIMITS.sequence}`);
    case 'TPCC_SIZE':
    case 'TPCC_JSON':
    case 'TPCC_EVAL':
      return new PayloadError(`${field}: ${e.message}`);
    default:
      if (e.code.startsWith('S')) return new PermanentError(`${field}: invalid JSONata expression: syntax error ${e.code}${where}: ${e.message}`);
      return new PayloadError(`${field}: evaluation error ${e.code}${where}: ${e.message}`);
  }
}

function decode(specs: readonly ExprSpec[], count: number, res: HostResponse): ItemResult[] {
  if ('fatal' in res) {
    const fields = specs.map((s) => s.field).join(', ');
    // Not the expression's fault: the evaluator could not be started; retry later.
    const error = res.fatal.code === 'UNAVAILABLE'
      ? new TransientError(`expression evaluator unavailable: ${res.fatal.message}`)
      : new PayloadError(`${fields}: expression evaluation ${res.fatal.code === 'TIMEOUT' ? 'exceeded the hard time limit' : 'crashed the evaluator (out of memory?)'}; the evaluator was restarted`);
    return Array.from({ length: count }, () => ({ ok: false as const, error }));
  }
  return res.results.map((r) => {
    if ('error' in r) return { ok: false as const, error: evalError(specs[r.error.expr]?.field ?? specs.map((s) => s.field).join(', '), r.error) };
    return { ok: true as const, values: r.values.map((v) => (v === null ? undefined : (JSON.parse(v) as JsonValue))) };
  });
}

let asyncHost: ExprHost | undefined;
let syncHost: ExprHost | undefined;

/** Inputs per engine call: each chunk gets its own time budget, so long lists are not cut short. */
export const CHUNK = 500;

function chunks<T>(list: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += CHUNK) out.push(list.slice(i, i + CHUNK));
  return out;
}

/**
 * Evaluates every spec over every input in the sandbox. Syntax problems throw PermanentError naming the
 * field; evaluation problems (runtime error, timeout, size) are returned per input as PayloadError.
 */
export async function evaluate(specs: readonly ExprSpec[], inputs: readonly EvalInput[]): Promise<ItemResult[]> {
  specs.forEach(assertExpression);
  if (specs.length === 0) return inputs.map(() => ({ ok: true as const, values: [] }));
  asyncHost ??= new ExprHost({ sync: false, children: 2, heapMb: 128, graceMs: GRACE_MS.async });
  const host = asyncHost;
  const exprs = specs.map((s) => s.expr);
  const parts = await Promise.all(chunks(inputs).map(async (part) => decode(specs, part.length, await host.run({ exprs, inputs: part, budgetMs: BUDGET_MS.async, limits: LIMITS }))));
  return parts.flat();
}

/** Same as evaluate, blocking the calling thread (for the synchronous webhook.parse); bounded by BUDGET_MS.sync per chunk. */
export function evaluateSync(specs: readonly ExprSpec[], inputs: readonly EvalInput[]): ItemResult[] {
  specs.forEach(assertExpression);
  if (specs.length === 0) return inputs.map(() => ({ ok: true as const, values: [] }));
  syncHost ??= new ExprHost({ sync: true, children: 1, heapMb: 128, graceMs: GRACE_MS.sync });
  const host = syncHost;
  const exprs = specs.map((s) => s.expr);
  const out: ItemResult[] = [];
  for (const part of chunks(inputs)) {
    const res = host.runSync({ exprs, inputs: part, budgetMs: BUDGET_MS.sync, limits: LIMITS });
    out.push(...decode(specs, part.length, res));
    // The caller is blocked: after a hard failure, do not spend another full time limit on the rest.
    if ('fatal' in res) return out.concat(decode(specs, inputs.length - out.length, res));
  }
  return out;
}

function only(results: ItemResult[]): (JsonValue | undefined)[] {
  const r = results[0];
  if (!r) return [];
  if (!r.ok) throw r.error;
  return r.values;
}

/** Evaluates specs over one input; throws the first error. */
export async function evaluateRow(specs: readonly ExprSpec[], input: JsonValue, bindings?: Record<string, JsonValue>): Promise<(JsonValue | undefined)[]> {
  return only(await evaluate(specs, [bindings ? { input, bindings } : { input }]));
}

export function evaluateRowSync(specs: readonly ExprSpec[], input: JsonValue, bindings?: Record<string, JsonValue>): (JsonValue | undefined)[] {
  return only(evaluateSync(specs, [bindings ? { input, bindings } : { input }]));
}

/** Stops the evaluator processes (tests, graceful shutdown); they restart on next use. */
export async function closeExpressionEngine(): Promise<void> {
  const hosts = [asyncHost, syncHost];
  asyncHost = undefined;
  syncHost = undefined;
  await Promise.all(hosts.map((h) => h?.close()));
}
