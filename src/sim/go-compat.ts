// Go/gin behaviours the simulator reproduces: JSON request binding (encoding/json + validator messages),
// the response envelope with localised messages (configs/messages.yaml), JSON output (HTML-escaped,
// map keys sorted) and time.Time formatting (RFC 3339 with trimmed fraction).

export type GoFieldType = 'string' | 'int';

export interface GoField {
  /** JSON key (json tag). */
  json: string;
  /** Go field name, used in error messages. */
  go: string;
  type: GoFieldType;
  required?: boolean;
  /** max length (strings) */
  max?: number;
  /** numeric bounds (ints) */
  gte?: number;
  lte?: number;
}

export interface GoStruct {
  /** e.g. "model.HeartbeatReq" */
  name: string;
  /** 'binding' = gin ShouldBindJSON validator messages; 'validate' = api.ValidateStruct messages. */
  style: 'binding' | 'validate';
  fields: GoField[];
}

export type BindResult = { ok: true; value: Record<string, string | number> } | { ok: false; message: string };

function jsType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'object';
  return typeof v; // string | number | boolean
}

/** encoding/json field matching: exact key first, otherwise the case-insensitive one. */
function lookup(obj: Record<string, unknown>, key: string): unknown {
  if (Object.prototype.hasOwnProperty.call(obj, key)) return obj[key];
  const lower = key.toLowerCase();
  let found: unknown;
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === lower) found = v;
  return found;
}

function shortName(struct: string): string {
  const i = struct.lastIndexOf('.');
  return i >= 0 ? struct.slice(i + 1) : struct;
}

/** ShouldBindJSON + validation, with the error texts the Go backend would put in `message` (code 100002). */
export function bindJson(raw: string | undefined, struct: GoStruct): BindResult {
  const text = raw ?? '';
  if (text.trim() === '') return { ok: false, message: 'EOF' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { ok: false, message: `invalid character in JSON input: ${(e as Error).message}` };
  }
  const value: Record<string, string | number> = {};
  for (const f of struct.fields) value[f.json] = f.type === 'string' ? '' : 0;
  if (parsed !== null) {
    if (typeof parsed !== 'object' || Array.isArray(parsed)) {
      return { ok: false, message: `json: cannot unmarshal ${jsType(parsed)} into Go value of type ${struct.name}` };
    }
    const obj = parsed as Record<string, unknown>;
    for (const f of struct.fields) {
      const v = lookup(obj, f.json);
      if (v === undefined || v === null) continue;
      if (f.type === 'string') {
        if (typeof v !== 'string') {
          return { ok: false, message: `json: cannot unmarshal ${jsType(v)} into Go struct field ${shortName(struct.name)}.${f.json} of type string` };
        }
        value[f.json] = v;
      } else {
        if (typeof v !== 'number' || !Number.isInteger(v)) {
          const what = typeof v === 'number' ? `number ${v}` : jsType(v);
          return { ok: false, message: `json: cannot unmarshal ${what} into Go struct field ${shortName(struct.name)}.${f.json} of type int` };
        }
        value[f.json] = v;
      }
    }
  }
  for (const f of struct.fields) {
    const v = value[f.json];
    const zero = v === '' || v === 0;
    let tag: string | null = null;
    let param = '';
    if (f.required && zero) tag = 'required';
    else if (!zero && f.max !== undefined && typeof v === 'string' && [...v].length > f.max) {
      tag = 'max';
      param = String(f.max);
    } else if (!zero && f.gte !== undefined && typeof v === 'number' && v < f.gte) {
      tag = 'gte';
      param = String(f.gte);
    } else if (f.lte !== undefined && typeof v === 'number' && v > f.lte) {
      tag = 'lte';
      param = String(f.lte);
    }
    if (!tag) continue;
    if (struct.style === 'binding') {
      return { ok: false, message: `Key: '${shortName(struct.name)}.${f.go}' Error:Field validation for '${f.go}' failed on the '${tag}' tag` };
    }
    switch (tag) {
      case 'required':
        return { ok: false, message: `Field '${f.go}' is required` };
      case 'gte':
        return { ok: false, message: `The value of field '${f.go}' must be at least ${param}` };
      case 'lte':
        return { ok: false, message: `The value of field '${f.go}' must be at most ${param}` };
      default:
        return { ok: false, message: `Field '${f.go}' failed validation (At most ${param} characters)` };
    }
  }
  return { ok: true, value };
}

// ---- response envelope -------------------------------------------------------------------------

const MESSAGES: Record<number, { zh_CN: string; en_US: string }> = {
  200: { zh_CN: '操作成功', en_US: 'Success' },
  100000: { zh_CN: '系统内部错误', en_US: 'Internal Server Error' },
  100002: { zh_CN: '请求参数验证失败', en_US: 'Parameter Validation Failed' },
  101001: { zh_CN: '数据库连接失败', en_US: 'Database Connection Failed' },
};

/** errcode.ErrorManager.GetMessage: default language zh_CN; Accept-Language picks en_US when preferred. */
export function localisedMessage(code: number, acceptLanguage: string | undefined): string {
  const m = MESSAGES[code];
  const langs = (acceptLanguage ?? '')
    .split(',')
    .map((p) => p.split(';')[0]?.trim().toLowerCase() ?? '')
    .filter((s) => s !== '');
  let lang: 'zh_CN' | 'en_US' = 'zh_CN';
  for (const l of langs) {
    if (l.startsWith('en')) { lang = 'en_US'; break; }
    if (l.startsWith('zh')) { lang = 'zh_CN'; break; }
  }
  if (!m) return lang === 'zh_CN' ? '未知错误' : 'Unknown Error';
  return m[lang];
}

export interface GoEnvelope {
  code: number;
  message: string;
  data?: unknown;
}

/** Success envelope (`data` is `omitempty` on an interface: only an untyped nil disappears, so we always keep it). */
export function okEnvelope(data: unknown, acceptLanguage: string | undefined): GoEnvelope {
  return { code: 200, message: localisedMessage(200, acceptLanguage), data };
}

/** errcode.WithData(code, data): message comes from messages.yaml. */
export function errWithData(code: number, data: Record<string, unknown>, acceptLanguage: string | undefined): GoEnvelope {
  return { code, message: localisedMessage(code, acceptLanguage), data };
}

/** errcode.NewWithMessage(code, msg): custom message, no data. */
export function errWithMessage(code: number, message: string): GoEnvelope {
  return { code, message };
}

// ---- JSON output ---------------------------------------------------------------------------------

/** encoding/json output: HTML-safe escaping of <, >, & and U+2028/U+2029. */
export function goJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Go maps marshal with sorted keys (recursively for nested map[string]interface{}). */
export function sortKeysDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeysDeep);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as Record<string, unknown>).sort()) out[k] = sortKeysDeep((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/** time.Time MarshalJSON (RFC3339Nano, UTC): fractional seconds with trailing zeros trimmed. */
export function goTime(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-08-01T10:00:00.120Z
  return iso.replace(/\.(\d+)Z$/, (_, frac: string) => {
    const t = frac.replace(/0+$/, '');
    return t === '' ? 'Z' : `.${t}Z`;
  });
}

/** service.IsJSON + json.Unmarshal into map[string]interface{}: only JSON objects survive, else null. */
export function parseGoMap(raw: string | null | undefined): Record<string, unknown> | null {
  if (raw === null || raw === undefined) return null;
  try {
    const v = JSON.parse(raw) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (sortKeysDeep(v) as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
