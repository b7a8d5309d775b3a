// Fails on a spread argument in a call or `new` (`xs.push(...ys)`, `Math.max(...xs)`, `f(...args)`): V8 puts
// every element on the stack and throws "Maximum call stack size exceeded" past roughly 125K of them, and a long
// prompt's token ids are more. Loop instead (src/tensor/arrays.ts has pushAll / maxOf / minOf). A spread whose
// length is small by construction may stay when its line (or a comment line just above) says why:
// `// spread-ok: <reason>`. Array literals `[...xs]` and object spreads are fine: they build no argument list.
//
//   node --import tsx scripts/check-spread.ts            (part of `npm run check`)

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..');
const DIRS = ['src', 'bench', 'test', 'scripts', 'eval', 'web'];
const SKIP = new Set(['node_modules', 'llamacpp', '.models', 'artifacts']);
const JUSTIFIED = /\/\/\s*spread-ok:\s*\S/;

export interface SpreadFinding {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  readonly column: number;
  /** The call as written, shortened to one line. */
  readonly text: string;
}

/** Spread arguments in calls and `new` expressions of one source text that carry no `// spread-ok:` reason. */
export function findSpreadCalls(file: string, source: string): SpreadFinding[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const lines = source.split('\n');
  const justified = (line: number): boolean => {
    if (JUSTIFIED.test(lines[line] ?? '')) return true;
    const above = (lines[line - 1] ?? '').trim();
    return above.startsWith('//') && JUSTIFIED.test(above);
  };
  const found: SpreadFinding[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isCallExpression(node) || ts.isNewExpression(node)) && node.arguments) {
      for (const arg of node.arguments) {
        if (!ts.isSpreadElement(arg)) continue;
        const { line, character } = sf.getLineAndCharacterOfPosition(arg.getStart(sf));
        if (justified(line)) continue;
        const text = node.getText(sf).replace(/\s+/g, ' ');
        found.push({ file, line: line + 1, column: character + 1, text: text.length > 100 ? `${text.slice(0, 97)}...` : text });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name) || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory())
      out.push(...tsFiles(p)); // spread-ok: one directory's entries
    else if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Every finding under the project's TypeScript folders. */
export function checkTree(root: string = ROOT): SpreadFinding[] {
  const found: SpreadFinding[] = [];
  for (const d of DIRS) {
    let files: string[];
    try {
      files = tsFiles(join(root, d));
    } catch {
      continue; // a folder this checkout does not have
    }
    for (const f of files.sort()) for (const x of findSpreadCalls(relative(root, f), readFileSync(f, 'utf8'))) found.push(x);
  }
  return found;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const found = checkTree();
  for (const f of found) console.error(`${f.file}:${f.line}:${f.column}: spread argument in a call: ${f.text}`);
  if (found.length > 0) {
    console.error(
      `check-spread: ${found.length} spread argument(s) in calls. A long array overflows the stack there: loop ` +
        '(pushAll / maxOf / minOf in src/tensor/arrays.ts), or add `// spread-ok: <why it is short>` to the line.',
    );
    process.exitCode = 1;
  } else console.log('check-spread: no unbounded spread arguments in calls');
}
