// The TypeScript reference implementation of Ops.

import { outArray, type Ops } from '../interface.js';
import { gatherRows, headMatmul, matmul, matmulT } from './linear.js';
import { layerNorm, rmsNorm } from './norm.js';
import { rope } from './rope.js';
import { addInPlace, copyBlocks, siluMul, softmax, topk } from './elementwise.js';
import { attention, indexerTopk, readCache } from './attention.js';
import { moe } from './moe.js';
import { quantizeInt4, quantizeInt8 } from '../../tensor/weight.js';

// The reference computes into fresh arrays and copies into `out` when one is given.
function into(out: Float32Array | undefined, y: Float32Array, op: string): Float32Array {
  if (!out) return y;
  outArray(out, y.length, op).set(y);
  return out;
}

export const refOps: Ops = {
  name: 'ref',
  matmul: (x, T, w, out) => into(out, matmul(x, T, w), 'matmul'),
  matmulMany: (x, T, ws, outs) => ws.map((w, i) => into(outs?.[i], matmul(x, T, w), 'matmulMany')),
  matmulT: (x, T, w, out) => into(out, matmulT(x, T, w), 'matmulT'),
  headMatmul: (a) => into(a.out, headMatmul(a), 'headMatmul'),
  gatherRows: (w, ids, out) => into(out, gatherRows(w, ids), 'gatherRows'),
  rmsNorm: (x, T, D, w, eps, out) => into(out, rmsNorm(x, T, D, w, eps), 'rmsNorm'),
  layerNorm: (x, T, D, w, b, eps, out) => into(out, layerNorm(x, T, D, w, b, eps), 'layerNorm'),
  rope,
  siluMul: (g, u, out) => into(out, siluMul(g, u), 'siluMul'),
  readCache,
  copyBlocks,
  addInPlace,
  softmax,
  topk,
  attention: (a) => into(a.out, attention(a), 'attention'),
  attentionMany: (as) => as.map((a) => into(a.out, attention(a), 'attention')),
  indexerTopk,
  moe: (a) => into(a.out, moe(a), 'moe'),
  quantize: (w, format) => (format === 'int4' ? quantizeInt4(w) : quantizeInt8(w)),
};
