// Alternative load generator: wrk (C, epoll; `apt-get install wrk`), which needs far less CPU than autocannon
// and so leaves more of the 2 cores to the system under test. Same bodies and placeholders as bench/lib/load.ts;
// the Lua script is generated from the templates. Send times come from gettimeofday through LuaJIT's FFI.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpuSeconds, type LoadResult, type LoadSpec } from './common.js';

const lua = (s: string) => {
  let eq = '==';
  while (s.includes(`]${eq}]`)) eq += '=';
  return `[${eq}[${s}]${eq}]`;
};

function script(spec: LoadSpec): string {
  const prefix = randomBytes(5).toString('hex').toUpperCase();
  const templates = spec.templates.map((t) => {
    const text = t.json.replaceAll('@@PH@@', spec.phase);
    const pieces = text.split(/("@@(?:SEQ|SENT|FCNT)@@"|@@UP@@)/);
    const parts = pieces.filter((_, i) => i % 2 === 0);
    const slots = pieces.filter((_, i) => i % 2 === 1).map((p) => p.replaceAll('"', '').replaceAll('@', ''));
    const headers = { ...t.headers, 'x-webhook-secret': spec.secret };
    return `{ parts = { ${parts.map(lua).join(', ')} }, slots = { ${slots.map((s) => `"${s}"`).join(', ')} }, headers = { ${Object.entries(headers).map(([k, v]) => `[ ${lua(k)} ] = ${lua(v)}`).join(', ')} } }`;
  });
  return `
local ok, ffi = pcall(require, "ffi")
local now_ms = function() return 0 end
if ok then
  pcall(ffi.cdef, "typedef struct { long tv_sec; long tv_usec; } bench_timeval; int gettimeofday(bench_timeval *tv, void *tz);")
  local tv = ffi.new("bench_timeval")
  now_ms = function() ffi.C.gettimeofday(tv, nil); return tonumber(tv.tv_sec) * 1000 + math.floor(tonumber(tv.tv_usec) / 1000) end
end
local templates = { ${templates.join(',\n')} }
local ndev = #templates
local path = ${lua(spec.path)}
local prefix = ${lua(prefix)}
local counter = 0
local nextTid = 0
setup = function(thread) thread:set("tid", nextTid); nextTid = nextTid + 1 end
request = function()
  local n = counter
  counter = counter + 1
  local seq = (tid or 0) * 100000000 + n
  local t = templates[(n % ndev) + 1]
  local buf = { t.parts[1] }
  for i, slot in ipairs(t.slots) do
    if slot == "SEQ" then buf[#buf + 1] = tostring(seq)
    elseif slot == "SENT" then buf[#buf + 1] = tostring(now_ms())
    elseif slot == "FCNT" then buf[#buf + 1] = tostring(math.floor(n / ndev) + 1)
    else buf[#buf + 1] = prefix .. string.format("%016X", seq) end
    buf[#buf + 1] = t.parts[i + 1]
  end
  return wrk.format("POST", path, t.headers, table.concat(buf))
end
done = function(summary, latency, requests)
  io.stderr:write(string.format('BENCHRESULT {"requests":%d,"duration_us":%d,"status":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"p50":%.3f,"p90":%.3f,"p99":%.3f,"max":%.3f,"mean":%.3f}\\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000))
end
`;
}

export async function runWrk(spec: LoadSpec, dir: string, threads = 1): Promise<LoadResult & { cpuS: number }> {
  const file = join(dir, `wrk-${spec.phase}.lua`);
  writeFileSync(file, script(spec));
  const start = Date.now();
  const child = spawn('wrk', [`-t${threads}`, `-c${spec.connections}`, `-d${spec.durationS}s`, '--timeout', '10s', '-s', file, spec.url], { stdio: ['ignore', 'ignore', 'pipe'] });
  let cpu = 0;
  const poll = setInterval(() => { const v = cpuSeconds(child.pid); if (!Number.isNaN(v)) cpu = v; }, 50);
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  clearInterval(poll);
  const m = /BENCHRESULT (\{.*\})/.exec(err);
  if (code !== 0 || !m) throw new Error(`wrk failed (${code}): ${err.slice(0, 500)}`);
  const r = JSON.parse(m[1]!) as { requests: number; duration_us: number; status: number; connect: number; read: number; write: number; timeout: number; p50: number; p90: number; p99: number; max: number; mean: number };
  return {
    phase: spec.phase, start, finish: start + r.duration_us / 1000, durationS: r.duration_us / 1e6,
    total: r.requests, ok2xx: r.requests - r.status, non2xx: r.status, errors: r.connect + r.read + r.write, timeouts: r.timeout,
    generated: r.requests, latency: { p50: r.p50, p90: r.p90, p99: r.p99, max: r.max, mean: r.mean }, statusCodes: {},
    cpuS: cpu,
  };
}
