// The GLM-5 (glm_moe_dsa) causal LM: embedding → decoder layers → final RMSNorm → lm_head.
// One forward call appends T tokens to a sequence cache; prefill, chunked prefill and decode are the
// same call with different T.

import type { Ops } from '../kernels/interface.js';
import { Checkpoint } from '../checkpoint/checkpoint.js';
import { quantizeInt8, type LinearWeight } from '../tensor/weight.js';
import { loadConfig, type ModelConfig } from './config.js';
import { loadWeights, type ModelWeights } from './weights.js';
import { SequenceCache } from './cache.js';
import type { ForwardOptions, Selection, StepContext } from './context.js';
import { decoderLayer } from './decoder-layer.js';
import { Workspace } from './workspace.js';

export interface ForwardResult {
  /** [rows, V] logits for the rows asked for (all new positions, or the last). */
  readonly logits: Float32Array;
  readonly rows: number;
  /** [T, hidden] final-normed hidden states of every new position (MTP input). */
  readonly hidden: Float32Array;
}

export interface LoadOptions {
  readonly ops: Ops;
  /** Re-quantise linear weights at load (saves RAM; accuracy cost documented in the README). */
  readonly quantize?: 'int8';
}

export class GlmModel {
  private readonly ws = new Workspace();

  constructor(readonly cfg: ModelConfig, readonly weights: ModelWeights, readonly ops: Ops) {}

  static load(dir: string, opts: LoadOptions): GlmModel {
    const cfg = loadConfig(dir);
    let weights = loadWeights(Checkpoint.open(dir), cfg);
    if (opts.quantize === 'int8') weights = mapLinears(weights, quantizeInt8);
    return new GlmModel(cfg, weights, opts.ops);
  }

  newCache(capacity?: number): SequenceCache {
    return new SequenceCache(this.cfg, { capacity });
  }

  forward(tokens: ArrayLike<number>, cache: SequenceCache, opts: ForwardOptions = {}): ForwardResult {
    const { cfg, ops, weights } = this;
    const T = tokens.length;
    if (T === 0) throw new RangeError('forward: no tokens');
    const start = cache.length;
    if (start + T > cfg.maxPositionEmbeddings) {
      throw new RangeError(`context of ${start + T} tokens exceeds max_position_embeddings ${cfg.maxPositionEmbeddings}`);
    }
    const positions = new Int32Array(T);
    const keyLimit = new Int32Array(T);
    for (let t = 0; t < T; t++) {
      positions[t] = start + t;
      keyLimit[t] = start + t + 1;
    }
    const form = opts.attention === 'expanded' || opts.attention === 'absorbed' ? opts.attention : T > 1 ? 'expanded' : 'absorbed';
    const ctx: StepContext = { ops, cfg, cache, T, start, positions, keyLimit, form, forceDense: opts.forceDense ?? false, trace: opts.trace, ws: this.ws };

    const h = ops.gatherRows(weights.embed, Int32Array.from(tokens)); // [T, hidden]
    opts.trace?.('hidden.embed', -1, h);
    const selections: Selection[] = [];
    for (let l = 0; l < cfg.numLayers; l++) {
      const src = cfg.indexerSource[l]!;
      selections[l] = decoderLayer(ctx, l, weights.layers[l]!, h, src === l ? undefined : selections[src]);
      opts.trace?.('hidden.layer', l, h);
    }
    cache.commit(T);

    const D = cfg.hiddenSize;
    const hidden = ops.rmsNorm(h, T, D, weights.norm, cfg.rmsNormEps);
    opts.trace?.('hidden.final_norm', -1, hidden);
    const which = opts.logits ?? 'all';
    if (which === 'none') return { logits: new Float32Array(0), rows: 0, hidden };
    const rows = which === 'last' ? 1 : T;
    const x = which === 'last' ? hidden.subarray((T - 1) * D, T * D) : hidden;
    return { logits: ops.matmul(x, rows, weights.lmHead), rows, hidden };
  }
}

/** Applies f to every projection/expert weight (not the embedding, norms, router or indexer head weights). */
function mapLinears(w: ModelWeights, f: (x: LinearWeight) => LinearWeight): ModelWeights {
  const mlp = (m: { gate: LinearWeight; up: LinearWeight; down: LinearWeight }) => ({ gate: f(m.gate), up: f(m.up), down: f(m.down) });
  const layer = (l: ModelWeights['layers'][number]): ModelWeights['layers'][number] => ({
    ...l,
    attn: {
      ...l.attn,
      qA: f(l.attn.qA),
      qB: f(l.attn.qB),
      kvA: f(l.attn.kvA),
      kvB: f(l.attn.kvB),
      o: f(l.attn.o),
      indexer: l.attn.indexer ? { ...l.attn.indexer, wqB: f(l.attn.indexer.wqB), wk: f(l.attn.indexer.wk) } : null,
    },
    mlp:
      l.mlp.kind === 'dense'
        ? { kind: 'dense', dense: mlp(l.mlp.dense) }
        : { kind: 'moe', moe: { ...l.mlp.moe, experts: l.mlp.moe.experts.map(mlp), shared: l.mlp.moe.shared ? mlp(l.mlp.moe.shared) : null } },
  });
  return { ...w, layers: w.layers.map(layer), lmHead: f(w.lmHead), mtp: w.mtp.map((m) => ({ ...m, layer: layer(m.layer) })) };
}
