// A linear layer's weight as stored: W[rows=out, cols=in], row-major, in its checkpoint format.
// Kernels read these bytes directly (views into the mapped safetensors); nothing is converted at load
// except on explicit request (int8 / int4 quantisation, or f32 copies made by tests).

import { E4M3_TABLE, bf16ToF32, f16ToF32 } from './dtype.js';
import { dequantInt4Row, int4Groups, int4RowBytes, quantizeInt4Rows } from './int4.js';

export type WeightFormat = 'f32' | 'bf16' | 'f16' | 'fp8' | 'int8' | 'int4';

/** The formats `--quantize` produces at load. */
export type QuantFormat = 'int8' | 'int4';

/** Columns per int8 scale group (symmetric, one f32 scale per row per group). */
export const INT8_GROUP = 32;

export interface LinearWeight {
  readonly name: string;
  readonly format: WeightFormat;
  readonly rows: number;
  readonly cols: number;
  /**
   * Raw little-endian elements, [rows, cols] row-major (4/2/2/1/1 bytes each); int4: packed rows of
   * int4RowBytes(cols) bytes (layout in int4.ts).
   */
  readonly data: Uint8Array;
  /**
   * fp8: block multipliers [ceil((rows+rowOffset)/blockRows), ceil(cols/blockCols)] (HF weight_scale_inv).
   * int8: per-row group scales [rows, ceil(cols/INT8_GROUP)]. Absent otherwise.
   */
  readonly scales?: Float32Array;
  /** int4: f16 bits of the per-row group scales [rows, ceil(cols/32)]. Absent otherwise. */
  readonly halfScales?: Uint16Array;
  readonly blockRows?: number;
  readonly blockCols?: number;
  /**
   * fp8 only: index of this weight's row 0 in the original tensor, so a row slice of a block-quantised
   * tensor (e.g. one head of kv_b_proj) still finds its block scales.
   */
  readonly rowOffset?: number;
}

const BYTES: Record<WeightFormat, number> = { f32: 4, bf16: 2, f16: 2, fp8: 1, int8: 1, int4: 0.5 };

/** Bytes per element (int4: 0.5; its rows are padded to 64 columns, see weightBytes). */
export function bytesPerElement(f: WeightFormat): number {
  return BYTES[f];
}

/** Bytes the weight holds: elements plus scales. */
export function weightBytes(w: LinearWeight): number {
  return w.data.byteLength + (w.scales?.byteLength ?? 0) + (w.halfScales?.byteLength ?? 0);
}

/** Reads an f32 tensor's bytes as floats (copying only when the bytes are not 4-byte aligned). */
export function f32View(bytes: Uint8Array): Float32Array {
  if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  return new Float32Array(bytes.slice().buffer);
}

/** Rows [start, start+count) of a weight, sharing its bytes. */
export function sliceRows(w: LinearWeight, start: number, count: number): LinearWeight {
  if (w.format === 'int4') {
    const rb = int4RowBytes(w.cols),
      g = int4Groups(w.cols);
    const name = `${w.name}[${start}:${start + count}]`;
    return {
      ...w,
      name,
      rows: count,
      data: w.data.subarray(start * rb, (start + count) * rb),
      halfScales: w.halfScales!.subarray(start * g, (start + count) * g),
    };
  }
  const eb = BYTES[w.format];
  const data = w.data.subarray(start * w.cols * eb, (start + count) * w.cols * eb);
  const name = `${w.name}[${start}:${start + count}]`;
  if (w.format === 'fp8') return { ...w, name, rows: count, data, rowOffset: (w.rowOffset ?? 0) + start };
  if (w.format === 'int8') {
    const g = Math.ceil(w.cols / INT8_GROUP);
    return { ...w, name, rows: count, data, scales: w.scales!.subarray(start * g, (start + count) * g) };
  }
  return { ...w, name, rows: count, data };
}

