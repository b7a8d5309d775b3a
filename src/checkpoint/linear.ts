// Checkpoint tensors in the tensor layer's formats: a LinearWeight that points at the mapped bytes (fp8 with its
// block scales), or f32 for norms, biases and other small tensors. Errors name the file and the tensor.

import { bf16ToF32, f16ToF32 } from '../tensor/dtype.js';
import { f32View, type LinearWeight, type WeightFormat } from '../tensor/weight.js';
import { CheckpointError } from './errors.js';
import type { TensorView } from './safetensors.js';

const FORMAT_OF: Record<string, WeightFormat | undefined> = { F32: 'f32', BF16: 'bf16', F16: 'f16', F8_E4M3: 'fp8', I8: 'int8' };

/** Any float tensor (F32/BF16/F16) to a fresh-or-viewed Float32Array; for norms, biases, small tensors. */
export function tensorToF32(t: TensorView): Float32Array {
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (t.dtype === 'F32') return f32View(t.bytes);
  const out = new Float32Array(n);
  const dv = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  if (t.dtype === 'BF16') for (let i = 0; i < n; i++) out[i] = bf16ToF32(dv.getUint16(2 * i, true));
  else if (t.dtype === 'F16') for (let i = 0; i < n; i++) out[i] = f16ToF32(dv.getUint16(2 * i, true));
  else if (t.dtype === 'F64') for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
  else throw new CheckpointError(t.file, `expected a float tensor, got ${t.dtype}`, t.name);
  return out;
}

/**
 * Builds a LinearWeight from a checkpoint tensor. An F8_E4M3 tensor needs its `weight_scale_inv`
 * companion; the block size comes from the config (never inferred from the scale grid).
 */
export function linearFromTensor(t: TensorView, scale: TensorView | undefined, block: readonly [number, number] | null): LinearWeight {
  const format = FORMAT_OF[t.dtype];
  if (!format || format === 'int8') throw new CheckpointError(t.file, `unsupported dtype ${t.dtype} for a linear weight`, t.name);
  if (t.shape.length !== 2) throw new CheckpointError(t.file, `expected a 2-D weight, got shape [${t.shape.join(', ')}]`, t.name);
  const [rows, cols] = t.shape as [number, number];
  if (format !== 'fp8') return { name: t.name, format, rows, cols, data: t.bytes };
  if (!scale) throw new CheckpointError(t.file, 'F8_E4M3 weight has no weight_scale_inv tensor', t.name);
  const [br, bc] = block ?? [128, 128];
  const want = [Math.ceil(rows / br), Math.ceil(cols / bc)];
  if (scale.shape.length !== 2 || scale.shape[0] !== want[0] || scale.shape[1] !== want[1]) {
    throw new CheckpointError(scale.file, `unexpected shape [${scale.shape.join(', ')}], expected [${want.join(', ')}] for ${br}x${bc} blocks`, scale.name);
  }
  return { name: t.name, format, rows, cols, data: t.bytes, scales: tensorToF32(scale), blockRows: br, blockCols: bc, rowOffset: 0 };
}
