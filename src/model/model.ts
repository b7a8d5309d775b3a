// The GLM-5 (glm_moe_dsa) causal LM and its registered relatives (glm4_moe_lite: no indexer):
// embedding → decoder layers → final RMSNorm → lm_head.
// One forward call appends T tokens to a sequence cache; prefill, chunked prefill and decode are the
// same call with different T.

import type { Ops } from '../kernels/interface.js';
import { Checkpoint } from '../checkpoint/checkpoint.js';
import type { LinearWeight, QuantFormat } from '../tensor/weight.js';
import { releaseMapped } from '../checkpoint/mapped-file.js';
import { layerIndexerType, loadConfig, type ModelConfig } from './config.js';
import { loadWeights, type ModelWeights } from './weights.js';
import { SequenceCache } from './cache.js';
import type { KvCacheDtype } from './cache-rows.js';
import type { ForwardOptions, KvCache, Selection, StepContext, StepSequence } from './context.js';
import { decoderLayer } from './decoder-layer.js';
import { Workspace } from './workspace.js';

export interface ForwardResult {
  /** [rows, V] logits for the rows asked for (all new positions, or the last). */
  readonly logits: Float32Array;
  readonly rows: number;
  /** [T, hidden] final-normed hidden states of every new position (MTP input). */
  readonly hidden: Float32Array;
}

/** One sequence's part of a batched step. */
export interface StepInput {
  /** New tokens of this sequence (a prefill chunk, a decode token, or a verified draft). */
  readonly tokens: ArrayLike<number>;
  readonly cache: KvCache;
  /** Which of its rows get logits. */
  readonly logits: 'all' | 'last' | 'none';
}

export interface StepResult {
  /** [Σ logit rows, V], sequences in input order, each sequence's rows in position order. */
  readonly logits: Float32Array;
  /** Per sequence: index of its first logit row in `logits`, and how many it has. */
  readonly logitRows: readonly { readonly first: number; readonly count: number }[];
  /** [T, hidden] final-normed hidden states of every row of the step (MTP input). */
  readonly hidden: Float32Array;
}

export interface LoadOptions {
  readonly ops: Ops;
  /** Re-quantise linear weights at load: int8 or int4 (saves RAM; accuracy cost in docs/native.md). */
  readonly quantize?: QuantFormat;
}

export class GlmModel {
  private readonly ws = new Workspace();

  /** Scratch shared by the model's steps (the MTP step uses it too). */
  get workspace(): Workspace {
    return this.ws;
  }

  constructor(
    readonly cfg: ModelConfig,
    readonly weights: ModelWeights,
    readonly ops: Ops,
  ) {}

  static load(dir: string, opts: LoadOptions): GlmModel {
    const cfg = loadConfig(dir);
    let weights = loadWeights(Checkpoint.open(dir), cfg);
    const format = opts.quantize;
    if (format) {
      // Tensor by tensor, dropping each source's mapped pages once converted: the peak stays near the
      // quantised size plus one tensor, never the whole checkpoint. int4 keeps lm_head at int8 (llama.cpp's
      // Q4_0 keeps output.weight at Q6_K): on the bundled model a 4-bit lm_head alone made the held-out KL 8x.
      const to = (f: QuantFormat) => (w: LinearWeight) => {
        const q = opts.ops.quantize(w, f);
        releaseMapped(w.data);
        return q;
      };
      weights = mapLinears(weights, to(format), to(format === 'int4' ? 'int8' : format));
    }
    return new GlmModel(cfg, weights, opts.ops);
  }

  /** A contiguous cache; f32 rows unless `dtype` says otherwise (cache-rows.ts). */
  newCache(capacity?: number, dtype?: KvCacheDtype): SequenceCache {
    return new SequenceCache(this.cfg, { capacity, dtype });
  }

  /** A contiguous cache for the MTP layer(s): layer slots numLayers.. hold them (earlier slots stay empty). */
  newMtpCache(capacity?: number): SequenceCache {
    const n = this.cfg.numLayers + this.weights.mtp.length;
    return new SequenceCache(this.cfg, {
      capacity,
      layers: n,
      fullIndexer: Array.from({ length: n }, (_, i) => i >= this.cfg.numLayers && layerIndexerType(this.cfg, i) === 'full'),
    });
  }

  /** One sequence: the batch-of-one case of `step`. */
  forward(tokens: ArrayLike<number>, cache: KvCache, opts: ForwardOptions = {}): ForwardResult {
    const r = this.step([{ tokens, cache, logits: opts.logits ?? 'all' }], opts);
    return { logits: r.logits, rows: r.logitRows[0]!.count, hidden: r.hidden };
  }

