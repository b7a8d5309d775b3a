"""GLM-5 (`glm_moe_dsa`) scaled down, for training: MLA with q/kv LoRA, the DSA lightning indexer, sigmoid-routed
MoE with a shared expert and bias-based load balancing, and one MTP layer. Spec: ../shared/spec/architecture.md.

Parameter names are the Hugging Face checkpoint names (spec §5) except the experts, which are stacked here
([E, F, D]) so they run as batched matmuls and are split per expert by export.py.

Shapes: B batch, T tokens, D hidden, H heads, C kv_lora_rank, R rope dim, E experts, K experts per token.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    vocab_size: int = 8192
    hidden_size: int = 256
    num_hidden_layers: int = 4
    first_k_dense_replace: int = 1
    num_attention_heads: int = 4
    q_lora_rank: int = 128
    kv_lora_rank: int = 64
    qk_nope_head_dim: int = 32
    qk_rope_head_dim: int = 16
    v_head_dim: int = 32
    index_n_heads: int = 4
    index_head_dim: int = 32
    index_topk: int = 64
    intermediate_size: int = 768
    moe_intermediate_size: int = 128
    n_routed_experts: int = 16
    num_experts_per_tok: int = 4
    n_shared_experts: int = 1
    routed_scaling_factor: float = 2.5
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5
    num_nextn_predict_layers: int = 1
    max_position_embeddings: int = 4096

    @property
    def qk_head_dim(self) -> int:
        return self.qk_nope_head_dim + self.qk_rope_head_dim


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_interleaved(x, cos, sin):
    """x [..., T, R] rotated in GPT-J pairs (x[2i], x[2i+1]); written de-interleaved like HF (same dot products)."""
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def rope_tables(cfg: Config, T: int, device=None, pos=None):
    """cos, sin [T, R/2] for positions 0..T-1, or [B, T, R/2] for explicit positions pos [B, T] (packed documents
    each start at position 0, as a request does at inference)."""
    inv = 1.0 / (cfg.rope_theta ** (torch.arange(0, cfg.qk_rope_head_dim, 2, dtype=torch.float32) / cfg.qk_rope_head_dim))
    p = torch.arange(T, dtype=torch.float32) if pos is None else pos.float()
    ang = p[..., None] * inv  # [T, R/2] or [B, T, R/2]
    return ang.cos(), ang.sin()


def per_head(t):
    """A rope table shaped for [B, H, T, R] operands: [T, R/2] broadcasts as is, [B, T, R/2] gains a head axis."""
    return t if t.dim() == 2 else t.unsqueeze(1)


class Indexer(nn.Module):
    """DSA lightning indexer (spec §3.4). Its inputs are detached: it learns only from its own KL loss."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.wq_b = nn.Linear(cfg.q_lora_rank, cfg.index_n_heads * cfg.index_head_dim, bias=False)
        self.wk = nn.Linear(cfg.hidden_size, cfg.index_head_dim, bias=False)
        self.k_norm = nn.LayerNorm(cfg.index_head_dim, eps=1e-6)
        self.weights_proj = nn.Linear(cfg.hidden_size, cfg.index_n_heads, bias=False)

    def forward(self, a, q_lat, cos, sin):
        """Index scores I [B, T, T] (causal positions not yet masked)."""
        cfg = self.cfg
        B, T, _ = a.shape
        Hi, Di, R = cfg.index_n_heads, cfg.index_head_dim, cfg.qk_rope_head_dim
        q = self.wq_b(q_lat).view(B, T, Hi, Di).transpose(1, 2)  # [B, Hi, T, Di]
        k = self.k_norm(self.wk(a))  # [B, T, Di]
        q = torch.cat([rope_interleaved(q[..., :R], per_head(cos), per_head(sin)), q[..., R:]], dim=-1)
        k = torch.cat([rope_interleaved(k[..., :R], cos, sin), k[..., R:]], dim=-1)
        s = F.relu(torch.matmul(q, k.unsqueeze(1).transpose(-1, -2)) * Di ** -0.5)  # [B, Hi, T, T]
        w = self.weights_proj(a) * Hi ** -0.5  # [B, T, Hi]
        return torch.einsum('bhts,bth->bts', s, w)


