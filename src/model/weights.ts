// Checkpoint tensor names → typed weights. The only place HF names appear; every shape is checked
// against the config, every tensor in the checkpoint must be accounted for (unknown → error).

import type { Checkpoint } from '../checkpoint/checkpoint.js';
import { CheckpointError } from '../checkpoint/errors.js';
import { linearFromTensor, tensorToF32, type LinearWeight } from '../tensor/weight.js';
import type { ModelConfig } from './config.js';

export interface IndexerWeights {
  /** [Hi·Di, qLoraRank] */
  readonly wqB: LinearWeight;
  /** [Di, hidden] */
  readonly wk: LinearWeight;
  readonly kNormWeight: Float32Array;
  readonly kNormBias: Float32Array;
  /** [Hi, hidden] — kept in f32 math (never FP8). */
  readonly weightsProj: LinearWeight;
}

export interface AttentionWeights {
  /** [qLoraRank, hidden] */
  readonly qA: LinearWeight;
  readonly qANorm: Float32Array;
  /** [H·(Dn+R), qLoraRank] */
  readonly qB: LinearWeight;
  /** [C+R, hidden] */
  readonly kvA: LinearWeight;
  readonly kvANorm: Float32Array;
  /** [H·(Dn+Dv), C]: per head, Dn key rows then Dv value rows. */
  readonly kvB: LinearWeight;
  /** [hidden, H·Dv] */
  readonly o: LinearWeight;
  /** Present on layers whose indexer type is full. */
  readonly indexer: IndexerWeights | null;
}

export interface MlpWeights {
  readonly gate: LinearWeight;
  readonly up: LinearWeight;
  readonly down: LinearWeight;
}

export interface MoeWeights {
  /** [E, hidden] router, evaluated in f32. */
  readonly router: LinearWeight;
  /** [E] selection-only bias. */
  readonly bias: Float32Array;
  readonly experts: readonly MlpWeights[];
  readonly shared: MlpWeights | null;
}

export interface LayerWeights {
  readonly inputNorm: Float32Array;
  readonly postNorm: Float32Array;
  readonly attn: AttentionWeights;
  readonly mlp: { kind: 'dense'; dense: MlpWeights } | { kind: 'moe'; moe: MoeWeights };
}

/** The MTP ("nextn") layer: a full MoE decoder layer plus its input/output projections. */
export interface MtpWeights {
  readonly layer: LayerWeights;
  readonly enorm: Float32Array;
  readonly hnorm: Float32Array;
  /** [hidden, 2·hidden]: embedding half first. */
  readonly ehProj: LinearWeight;
  readonly headNorm: Float32Array;
}

export interface ModelWeights {
  /** [V, hidden] */
  readonly embed: LinearWeight;
  readonly layers: readonly LayerWeights[];
  readonly norm: Float32Array;
  /** [V, hidden] */
  readonly lmHead: LinearWeight;
  readonly mtp: readonly MtpWeights[];
}

class Loader {
  readonly used = new Set<string>();
  constructor(readonly ckpt: Checkpoint, readonly cfg: ModelConfig) {}

  linear(name: string, rows: number, cols: number): LinearWeight {
    const t = this.ckpt.get(name, [rows, cols]);
    this.used.add(name);
    const scaleName = name.replace(/\.weight$/, '.weight_scale_inv');
    let scale;
    if (t.dtype === 'F8_E4M3') {
      if (!this.ckpt.has(scaleName)) throw new CheckpointError(t.file, `F8_E4M3 weight has no ${scaleName}`, name);
      scale = this.ckpt.get(scaleName);
      this.used.add(scaleName);
    }
    return linearFromTensor(t, scale, this.cfg.fp8BlockSize);
  }

  vector(name: string, n: number): Float32Array {
    const t = this.ckpt.get(name, [n]);
    this.used.add(name);
    return tensorToF32(t);
  }

  has(name: string): boolean {
    return this.ckpt.has(name);
  }
}

function loadMlp(ld: Loader, p: string, hidden: number, inter: number): MlpWeights {
  return {
    gate: ld.linear(`${p}.gate_proj.weight`, inter, hidden),
    up: ld.linear(`${p}.up_proj.weight`, inter, hidden),
    down: ld.linear(`${p}.down_proj.weight`, hidden, inter),
  };
}

