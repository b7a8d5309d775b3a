// The registry of checkpoint architectures this model code runs: HF `model_type` → the rules in which
// that family differs from glm_moe_dsa. Resolved once, in config.ts; everything below reads the
// per-layer tables the config derives from it, never the model_type.
//   glm_moe_dsa   — GLM-5 / 5.1 / 5.2: MLA + DSA lightning indexer + sigmoid-routed MoE (spec architecture.md).
//   glm4_moe_lite — GLM-4.7-Flash: the same MLA and MoE without the indexer, so every causal key is attended;
//                   other class defaults and layer rules (spec glm47-flash.md §1, §6).

/** A decoder layer's MLP: one dense SwiGLU, or routed experts (+ shared). */
export type MlpType = 'dense' | 'sparse';

export type ArchitectureName = 'glm_moe_dsa' | 'glm4_moe_lite';

export interface Architecture {
  /** HF `model_type`. */
  readonly modelType: ArchitectureName;
  /** HF class (`architectures[0]` in config.json). */
  readonly hfClass: string;
  /** A DSA lightning indexer on (some) layers; false: every layer attends every causal key (indexer type 'none'). */
  readonly indexer: boolean;
  /** HF class defaults for keys a config.json may omit. */
  readonly defaults: {
    readonly routedScalingFactor: number;
    readonly nSharedExperts: number;
    readonly ropeTheta: number;
  };
  /** `mlp_layer_types` when config.json has none. */
  defaultMlpLayers(numLayers: number, firstKDenseReplace: number | null | undefined): MlpType[];
  /**
   * `scoring_func` / `topk_method` are honoured (an unknown value is an error) — or not fields of the
   * class at all, which hard-codes sigmoid + noaux_tc whatever the config says (glm4_moe_lite, spec §3).
   */
  readonly routerFieldsInConfig: boolean;
  /**
   * The MTP layer's own `embed_tokens` and `shared_head.head` are part of the checkpoint and used by the
   * drafter (glm4_moe_lite); otherwise it shares the main embedding and lm_head (copies some exports add are ignored).
   */
  readonly mtpOwnEmbedding: boolean;
}

const byPrefix = (numLayers: number, dense: number): MlpType[] => Array.from({ length: numLayers }, (_, i) => (i < dense ? 'dense' : 'sparse'));

export const ARCHITECTURES: Readonly<Record<ArchitectureName, Architecture>> = {
  glm_moe_dsa: {
    modelType: 'glm_moe_dsa',
    hfClass: 'GlmMoeDsaForCausalLM',
    indexer: true,
    defaults: { routedScalingFactor: 1, nSharedExperts: 0, ropeTheta: 10000 },
    defaultMlpLayers: (n, firstDense) => byPrefix(n, firstDense ?? 0),
    routerFieldsInConfig: true,
    mtpOwnEmbedding: false,
  },
  glm4_moe_lite: {
    modelType: 'glm4_moe_lite',
    hfClass: 'Glm4MoeLiteForCausalLM',
    indexer: false,
    // Glm4MoeLiteConfig defaults; a legacy top-level rope_theta (the published config: 1e6) wins over 10000.
    defaults: { routedScalingFactor: 1.8, nSharedExperts: 1, ropeTheta: 10000 },
    // HF's lite rule: ["dense"] + ["sparse"]·(N−1), whatever first_k_dense_replace says (it is not a field).
    defaultMlpLayers: (n) => byPrefix(n, 1),
    routerFieldsInConfig: false,
    mtpOwnEmbedding: true,
  },
};

/** The architecture of a config.json's model_type (absent: glm_moe_dsa, as the early GLM-5 exports). */
export function resolveArchitecture(modelType: string | undefined): Architecture | null {
  const name = modelType ?? 'glm_moe_dsa';
  return Object.hasOwn(ARCHITECTURES, name) ? ARCHITECTURES[name as ArchitectureName] : null;
}
