// Reading the Hugging Face reference outputs of ../shared/golden (found through ./shared-data.ts) and comparing with them.

import { readFileSync } from 'node:fs';
import { SafetensorsFile } from '../../src/checkpoint/safetensors.js';
import { f32View } from '../../src/tensor/weight.js';

export function readJson<T = any>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export function goldenTensors(path: string): Map<string, { shape: readonly number[]; data: Float32Array }> {
  const f = SafetensorsFile.open(path);
  const out = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const [n, t] of f.tensors) out.set(n, { shape: t.shape, data: f32View(t.bytes) });
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function argmaxRows(x: ArrayLike<number>, cols: number): number[] {
  const out: number[] = [];
  for (let r = 0; r * cols < x.length; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (x[r * cols + c]! > x[r * cols + best]!) best = c;
    out.push(best);
  }
  return out;
}
