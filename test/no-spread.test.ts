// scripts/check-spread.ts: spread arguments in calls are found (they overflow the stack past ~125K elements),
// array literals and object spreads are not, and `// spread-ok: <reason>` lets a short, fixed spread stay.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkTree, findSpreadCalls } from '../scripts/check-spread.js';
import { maxOf, minOf, pushAll } from '../src/tensor/arrays.js';

const lines = (src: string): number[] => findSpreadCalls('sample.ts', src).map((f) => f.line);

test('check-spread finds spread arguments in calls and new expressions', () => {
  const src = [
    'const ids: number[] = [];',
    'ids.push(...tokenizer.encode(text));',
    'const m = Math.max(...scores);',
    'fn(1, ...args);',
    'const d = new Date(...parts);',
    'class B extends A { constructor(...a: number[]) { super(...a); } }',
    'outer(inner(...xs));',
  ].join('\n');
  assert.deepEqual(lines(src), [2, 3, 4, 5, 6, 7]);
  const [first] = findSpreadCalls('sample.ts', src);
  assert.deepEqual(first, { file: 'sample.ts', line: 2, column: 10, text: 'ids.push(...tokenizer.encode(text))' });
});

test('check-spread leaves array literals, object spreads and rest parameters alone', () => {
  const src = [
    'const all = [...a, ...b];',
    'const o = { ...base, x: 1 };',
    'function f(...rest: number[]) { return rest.length; }',
    'g([...xs]);',
    'const { a, ...others } = o;',
  ].join('\n');
  assert.deepEqual(lines(src), []);
});

test('check-spread accepts a spread only with a spread-ok reason, on its line or the comment line above', () => {
  const src = [
    'n.matmul(y, x, T, ...weightArgs(w)); // spread-ok: weightArgs is a fixed 8-tuple',
    '// spread-ok: a fixed 8-tuple',
    'n.matmulT(y, x, T, ...weightArgs(w));',
    'n.gatherRows(y, ids, ...weightArgs(w)); // spread-ok:',
    'const z = 1; // spread-ok: says nothing about the next line',
    'Math.min(...xs);',
  ].join('\n');
  assert.deepEqual(lines(src), [4, 6]);
});

test('the project has no unjustified spread arguments in calls', () => {
  const found = checkTree();
  assert.deepEqual(
    found.map((f) => `${f.file}:${f.line}: ${f.text}`),
    [],
  );
});

test('pushAll, maxOf and minOf handle arrays far past the argument limit', () => {
  const big = Array.from({ length: 300_000 }, (_, i) => i % 1000);
  assert.throws(() => [].push(...(big as never[])), RangeError); // spread-ok: shows the failure the helpers avoid
  const dst = [-1];
  assert.equal(pushAll(dst, big), dst);
  assert.equal(dst.length, 300_001);
  assert.equal(dst[300_000], 999);
  assert.equal(maxOf(big), 999);
  assert.equal(minOf(new Float32Array(big)), 0);
  assert.equal(maxOf([]), Math.max());
  assert.equal(minOf([]), Math.min());
  assert.ok(Number.isNaN(maxOf([1, Number.NaN, 2])));
});
