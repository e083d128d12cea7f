// Runs JSONata in a killable child process (behind a bridge worker thread) so no expression can hang or crash us.
//
// Why a child process and not a worker thread: V8 aborts the *whole process* when a worker with resourceLimits
// makes one allocation larger than Node's 16 MB out-of-memory allowance (e.g. `$pad("", 1e8)`), and a
// catastrophic regex cannot be interrupted from inside its thread. A child with its own heap limit just dies.
// The bridge worker owns the children, enforces hard deadlines and answers the main thread either through
// a MessagePort (async callers) or a MessagePort plus an Atomics flag (sync callers such as webhook.parse).
import { createRequire } from 'node:module';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { TransientError } from '../../src/core/errors.js';

/** Limits applied inside the child to every evaluation. */
export interface EvalLimits {
  /** jsonata's own guardrail: wall time of one evaluate() call, checked at every step. */
  exprMs: number;
  /** jsonata's guardrail on evaluation depth (recursion). */
  stack: number;
  /** jsonata's guardrail on sequence length (also bounds the range operator). */
  sequence: number;
  /** Serialised size of one result, bytes. */
  maxOutput: number;
  /** Serialised size of all results of one call, bytes. */
  maxTotalOutput: number;
}

export interface HostRequest {
  id: number;
  exprs: string[];
  inputs: { input: unknown; bindings?: Record<string, unknown> }[];
  /** Time for the whole call as measured by the child; later items fail with TPCC_BUDGET. */
  budgetMs: number;
  limits: EvalLimits;
}

export interface HostError {
  /** Index into exprs, or -1 when not attributable. */
  expr: number;
  code: string;
  message: string;
  position?: number;
}

/** Per input: JSON text of each expression's result (null = undefined), or the first error. */
export type HostItem = { values: (string | null)[] } | { error: HostError };

export type HostResponse =
  | { id: number; results: HostItem[] }
  | { id: number; fatal: { code: 'TIMEOUT' | 'CRASH' | 'UNAVAILABLE'; message: string } };

// ---------------------------------------------------------------------------------------------------------
// Child process: CommonJS run with `node -e`. Receives HostRequest over IPC, one at a time.
const CHILD_SRC = String.raw`'use strict';
const jsonata = require(process.env.TPCC_JSONATA);
const cache = new Map();
function describe(err) {
  const code = err && err.code !== undefined ? String(err.code) : 'ERR';
  const message = String((err && err.message) || err).slice(0, 300);
  const out = { code, message };
  if (err && typeof err.position === 'number') out.position = err.position;
  return out;
}
function compiled(expr, limits) {
  let c = cache.get(expr);
  if (c) return c;
  if (cache.size >= 2000) cache.clear();
  const options = { timeout: limits.exprMs, stack: limits.stack, sequence: limits.sequence };
  try {
    const e = jsonata(expr, options);
    e.registerFunction('eval', function () { throw { code: 'TPCC_EVAL', message: '$eval is not available' }; });
    c = { e, options };
  } catch (err) {
    c = { err: describe(err) };
  }
  cache.set(expr, c);
  return c;
}
// Functions (jsonata lambdas hold their environment, which is circular) are not values: drop them.
function plain(_k, v) {
  if (typeof v === 'function') return undefined;
  if (v && typeof v === 'object' && (v._jsonata_lambda || v._jsonata_function)) return undefined;
  return v;
}
async function handle(req) {
  const t0 = Date.now();
  const results = [];
  let total = 0;
  for (const item of req.inputs) {
    const values = [];
    let error = null;
    for (let j = 0; j < req.exprs.length && !error; j++) {
      const left = req.budgetMs - (Date.now() - t0);
      if (left <= 0) { error = { expr: j, code: 'TPCC_BUDGET', message: 'time budget of the call exhausted' }; break; }
      const c = compiled(req.exprs[j], req.limits);
      if (c.err) { error = Object.assign({ expr: j }, c.err); break; }
      c.options.timeout = Math.max(1, Math.min(req.limits.exprMs, left));
      let v;
      try { v = await c.e.evaluate(item.input, item.bindings); } catch (err) { error = Object.assign({ expr: j }, describe(err)); break; }
      let s;
      try { s = v === undefined ? undefined : JSON.stringify(v, plain); } catch (err) { error = { expr: j, code: 'TPCC_JSON', message: 'result is not JSON' }; break; }
      if (s !== undefined) {
        const n = s.length > req.limits.maxOutput ? s.length : Buffer.byteLength(s);
        if (n > req.limits.maxOutput) { error = { expr: j, code: 'TPCC_SIZE', message: 'result is larger than ' + req.limits.maxOutput + ' bytes' }; break; }
        total += n;
        if (total > req.limits.maxTotalOutput) { error = { expr: j, code: 'TPCC_SIZE', message: 'results of the call are larger than ' + req.limits.maxTotalOutput + ' bytes' }; break; }
      }
      values.push(s === undefined ? null : s);
    }
    results.push(error ? { error } : { values });
  }
  return { id: req.id, results };
}
process.on('message', (req) => {
  handle(req).then((res) => process.send(res), (err) => process.send({ id: req.id, fatal: { code: 'CRASH', message: String(err).slice(0, 200) } }));
});
process.on('disconnect', () => process.exit(0));
`;

