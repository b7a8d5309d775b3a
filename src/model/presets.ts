// Built-in synthetic model shapes (`glm5 init --preset NAME`), written as real HF glm_moe_dsa configs.
//   tiny  — golden-set scale (64 wide, 4 layers), small index_topk so the indexer really drops keys.
//   small — GLM-5-shaped at ~0.7B total / ~0.2B active: real latent widths (C 512, R 64), real
//           index_topk 2048 and head-dim 128 indexer, 64 experts top-8 + shared expert, 3 dense layers.
//   long  — one layer with GLM-5's latent widths and index_topk 2048 and a small MLP: for long-context
//           sparse-vs-dense measurements, where a real 64K-token prefill must stay affordable on 2 cores.
//   flash — GLM-4.7-Flash (glm4_moe_lite) at full width, in its published config layout, but 4 of its
//           47 layers (layer 0 dense, 3 MoE) and the preset vocabulary: per-layer speed of the real model.

export type PresetName = 'tiny' | 'small' | 'long' | 'flash';
export const PRESETS: readonly PresetName[] = ['tiny', 'small', 'long', 'flash'];

/** zai-org/GLM-4.7-Flash config.json (legacy layout: top-level rope_theta, first_k_dense_replace), `numLayers` of its 47 layers. */
export function flashConfig(vocab: VocabInfo, numLayers: number): Record<string, unknown> {
  return {
    architectures: ['Glm4MoeLiteForCausalLM'],
    model_type: 'glm4_moe_lite',
    attention_bias: false,
    attention_dropout: 0.0,
    pad_token_id: vocab.padTokenId,
    eos_token_id: [...vocab.eosTokenIds],
    hidden_act: 'silu',
    hidden_size: 2048,
    intermediate_size: 10240,
    max_position_embeddings: 202752,
    moe_intermediate_size: 1536,
    topk_method: 'noaux_tc',
    norm_topk_prob: true,
    num_attention_heads: 20,
    n_group: 1,
    topk_group: 1,
    n_routed_experts: 64,
    n_shared_experts: 1,
    routed_scaling_factor: 1.8,
    num_experts_per_tok: 4,
    first_k_dense_replace: 1,
    num_hidden_layers: numLayers,
    num_key_value_heads: 20,
    num_nextn_predict_layers: 0,
    partial_rotary_factor: 1.0,
    rms_norm_eps: 1e-5,
    rope_scaling: null,
    rope_theta: 1000000,
    tie_word_embeddings: false,
    dtype: 'bfloat16',
    q_lora_rank: 768,
    kv_lora_rank: 512,
    qk_nope_head_dim: 192,
    qk_rope_head_dim: 64,
    v_head_dim: 256,
    vocab_size: vocab.vocabSize,
    initializer_range: 0.02,
  };
}

export interface VocabInfo {
  readonly vocabSize: number;
  readonly eosTokenIds: readonly number[];
  readonly padTokenId: number;
}

/**
 * zai-org/GLM-5-FP8 config.json (spec architecture.md §1.1): the released model's shape, for size and speed
 * estimates (docs/models.md); never written as a checkpoint.
 */
export function glm5Fp8Config(): Record<string, unknown> {
  return {
    architectures: ['GlmMoeDsaForCausalLM'],
    model_type: 'glm_moe_dsa',
    vocab_size: 154880,
    hidden_size: 6144,
    num_hidden_layers: 78,
    num_attention_heads: 64,
    num_key_value_heads: 64,
    q_lora_rank: 2048,
    kv_lora_rank: 512,
    qk_nope_head_dim: 192,
    qk_rope_head_dim: 64,
    v_head_dim: 256,
    index_n_heads: 32,
    index_head_dim: 128,
    index_topk: 2048,
    n_routed_experts: 256,
    num_experts_per_tok: 8,
    n_shared_experts: 1,
    moe_intermediate_size: 2048,
    intermediate_size: 12288,
    first_k_dense_replace: 3,
    routed_scaling_factor: 2.5,
    n_group: 1,
    topk_group: 1,
    norm_topk_prob: true,
    rope_parameters: { rope_theta: 1000000, rope_type: 'default' },
    max_position_embeddings: 202752,
    rms_norm_eps: 1e-5,
    num_nextn_predict_layers: 1,
    eos_token_id: [154820, 154827, 154829],
    pad_token_id: 154820,
    dtype: 'bfloat16',
    quantization_config: { quant_method: 'fp8', fmt: 'e4m3', activation_scheme: 'dynamic', weight_block_size: [128, 128] },
  };
}

