// JSON the way Python writes it (json.dumps defaults: ", " / ": ", non-ASCII raw, floats keep ".0"), plus a parser
// that remembers which integral numbers were written as floats (`1.0`), so a tool schema renders byte-identically.

export interface DumpOptions {
  readonly ensureAscii?: boolean;
  readonly indent?: number | null;
  readonly separators?: readonly [string, string] | null;
  readonly sortKeys?: boolean;
}

// container → keys (or array indices) whose number was written with a '.' or an exponent in the source JSON.
// A side table, so parsed values stay plain JS objects for everyone else.
const floatFields = new WeakMap<object, Set<string | number>>();

export function isFloatField(container: object, key: string | number): boolean {
  return floatFields.get(container)?.has(key) ?? false;
}

export function markFloatField(container: object, key: string | number): void {
  let set = floatFields.get(container);
  if (!set) floatFields.set(container, (set = new Set()));
  set.add(key);
}

/**
 * JSON.parse, but an integral number written as a float (`1.0`, `2e3`) is recorded with markFloatField so
 * pyJsonDumps and the chat template print it back as `1.0` like Python does. Throws SyntaxError like JSON.parse.
 */
export function parseJson(text: string): unknown {
  const value = JSON.parse(text) as unknown; // validates and gives JSON.parse's exact values and errors
  if (!/[.eE]/.test(text)) return value;
  const numbers = floatLiteralFlags(text);
  let k = 0;
  // JSON.parse builds containers in source order; a depth-first walk in key order meets numbers in the same order.
  const walk = (v: unknown, parent: object | null, key: string | number): void => {
    if (typeof v === 'number') {
      if (numbers[k++] && Number.isInteger(v) && parent) markFloatField(parent, key);
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, v, i));
    else if (v && typeof v === 'object') for (const [kk, x] of Object.entries(v)) walk(x, v, kk);
  };
  if (!hasReorderedKeys(value)) walk(value, null, 0);
  return value;
}

/** For each number literal outside strings, in source order: was it written as a float? */
function floatLiteralFlags(text: string): boolean[] {
  const out: boolean[] = [];
  const re = /"(?:[^"\\]|\\.)*"|-?\d+(\.\d+)?([eE][+-]?\d+)?/g;
  for (let m = re.exec(text); m; m = re.exec(text)) if (m[0][0] !== '"') out.push(m[1] !== undefined || m[2] !== undefined);
  return out;
}

/** JS lists integer-like keys first, so the walk order would differ from the source; give up marking then. */
function hasReorderedKeys(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasReorderedKeys);
  if (v && typeof v === 'object') return Object.entries(v).some(([k, x]) => /^(0|[1-9]\d*)$/.test(k) || hasReorderedKeys(x));
  return false;
}

/** Python's repr of a float: shortest round-trip digits, exponent form below 1e-4 and from 1e16, `.0` when integral. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, expStr] = x.toExponential().split('e') as [string, string];
  const exp = Number(expStr);
  if (exp < -4 || exp >= 16) return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  const s = x.toFixed(Math.max(0, (mant.split('.')[1]?.length ?? 0) - exp));
  return s.includes('.') ? s : s + '.0';
}

/** Python's int(x) printing of a JS integer (no exponent form). */
export function pyIntRepr(x: number): string {
  return Number.isSafeInteger(x) ? String(x) : BigInt(x).toString();
}

export function pyJsonString(s: string, ensureAscii: boolean): string {
  let out = JSON.stringify(s); // same escapes as Python for everything but lone surrogates
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the range is every ASCII code unit, matching Python's ensure_ascii
  if (ensureAscii) out = out.replace(/[^\x00-\x7f]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
  return out;
}

/** A JSON value the way Python's json.dumps(value, **options) writes it (float marks from parseJson respected). */
export function pyJsonDumps(value: unknown, options: DumpOptions = {}): string {
  return dumpNode(toNode(value, false), options);
}

/** A value neutral between JS values and the jinja runtime, so both print through one Python-exact writer. */
export type JsonNode =
  | { readonly kind: 'null' }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'int' | 'float'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'array'; readonly items: readonly JsonNode[] }
  | { readonly kind: 'object'; readonly entries: readonly (readonly [string, JsonNode])[] };

function toNode(v: unknown, isFloat: boolean): JsonNode {
  if (v === null || v === undefined) return { kind: 'null' };
  if (typeof v === 'boolean') return { kind: 'bool', value: v };
  if (typeof v === 'number') return { kind: isFloat || !Number.isInteger(v) ? 'float' : 'int', value: v };
  if (typeof v === 'string') return { kind: 'string', value: v };
  if (Array.isArray(v)) return { kind: 'array', items: v.map((x, i) => toNode(x, isFloatField(v, i))) };
  if (typeof v === 'object') {
    return { kind: 'object', entries: Object.entries(v).map(([k, x]) => [k, toNode(x, isFloatField(v, k))] as const) };
  }
  throw new TypeError(`Object of type ${typeof v} is not JSON serializable`);
}

export function dumpNode(node: JsonNode, options: DumpOptions, depth = 0): string {
  const indent = options.indent ?? null;
  const [itemSep, keySep] = options.separators ?? (indent !== null ? [',', ': '] : [', ', ': ']);
  const ascii = options.ensureAscii ?? false;
  switch (node.kind) {
    case 'null':
      return 'null';
    case 'bool':
      return node.value ? 'true' : 'false';
    case 'int':
      return pyIntRepr(node.value);
    case 'float':
      return pyFloatRepr(node.value);
    case 'string':
      return pyJsonString(node.value, ascii);
    case 'array':
    case 'object': {
      const parts =
        node.kind === 'array'
          ? node.items.map((x) => dumpNode(x, options, depth + 1))
          : (options.sortKeys ? [...node.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) : node.entries).map(
              ([k, x]) => pyJsonString(k, ascii) + keySep + dumpNode(x, options, depth + 1),
            );
      const [open, close] = node.kind === 'array' ? ['[', ']'] : ['{', '}'];
      if (parts.length === 0) return open + close;
      if (indent === null) return open + parts.join(itemSep) + close;
      const pad = '\n' + ' '.repeat(indent * (depth + 1));
      return open + pad + parts.join(itemSep + pad) + '\n' + ' '.repeat(indent * depth) + close;
    }
  }
}
