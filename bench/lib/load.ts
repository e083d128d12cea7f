// Load generator, run as its own process (so it does not share the target's event loop): autocannon with
// 50 connections POSTing real-shaped TTS uplink bodies, each with a unique as:up correlation id, a sequence
// number and its send time, cycling over the bound devices. Receives a LoadSpec over IPC, answers a LoadResult.
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import type { BodyTemplate, LoadResult, LoadSpec } from './common.js';

interface Compiled { parts: string[]; slots: string[]; headers: Record<string, string> }

function compile(t: BodyTemplate, phase: string, secret: string): Compiled {
  const text = t.json.replaceAll('@@PH@@', phase);
  const pieces = text.split(/("@@(?:SEQ|SENT|FCNT)@@"|@@UP@@)/);
  const parts: string[] = [];
  const slots: string[] = [];
  pieces.forEach((p, i) => (i % 2 === 0 ? parts.push(p) : slots.push(p.replaceAll('"', ''))));
  return { parts, slots, headers: { ...t.headers, 'x-webhook-secret': secret } };
}

async function run(spec: LoadSpec): Promise<LoadResult> {
  const compiled = spec.templates.map((t) => compile(t, spec.phase, spec.secret));
  // ULID-like as:up ids: 10 random hex characters per process + a 16-digit counter = 26 characters.
  const prefix = randomBytes(5).toString('hex').toUpperCase();
  let seq = 0;
  const fcnt = new Array<number>(compiled.length).fill(0);
  const body = (): { text: string; headers: Record<string, string> } => {
    const n = seq++;
    const d = n % compiled.length;
    const c = compiled[d]!;
    const f = ++fcnt[d]!;
    let s = c.parts[0]!;
    for (let i = 0; i < c.slots.length; i++) {
      const slot = c.slots[i]!;
      s += slot === '@@SEQ@@' ? String(n) : slot === '@@SENT@@' ? String(Date.now()) : slot === '@@FCNT@@' ? String(f) : prefix + n.toString(16).toUpperCase().padStart(16, '0');
      s += c.parts[i + 1]!;
    }
    return { text: s, headers: c.headers };
  };

  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.durationS,
    timeout: 10,
    requests: [{
      method: 'POST',
      path: spec.path,
      setupRequest: (req: Record<string, unknown>) => {
        const b = body();
        req.body = b.text;
        req.headers = b.headers;
        return req;
      },
    }],
  });
  const r = result as {
    start: Date; finish: Date; duration: number; errors: number; timeouts: number; non2xx: number; '2xx': number;
    requests: { total: number }; latency: { p50: number; p90: number; p99: number; max: number; mean: number };
    statusCodeStats?: Record<string, { count: number }>;
  };
  const statusCodes: Record<string, number> = {};
  for (const [code, v] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = v.count;
  return {
    phase: spec.phase,
    start: new Date(r.start).getTime(),
    finish: new Date(r.finish).getTime(),
    durationS: r.duration,
    total: r.requests.total,
    ok2xx: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    generated: seq,
    latency: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max, mean: r.latency.mean },
    statusCodes,
  };
}

process.once('message', (spec: LoadSpec) => {
  run(spec).then(
    (res) => process.send!({ ok: true, res }, () => process.exit(0)),
    (err: unknown) => process.send!({ ok: false, err: String(err) }, () => process.exit(1)),
  );
});
