// HF glm_moe_dsa checkpoint → GGUF for llama.cpp's `glm-dsa` architecture, and glm4_moe_lite (GLM-4.7-Flash)
// → its `deepseek2` architecture (the same layout without the indexer keys and tensors; llama.cpp's converter
// registers Glm4MoeLiteForCausalLM as a DeepseekV2Model with MODEL_ARCH.DEEPSEEK2): the metadata keys and the
// tensor name/layout table, computed from our ModelConfig. Mirrors what llama.cpp's converter writes for
// GlmMoeDsaForCausalLM / Glm4MoeLiteForCausalLM (facts read from its gguf-py constants and the glm-dsa /
// deepseek2 loaders; no code taken):
//   - MLA is stored for the absorbed form: kv_b_proj [H·(Dn+Dv), C] is split per head into
//     attn_k_b = W_UKᵀ, row-major [H, C, Dn] (ne {Dn, C, H}), and attn_v_b = W_UV, row-major [H, Dv, C]
//     (ne {C, Dv, H}); head_count_kv is 1 and key/value_length are C+R / C (one shared latent "KV head").
//   - routed experts are stacked into one 3-D tensor per projection: [E, out, in] row-major.
//   - 1-D tensors, norms, biases, the router (ffn_gate_inp) and the indexer head weights (indexer.proj)
//     stay F32; every other matrix takes the requested type (BF16 or F32).
//   - GGUF has no e4m3-with-block-scales type, so FP8 checkpoints are dequantised (value × block scale,
//     exact in f32) and then written as BF16 (rounded) or F32 (exact).
//   - expert_gating_func is always written (sigmoid). The converter writes it only when config.json has
//     scoring_func, which GLM-4.7-Flash's lacks; llama.cpp's deepseek2 loader then guesses from the layer
//     count and vocabulary (softmax for anything but the real 47-layer model, spec glm47-flash.md §3).
// Deviations from the converter, on purpose: `attention.indexer.types` is always written (derived from the
// config, so GLM-5.2-style freq/offset configs without an explicit list stay right), and
// `nextn_predict_layers` counts the MTP layers actually present in the checkpoint.

import { basename, resolve } from 'node:path';
import type { Checkpoint } from '../checkpoint/checkpoint.js';
import { CheckpointError } from '../checkpoint/errors.js';
import type { ModelConfig } from '../model/config.js';
import type { ArchitectureName } from '../model/architectures.js';
import { f32ToBf16 } from '../tensor/dtype.js';
import { linearFromTensor, tensorToF32 } from '../checkpoint/linear.js';
import { dequantize } from '../tensor/weight.js';
import { gguf, type GgmlType, type GgufTensor, type GgufValue } from './writer.js';

/** llama.cpp's architecture for each of ours. */
export const GGUF_ARCH: Readonly<Record<ArchitectureName, string>> = { glm_moe_dsa: 'glm-dsa', glm4_moe_lite: 'deepseek2' };
export type GgufDType = 'bf16' | 'f32';

/** llama_ftype numbering: ALL_F32 = 0, MOSTLY_BF16 = 32. */
const FILE_TYPE: Record<GgufDType, number> = { f32: 0, bf16: 32 };
/** ExpertGatingFuncType.SIGMOID. */
const GATING_SIGMOID = 2;
/** GGML_QUANT_VERSION the converter stamps on every file. */
const QUANT_VERSION = 2;

export class GgufExportError extends Error {
  override name = 'GgufExportError';
}

/** Number of MTP ("nextn") layers whose weights are in the checkpoint (a config may announce one that is absent). */
export function mtpLayersPresent(ckpt: Checkpoint, cfg: ModelConfig): number {
  let n = 0;
  while (n < cfg.numNextnPredictLayers && ckpt.has(`model.layers.${cfg.numLayers + n}.eh_proj.weight`)) n++;
  return n;
}