export function presetConfig(name: PresetName, vocab: VocabInfo): Record<string, unknown> {
  const common = {
    architectures: ['GlmMoeDsaForCausalLM'],
    model_type: 'glm_moe_dsa',
    attention_bias: false,
    attention_dropout: 0.0,
    hidden_act: 'silu',
    vocab_size: vocab.vocabSize,
    eos_token_id: [...vocab.eosTokenIds],
    pad_token_id: vocab.padTokenId,
    rms_norm_eps: 1e-5,
    rope_interleave: true,
    indexer_rope_interleave: true,
    scoring_func: 'sigmoid',
    topk_method: 'noaux_tc',
    norm_topk_prob: true,
    routed_scaling_factor: 2.5,
    moe_layer_freq: 1,
    tie_word_embeddings: false,
    use_cache: true,
    initializer_range: 0.02,
    dtype: 'bfloat16',
  };
  const layers = (n: number, dense: number) => ({
    num_hidden_layers: n,
    first_k_dense_replace: dense,
    mlp_layer_types: Array.from({ length: n }, (_, i) => (i < dense ? 'dense' : 'sparse')),
    indexer_types: Array.from({ length: n }, () => 'full'),
  });
  switch (name) {
    case 'flash':
      return flashConfig(vocab, 4);
    case 'tiny':
      return {
        ...common,
        ...layers(4, 1),
        hidden_size: 64,
        intermediate_size: 128,
        moe_intermediate_size: 32,
        num_attention_heads: 4,
        num_key_value_heads: 4,
        q_lora_rank: 48,
        kv_lora_rank: 32,
        qk_nope_head_dim: 16,
        qk_rope_head_dim: 8,
        qk_head_dim: 24,
        v_head_dim: 24,
        head_dim: 8,
        index_n_heads: 4,
        index_head_dim: 16,
        index_topk: 16,
        n_routed_experts: 16,
        num_experts_per_tok: 4,
        n_shared_experts: 1,
        n_group: 4,
        topk_group: 2,
        rope_parameters: { rope_theta: 10000.0, rope_type: 'default' },
        max_position_embeddings: 4096,
        num_nextn_predict_layers: 0,
      };
    case 'small':
      return {
        ...common,
        ...layers(12, 3),
        hidden_size: 1024,
        intermediate_size: 3072,
        moe_intermediate_size: 256,
        num_attention_heads: 16,
        num_key_value_heads: 16,
        q_lora_rank: 512,
        kv_lora_rank: 512,
        qk_nope_head_dim: 128,
        qk_rope_head_dim: 64,
        qk_head_dim: 192,
        v_head_dim: 128,
        head_dim: 64,
        index_n_heads: 8,
        index_head_dim: 128,
        index_topk: 2048,
        n_routed_experts: 64,
        num_experts_per_tok: 8,
        n_shared_experts: 1,
        n_group: 1,
        topk_group: 1,
        rope_parameters: { rope_theta: 1000000.0, rope_type: 'default' },
        max_position_embeddings: 131072,
        num_nextn_predict_layers: 0,
      };
    case 'long':
      return {
        ...common,
        ...layers(1, 1),
        hidden_size: 512,
        intermediate_size: 1024,
        moe_intermediate_size: 128,
        num_attention_heads: 16,
        num_key_value_heads: 16,
        q_lora_rank: 512,
        kv_lora_rank: 512,
        qk_nope_head_dim: 128,
        qk_rope_head_dim: 64,
        qk_head_dim: 192,
        v_head_dim: 128,
        head_dim: 64,
        index_n_heads: 8,
        index_head_dim: 128,
        index_topk: 2048,
        n_routed_experts: 8,
        num_experts_per_tok: 2,
        n_shared_experts: 1,
        n_group: 1,
        topk_group: 1,
        rope_parameters: { rope_theta: 1000000.0, rope_type: 'default' },
        max_position_embeddings: 131072,
        num_nextn_predict_layers: 0,
      };
  }
}