class MLA(nn.Module):
    """Multi-head latent attention, expanded form (spec §3.3), with DSA top-k masking (§3.5)."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        H = cfg.num_attention_heads
        self.q_a_proj = nn.Linear(cfg.hidden_size, cfg.q_lora_rank, bias=False)
        self.q_a_layernorm = RMSNorm(cfg.q_lora_rank, 1e-6)  # HF class default eps (spec §9.3)
        self.q_b_proj = nn.Linear(cfg.q_lora_rank, H * cfg.qk_head_dim, bias=False)
        self.kv_a_proj_with_mqa = nn.Linear(cfg.hidden_size, cfg.kv_lora_rank + cfg.qk_rope_head_dim, bias=False)
        self.kv_a_layernorm = RMSNorm(cfg.kv_lora_rank, 1e-6)
        self.kv_b_proj = nn.Linear(cfg.kv_lora_rank, H * (cfg.qk_nope_head_dim + cfg.v_head_dim), bias=False)
        self.o_proj = nn.Linear(H * cfg.v_head_dim, cfg.hidden_size, bias=False)
        self.indexer = Indexer(cfg)

    def forward(self, a, cos, sin, mode: str, causal=None):
        """causal: allowed keys, [T, T] lower-triangular or [B, T, T] (causal and same packed document); mode: 'dense' (indexer trained by KL toward dense attention), 'sparse' (attention masked to the indexer's
        top-k, indexer KL on the selected set), 'eval_dense' / 'eval_sparse' (no indexer loss).
        Returns (out [B,T,D], indexer KL loss scalar or None, stats dict)."""
        cfg = self.cfg
        B, T, _ = a.shape
        H, Dn, R, Dv = cfg.num_attention_heads, cfg.qk_nope_head_dim, cfg.qk_rope_head_dim, cfg.v_head_dim
        q_lat = self.q_a_layernorm(self.q_a_proj(a))  # [B, T, q_lora]
        q = self.q_b_proj(q_lat).view(B, T, H, Dn + R).transpose(1, 2)  # [B, H, T, Dn+R]
        ckv = self.kv_a_proj_with_mqa(a)
        c = self.kv_a_layernorm(ckv[..., : cfg.kv_lora_rank])  # [B, T, C]
        k_pe = rope_interleaved(ckv[..., cfg.kv_lora_rank:], cos, sin).unsqueeze(1)  # [B, 1, T, R]
        q_pe = rope_interleaved(q[..., Dn:], per_head(cos), per_head(sin))
        kv = self.kv_b_proj(c).view(B, T, H, Dn + Dv).transpose(1, 2)  # [B, H, T, Dn+Dv]
        k_nope, v = kv[..., :Dn], kv[..., Dn:]
        scores = (torch.matmul(q[..., :Dn], k_nope.transpose(-1, -2)) + torch.matmul(q_pe, k_pe.transpose(-1, -2)))
        scores = scores * cfg.qk_head_dim ** -0.5  # [B, H, T, T]
        if causal is None:
            causal = torch.ones(T, T, dtype=torch.bool, device=a.device).tril()
        bcausal = causal.expand(B, T, T)
        neg = torch.finfo(scores.dtype).min

        index_loss = None
        stats = {}
        sel = None
        need_index = mode != 'eval_dense' or T > cfg.index_topk
        if need_index:
            I = self.indexer(a.detach(), q_lat.detach(), cos, sin).masked_fill(~causal, float('-inf'))  # [B, T, T]
            if T > cfg.index_topk:
                top = I.topk(cfg.index_topk, dim=-1).indices
                sel = torch.zeros(B, T, T, dtype=torch.bool, device=a.device).scatter_(-1, top, True) & causal
            else:
                sel = bcausal
        allowed = (bcausal if (mode in ('dense', 'eval_dense') or sel is None) else sel).unsqueeze(1)
        p = torch.softmax(scores.masked_fill(~allowed, neg), dim=-1)  # [B, H, T, T]
        out = torch.matmul(p, v).transpose(1, 2).reshape(B, T, H * Dv)

        if mode in ('dense', 'sparse'):
            # KL(target || indexer): target = main attention summed over heads, L1-normalised, detached;
            # in sparse mode both distributions live on the selected set only (DeepSeek-V3.2).
            region = bcausal if mode == 'dense' else sel
            with torch.no_grad():
                tgt = (p.detach().float().sum(1) * region)
                tgt = tgt / tgt.sum(-1, keepdim=True).clamp_min(1e-12)
                ent = torch.special.xlogy(tgt, tgt).sum(-1).mean()
            logq = torch.log_softmax(I.float().masked_fill(~region, float('-inf')), dim=-1)
            # KL = Σ tgt·log tgt − Σ tgt·log q; the first term has no gradient (tgt is 0 outside the region)
            index_loss = ent - (tgt * torch.nan_to_num(logq, neginf=0.0)).sum(-1).mean()
        if mode.startswith('eval') and sel is not None and T > cfg.index_topk:
            # recall: main attention mass (head-averaged) inside the indexer's top-k vs inside the best top-k
            with torch.no_grad():
                pm = p.mean(1)  # [B, T, T]
                rows = slice(cfg.index_topk, T)
                got = (pm * sel).sum(-1)[:, rows]
                best = pm.topk(cfg.index_topk, dim=-1).values.sum(-1)[:, rows]
                stats = {'mass_sel': got.mean().item(), 'mass_best': best.mean().item()}
        return self.o_proj(out), index_loss, stats


class MLP(nn.Module):
    def __init__(self, D: int, F_: int):
        super().__init__()
        self.gate_proj = nn.Linear(D, F_, bias=False)
        self.up_proj = nn.Linear(D, F_, bias=False)
        self.down_proj = nn.Linear(F_, D, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Router(nn.Module):
    """Sigmoid scores; e_score_correction_bias only chooses experts (noaux_tc, spec §3.9)."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(cfg.n_routed_experts, cfg.hidden_size))
        nn.init.normal_(self.weight, std=0.02)
        self.register_buffer('e_score_correction_bias', torch.zeros(cfg.n_routed_experts))