function loadLayer(ld: Loader, i: number, kind: 'dense' | 'sparse', hasIndexer: boolean): LayerWeights {
  const c = ld.cfg;
  const p = `model.layers.${i}`;
  const H = c.numHeads, D = c.hiddenSize, C = c.kvLoraRank, R = c.qkRopeHeadDim;
  const a = `${p}.self_attn`;
  const indexer: IndexerWeights | null = hasIndexer
    ? {
        wqB: ld.linear(`${a}.indexer.wq_b.weight`, c.indexNHeads * c.indexHeadDim, c.qLoraRank),
        wk: ld.linear(`${a}.indexer.wk.weight`, c.indexHeadDim, D),
        kNormWeight: ld.vector(`${a}.indexer.k_norm.weight`, c.indexHeadDim),
        kNormBias: ld.vector(`${a}.indexer.k_norm.bias`, c.indexHeadDim),
        weightsProj: ld.linear(`${a}.indexer.weights_proj.weight`, c.indexNHeads, D),
      }
    : null;
  const attn: AttentionWeights = {
    qA: ld.linear(`${a}.q_a_proj.weight`, c.qLoraRank, D),
    qANorm: ld.vector(`${a}.q_a_layernorm.weight`, c.qLoraRank),
    qB: ld.linear(`${a}.q_b_proj.weight`, H * c.qkHeadDim, c.qLoraRank),
    kvA: ld.linear(`${a}.kv_a_proj_with_mqa.weight`, C + R, D),
    kvANorm: ld.vector(`${a}.kv_a_layernorm.weight`, C),
    kvB: ld.linear(`${a}.kv_b_proj.weight`, H * (c.qkNopeHeadDim + c.vHeadDim), C),
    o: ld.linear(`${a}.o_proj.weight`, D, H * c.vHeadDim),
    indexer,
  };
  let mlp: LayerWeights['mlp'];
  if (kind === 'dense') {
    mlp = { kind: 'dense', dense: loadMlp(ld, `${p}.mlp`, D, c.intermediateSize) };
  } else {
    const E = c.nRoutedExperts;
    mlp = {
      kind: 'moe',
      moe: {
        router: ld.linear(`${p}.mlp.gate.weight`, E, D),
        bias: ld.vector(`${p}.mlp.gate.e_score_correction_bias`, E),
        experts: Array.from({ length: E }, (_, e) => loadMlp(ld, `${p}.mlp.experts.${e}`, D, c.moeIntermediateSize)),
        shared: c.nSharedExperts > 0 ? loadMlp(ld, `${p}.mlp.shared_experts`, D, c.moeIntermediateSize * c.nSharedExperts) : null,
      },
    };
  }
  return {
    inputNorm: ld.vector(`${p}.input_layernorm.weight`, D),
    postNorm: ld.vector(`${p}.post_attention_layernorm.weight`, D),
    attn,
    mlp,
  };
}

export function loadWeights(ckpt: Checkpoint, cfg: ModelConfig): ModelWeights {
  const ld = new Loader(ckpt, cfg);
  const D = cfg.hiddenSize;
  const embed = ld.linear('model.embed_tokens.weight', cfg.vocabSize, D);
  const layers = Array.from({ length: cfg.numLayers }, (_, i) =>
    loadLayer(ld, i, cfg.mlpLayerTypes[i]!, cfg.indexerTypes[i] === 'full'),
  );
  const norm = ld.vector('model.norm.weight', D);
  const lmHead = cfg.tieWordEmbeddings && !ld.has('lm_head.weight') ? embed : ld.linear('lm_head.weight', cfg.vocabSize, D);

  // MTP layers sit after the main stack (index numLayers + j); always MoE with their own full indexer.
  const mtp: MtpWeights[] = [];
  for (let j = 0; j < cfg.numNextnPredictLayers; j++) {
    const i = cfg.numLayers + j;
    const p = `model.layers.${i}`;
    if (!ld.has(`${p}.eh_proj.weight`)) break; // config announces MTP but the checkpoint omits it: run without.
    mtp.push({
      layer: loadLayer(ld, i, 'sparse', true),
      enorm: ld.vector(`${p}.enorm.weight`, D),
      hnorm: ld.vector(`${p}.hnorm.weight`, D),
      ehProj: ld.linear(`${p}.eh_proj.weight`, D, 2 * D),
      headNorm: ld.vector(`${p}.shared_head.norm.weight`, D),
    });
    // Some exports copy the shared embedding/head into the MTP layer; they duplicate the main ones.
    for (const extra of [`${p}.embed_tokens.weight`, `${p}.shared_head.head.weight`]) if (ld.has(extra)) ld.used.add(extra);
  }

  for (const name of ckpt.names()) {
    if (ld.used.has(name)) continue;
    const t = ckpt.get(name);
    // Shared-indexer layers of GLM-5.2 carry no indexer weights, but some GGUF-era exports keep them: ignore those.
    const m = /^model\.layers\.(\d+)\.self_attn\.indexer\./.exec(name);
    if (m && cfg.indexerTypes[Number(m[1])] === 'shared') continue;
    throw new CheckpointError(t.file, 'unknown tensor (not part of a glm_moe_dsa checkpoint with this config)', name);
  }
  return { embed, layers, norm, lmHead, mtp };
}
