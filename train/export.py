"""Exports a training checkpoint as a Hugging Face glm_moe_dsa folder: BF16 safetensors with the checkpoint tensor
names of spec §5 (per-expert tensors, the MTP layer at index num_hidden_layers, e_score_correction_bias in F32),
config.json, generation_config.json, tokenizer.json, tokenizer_config.json and chat_template.jinja (the project's
built-in GLM-5 template, as `glm5 init` writes it).

Run: .venv/bin/python -m train.export [--ckpt train/.work/ckpt.pt] [--out models/glm5-nano]
"""

import argparse
import json
import os
import re
import shutil
import subprocess

import torch
from safetensors.torch import save_file

from train.model import Config, GlmMoeDsa
from train.paths import MODEL, ROOT, WORK


def hf_state_dict(model: GlmMoeDsa) -> dict:
    cfg = model.cfg
    out = {}
    sd = model.state_dict()
    L = cfg.num_hidden_layers
    for name, t in sd.items():
        if name.endswith('.load'):
            continue
        n = name
        if n.startswith('mtp.'):
            j = int(n.split('.')[1])
            n = f'model.layers.{L + j}.' + n.split('.', 2)[2]
        elif n.startswith(('layers.', 'embed_tokens.', 'norm.')):
            n = 'model.' + n
        m = re.match(r'(.*)\.mlp\.w_(gate|up|down)$', n)
        if m:
            kind = {'gate': 'gate_proj', 'up': 'up_proj', 'down': 'down_proj'}[m.group(2)]
            for e in range(t.shape[0]):
                out[f'{m.group(1)}.mlp.experts.{e}.{kind}.weight'] = t[e].to(torch.bfloat16).contiguous()
            continue
        if n.endswith('e_score_correction_bias'):
            out[n] = t.float().contiguous()
        else:
            out[n] = t.to(torch.bfloat16).contiguous()
    return out


def hf_config(cfg: Config, tok: dict) -> dict:
    added = {t['content']: t['id'] for t in tok['added_tokens']}
    eos = [added['<|endoftext|>'], added['<|user|>'], added['<|observation|>']]
    n = cfg.num_hidden_layers
    return {
        'architectures': ['GlmMoeDsaForCausalLM'], 'model_type': 'glm_moe_dsa', 'attention_bias': False,
        'attention_dropout': 0.0, 'hidden_act': 'silu', 'vocab_size': cfg.vocab_size, 'eos_token_id': eos,
        'pad_token_id': eos[0], 'rms_norm_eps': cfg.rms_norm_eps, 'rope_interleave': True,
        'indexer_rope_interleave': True, 'scoring_func': 'sigmoid', 'topk_method': 'noaux_tc', 'norm_topk_prob': True,
        'routed_scaling_factor': cfg.routed_scaling_factor, 'moe_layer_freq': 1, 'tie_word_embeddings': False,
        'use_cache': True, 'initializer_range': 0.02, 'dtype': 'bfloat16', 'num_hidden_layers': n,
        'first_k_dense_replace': cfg.first_k_dense_replace,
        'mlp_layer_types': ['dense' if i < cfg.first_k_dense_replace else 'sparse' for i in range(n)],
        'indexer_types': ['full'] * n, 'hidden_size': cfg.hidden_size, 'intermediate_size': cfg.intermediate_size,
        'moe_intermediate_size': cfg.moe_intermediate_size, 'num_attention_heads': cfg.num_attention_heads,
        'num_key_value_heads': cfg.num_attention_heads, 'q_lora_rank': cfg.q_lora_rank,
        'kv_lora_rank': cfg.kv_lora_rank, 'qk_nope_head_dim': cfg.qk_nope_head_dim,
        'qk_rope_head_dim': cfg.qk_rope_head_dim, 'qk_head_dim': cfg.qk_head_dim, 'v_head_dim': cfg.v_head_dim,
        'head_dim': cfg.qk_rope_head_dim, 'index_n_heads': cfg.index_n_heads, 'index_head_dim': cfg.index_head_dim,
        'index_topk': cfg.index_topk, 'n_routed_experts': cfg.n_routed_experts,
        'num_experts_per_tok': cfg.num_experts_per_tok, 'n_shared_experts': cfg.n_shared_experts, 'n_group': 1,
        'topk_group': 1, 'rope_parameters': {'rope_theta': cfg.rope_theta, 'rope_type': 'default'},
        'max_position_embeddings': cfg.max_position_embeddings,
        'num_nextn_predict_layers': cfg.num_nextn_predict_layers,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ckpt', default=os.path.join(WORK, 'ckpt.pt'))
    ap.add_argument('--out', default=MODEL)
    ap.add_argument('--tokenizer', default=os.path.join(WORK, 'tokenizer.json'))
    ap.add_argument('--random', action='store_true', help='export a freshly initialised model (layout checks)')
    args = ap.parse_args()
    if args.random:
        torch.manual_seed(0)
        model = GlmMoeDsa(Config(index_topk=128))
        with torch.no_grad():  # non-trivial norms, biases and router so a layout mistake shows in the logits
            for n, p in model.named_parameters():
                if p.dim() == 1:
                    p.add_(torch.randn_like(p) * 0.1)
                elif 'gate.weight' in n:
                    p.normal_(0, 0.5)
            for m in model.moe_layers():
                m.gate.e_score_correction_bias.normal_(0, 0.05)
        step = 0
    else:
        ck = torch.load(args.ckpt, weights_only=False)
        model = GlmMoeDsa(Config(**ck['config']))
        model.load_state_dict(ck['model'])
        step = ck['step']
    tok = json.load(open(args.tokenizer))
    os.makedirs(args.out, exist_ok=True)
    tensors = hf_state_dict(model)
    save_file(tensors, os.path.join(args.out, 'model.safetensors'), metadata={'format': 'pt'})
    cfg = hf_config(model.cfg, tok)
    json.dump(cfg, open(os.path.join(args.out, 'config.json'), 'w'), indent=2)
    gen = {'eos_token_id': cfg['eos_token_id'], 'pad_token_id': cfg['pad_token_id'], 'do_sample': False,
           'temperature': 1.0, 'top_p': 0.95}
    json.dump(gen, open(os.path.join(args.out, 'generation_config.json'), 'w'), indent=2)
    shutil.copy(args.tokenizer, os.path.join(args.out, 'tokenizer.json'))
    # tokenizer_config.json and chat_template.jinja exactly as `glm5 init` writes them
    tmp = os.path.join(WORK, 'init-preset')
    if not os.path.exists(os.path.join(tmp, 'chat_template.jinja')):
        subprocess.run(['node', os.path.join(ROOT, 'bin', 'glm5.js'), 'init', '--preset', 'tiny', tmp], check=True,
                       capture_output=True)
    for f in ('tokenizer_config.json', 'chat_template.jinja'):
        shutil.copy(os.path.join(tmp, f), os.path.join(args.out, f))
    n = sum(t.numel() for t in tensors.values())
    print(f'exported step {step}: {len(tensors)} tensors, {n} parameters → {args.out}')


if __name__ == '__main__':
    main()
