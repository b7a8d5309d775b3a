// Random-weight glm_moe_dsa checkpoints in the released format (f32, bf16, or block-scaled FP8),
// with the golden sets' init recipe: linears N(0, 0.02), norm weights 1 + N(0, 0.05), LayerNorm bias
// N(0, 0.05), correction bias N(0, 0.04). Tensors are generated while the file is written.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from './config.js';
import { Rng } from '../tensor/random.js';
import { f32ToBf16 } from '../tensor/dtype.js';
import { quantizeFp8Blocks } from '../tensor/fp8.js';
import { checkpointTensors, type TensorSpec } from './tensor-names.js';
import type { TensorToWrite } from '../checkpoint/safetensors.js';
import { writeCheckpointTensors } from '../checkpoint/writer.js';

export type SyntheticDType = 'f32' | 'bf16' | 'fp8';

export interface SyntheticOptions {
  readonly seed: number;
  readonly dtype: SyntheticDType;
  readonly maxShardBytes?: number;
}

const FP8_BLOCK = [128, 128] as const;

function values(rng: Rng, spec: TensorSpec, cfgStd: number): Float32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  switch (spec.role) {
    case 'norm':
      return rng.fillNormal(out, 1, 0.05);
    case 'ln_bias':
      return rng.fillNormal(out, 0, 0.05);
    case 'router_bias':
      return rng.fillNormal(out, 0, 0.04);
    default:
      return rng.fillNormal(out, 0, cfgStd);
  }
}

function asBytes(a: Float32Array | Uint16Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function toBf16(v: Float32Array): Uint16Array {
  const out = new Uint16Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = f32ToBf16(v[i]!);
  return out;
}

/** Writes config.json + safetensors for `config` into dir. Returns the tensor count. */
export function writeSyntheticCheckpoint(dir: string, config: Record<string, unknown>, opts: SyntheticOptions): number {
  mkdirSync(dir, { recursive: true });
  const cfgJson: Record<string, unknown> = { ...config, dtype: opts.dtype === 'f32' ? 'float32' : 'bfloat16' };
  if (opts.dtype === 'fp8') {
    cfgJson.quantization_config = {
      quant_method: 'fp8',
      fmt: 'e4m3',
      activation_scheme: 'dynamic',
      weight_block_size: [...FP8_BLOCK],
      modules_to_not_convert: ['lm_head', 'model.embed_tokens', 'mlp.gate', 'indexer.weights_proj', 'eh_proj'],
    };
  }
  const cfg = parseConfig(cfgJson);
  const std = typeof config.initializer_range === 'number' ? config.initializer_range : 0.02;
  const rng = new Rng(opts.seed);
  const tensors: TensorToWrite[] = [];
  // Values are drawn in layout order, one tensor at a time, so a seed always gives the same weights
  // whatever the dtype; FP8 weights come with their scale tensor right after them.
  for (const spec of checkpointTensors(cfg)) {
    const shape = [...spec.shape];
    const keepF32 = spec.role === 'router_bias';
    if (opts.dtype === 'fp8' && spec.role === 'linear') {
      const [rows, cols] = spec.shape as [number, number];
      let q: { bytes: Uint8Array; scales: Float32Array } | null = null;
      const quant = () => (q ??= quantizeFp8Blocks(values(rng, spec, std), rows, cols, FP8_BLOCK));
      tensors.push({ name: spec.name, dtype: 'F8_E4M3', shape, bytes: () => quant().bytes });
      tensors.push({
        name: spec.name.replace(/\.weight$/, '.weight_scale_inv'),
        dtype: 'F32',
        shape: [Math.ceil(rows / FP8_BLOCK[0]), Math.ceil(cols / FP8_BLOCK[1])],
        bytes: () => asBytes(quant().scales),
      });
      continue;
    }
    const f32 = opts.dtype === 'f32' || keepF32;
    tensors.push({
      name: spec.name,
      dtype: f32 ? 'F32' : 'BF16',
      shape,
      bytes: () => {
        const v = values(rng, spec, std);
        return asBytes(f32 ? v : toBf16(v));
      },
    });
  }
  writeCheckpointTensors(dir, tensors, opts.maxShardBytes);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfgJson, null, 2) + '\n');
  writeFileSync(
    join(dir, 'generation_config.json'),
    JSON.stringify({ eos_token_id: cfgJson.eos_token_id, pad_token_id: cfgJson.pad_token_id, temperature: 1.0, top_p: 0.95 }, null, 2) + '\n',
  );
  return tensors.length;
}
