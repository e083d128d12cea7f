// Server-rendered operator status page (no build step): every value goes through escapeHtml, the only script
// carries a per-response nonce and the Content-Security-Policy allows nothing else.
import type { AccessPointStatus, DeadLetterRow, QueueStat, StatusReport } from './status-data.js';

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch] ?? ch);
}

/** Tagged template: interpolated values are escaped unless they are `Raw` (already escaped markup). */
class Raw {
  constructor(readonly html: string) {}
}
function html(strings: TemplateStringsArray, ...values: unknown[]): Raw {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    const part = Array.isArray(v) ? v.map((x) => (x instanceof Raw ? x.html : escapeHtml(x))).join('') : v instanceof Raw ? v.html : escapeHtml(v);
    out += part + (strings[i + 1] ?? '');
  });
  return new Raw(out);
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60 ? `${s % 60} s` : ''}`.trim();
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

function when(ms: number | null, now: number, never = 'never'): Raw {
  if (!ms) return html`<span class="muted">${never}</span>`;
  const iso = new Date(ms).toISOString();
  const d = (now - ms) / 1000;
  const rel = d >= 0 ? `${formatDuration(d)} ago` : `in ${formatDuration(-d)}`;
  return html`<time datetime="${iso}" title="${iso}">${rel}</time>`;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

const STATE_LABEL: Record<string, string> = { ok: 'ok', needs_reauth: 'needs re-auth', rate_limited: 'rate limited', failing: 'failing' };

function stateCell(ap: AccessPointStatus, now: number): Raw {
  const label = STATE_LABEL[ap.state] ?? ap.state;
  return html`<span class="badge st-${ap.state.replace(/[^a-z_]/g, '')}">${label}</span>
    ${ap.reason ? html`<div class="reason">${ap.reason}</div>` : ''}
    ${ap.since ? html`<div class="small">since ${when(ap.since, now)}${(ap.until ?? 0) > now ? html` · until ${when(ap.until, now)}` : ''}</div>` : ''}`;
}

function webhookCell(ap: AccessPointStatus): Raw {
  if (!ap.webhook) return html`<span class="muted">none: ${ap.polling ? 'polls the vendor API' : 'no webhook for this connector'}</span>`;
  return html`<div class="kv"><span class="k">URL</span><code class="sel" data-testid="webhook-url">${ap.webhook.url}</code></div>
    <div class="kv"><span class="k">Header</span><code class="sel">${ap.webhook.header}</code></div>`;
}

function apRow(ap: AccessPointStatus, now: number): Raw {
  return html`<tr data-ap="${ap.id}">
    <td><div class="name">${ap.name || '(unnamed)'}</div><div class="small mono">${ap.id}</div></td>
    <td class="nowrap">${ap.connector}<div class="small">${ap.service_identifier}</div></td>
    <td>${stateCell(ap, now)}</td>
    <td class="num">${ap.devices}</td>
    <td>${ap.polling ? when(ap.last_poll, now) : html`<span class="muted" title="This connector receives webhooks; it does not poll">n/a</span>`}</td>
    <td>${when(ap.last_data, now)}</td>
    <td class="hook">${webhookCell(ap)}</td>
  </tr>`;
}

function queueRow(name: string, q: QueueStat): Raw {
  const warn = q.oldestAgeS >= 60 ? ' warn' : '';
  return html`<tr><td class="mono">${name}</td><td class="num">${q.waiting}</td><td class="num">${q.active}</td>
    <td class="num">${q.delayed}</td><td class="num${q.failed ? ' warn' : ''}">${q.failed}</td>
    <td class="num${warn}">${q.waiting ? formatDuration(q.oldestAgeS) : '–'}</td></tr>`;
}

function deadLetterRow(d: DeadLetterRow, now: number): Raw {
  return html`<tr><td class="mono small">${d.id}</td><td>${d.queue}</td><td class="mono small">${d.name}</td>
    <td class="reason">${d.reason}</td><td class="num">${d.attempts}</td><td>${when(d.failed_at, now)}</td>
    <td><form method="post" action="api/dead-letters/${encodeURIComponent(d.id)}/replay" class="replay">
      <button type="submit" title="Put the job back on its queue with fresh attempts">Replay</button></form></td></tr>`;
}

export interface PageOptions {
  nonce: string;
  deadLetters: DeadLetterRow[] | null;
  flash?: { kind: 'ok' | 'error'; text: string } | null;
}

export function renderStatusPage(report: StatusReport, opts: PageOptions): string {
  const now = report.generated_at;
  const counts: Record<string, number> = { ok: 0, needs_reauth: 0, rate_limited: 0, failing: 0 };
  for (const ap of report.access_points) counts[ap.state] = (counts[ap.state] ?? 0) + 1;
  const devices = report.access_points.reduce((a, ap) => a + ap.devices, 0);
  const dl = report.queues['dead-letter']?.waiting;
  const chips = html`
    <span class="chip">${plural(report.access_points.length, 'access point')}</span>
    <span class="chip">${plural(devices, 'device')}</span>
    ${Object.entries(counts).filter(([s, n]) => n > 0 || s === 'ok').map(([s, n]) => html`<span class="chip st-${s}">${n} ${STATE_LABEL[s] ?? s}</span>`)}
    <span class="chip ${report.broker ? 'st-ok' : 'st-failing'}">broker ${report.broker ? 'connected' : 'disconnected'}</span>
    <span class="chip ${report.redis ? 'st-ok' : 'st-failing'}">redis ${report.redis ? 'ok' : 'not answering'}</span>
    ${dl ? html`<span class="chip st-failing">${plural(dl, 'dead letter')}</span>` : ''}`;

  const queueNames = Object.keys(report.queues);
  const body = html`