class MoE(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        E, D, Fm = cfg.n_routed_experts, cfg.hidden_size, cfg.moe_intermediate_size
        self.gate = Router(cfg)
        # stacked experts [E, F, D] / [E, D, F]; export splits them into experts.{e}.{gate,up,down}_proj
        self.w_gate = nn.Parameter(torch.randn(E, Fm, D) * D ** -0.5)
        self.w_up = nn.Parameter(torch.randn(E, Fm, D) * D ** -0.5)
        self.w_down = nn.Parameter(torch.randn(E, D, Fm) * Fm ** -0.5 * 0.5)
        self.shared_experts = MLP(D, Fm * cfg.n_shared_experts)
        self.register_buffer('load', torch.zeros(E), persistent=False)  # tokens per expert since last bias update

    def forward(self, x):
        cfg = self.cfg
        shape = x.shape
        x2 = x.reshape(-1, shape[-1])  # [N, D]
        N, K, E = x2.shape[0], cfg.num_experts_per_tok, cfg.n_routed_experts
        s = torch.sigmoid(x2.float() @ self.gate.weight.float().t())  # [N, E]
        idx = (s.detach() + self.gate.e_score_correction_bias).topk(K, dim=-1).indices  # [N, K]
        g = s.gather(1, idx)
        g = g / (g.sum(-1, keepdim=True) + 1e-20) * cfg.routed_scaling_factor

        # Batched experts: bucket the N*K (token, expert) pairs by expert into [E, cap, D], three bmm's, scatter back.
        flat = idx.reshape(-1)
        counts = torch.bincount(flat, minlength=E)
        if self.training:
            self.load += counts.float()
        order = torch.argsort(flat, stable=True)
        e_sorted = flat[order]
        starts = torch.cumsum(counts, 0) - counts
        pos = torch.arange(N * K, device=x.device) - starts[e_sorted]
        tok = order // K
        cap = int(counts.max().item())
        buf = x2.new_zeros(E, cap, shape[-1])
        buf[e_sorted, pos] = x2[tok]
        h = F.silu(torch.bmm(buf, self.w_gate.transpose(1, 2))) * torch.bmm(buf, self.w_up.transpose(1, 2))
        o = torch.bmm(h, self.w_down.transpose(1, 2))  # [E, cap, D]
        y_pairs = o[e_sorted, pos] * g.reshape(-1)[order].unsqueeze(-1).to(o.dtype)
        y = y_pairs.new_zeros(x2.shape).index_add_(0, tok, y_pairs)
        return (y + self.shared_experts(x2)).view(shape)

    @torch.no_grad()
    def update_bias(self, rate: float):
        """DeepSeek-V3 auxiliary-loss-free balancing: raise the bias of under-loaded experts, lower over-loaded."""
        if self.load.sum() > 0:
            err = self.load.mean() - self.load
            self.gate.e_score_correction_bias += rate * torch.sign(err)
        self.load.zero_()


class DecoderLayer(nn.Module):
    def __init__(self, cfg: Config, dense: bool):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = MLA(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.mlp = MLP(cfg.hidden_size, cfg.intermediate_size) if dense else MoE(cfg)

    def forward(self, h, cos, sin, mode, causal=None):
        a, il, st = self.self_attn(self.input_layernorm(h), cos, sin, mode, causal)
        h = h + a
        h = h + self.mlp(self.post_attention_layernorm(h))
        return h, il, st


class MTPLayer(DecoderLayer):
    """Spec §4: x = eh_proj([enorm(embed(t_{i+1})) ; hnorm(h_i)]) → decoder layer → shared_head.norm → lm_head."""

    def __init__(self, cfg: Config):
        super().__init__(cfg, dense=False)
        self.enorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.hnorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.eh_proj = nn.Linear(2 * cfg.hidden_size, cfg.hidden_size, bias=False)
        self.shared_head = nn.Module()
        self.shared_head.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)

    def step(self, e, h, cos, sin, mode, causal=None):
        x = self.eh_proj(torch.cat([self.enorm(e), self.hnorm(h)], dim=-1))
        x, il, _ = super().forward(x, cos, sin, mode, causal)
        return x, il


class GlmMoeDsa(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList(
            [DecoderLayer(cfg, dense=i < cfg.first_k_dense_replace) for i in range(cfg.num_hidden_layers)])
        self.mtp = nn.ModuleList([MTPLayer(cfg) for _ in range(cfg.num_nextn_predict_layers)])
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        self.apply(self._init)
        n_res = 2 * (cfg.num_hidden_layers + 1)
        for name, p in self.named_parameters():
            if name.endswith('o_proj.weight') or name.endswith('down_proj.weight') or name.endswith('w_down'):
                with torch.no_grad():
                    p.mul_(1 / math.sqrt(n_res))

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)

    def moe_layers(self):
        return [m for m in self.modules() if isinstance(m, MoE)]

    def hidden(self, ids, mode: str = 'dense', with_mtp: bool = True, stats=None, doc=None, pos=None):
        """ids [B, T] → final-normed hidden [B, T, D], MTP hidden after shared_head.norm [B, T-1, D] (row i predicts
        ids[i+2]) or None, summed indexer KL loss. The head is applied by the caller (only where a loss is taken).
        doc, pos [B, T]: packed documents — a token attends only within its document, positions restart per document."""
        B, T = ids.shape
        cos, sin = rope_tables(self.cfg, T, pos=pos)
        causal = None
        if doc is not None:
            causal = torch.ones(T, T, dtype=torch.bool, device=ids.device).tril() & (doc[:, :, None] == doc[:, None, :])
        h = self.embed_tokens(ids)
        iloss = h.new_zeros((), dtype=torch.float32)
        for layer in self.layers:
            h, il, st = layer(h, cos, sin, mode, causal)
            if il is not None:
                iloss = iloss + il
            if stats is not None:
                stats.append(st)
        hn = self.norm(h)
        mtp_h = None
        if with_mtp and len(self.mtp) > 0:
            # row i pairs the final-normed hidden at i with the embedding of token i+1, at position i
            m = self.mtp[0]
            cm = causal[:, : T - 1, : T - 1] if causal is not None else None
            x, il = m.step(self.embed_tokens(ids[:, 1:]), hn[:, :-1], cos[..., : T - 1, :], sin[..., : T - 1, :], mode, cm)
            if il is not None:
                iloss = iloss + il
            mtp_h = m.shared_head.norm(x)
        return hn, mtp_h, iloss

    def forward(self, ids, mode: str = 'dense', with_mtp: bool = True):
        stats = []
        hn, mtp_h, iloss = self.hidden(ids, mode, with_mtp, stats)
        return self.lm_head(hn), (self.lm_head(mtp_h) if mtp_h is not None else None), iloss, stats


def count_params(model: GlmMoeDsa) -> dict:
    cfg = model.cfg
    total = sum(p.numel() for p in model.parameters())
    mtp = sum(p.numel() for p in model.mtp.parameters())
    per_expert = 3 * cfg.hidden_size * cfg.moe_intermediate_size
    n_moe_main = cfg.num_hidden_layers - cfg.first_k_dense_replace
    inactive = n_moe_main * (cfg.n_routed_experts - cfg.num_experts_per_tok) * per_expert
    main = total - mtp
    active = main - inactive - cfg.vocab_size * cfg.hidden_size  # embedding rows are looked up, not multiplied
    return {'total': total, 'main': main, 'mtp': mtp, 'active_per_token_matmul': active,
            'embedding': cfg.vocab_size * cfg.hidden_size}


def config_dict(cfg: Config) -> dict:
    return asdict(cfg)
