// The held-out texts of eval/heldout_texts.json as token windows, and the per-row log-softmax arithmetic, shared by
// `npm run eval` (held-out perplexity) and bench/quant-accuracy.ts (perplexity, KL and top-1 of quantised weights).

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tokenizer } from '../src/text/tokenizer.js';

const HERE = dirname(fileURLToPath(import.meta.url));

/** Prose windows of this many tokens (the training length). */
export const WINDOW = 512;

export interface HeldOut {
  /** Prose: up to two windows of WINDOW tokens per document. */
  readonly windows: number[][];
  /** Chats: every token, and the index of the <|assistant|> token after which answer tokens are scored. */
  readonly chats: { readonly ids: number[]; readonly from: number }[];
}

export function heldOut(tok: Tokenizer): HeldOut {
  const held = JSON.parse(readFileSync(join(HERE, 'heldout_texts.json'), 'utf8')) as {
    prose: { src: string; doc: string; text: string }[];
    chats: { src: string; text: string }[];
  };
  const windows: number[][] = [];
  for (const p of held.prose) {
    const ids = tok.encode(p.text, { special: false });
    for (let s = 0; s + WINDOW <= ids.length && s < 2 * WINDOW; s += WINDOW) windows.push(ids.slice(s, s + WINDOW));
  }
  const asst = tok.specialId('<|assistant|>');
  const chats = held.chats.map((c) => {
    const ids = tok.encode(c.text, { special: true });
    return { ids, from: ids.indexOf(asst) };
  });
  return { windows, chats };
}

/** log Σ exp(row) (the row's log-partition), computed stably. */
export function logSumExp(row: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i]! > max) max = row[i]!;
  let z = 0;
  for (let i = 0; i < row.length; i++) z += Math.exp(row[i]! - max);
  return max + Math.log(z);
}

/** Σ −log p(ids[t+1] | ids[..t]) over rows t ≥ from of logits [ids.length, V], and the count. */
export function nllOf(logits: Float32Array, V: number, ids: readonly number[], from: number): { sum: number; n: number } {
  let sum = 0,
    n = 0;
  for (let t = Math.max(from, 0); t + 1 < ids.length; t++) {
    const row = logits.subarray(t * V, (t + 1) * V);
    sum += logSumExp(row) - row[ids[t + 1]!]!;
    n++;
  }
  return { sum, n };
}
