// Typing of GLM tool-call argument values (all arrive as text) from the request's JSON schema (spec §4).

import { markFloatField, parseJson } from './py-json.js';
import type { ToolDefinition } from './chat-messages.js';

type Schema = Record<string, unknown>;

/** Property schemas per tool name, taken from the request's tools. */
export class ToolSchemas {
  private readonly props = new Map<string, Map<string, Schema>>();

  constructor(tools: readonly ToolDefinition[] | null | undefined) {
    for (const t of tools ?? []) {
      const fn = t?.function;
      if (!fn || typeof fn.name !== 'string') continue;
      const properties = (fn.parameters as { properties?: Record<string, Schema> } | undefined)?.properties;
      this.props.set(fn.name, new Map(Object.entries(properties && typeof properties === 'object' ? properties : {})));
    }
  }

  /** Values of string-typed properties are kept verbatim (whitespace matters in code edits) and can stream. */
  isStringArg(tool: string, key: string): boolean {
    const s = this.props.get(tool)?.get(key);
    return s !== undefined && acceptsString(s);
  }

  /** Converts one raw `<arg_value>` text to its JSON value and stores it in args under key. */
  setArg(args: Record<string, unknown>, tool: string, key: string, raw: string): void {
    const schema = this.props.get(tool)?.get(key);
    if (schema && acceptsString(schema)) {
      args[key] = raw;
      return;
    }
    const text = raw.trim();
    let value = decodeValue(text);
    // SGLang: a number-typed value the model quoted ("5") still becomes a number.
    if (typeof value === 'string' && schema && isNumeric(schema) && /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(value.trim())) {
      value = Number(value.trim());
    }
    args[key] = value;
    if (typeof value === 'number' && Number.isInteger(value) && /^-?\d+(\.\d+|(\.\d+)?[eE][+-]?\d+)$/.test(text)) markFloatField(args, key);
  }
}

function acceptsString(s: Schema): boolean {
  const t = s.type;
  if (t === 'string' || (Array.isArray(t) && t.includes('string'))) return true;
  for (const k of ['anyOf', 'oneOf'] as const) {
    const alts = s[k];
    if (Array.isArray(alts) && alts.some((a) => a && typeof a === 'object' && acceptsString(a as Schema))) return true;
  }
  return false;
}

function isNumeric(s: Schema): boolean {
  return s.type === 'number' || s.type === 'integer';
}

/** JSON first, then backslash-escaped JSON (`{\"a\": 1}`), then Python literals, else the text itself. */
export function decodeValue(text: string): unknown {
  try {
    return parseJson(text);
  } catch {
    /* not JSON */
  }
  if (text.includes('\\"')) {
    try {
      return parseJson(text.replace(/\\"/g, '"'));
    } catch {
      /* not escaped JSON either */
    }
  }
  const py = parsePythonLiteral(text);
  return py.ok ? py.value : text;
}

/** ast.literal_eval's subset that models write: str, int, float, True/False/None, list, tuple, dict. */
export function parsePythonLiteral(text: string): { ok: true; value: unknown } | { ok: false } {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const fail = (): never => {
    throw new SyntaxError('not a Python literal');
  };
  const value = (): unknown => {
    ws();
    const c = text[i];
    if (c === '"' || c === "'") return str(c);
    if (c === '[' || c === '(') return seq(c === '[' ? ']' : ')');
    if (c === '{') return dict();
    const m = /^(True|False|None|[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)/.exec(text.slice(i));
    if (!m) return fail();
    i += m[0].length;
    return m[0] === 'True' ? true : m[0] === 'False' ? false : m[0] === 'None' ? null : Number(m[0]);
  };
  const str = (q: string): string => {
    let out = '';
    i++;
    while (i < text.length && text[i] !== q) {
      if (text[i] === '\\') {
        const e = text[++i];
        const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0' };
        if (e === 'u' || e === 'x') {
          const n = e === 'u' ? 4 : 2;
          out += String.fromCharCode(parseInt(text.slice(i + 1, i + 1 + n), 16));
          i += n;
        } else out += simple[e!] ?? '\\' + e;
        i++;
      } else out += text[i++];
    }
    if (text[i] !== q) fail();
    i++;
    return out;
  };
  const seq = (close: string): unknown[] => {
    const out: unknown[] = [];
    i++;
    for (ws(); text[i] !== close; ws()) {
      out.push(value());
      ws();
      if (text[i] === ',') i++;
      else if (text[i] !== close) fail();
    }
    i++;
    return out;
  };
  const dict = (): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    i++;
    for (ws(); text[i] !== '}'; ws()) {
      const k = value();
      ws();
      if (text[i++] !== ':') fail();
      out[String(k)] = value();
      ws();
      if (text[i] === ',') i++;
      else if (text[i] !== '}') fail();
    }
    i++;
    return out;
  };
  try {
    const v = value();
    ws();
    return i === text.length ? { ok: true, value: v } : { ok: false };
  } catch {
    return { ok: false };
  }
}