// ---------------------------------------------------------------------------------------------------------
// Bridge worker: CommonJS evaluated in a worker thread. Queues jobs, runs each on an idle child, enforces the
// hard deadline (SIGKILL + respawn) and reports crashes. Plain JS so it runs without the TypeScript loader.
const BRIDGE_SRC = String.raw`'use strict';
const { workerData } = require('node:worker_threads');
const { spawn } = require('node:child_process');
const { port, flag: flagBuf, childSrc, jsonataPath, children, heapMb } = workerData;
const flag = flagBuf ? new Int32Array(flagBuf) : null;
const slots = Array.from({ length: children }, () => ({ proc: null, job: null, timer: null, fresh: false }));
const queue = [];
function reply(msg) {
  port.postMessage(msg);
  if (flag) { Atomics.store(flag, 0, msg.id); Atomics.notify(flag, 0); }
}
function finish(slot, msg) {
  const job = slot.job;
  if (!job) return;
  clearTimeout(slot.timer);
  slot.job = null;
  reply(Object.assign({ id: job.req.id }, msg));
}
function dead(slot, proc, code, message) {
  if (slot.proc !== proc) return;
  slot.proc = null;
  try { proc.kill('SIGKILL'); } catch (e) { /* already gone */ }
  finish(slot, { fatal: { code, message } });
  pump();
}
function start(slot) {
  const proc = spawn(process.execPath, ['--max-old-space-size=' + heapMb, '-e', childSrc], {
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'], env: { TPCC_JSONATA: jsonataPath }, serialization: 'json',
  });
  slot.proc = proc;
  slot.fresh = true;
  proc.on('message', (res) => {
    if (slot.proc !== proc || !slot.job || !res || res.id !== slot.job.req.id) return;
    slot.fresh = false;
    if (res.fatal) finish(slot, { fatal: res.fatal }); else finish(slot, { results: res.results });
    pump();
  });
  proc.on('exit', (code, signal) => dead(slot, proc, 'CRASH', 'evaluator exited (' + (signal || code) + '), probably out of memory'));
  proc.on('error', (err) => dead(slot, proc, 'UNAVAILABLE', 'evaluator could not start: ' + err.message));
}
function pump() {
  for (const slot of slots) {
    if (queue.length === 0) return;
    if (slot.job) continue;
    const job = queue.shift();
    if (!slot.proc) start(slot);
    const proc = slot.proc;
    slot.job = job;
    const ms = job.hardMs + (slot.fresh ? 1000 : 0);
    slot.timer = setTimeout(() => dead(slot, proc, 'TIMEOUT', 'evaluation exceeded the hard time limit of ' + job.hardMs + ' ms'), ms);
    try { proc.send(job.req); } catch (err) { dead(slot, proc, 'UNAVAILABLE', 'evaluator unreachable'); }
  }
}
port.on('message', (job) => { queue.push(job); pump(); });
`;

const jsonataPath = createRequire(import.meta.url).resolve('jsonata');

export interface HostOptions {
  /** Answer through an Atomics flag so the main thread can block on it (webhook.parse). */
  sync: boolean;
  /** Child processes evaluating in parallel. */
  children: number;
  /** Heap limit of each child. */
  heapMb: number;
  /** Extra time the bridge gives a call beyond its budget before killing the child. */
  graceMs: number;
}

