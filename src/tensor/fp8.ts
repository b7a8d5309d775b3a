// Block-scaled e4m3 quantisation as in the released FP8 checkpoints: one f32 multiplier per
// [blockRows, blockCols] block (partial at the edges), scale = amax / 448, stored as weight_scale_inv.

import { E4M3_MAX, f32ToE4m3 } from './dtype.js';

export function quantizeFp8Blocks(w: Float32Array, rows: number, cols: number, block: readonly [number, number]): { bytes: Uint8Array; scales: Float32Array } {
  const [br, bc] = block;
  const gr = Math.ceil(rows / br),
    gc = Math.ceil(cols / bc);
  const bytes = new Uint8Array(rows * cols);
  const scales = new Float32Array(gr * gc);
  for (let bi = 0; bi < gr; bi++) {
    for (let bj = 0; bj < gc; bj++) {
      const r1 = Math.min((bi + 1) * br, rows),
        c1 = Math.min((bj + 1) * bc, cols);
      let amax = 0;
      for (let r = bi * br; r < r1; r++) for (let c = bj * bc; c < c1; c++) amax = Math.max(amax, Math.abs(w[r * cols + c]!));
      const s = amax > 0 ? Math.fround(amax / E4M3_MAX) : 1;
      scales[bi * gc + bj] = s;
      for (let r = bi * br; r < r1; r++) for (let c = bj * bc; c < c1; c++) bytes[r * cols + c] = f32ToE4m3(w[r * cols + c]! / s);
    }
  }
  return { bytes, scales };
}