/** llama.cpp only knows "the first k layers are dense"; any other pattern cannot be expressed. */
function leadingDenseCount(cfg: ModelConfig): number {
  const k = cfg.mlpLayerTypes.indexOf('sparse');
  const lead = k < 0 ? cfg.numLayers : k;
  if (cfg.mlpLayerTypes.some((t, i) => i < lead !== (t === 'dense'))) {
    throw new GgufExportError(
      `mlp_layer_types [${cfg.mlpLayerTypes.join(', ')}] is not "k dense layers then MoE"; llama.cpp's ${GGUF_ARCH[cfg.architecture.modelType]} has only leading_dense_block_count`,
    );
  }
  return lead;
}

/**
 * Shapes llama.cpp's glm-dsa cannot run, as a message (null when fine). Its indexer multiplies q and k by a
 * Hadamard matrix whose size is the largest power of two ≥ 64 dividing the key width; the product only type-checks
 * when that equals index_head_dim, so anything but a power of two ≥ 64 aborts the process (GGML_ASSERT).
 */
export function llamaCppIncompatibility(cfg: ModelConfig): string | null {
  if (!cfg.architecture.indexer) return null;
  const d = cfg.indexHeadDim;
  if (d < 64 || (d & (d - 1)) !== 0) {
    return `index_head_dim ${d} is not a power of two ≥ 64: llama.cpp's glm-dsa indexer (Hadamard rotation of q/k) aborts on it`;
  }
  return null;
}

/** The `general.*` and `glm-dsa.*` / `deepseek2.*` keys (tokenizer keys come from tokenizer-meta.ts). */
export function glmDsaMetadata(cfg: ModelConfig, opts: { name: string; dtype: GgufDType; mtpLayers: number }): Map<string, GgufValue> {
  const arch = GGUF_ARCH[cfg.architecture.modelType];
  const a = (k: string) => `${arch}.${k}`;
  const m = new Map<string, GgufValue>();
  m.set('general.architecture', gguf.str(arch));
  m.set('general.type', gguf.str('model'));
  m.set('general.name', gguf.str(opts.name));
  m.set('general.file_type', gguf.u32(FILE_TYPE[opts.dtype]));
  m.set('general.quantization_version', gguf.u32(QUANT_VERSION));
  m.set(a('block_count'), gguf.u32(cfg.numLayers + opts.mtpLayers));
  m.set(a('context_length'), gguf.u32(cfg.maxPositionEmbeddings));
  m.set(a('embedding_length'), gguf.u32(cfg.hiddenSize));
  m.set(a('feed_forward_length'), gguf.u32(cfg.intermediateSize));
  m.set(a('attention.head_count'), gguf.u32(cfg.numHeads));
  m.set(a('attention.head_count_kv'), gguf.u32(1));
  m.set(a('rope.freq_base'), gguf.f32(cfg.ropeTheta));
  m.set(a('attention.layer_norm_rms_epsilon'), gguf.f32(cfg.rmsNormEps));
  m.set(a('expert_count'), gguf.u32(cfg.nRoutedExperts));
  m.set(a('expert_used_count'), gguf.u32(cfg.numExpertsPerTok));
  m.set(a('expert_group_count'), gguf.u32(cfg.nGroup));
  m.set(a('expert_group_used_count'), gguf.u32(cfg.topkGroup));
  m.set(a('expert_gating_func'), gguf.u32(GATING_SIGMOID));
  m.set(a('attention.key_length'), gguf.u32(cfg.kvLoraRank + cfg.qkRopeHeadDim));
  m.set(a('attention.value_length'), gguf.u32(cfg.kvLoraRank));
  m.set(a('leading_dense_block_count'), gguf.u32(leadingDenseCount(cfg)));
  m.set(a('vocab_size'), gguf.u32(cfg.vocabSize));
  m.set(a('attention.q_lora_rank'), gguf.u32(cfg.qLoraRank));
  m.set(a('attention.kv_lora_rank'), gguf.u32(cfg.kvLoraRank));
  m.set(a('attention.key_length_mla'), gguf.u32(cfg.qkHeadDim));
  m.set(a('attention.value_length_mla'), gguf.u32(cfg.vHeadDim));
  m.set(a('expert_feed_forward_length'), gguf.u32(cfg.moeIntermediateSize));
  m.set(a('expert_shared_count'), gguf.u32(cfg.nSharedExperts));
  m.set(a('expert_weights_scale'), gguf.f32(cfg.routedScalingFactor));
  if (cfg.normTopkProb) m.set(a('expert_weights_norm'), gguf.bool(true));
  m.set(a('rope.dimension_count'), gguf.u32(cfg.qkRopeHeadDim));
  m.set(a('nextn_predict_layers'), gguf.u32(opts.mtpLayers));
  if (!cfg.architecture.indexer) return m;
  m.set(a('attention.indexer.head_count'), gguf.u32(cfg.indexNHeads));
  m.set(a('attention.indexer.key_length'), gguf.u32(cfg.indexHeadDim));
  m.set(a('attention.indexer.top_k'), gguf.u32(cfg.indexTopk));
  m.set(
    a('attention.indexer.types'),
    gguf.arr(
      'bool',
      cfg.indexerTypes.map((t) => t === 'full'),
    ),
  );
  return m;
}