  /**
   * One model step over a batch of sequences of any lengths and positions: their rows are flattened, so
   * every projection and the MoE read their weights once for the whole step; attention and the indexer
   * run per sequence against its own cache. Each cache gains its sequence's rows (committed at the end).
   */
  step(batch: readonly StepInput[], opts: Omit<ForwardOptions, 'logits'> = {}): StepResult {
    const { cfg, ops, weights } = this;
    if (batch.length === 0) throw new RangeError('step: empty batch');
    let T = 0;
    for (const b of batch) {
      if (b.tokens.length === 0) throw new RangeError('forward: no tokens');
      const end = b.cache.length + b.tokens.length;
      if (end > cfg.maxPositionEmbeddings) throw new RangeError(`context of ${end} tokens exceeds max_position_embeddings ${cfg.maxPositionEmbeddings}`);
      T += b.tokens.length;
    }
    const ids = new Int32Array(T),
      positions = new Int32Array(T),
      keyLimit = new Int32Array(T);
    const seqs: StepSequence[] = [];
    let row = 0;
    for (const b of batch) {
      const n = b.tokens.length,
        start = b.cache.length;
      for (let t = 0; t < n; t++) {
        ids[row + t] = b.tokens[t]!;
        positions[row + t] = start + t;
        keyLimit[row + t] = start + t + 1;
      }
      const form = opts.attention === 'expanded' || opts.attention === 'absorbed' ? opts.attention : autoForm(cfg, n, start + n, opts.forceDense);
      seqs.push({ cache: b.cache, start, T: n, row0: row, form });
      row += n;
    }
    const ctx: StepContext = { ops, cfg, T, positions, keyLimit, seqs, forceDense: opts.forceDense ?? false, trace: opts.trace, ws: this.ws };

    const h = ops.gatherRows(weights.embed, ids); // [T, hidden]
    opts.trace?.('hidden.embed', -1, h);
    const selections: Selection[][] = [];
    for (let l = 0; l < cfg.numLayers; l++) {
      const src = cfg.indexerSource[l]!;
      selections[l] = decoderLayer(ctx, l, weights.layers[l]!, h, src === l ? undefined : selections[src]);
      opts.trace?.('hidden.layer', l, h);
    }
    for (const s of seqs) s.cache.commit(s.T);

    const D = cfg.hiddenSize;
    const hidden = ops.rmsNorm(h, T, D, weights.norm, cfg.rmsNormEps);
    opts.trace?.('hidden.final_norm', -1, hidden);
    // Rows that want logits, gathered so lm_head runs once.
    const logitRows: { first: number; count: number }[] = [];
    const pick: number[] = [];
    batch.forEach((b, i) => {
      const s = seqs[i]!;
      const first = pick.length;
      if (b.logits === 'all') for (let t = 0; t < s.T; t++) pick.push(s.row0 + t);
      else if (b.logits === 'last') pick.push(s.row0 + s.T - 1);
      logitRows.push({ first, count: pick.length - first });
    });
    if (pick.length === 0) return { logits: new Float32Array(0), logitRows, hidden };
    let x = hidden;
    const contiguous = pick.every((r, i) => r === pick[0]! + i);
    if (contiguous) x = hidden.subarray(pick[0]! * D, (pick[0]! + pick.length) * D);
    else {
      x = new Float32Array(pick.length * D);
      pick.forEach((r, i) => x.set(hidden.subarray(r * D, (r + 1) * D), i * D));
    }
    return { logits: ops.matmul(x, pick.length, weights.lmHead), logitRows, hidden };
  }
}

/**
 * The cheaper MLA form for T new rows over L keys (multiply-adds per head): expanded rebuilds K/V for all
 * L keys, then attends at width Dq+Dv; absorbed folds W_UK / W_UV into T queries, then attends at the
 * latent width 2C+R. A prompt from scratch (T = L) expands; decode and short chunks over a long cached
 * context (a prefix-cache hit, a draft to verify) absorb.
 * Rows that see more than index_topk keys read a scattered top-k subset: expanded, every selected K/V row is
 * read once per head (memory-bound); absorbed, one latent row serves every head. So sparse rows always
 * absorb, and the dense rows before them take the cheaper form for themselves ('mixed' when expanded).
 */
export function autoForm(cfg: ModelConfig, T: number, L: number, forceDense = false): 'expanded' | 'absorbed' | 'mixed' {
  if (T === 1) return 'absorbed';
  const cheaper = (t: number, l: number) => {
    const C = cfg.kvLoraRank,
      R = cfg.qkRopeHeadDim,
      Dn = cfg.qkNopeHeadDim,
      Dv = cfg.vHeadDim,
      Dq = cfg.qkHeadDim;
    const expanded = l * C * (Dn + Dv) + t * l * (Dq + Dv);
    const absorbed = t * C * (Dn + Dv) + t * l * (2 * C + R);
    return absorbed < expanded ? 'absorbed' : 'expanded';
  };
  if (forceDense || L <= cfg.indexTopk) return cheaper(T, L);
  const dense = Math.max(0, Math.min(T, cfg.indexTopk - (L - T)));
  return dense > 0 && cheaper(dense, L - T + dense) === 'expanded' ? 'mixed' : 'absorbed';
}

/**
 * Applies f to every projection/expert weight and `head` to the vocabulary heads (lm_head, an MTP layer's own
 * head); not to the embedding, norms, router or indexer head weights.
 */
export function mapLinears(w: ModelWeights, f: (x: LinearWeight) => LinearWeight, head: (x: LinearWeight) => LinearWeight = f): ModelWeights {
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
  return {
    ...w,
    layers: w.layers.map(layer),
    lmHead: head(w.lmHead),
    mtp: w.mtp.map((m) => ({ ...m, layer: layer(m.layer), head: m.head ? head(m.head) : null })),
  };
}
