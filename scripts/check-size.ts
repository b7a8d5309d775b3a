// The size budget of docs/architecture.md, checked: no TypeScript file under src/ over 500 lines and no function
// (declaration, method, arrow or function expression) over 120 lines. Prints each offender; exits 1 if any.
//
//   node --import tsx scripts/check-size.ts [--max-file N] [--max-function N] [DIR…]

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

export interface SizeFinding {
  readonly file: string;
  readonly line: number;
  readonly what: string;
  readonly lines: number;
  readonly limit: number;
}

/** Offenders in one source text (exported for the test of this check). */
export function sizeFindings(file: string, text: string, maxFile: number, maxFunction: number): SizeFinding[] {
  const out: SizeFinding[] = [];
  const src = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const total = src.getLineAndCharacterOfPosition(text.length).line + (text.endsWith('\n') ? 0 : 1);
  if (total > maxFile) out.push({ file, line: 1, what: 'file', lines: total, limit: maxFile });
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = src.getLineAndCharacterOfPosition(node.getStart(src)).line;
      const end = src.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = end - start + 1;
      if (lines > maxFunction) out.push({ file, line: start + 1, what: `function ${nameOf(node)}`, lines, limit: maxFunction });
    }
    ts.forEachChild(node, visit);
  };
  visit(src);
  return out;
}

function nameOf(node: ts.SignatureDeclaration): string {
  const n = node.name;
  if (n && (ts.isIdentifier(n) || ts.isStringLiteral(n))) return n.text;
  const p = node.parent;
  if (p && ts.isVariableDeclaration(p) && ts.isIdentifier(p.name)) return p.name.text;
  if (p && ts.isPropertyAssignment(p) && ts.isIdentifier(p.name)) return p.name.text;
  return '(anonymous)';
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) for (const f of tsFiles(p)) out.push(f);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function main(argv: string[]): number {
  let maxFile = 500,
    maxFunction = 120;
  const dirs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--max-file') maxFile = Number(argv[++i]);
    else if (argv[i] === '--max-function') maxFunction = Number(argv[++i]);
    else dirs.push(argv[i]!);
  }
  if (dirs.length === 0) dirs.push('src');
  const findings: SizeFinding[] = [];
  for (const d of dirs) {
    for (const f of tsFiles(d)) {
      for (const x of sizeFindings(relative(process.cwd(), f), readFileSync(f, 'utf8'), maxFile, maxFunction)) findings.push(x);
    }
  }
  for (const f of findings) console.error(`${f.file}:${f.line}: ${f.what} has ${f.lines} lines (budget ${f.limit})`);
  if (findings.length) console.error(`check-size: ${findings.length} over budget`);
  return findings.length ? 1 : 0;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) process.exit(main(process.argv.slice(2)));