/** Reads checkpoint tensors in the element type a GGUF tensor needs, converting lazily. */
class Source {
  readonly used = new Set<string>();
  constructor(
    readonly ckpt: Checkpoint,
    readonly cfg: ModelConfig,
  ) {}

  /** Row-major elements of `name` as `type` (shape checked against `shape`). */
  read(name: string, shape: readonly number[], type: GgmlType): Uint8Array {
    const t = this.ckpt.get(name, shape);
    this.used.add(name);
    if ((type === 'BF16' && t.dtype === 'BF16') || (type === 'F32' && t.dtype === 'F32')) return t.bytes;
    let f32: Float32Array;
    if (t.dtype === 'F8_E4M3') {
      const scaleName = name.replace(/\.weight$/, '.weight_scale_inv');
      if (!this.ckpt.has(scaleName)) throw new CheckpointError(t.file, `F8_E4M3 weight has no ${scaleName}`, name);
      this.used.add(scaleName);
      f32 = dequantize(linearFromTensor(t, this.ckpt.get(scaleName), this.cfg.fp8BlockSize));
    } else {
      f32 = tensorToF32(t);
    }
    return encode(f32, type);
  }

  /** Marks tensors as consumed without reading them (the lazy producers read them at write time). */
  claim(name: string, shape: readonly number[]): void {
    this.ckpt.get(name, shape);
    this.used.add(name);
    const scaleName = name.replace(/\.weight$/, '.weight_scale_inv');
    if (this.ckpt.has(scaleName)) this.used.add(scaleName);
  }
}

/** f32 values → little-endian bytes of `type` (BF16 rounds to nearest even). */
export function encode(x: Float32Array, type: GgmlType): Uint8Array {
  if (type === 'F32') return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  if (type !== 'BF16') throw new GgufExportError(`encode: ${type} not supported`);
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = f32ToBf16(x[i]!);
  return new Uint8Array(out.buffer);
}

