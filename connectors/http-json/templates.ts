// Pure template rendering: URL paths with {id}, JSON bodies with {{method}}/{{params}}/{{device}}, signed payloads.
import { PermanentError } from '../../src/core/errors.js';
import type { JsonValue } from '../../src/core/messages.js';

export const PATH_VARS = ['id', 'device', 'method', 'messageId'] as const;
export const BODY_VARS = ['method', 'params', 'device', 'messageId', 'kind'] as const;

/** Placeholders `{name}` used by a path template (names only; `{{` is not a path placeholder). */
export function pathPlaceholders(template: string): string[] {
  return [...template.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1] ?? '');
}

/** Fills `{id}` (alias `{device}`), `{method}`, `{messageId}`, each percent-encoded as one path segment/value. */
export function renderPath(template: string, vars: Partial<Record<(typeof PATH_VARS)[number], string>>, field: string): string {
  return template.replace(/\{([^{}]*)\}/g, (_m, name: string) => {
    const key = name.trim() as (typeof PATH_VARS)[number];
    if (!(PATH_VARS as readonly string[]).includes(key)) throw new PermanentError(`${field}: unknown placeholder {${name}} (allowed: ${PATH_VARS.map((v) => `{${v}}`).join(' ')})`);
    const value = key === 'device' ? vars.id ?? vars.device : vars[key];
    if (value === undefined) throw new PermanentError(`${field}: placeholder {${name}} has no value here`);
    // "." and ".." would be resolved as path segments by the URL parser, even percent-encoded.
    if (value === '.' || value === '..') throw new PermanentError(`${field}: value of {${name}} is not a valid path segment`);
    return encodeURIComponent(value);
  });
}

function lookup(vars: Record<string, JsonValue | undefined>, path: string, field: string): JsonValue | undefined {
  const parts = path.split('.').map((p) => p.trim());
  const root = parts.shift() ?? '';
  if (!(BODY_VARS as readonly string[]).includes(root)) {
    throw new PermanentError(`${field}: unknown placeholder {{${path}}} (allowed: ${BODY_VARS.map((v) => `{{${v}}}`).join(' ')}, and paths like {{params.x}})`);
  }
  let v: JsonValue | undefined = vars[root];
  for (const p of parts) {
    if (v === null || v === undefined || typeof v !== 'object') return undefined;
    v = Array.isArray(v) ? (/^\d+$/.test(p) ? v[Number(p)] : undefined) : Object.prototype.hasOwnProperty.call(v, p) ? v[p] : undefined;
  }
  return v;
}

/**
 * Renders a JSON body template. A placeholder that is a whole JSON string (`"{{params}}"`) becomes the JSON
 * value itself; inside a longer string it is inserted as text; outside strings (`{{params}}`) as JSON.
 * Returns undefined for an empty template (no body).
 */
export function renderJsonTemplate(template: string, vars: Record<string, JsonValue | undefined>, field: string): JsonValue | undefined {
  if (template.trim() === '') return undefined;
  let out = '';
  let inStr = false;
  let esc = false;
  let strStart = -1;
  for (let i = 0; i < template.length; ) {
    if (!esc && template.startsWith('{{', i)) {
      const end = template.indexOf('}}', i + 2);
      if (end < 0) throw new PermanentError(`${field}: unclosed {{ placeholder`);
      const value = lookup(vars, template.slice(i + 2, end).trim(), field);
      i = end + 2;
      if (inStr && out.length === strStart + 1 && template[i] === '"') {
        out = out.slice(0, strStart) + JSON.stringify(value ?? null);
        inStr = false;
        i += 1;
      } else if (inStr) {
        const s = value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
        out += JSON.stringify(s).slice(1, -1);
      } else {
        out += JSON.stringify(value ?? null);
      }
      continue;
    }
    const ch = template[i]!;
    if (inStr) {
      if (esc) esc = false;
      else if (ch === '\\') esc = true;
      else if (ch === '"') inStr = false;
    } else if (ch === '"') {
      inStr = true;
      strStart = out.length;
    }
    out += ch;
    i += 1;
  }
  try {
    return JSON.parse(out) as JsonValue;
  } catch (err) {
    throw new PermanentError(`${field}: not valid JSON after filling the placeholders (${(err as Error).message.slice(0, 120)})`);
  }
}

/** Checks a body template without real values: every placeholder known, JSON valid. Returns a problem or null. */
export function checkJsonTemplate(template: string): string | null {
  try {
    renderJsonTemplate(template, { method: 'm', params: { a: 1 }, device: 'd', messageId: 'x', kind: 'command' }, 'command_body');
    return null;
  } catch (err) {
    return (err as Error).message.replace(/^command_body: /, '');
  }
}

/** Splits a signed-payload template such as `{timestamp}.{body}` into literal text and the two slots. */
export function parseSignedPayload(template: string): ({ text: string } | { slot: 'body' | 'timestamp' })[] {
  const parts: ({ text: string } | { slot: 'body' | 'timestamp' })[] = [];
  let bodies = 0;
  let last = 0;
  for (const m of template.matchAll(/\{(body|timestamp)\}/g)) {
    if (m.index > last) parts.push({ text: template.slice(last, m.index) });
    const slot = m[1] as 'body' | 'timestamp';
    if (slot === 'body') bodies += 1;
    parts.push({ slot });
    last = m.index + m[0].length;
  }
  if (last < template.length) parts.push({ text: template.slice(last) });
  if (bodies !== 1) throw new PermanentError('signed_payload must contain {body} exactly once');
  return parts;
}