<header>
  <h1>tp-cloud-connector <span class="muted">status</span></h1>
  <nav><a href="queues">Queue dashboard</a> · <a href="api/status">JSON</a> · <a href="metrics">Metrics</a>
    <label class="refresh"><input type="checkbox" id="auto" checked> auto-refresh</label></nav>
</header>
<p class="gen small">Generated ${new Date(now).toISOString()}</p>
${opts.flash ? html`<p class="flash ${opts.flash.kind}" role="status">${opts.flash.text}</p>` : ''}
<div class="chips">${chips}</div>

<h2>Access points</h2>
${report.access_points.length === 0
    ? html`<p class="muted">No access points yet. Tenants create them in ThingsPanel (service access point).</p>`
    : html`<table class="aps">
  <thead><tr><th>Access point</th><th>Connector</th><th>State</th><th class="num">Devices</th><th>Last poll</th><th>Last data</th><th>Webhook to configure at the vendor</th></tr></thead>
  <tbody>${report.access_points.map((ap) => apRow(ap, now))}</tbody>
</table>`}

<h2>Backlog</h2>
${queueNames.length === 0
    ? html`<p class="muted">Queue depths unavailable (Redis not answering).</p>`
    : html`<table class="queues">
  <thead><tr><th>Queue</th><th class="num">Waiting</th><th class="num">Active</th><th class="num">Delayed</th><th class="num">Failed</th><th class="num">Oldest waiting</th></tr></thead>
  <tbody>${queueNames.map((n) => queueRow(n, report.queues[n]!))}</tbody>
</table>
<p class="small muted">Queues are shared by all access points and replicas.</p>`}

<h2>Dead letters</h2>
${opts.deadLetters === null
    ? html`<p class="muted">Dead letters unavailable (Redis not answering).</p>`
    : opts.deadLetters.length === 0
      ? html`<p class="muted">None.</p>`
      : html`<table class="dlq">
  <thead><tr><th>Id</th><th>Queue</th><th>Job</th><th>Reason</th><th class="num">Attempts</th><th>Failed</th><th></th></tr></thead>
  <tbody>${opts.deadLetters.map((d) => deadLetterRow(d, now))}</tbody>
</table>`}
`;

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tp-cloud-connector status</title>
<link rel="icon" href="data:,">
<style nonce="${escapeHtml(opts.nonce)}">${CSS}</style>
</head><body>${body.html}
<script nonce="${escapeHtml(opts.nonce)}">${SCRIPT}</script>
</body></html>`;
}

const CSS = `
:root{--fg:#1d2430;--muted:#6b7382;--line:#e3e6eb;--bg:#f6f7f9;--ok:#1f7a3d;--okbg:#e3f4e8;--warn:#8a5a00;--warnbg:#fff1d1;--bad:#a4161a;--badbg:#fde2e1}
*{box-sizing:border-box}
body{margin:0;padding:20px 28px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;align-items:baseline;justify-content:space-between;gap:16px;flex-wrap:wrap}
h1{font-size:20px;margin:0}
h2{font-size:15px;margin:22px 0 8px;text-transform:uppercase;letter-spacing:.04em;color:#3a4250}
nav a{color:#1b5fb8;text-decoration:none}nav a:hover{text-decoration:underline}
.refresh{margin-left:12px;color:var(--muted);font-size:13px}
.gen{margin:4px 0 10px}
.muted{color:var(--muted)}.small{font-size:12px;color:var(--muted)}.mono,code{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace}
.chips{display:flex;flex-wrap:wrap;gap:6px}
.chip{background:#fff;border:1px solid var(--line);border-radius:999px;padding:2px 10px;font-size:12.5px}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid var(--line);border-radius:6px;overflow:hidden}
th,td{padding:7px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#eef0f3;font-size:12px;font-weight:600;color:#3a4250;white-space:nowrap}
tbody tr:last-child td{border-bottom:0}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.name{font-weight:600}
.badge{display:inline-block;border-radius:4px;padding:1px 7px;font-size:12px;font-weight:600;white-space:nowrap}
.st-ok{background:var(--okbg);color:var(--ok);border-color:#b9e2c5}
.st-rate_limited{background:var(--warnbg);color:var(--warn);border-color:#f1d48c}
.st-needs_reauth,.st-failing{background:var(--badbg);color:var(--bad);border-color:#f3b5b3}
.reason{font-size:12.5px;max-width:340px;overflow-wrap:anywhere}
td.hook{max-width:520px}
.kv{display:flex;gap:6px;align-items:baseline;margin:1px 0}.k{font-size:11px;color:var(--muted);width:44px;flex:none}
code{font-size:12px;background:#f1f3f6;border:1px solid var(--line);border-radius:3px;padding:0 4px;overflow-wrap:anywhere}
code.sel{user-select:all}
.warn{color:var(--bad);font-weight:600}
.flash{padding:6px 10px;border-radius:4px}.flash.ok{background:var(--okbg);color:var(--ok)}.flash.error{background:var(--badbg);color:var(--bad)}
button{font:inherit;font-size:12px;padding:2px 10px;border:1px solid #b9c0cb;border-radius:4px;background:#fff;cursor:pointer}button:hover{background:#eef0f3}
form.replay{margin:0}.nowrap{white-space:nowrap}table.dlq td{vertical-align:middle}
`;

const SCRIPT = `
(function(){var box=document.getElementById('auto');if(!box)return;
try{box.checked=localStorage.getItem('tpcc-auto-refresh')!=='0'}catch(e){}
box.addEventListener('change',function(){try{localStorage.setItem('tpcc-auto-refresh',box.checked?'1':'0')}catch(e){}});
setInterval(function(){if(box.checked&&!document.hidden)location.replace(location.pathname)},15000);})();
`;