/** Per head h: k_b[h] = (kv_b rows h·(Dn+Dv) + [0, Dn))ᵀ → [C, Dn]; v_b[h] = rows h·(Dn+Dv) + [Dn, Dn+Dv) → [Dv, C]. */
export function splitKvB(kvB: Uint8Array, elemBytes: number, H: number, Dn: number, Dv: number, C: number): { kB: Uint8Array; vB: Uint8Array } {
  const src = kvB.slice(); // aligned private copy
  const kB = new Uint8Array(H * C * Dn * elemBytes);
  const vB = new Uint8Array(H * Dv * C * elemBytes);
  const rowBytes = C * elemBytes;
  for (let h = 0; h < H; h++) {
    const base = h * (Dn + Dv);
    for (let j = 0; j < Dn; j++) {
      for (let c = 0; c < C; c++) {
        const s = ((base + j) * C + c) * elemBytes;
        const d = ((h * C + c) * Dn + j) * elemBytes;
        for (let b = 0; b < elemBytes; b++) kB[d + b] = src[s + b]!;
      }
    }
    vB.set(src.subarray((base + Dn) * rowBytes, (base + Dn + Dv) * rowBytes), h * Dv * rowBytes);
  }
  return { kB, vB };
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

/** The GGUF tensor list (lazy: bytes are read and converted when the writer asks for them). */
export function glmDsaTensors(ckpt: Checkpoint, cfg: ModelConfig, dtype: GgufDType): GgufTensor[] {
  const src = new Source(ckpt, cfg);
  const W: GgmlType = dtype === 'bf16' ? 'BF16' : 'F32';
  const eb = W === 'BF16' ? 2 : 4;
  const out: GgufTensor[] = [];
  const D = cfg.hiddenSize,
    V = cfg.vocabSize,
    H = cfg.numHeads,
    C = cfg.kvLoraRank,
    R = cfg.qkRopeHeadDim;
  const Dn = cfg.qkNopeHeadDim,
    Dv = cfg.vHeadDim;

  // HF [rows=out, cols=in] matrix → GGUF ne {in, out}; identical bytes.
  const mat = (gg: string, hf: string, rows: number, cols: number, type: GgmlType = W) => {
    src.claim(hf, [rows, cols]);
    out.push({ name: gg, type, ne: [cols, rows], bytes: () => src.read(hf, [rows, cols], type) });
  };
  const vec = (gg: string, hf: string, n: number) => {
    src.claim(hf, [n]);
    out.push({ name: gg, type: 'F32', ne: [n], bytes: () => src.read(hf, [n], 'F32') });
  };
  const mlp = (gg: string, hf: string, inter: number, kind: '' | '_shexp') => {
    mat(`${gg}.ffn_gate${kind}.weight`, `${hf}.gate_proj.weight`, inter, D);
    mat(`${gg}.ffn_up${kind}.weight`, `${hf}.up_proj.weight`, inter, D);
    mat(`${gg}.ffn_down${kind}.weight`, `${hf}.down_proj.weight`, D, inter);
  };

  const layer = (i: number, kind: 'dense' | 'sparse', hasIndexer: boolean) => {
    const g = `blk.${i}`,
      p = `model.layers.${i}`,
      a = `${p}.self_attn`;
    vec(`${g}.attn_norm.weight`, `${p}.input_layernorm.weight`, D);
    vec(`${g}.attn_q_a_norm.weight`, `${a}.q_a_layernorm.weight`, cfg.qLoraRank);
    vec(`${g}.attn_kv_a_norm.weight`, `${a}.kv_a_layernorm.weight`, C);
    mat(`${g}.attn_q_a.weight`, `${a}.q_a_proj.weight`, cfg.qLoraRank, D);
    mat(`${g}.attn_q_b.weight`, `${a}.q_b_proj.weight`, H * cfg.qkHeadDim, cfg.qLoraRank);
    mat(`${g}.attn_kv_a_mqa.weight`, `${a}.kv_a_proj_with_mqa.weight`, C + R, D);
    // kv_b is split once and both halves handed out; the cache keeps the second half until it is written.
    const kvName = `${a}.kv_b_proj.weight`;
    src.claim(kvName, [H * (Dn + Dv), C]);
    let split: { kB: Uint8Array; vB: Uint8Array } | null = null;
    const getSplit = () => (split ??= splitKvB(src.read(kvName, [H * (Dn + Dv), C], W), eb, H, Dn, Dv, C));
    out.push({ name: `${g}.attn_k_b.weight`, type: W, ne: [Dn, C, H], bytes: () => getSplit().kB });
    out.push({
      name: `${g}.attn_v_b.weight`,
      type: W,
      ne: [C, Dv, H],
      bytes: () => {
        const v = getSplit().vB;
        split = null;
        return v;
      },
    });
    mat(`${g}.attn_output.weight`, `${a}.o_proj.weight`, D, H * Dv);
    vec(`${g}.ffn_norm.weight`, `${p}.post_attention_layernorm.weight`, D);
    if (hasIndexer) {
      const x = `${a}.indexer`;
      vec(`${g}.indexer.k_norm.weight`, `${x}.k_norm.weight`, cfg.indexHeadDim);
      vec(`${g}.indexer.k_norm.bias`, `${x}.k_norm.bias`, cfg.indexHeadDim);
      mat(`${g}.indexer.proj.weight`, `${x}.weights_proj.weight`, cfg.indexNHeads, D, 'F32');
      mat(`${g}.indexer.attn_k.weight`, `${x}.wk.weight`, cfg.indexHeadDim, D);
      mat(`${g}.indexer.attn_q_b.weight`, `${x}.wq_b.weight`, cfg.indexNHeads * cfg.indexHeadDim, cfg.qLoraRank);
    }
    if (kind === 'dense') {
      mlp(g, `${p}.mlp`, cfg.intermediateSize, '');
      return;
    }
    const E = cfg.nRoutedExperts,
      F = cfg.moeIntermediateSize;
    mat(`${g}.ffn_gate_inp.weight`, `${p}.mlp.gate.weight`, E, D, 'F32');
    vec(`${g}.exp_probs_b.bias`, `${p}.mlp.gate.e_score_correction_bias`, E);
    for (const [proj, rows, cols] of [
      ['gate', F, D],
      ['up', F, D],
      ['down', D, F],
    ] as const) {
      const names = Array.from({ length: E }, (_, e) => `${p}.mlp.experts.${e}.${proj}_proj.weight`);
      for (const n of names) src.claim(n, [rows, cols]);
      out.push({ name: `${g}.ffn_${proj}_exps.weight`, type: W, ne: [cols, rows, E], bytes: () => concat(names.map((n) => src.read(n, [rows, cols], W))) });
    }
    if (cfg.nSharedExperts > 0) mlp(g, `${p}.mlp.shared_experts`, F * cfg.nSharedExperts, '_shexp');
  };

  mat('token_embd.weight', 'model.embed_tokens.weight', V, D);
  vec('output_norm.weight', 'model.norm.weight', D);
  if (!(cfg.tieWordEmbeddings && !ckpt.has('lm_head.weight'))) mat('output.weight', 'lm_head.weight', V, D);
  leadingDenseCount(cfg);
  for (let i = 0; i < cfg.numLayers; i++) layer(i, cfg.mlpLayerTypes[i]!, cfg.indexerTypes[i] === 'full');

  const nMtp = mtpLayersPresent(ckpt, cfg);
  for (let j = 0; j < nMtp; j++) {
    const i = cfg.numLayers + j,
      g = `blk.${i}`,
      p = `model.layers.${i}`;
    layer(i, 'sparse', cfg.mtpIndexerType === 'full');
    mat(`${g}.nextn.eh_proj.weight`, `${p}.eh_proj.weight`, D, 2 * D);
    vec(`${g}.nextn.enorm.weight`, `${p}.enorm.weight`, D);
    vec(`${g}.nextn.hnorm.weight`, `${p}.hnorm.weight`, D);
    vec(`${g}.nextn.shared_head_norm.weight`, `${p}.shared_head.norm.weight`, D);
    if (ckpt.has(`${p}.embed_tokens.weight`)) mat(`${g}.nextn.embed_tokens.weight`, `${p}.embed_tokens.weight`, V, D);
    if (ckpt.has(`${p}.shared_head.head.weight`)) mat(`${g}.nextn.shared_head_head.weight`, `${p}.shared_head.head.weight`, V, D);
  }

  for (const name of ckpt.names()) {
    if (src.used.has(name)) continue;
    const m = /^model\.layers\.(\d+)\.self_attn\.indexer\./.exec(name);
    if (m && cfg.indexerTypes[Number(m[1])] === 'shared') continue; // GLM-5.2 shared layers own no indexer
    if (Number(/^model\.layers\.(\d+)\./.exec(name)?.[1] ?? -1) >= cfg.numLayers + nMtp) continue;
    throw new CheckpointError(ckpt.get(name).file, `tensor has no place in the ${GGUF_ARCH[cfg.architecture.modelType]} GGUF layout`, name);
  }
  return out;
}

/** Default `general.name`: the model folder's name. */
export function modelName(dir: string): string {
  return basename(resolve(dir));
}
