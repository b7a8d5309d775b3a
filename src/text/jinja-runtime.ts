// Renders chat templates with @huggingface/jinja the way transformers does: trim_blocks + lstrip_blocks, and a
// `tojson` that is Python's json.dumps (floats keep `1.0`, ensure_ascii/indent/separators/sort_keys honoured).

import * as jinja from '@huggingface/jinja';
import { dumpNode, isFloatField } from './py-json.js';
import type { DumpOptions, JsonNode } from './py-json.js';

// The package's .d.ts files use extensionless relative imports that NodeNext cannot resolve (its types come out
// as any), so the few members used here are typed locally.
interface Runtime {
  type: string;
  value: unknown;
}
type Statement = unknown;
type Program = unknown;
interface Environment {
  set(name: string, value: unknown): Runtime;
}
interface InterpreterApi {
  evaluate(statement: Statement, env: Environment): Runtime;
  run(program: Program): Runtime;
}
type Ctor = new (value: unknown) => Runtime;
const Environment = jinja.Environment as unknown as new () => Environment;
const Interpreter = jinja.Interpreter as unknown as new (env: Environment) => InterpreterApi;
const parse = jinja.parse as unknown as (tokens: unknown) => Program;
const tokenize = jinja.tokenize as unknown as (source: string, options: { lstrip_blocks: boolean; trim_blocks: boolean }) => unknown;

// The runtime value classes are not exported; take their constructors from values the library makes itself.
const probe = new Environment();
const FloatValue = probe.set('f', 0.5).constructor as Ctor;
const StringValue = probe.set('s', '').constructor as Ctor;

interface AstNode {
  type: string;
  value?: unknown;
  operand?: AstNode;
  filter?: AstNode;
  callee?: AstNode;
  args?: AstNode[];
  key?: AstNode;
}

function runtimeToNode(v: Runtime): JsonNode {
  const raw = v.value;
  switch (v.type) {
    case 'NullValue':
    case 'UndefinedValue':
      return { kind: 'null' };
    case 'BooleanValue':
      return { kind: 'bool', value: raw as boolean };
    case 'IntegerValue':
      return { kind: 'int', value: raw as number };
    case 'FloatValue':
      return { kind: 'float', value: raw as number };
    case 'StringValue':
      return { kind: 'string', value: raw as string };
    case 'ArrayValue':
    case 'TupleValue':
      return { kind: 'array', items: (raw as Runtime[]).map(runtimeToNode) };
    case 'ObjectValue':
    case 'NamespaceValue':
      return { kind: 'object', entries: [...(raw as Map<string, Runtime>)].map(([k, x]) => [k, runtimeToNode(x)] as const) };
    default:
      throw new Error(`Object of type ${v.type} is not JSON serializable`);
  }
}

/** Interpreter whose `tojson` filter is transformers' (json.dumps with ensure_ascii=False by default). */
class PyInterpreter extends Interpreter {
  override evaluate(statement: Statement, env: Environment): Runtime {
    const node = statement as AstNode | undefined;
    if (node?.type === 'FilterExpression' && node.filter) {
      const f = node.filter;
      const isTojson =
        (f.type === 'Identifier' && f.value === 'tojson') || (f.type === 'CallExpression' && f.callee?.type === 'Identifier' && f.callee.value === 'tojson');
      if (isTojson) {
        const operand = this.evaluate(node.operand, env);
        return new StringValue(dumpNode(runtimeToNode(operand), this.dumpOptions(f.args ?? [], env)));
      }
    }
    return super.evaluate(statement, env);
  }

  private dumpOptions(args: AstNode[], env: Environment): DumpOptions {
    const opts: { ensureAscii?: boolean; indent?: number | null; separators?: [string, string]; sortKeys?: boolean } = {};
    for (const a of args) {
      if (a.type !== 'KeywordArgumentExpression' || !a.key) throw new Error('tojson takes keyword arguments only');
      const v = this.evaluate(a.value, env).value;
      switch (a.key.value) {
        case 'ensure_ascii':
          opts.ensureAscii = Boolean(v);
          break;
        case 'indent':
          opts.indent = (v as number | null) ?? null;
          break;
        case 'sort_keys':
          opts.sortKeys = Boolean(v);
          break;
        case 'separators': {
          const pair = v as Runtime[] | null;
          if (pair) opts.separators = [String(pair[0]!.value), String(pair[1]!.value)];
          break;
        }
        default:
          throw new Error(`tojson got an unexpected keyword argument '${String(a.key.value)}'`);
      }
    }
    return opts;
  }
}

/** Replaces IntegerValues that parseJson saw written as floats with FloatValues (so `{{ x }}` and tojson print 1.0). */
function restoreFloats(js: unknown, rt: Runtime): void {
  if (Array.isArray(js) && rt.type === 'ArrayValue') {
    const items = (rt as { value: Runtime[] }).value;
    js.forEach((x, i) => {
      if (typeof x === 'number' && isFloatField(js, i)) items[i] = new FloatValue(x);
      else restoreFloats(x, items[i]!);
    });
  } else if (js && typeof js === 'object' && rt.type === 'ObjectValue') {
    const map = (rt as { value: Map<string, Runtime> }).value;
    for (const [k, x] of Object.entries(js)) {
      if (typeof x === 'number' && isFloatField(js, k)) map.set(k, new FloatValue(x));
      else if (map.has(k)) restoreFloats(x, map.get(k)!);
    }
  }
}

function range(start: number, stop?: number, step = 1): number[] {
  if (stop === undefined) [start, stop] = [0, start];
  const out: number[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(i);
  return out;
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** The strftime subset chat templates use (e.g. "%d %b %Y" for a date line). */
function strftimeNow(format: string): string {
  const d = new Date();
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const map: Record<string, string> = {
    Y: String(d.getFullYear()),
    y: p2(d.getFullYear() % 100),
    m: p2(d.getMonth() + 1),
    d: p2(d.getDate()),
    B: MONTHS[d.getMonth()]!,
    b: MONTHS[d.getMonth()]!.slice(0, 3),
    A: DAYS[d.getDay()]!,
    a: DAYS[d.getDay()]!.slice(0, 3),
    H: p2(d.getHours()),
    M: p2(d.getMinutes()),
    S: p2(d.getSeconds()),
    '%': '%',
  };
  return format.replace(/%(.)/g, (m, c: string) => map[c] ?? m);
}

/** A parsed template; render() takes plain JS values (float marks from parseJson are honoured). */
export class JinjaTemplate {
  private readonly program: Program;

  constructor(readonly source: string) {
    this.program = parse(tokenize(source, { lstrip_blocks: true, trim_blocks: true }));
  }

  render(variables: Record<string, unknown>): string {
    const env = new Environment();
    const globals: Record<string, unknown> = {
      false: false,
      true: true,
      none: null,
      False: false,
      True: true,
      None: null,
      raise_exception: (msg: unknown) => {
        throw new TemplateError(String(msg));
      },
      range,
      strftime_now: strftimeNow,
    };
    for (const [k, v] of Object.entries(globals)) env.set(k, v);
    for (const [k, v] of Object.entries(variables)) {
      if (v === undefined) continue; // undefined stays "not defined" for `is defined` tests
      restoreFloats(v, env.set(k, v));
    }
    return String(new PyInterpreter(env).run(this.program).value);
  }
}

/** raise_exception() in a template, or input the template cannot render. */
export class TemplateError extends Error {
  override name = 'TemplateError';
}
