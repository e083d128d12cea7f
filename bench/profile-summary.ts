// Summarises a V8 .cpuprofile (node --cpu-prof): top functions by self time, time by package/file, and the
// inclusive time of chosen functions. Usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [top=30] [fn …]
import { readFileSync } from 'node:fs';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }
interface Profile { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

const args = process.argv.slice(2);
const opt = (name: string): number | undefined => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = Number(args[i + 1]);
  args.splice(i, 2);
  return v;
};
// --busy: keep only the seconds in which the process was ≥ 50 % busy (the load phases, not start-up or idle).
const busyOnly = args.includes('--busy');
if (busyOnly) args.splice(args.indexOf('--busy'), 1);
const from = opt('--from');
const to = opt('--to');
const [file, topArg, ...fns] = args;
if (!file) throw new Error('usage: profile-summary <file.cpuprofile> [--busy] [--from s] [--to s] [top] [function names…]');
const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile;
{
  // Timeline (busy % per second) and sample filtering.
  const idleIds = new Set(prof.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  const sec: { busy: number; all: number }[] = [];
  let t = 0;
  const when = prof.samples.map((id, i) => {
    t += prof.timeDeltas[i] ?? 0;
    const s = Math.floor(t / 1e6);
    sec[s] ??= { busy: 0, all: 0 };
    sec[s]!.all += prof.timeDeltas[i] ?? 0;
    if (!idleIds.has(id)) sec[s]!.busy += prof.timeDeltas[i] ?? 0;
    return s;
  });
  console.log(`timeline (busy % per second): ${sec.map((x, i) => `${i}:${x ? Math.round((x.busy / x.all) * 100) : 0}`).join(' ')}`);
  const keep = (s: number) => (from === undefined || s >= from) && (to === undefined || s < to) && (!busyOnly || (sec[s] !== undefined && sec[s]!.busy / sec[s]!.all >= 0.5));
  const samples: number[] = [];
  const deltas: number[] = [];
  prof.samples.forEach((id, i) => { if (keep(when[i]!)) { samples.push(id); deltas.push(prof.timeDeltas[i] ?? 0); } });
  prof.samples = samples;
  prof.timeDeltas = deltas;
}
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Self time per node from samples × time deltas.
const self = new Map<number, number>();
prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);

const short = (url: string) => {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  // Project files relative to their tree (the benchmark's service-before target runs from a copy elsewhere).
  return url.replace(/^file:\/\/.*?\/(?=(?:src|connectors|bench|test)\/)/, '') || '(native/vm)';
};
const label = (n: Node) => `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)} %`;

const selfByFn = new Map<string, number>();
const selfByPkg = new Map<string, number>();
for (const [id, us] of self) {
  const n = byId.get(id)!;
  selfByFn.set(label(n), (selfByFn.get(label(n)) ?? 0) + us);
  const pkg = n.callFrame.url ? short(n.callFrame.url).replace(/\/.*$/, (s) => (n.callFrame.url.includes('node_modules') ? '' : s)) : `(${n.callFrame.functionName})`;
  selfByPkg.set(pkg, (selfByPkg.get(pkg) ?? 0) + us);
}
const top = Number(topArg ?? 30);
console.log(`profile ${file}: ${(total / 1e6).toFixed(2)} s sampled`);
console.log('\n== self time by package / file ==');
for (const [k, v] of [...selfByPkg].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(v), k);
console.log('\n== self time by function ==');
for (const [k, v] of [...selfByFn].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(v), k);

// Inclusive time: a sample counts once for every distinct function name on its stack.
const incl = new Map<string, number>();
prof.samples.forEach((id, i) => {
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const n = byId.get(cur)!;
    const key = `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    incl.set(key, (incl.get(key) ?? 0) + (prof.timeDeltas[i] ?? 0));
  }
});
console.log('\n== inclusive time (src/ and connectors/ functions, plus any named) ==');
for (const [k, v] of [...incl].filter(([k]) => / (src|connectors)\//.test(k) || fns.some((f) => k.startsWith(`${f} `))).sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(v), k);
console.log('\n== inclusive time, all functions ==');
for (const [k, v] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(v), k);

// --callees NAME: inclusive time of what NAME calls directly (aggregated over every place NAME appears).
if (process.env.CALLEES) {
  for (const name of process.env.CALLEES.split(',')) {
    const inclNode = new Map<number, number>();
    prof.samples.forEach((id, i) => {
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) inclNode.set(cur, (inclNode.get(cur) ?? 0) + (prof.timeDeltas[i] ?? 0));
    });
    const callees = new Map<string, number>();
    let own = 0;
    for (const n of prof.nodes) {
      if (`${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}` !== name) continue;
      // Skip nested occurrences (recursion) so time is not counted twice.
      let nested = false;
      for (let p = parent.get(n.id); p !== undefined; p = parent.get(p)) { const pn = byId.get(p)!; if (`${pn.callFrame.functionName || '(anonymous)'} ${short(pn.callFrame.url)}` === name) { nested = true; break; } }
      if (nested) continue;
      own += self.get(n.id) ?? 0;
      for (const c of n.children ?? []) { const cn = byId.get(c)!; callees.set(label(cn), (callees.get(label(cn)) ?? 0) + (inclNode.get(c) ?? 0)); }
    }
    console.log(`\n== callees of ${name} (self ${pct(own)}) ==`);
    for (const [k, v] of [...callees].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(v), k);
  }
}

// Where the time goes, by the first matching frame on each sample's stack (most specific first).
{
  const cats: [string, (k: string) => boolean][] = [
    ['uplink worker: processUplink (normalise, claim, publish, bookkeeping)', (k) => k.startsWith('processUplink ')],
    ['webhook handler (verify, parse, enqueue, reply)', (k) => / src\/http\/webhook-app\.ts$| connectors\/the-things-stack\/webhook\.ts$/.test(k)],
    ['ingest flush (BullMQ add of the batch)', (k) => k.startsWith('flush src/pipeline/ingest.ts')],
    ['BullMQ worker machinery (fetch, lock, complete)', (k) => k.endsWith(' bullmq')],
    ['MQTT client (PUBACKs, packets)', (k) => / (mqtt|mqtt-packet|bl)$/.test(k)],
    ['Redis client (replies, writes)', (k) => / (ioredis|redis-parser)$/.test(k)],
    ['HTTP server (node http, Fastify routing)', (k) => / (fastify|find-my-way|node:_http_server|node:_http_common|node:_http_incoming|node:_http_outgoing)$/.test(k)],
  ];
  const sums = new Map<string, number>();
  prof.samples.forEach((id, i) => {
    const n0 = byId.get(id)!;
    let cat = n0.callFrame.functionName === '(idle)' ? 'idle' : n0.callFrame.functionName === '(garbage collector)' ? 'garbage collector' : '';
    if (!cat) {
      const keys: string[] = [];
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) { const n = byId.get(cur)!; keys.push(`${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}`); }
      cat = cats.find(([, f]) => keys.some(f))?.[0] ?? 'other (timers, streams, microtasks, native)';
    }
    sums.set(cat, (sums.get(cat) ?? 0) + (prof.timeDeltas[i] ?? 0));
  });
  console.log('\n== categories ==');
  for (const [k, v] of [...sums].sort((a, b) => b[1] - a[1])) console.log(pct(v), k);
}
