// The TypeScript reference implementation of Ops.

import type { Ops } from '../interface.js';
import { gatherRows, headMatmul, matmul, matmulT } from './linear.js';
import { layerNorm, rmsNorm } from './norm.js';
import { rope } from './rope.js';
import { addInPlace, siluMul, softmax, topk } from './elementwise.js';
import { attention, indexerTopk } from './attention.js';
import { moe } from './moe.js';

export const refOps: Ops = {
  name: 'ref',
  matmul,
  matmulT,
  headMatmul,
  gatherRows,
  rmsNorm,
  layerNorm,
  rope,
  siluMul,
  addInPlace,
  softmax,
  topk,
  attention,
  indexerTopk,
  moe,
};