/** Row r of W as f32 (exact: fp8 → value × block scale in f32, as HF's dequantisation). */
export function dequantRow(w: LinearWeight, r: number, out: Float32Array = new Float32Array(w.cols)): Float32Array {
  const { cols, data } = w;
  const base = r * cols;
  switch (w.format) {
    case 'f32': {
      const dv = new DataView(data.buffer, data.byteOffset + base * 4, cols * 4);
      for (let c = 0; c < cols; c++) out[c] = dv.getFloat32(4 * c, true);
      break;
    }
    case 'bf16': {
      const dv = new DataView(data.buffer, data.byteOffset + base * 2, cols * 2);
      for (let c = 0; c < cols; c++) out[c] = bf16ToF32(dv.getUint16(2 * c, true));
      break;
    }
    case 'f16': {
      const dv = new DataView(data.buffer, data.byteOffset + base * 2, cols * 2);
      for (let c = 0; c < cols; c++) out[c] = f16ToF32(dv.getUint16(2 * c, true));
      break;
    }
    case 'fp8': {
      const br = w.blockRows!,
        bc = w.blockCols!;
      const sRow = Math.floor((r + (w.rowOffset ?? 0)) / br) * Math.ceil(cols / bc);
      const s = w.scales!;
      for (let c = 0; c < cols; c++) out[c] = Math.fround(E4M3_TABLE[data[base + c]!]! * s[sRow + Math.floor(c / bc)]!);
      break;
    }
    case 'int8': {
      const g = Math.ceil(cols / INT8_GROUP);
      const s = w.scales!;
      const i8 = new Int8Array(data.buffer, data.byteOffset + base, cols);
      for (let c = 0; c < cols; c++) out[c] = Math.fround(i8[c]! * s[r * g + Math.floor(c / INT8_GROUP)]!);
      break;
    }
    case 'int4':
      dequantInt4Row(data, w.halfScales!, cols, r, out);
      break;
  }
  return out;
}

/** The whole weight as f32 [rows, cols]. */
export function dequantize(w: LinearWeight): Float32Array {
  const out = new Float32Array(w.rows * w.cols);
  for (let r = 0; r < w.rows; r++) dequantRow(w, r, out.subarray(r * w.cols, (r + 1) * w.cols));
  return out;
}

/** An f32 weight from floats (tests, fixtures). */
export function f32Weight(name: string, rows: number, cols: number, values: Float32Array): LinearWeight {
  if (values.length !== rows * cols) throw new Error(`f32Weight ${name}: ${values.length} values for [${rows}, ${cols}]`);
  return { name, format: 'f32', rows, cols, data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

/** Symmetric int8 with one scale per row per INT8_GROUP columns (load-time `--quantize int8`). */
export function quantizeInt8(w: LinearWeight): LinearWeight {
  const g = Math.ceil(w.cols / INT8_GROUP);
  const data = new Uint8Array(w.rows * w.cols);
  const q = new Int8Array(data.buffer);
  const scales = new Float32Array(w.rows * g);
  const row = new Float32Array(w.cols);
  for (let r = 0; r < w.rows; r++) {
    dequantRow(w, r, row);
    for (let gi = 0; gi < g; gi++) {
      const c0 = gi * INT8_GROUP,
        c1 = Math.min(c0 + INT8_GROUP, w.cols);
      let amax = 0;
      for (let c = c0; c < c1; c++) amax = Math.max(amax, Math.abs(row[c]!));
      const s = Math.fround(amax / 127);
      scales[r * g + gi] = s;
      const inv = s > 0 ? 1 / s : 0;
      for (let c = c0; c < c1; c++) q[r * w.cols + c] = Math.max(-127, Math.min(127, Math.round(row[c]! * inv)));
    }
  }
  return { name: w.name, format: 'int8', rows: w.rows, cols: w.cols, data, scales };
}

/** int4 with one f16 scale per row per 32 columns (load-time `--quantize int4`; format in int4.ts). */
export function quantizeInt4(w: LinearWeight): LinearWeight {
  const { data, scales } = quantizeInt4Rows(w.rows, w.cols, (r, buf) => dequantRow(w, r, buf));
  return { name: w.name, format: 'int4', rows: w.rows, cols: w.cols, data, halfScales: scales };
}
