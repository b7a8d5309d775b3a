// Checkpoint tensors → typed weights, through the tensor table (tensor-names.ts); every shape is checked
// against the config, every tensor in the checkpoint must be accounted for (unknown → error).

import type { Checkpoint } from '../checkpoint/checkpoint.js';
import { CheckpointError } from '../checkpoint/errors.js';
import { linearFromTensor, tensorToF32 } from '../checkpoint/linear.js';
import type { LinearWeight } from '../tensor/weight.js';
import type { ModelConfig } from './config.js';
import { checkpointTensors, lmHeadTensor, mtpDuplicateNames, parseLayerName, type TensorSpec } from './tensor-names.js';

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
  /** Present on layers whose indexer type is full (never on 'shared' or 'none' layers). */
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
  /** [V, hidden] its own embedding and lm_head (glm4_moe_lite); null: the main model's. */
  readonly embed: LinearWeight | null;
  readonly head: LinearWeight | null;
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
  constructor(
    readonly ckpt: Checkpoint,
    readonly cfg: ModelConfig,
  ) {}

  linear(spec: TensorSpec): LinearWeight {
    const [rows, cols] = spec.shape as readonly [number, number];
    const name = spec.name;
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

  vector(spec: TensorSpec): Float32Array {
    const t = this.ckpt.get(spec.name, [spec.shape[0]]);
    this.used.add(spec.name);
    return tensorToF32(t);
  }

  has(name: string): boolean {
    return this.ckpt.has(name);
  }
}

/** The specs of one layer by key (tensor-names.ts is the only place HF names are spelled). */
function byKey(specs: readonly TensorSpec[]): (key: string) => TensorSpec {
  const m = new Map(specs.map((s) => [s.key, s]));
  return (key) => {
    const s = m.get(key);
    if (!s) throw new Error(`internal: no tensor for ${key}`);
    return s;
  };
}

function loadMlp(ld: Loader, t: (key: string) => TensorSpec, key: string): MlpWeights {
  return { gate: ld.linear(t(`${key}.gate`)), up: ld.linear(t(`${key}.up`)), down: ld.linear(t(`${key}.down`)) };
}

function loadLayer(ld: Loader, specs: readonly TensorSpec[], kind: 'dense' | 'sparse', hasIndexer: boolean): LayerWeights {
  const c = ld.cfg;
  const t = byKey(specs);
  const indexer: IndexerWeights | null = hasIndexer
    ? {
        wqB: ld.linear(t('indexer.wqB')),
        wk: ld.linear(t('indexer.wk')),
        kNormWeight: ld.vector(t('indexer.kNormWeight')),
        kNormBias: ld.vector(t('indexer.kNormBias')),
        weightsProj: ld.linear(t('indexer.weightsProj')),
      }
    : null;
  const attn: AttentionWeights = {
    qA: ld.linear(t('attn.qA')),
    qANorm: ld.vector(t('attn.qANorm')),
    qB: ld.linear(t('attn.qB')),
    kvA: ld.linear(t('attn.kvA')),
    kvANorm: ld.vector(t('attn.kvANorm')),
    kvB: ld.linear(t('attn.kvB')),
    o: ld.linear(t('attn.o')),
    indexer,
  };
  let mlp: LayerWeights['mlp'];
  if (kind === 'dense') {
    mlp = { kind: 'dense', dense: loadMlp(ld, t, 'dense') };
  } else {
    mlp = {
      kind: 'moe',
      moe: {
        router: ld.linear(t('moe.router')),
        bias: ld.vector(t('moe.bias')),
        experts: Array.from({ length: c.nRoutedExperts }, (_, e) => loadMlp(ld, t, `expert.${e}`)),
        shared: c.nSharedExperts > 0 ? loadMlp(ld, t, 'shared') : null,
      },
    };
  }
  return { inputNorm: ld.vector(t('inputNorm')), postNorm: ld.vector(t('postNorm')), attn, mlp };
}

export function loadWeights(ckpt: Checkpoint, cfg: ModelConfig): ModelWeights {
  const ld = new Loader(ckpt, cfg);
  const all = checkpointTensors(cfg);
  const top = byKey(all.filter((s) => parseLayerName(s.name) === null));
  const perLayer = new Map<number, TensorSpec[]>();
  for (const s of all) {
    const l = parseLayerName(s.name);
    if (l) perLayer.set(l.layer, [...(perLayer.get(l.layer) ?? []), s]);
  }
  const embed = ld.linear(top('embed'));
  const layers = Array.from({ length: cfg.numLayers }, (_, i) => loadLayer(ld, perLayer.get(i)!, cfg.mlpLayerTypes[i]!, cfg.indexerTypes[i] === 'full'));
  const norm = ld.vector(top('norm'));
  const head = lmHeadTensor(cfg);
  const lmHead = cfg.tieWordEmbeddings && !ld.has(head.name) ? embed : ld.linear(head);

  // MTP layers sit after the main stack (index numLayers + j); always MoE, indexer as cfg.mtpIndexerType.
  const mtp: MtpWeights[] = [];
  for (let j = 0; j < cfg.numNextnPredictLayers; j++) {
    const i = cfg.numLayers + j;
    const specs = perLayer.get(i)!;
    const t = byKey(specs);
    if (!ld.has(t('mtp.ehProj').name)) break; // config announces MTP but the checkpoint omits it: run without.
    const own = cfg.architecture.mtpOwnEmbedding;
    mtp.push({
      layer: loadLayer(ld, specs, 'sparse', cfg.mtpIndexerType === 'full'),
      enorm: ld.vector(t('mtp.enorm')),
      hnorm: ld.vector(t('mtp.hnorm')),
      ehProj: ld.linear(t('mtp.ehProj')),
      headNorm: ld.vector(t('mtp.headNorm')),
      embed: own ? ld.linear(t('mtp.embed')) : null,
      head: own ? ld.linear(t('mtp.head')) : null,
    });
    // Some glm_moe_dsa exports copy the shared embedding/head into the MTP layer; they duplicate the main ones.
    if (!own) for (const extra of mtpDuplicateNames(i)) if (ld.has(extra)) ld.used.add(extra);
  }

  for (const name of ckpt.names()) {
    if (ld.used.has(name)) continue;
    const t = ckpt.get(name);
    // Shared-indexer layers of GLM-5.2 carry no indexer weights, but some GGUF-era exports keep them: ignore those.
    const l = parseLayerName(name);
    if (l?.rest.startsWith('self_attn.indexer.') && cfg.indexerTypes[l.layer] === 'shared') continue;
    // MTP layers the config does not announce (a re-saved GLM-4.7-Flash config may drop num_nextn_predict_layers):
    // HF ignores them (`_keys_to_ignore_on_load_unexpected`), and so does the loader.
    if (l && l.layer >= cfg.numLayers + cfg.numNextnPredictLayers) continue;
    throw new CheckpointError(t.file, `unknown tensor (not part of a ${cfg.architecture.modelType} checkpoint with this config)`, name);
  }
  return { embed, layers, norm, lmHead, mtp };
}