interface Pending {
  resolve(r: HostResponse): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/** Main-thread handle on one bridge worker and its children; started lazily, restarted after failures. */
export class ExprHost {
  private worker: Worker | undefined;
  private port: MessagePort | undefined;
  private flag: Int32Array | undefined;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly opts: HostOptions) {}

  private ensure(): { port: MessagePort; flag: Int32Array | undefined } {
    if (this.worker && this.port) return { port: this.port, flag: this.flag };
    const { port1, port2 } = new MessageChannel();
    const flagBuf = this.opts.sync ? new SharedArrayBuffer(4) : undefined;
    const worker = new Worker(BRIDGE_SRC, {
      eval: true,
      workerData: { port: port2, flag: flagBuf, childSrc: CHILD_SRC, jsonataPath, children: this.opts.children, heapMb: this.opts.heapMb },
      transferList: [port2],
      // The bridge evaluates nothing itself and needs no TypeScript loader. No resourceLimits on purpose: a
      // worker hitting its heap limit with one large allocation aborts the whole process (see above).
      execArgv: [],
      stdout: false,
      stderr: false,
    });
    worker.unref();
    worker.on('error', () => this.reset(worker, 'expression bridge failed'));
    worker.on('exit', () => this.reset(worker, 'expression bridge exited'));
    if (!this.opts.sync) {
      port1.on('message', (msg: HostResponse) => {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        clearTimeout(p.timer);
        if (this.pending.size === 0) port1.unref();
        p.resolve(msg);
      });
    }
    port1.unref();
    this.worker = worker;
    this.port = port1;
    this.flag = flagBuf ? new Int32Array(flagBuf) : undefined;
    return { port: port1, flag: this.flag };
  }

  private reset(worker: Worker, why: string): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.port?.close();
    this.port = undefined;
    this.flag = undefined;
    void worker.terminate().catch(() => undefined);
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new TransientError(why));
      this.pending.delete(id);
    }
  }

  private job(req: Omit<HostRequest, 'id'>): { req: HostRequest; hardMs: number } {
    this.seq = (this.seq % 2_000_000_000) + 1;
    return { req: { ...req, id: this.seq }, hardMs: req.budgetMs + this.opts.graceMs };
  }

  /** Outer backstop: the bridge answers well before this unless it is itself stuck. Includes start-up. */
  private static outerMs(hardMs: number): number {
    return hardMs + 5_000;
  }

  run(req: Omit<HostRequest, 'id'>): Promise<HostResponse> {
    if (this.opts.sync) throw new Error('sync host: use runSync');
    const { port } = this.ensure();
    const job = this.job(req);
    const worker = this.worker!;
    return new Promise<HostResponse>((resolve, reject) => {
      const timer = setTimeout(() => this.reset(worker, 'expression bridge did not answer'), ExprHost.outerMs(job.hardMs));
      this.pending.set(job.req.id, { resolve, reject, timer });
      port.ref();
      port.postMessage(job);
    });
  }

  /** Blocks the calling thread until the answer arrives (bounded by the hard deadline plus start-up). */
  runSync(req: Omit<HostRequest, 'id'>): HostResponse {
    if (!this.opts.sync) throw new Error('async host: use run');
    const { port, flag } = this.ensure();
    const job = this.job(req);
    const worker = this.worker!;
    Atomics.store(flag!, 0, 0);
    port.postMessage(job);
    const deadline = Date.now() + ExprHost.outerMs(job.hardMs);
    for (;;) {
      for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
        const msg = m.message as HostResponse;
        if (msg.id === job.req.id) return msg;
      }
      const left = deadline - Date.now();
      if (left <= 0) break;
      if (Atomics.wait(flag!, 0, 0, left) === 'not-equal') Atomics.store(flag!, 0, 0);
    }
    this.reset(worker, 'expression bridge did not answer');
    throw new TransientError('expression bridge did not answer');
  }

  /** Stops the bridge (its children exit when their IPC channel closes). */
  async close(): Promise<void> {
    const w = this.worker;
    if (w) this.reset(w, 'expression engine closed');
  }
}
