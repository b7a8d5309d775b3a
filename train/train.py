"""Trains glm5-nano on one CPU thread: next-token loss on trained positions, MTP loss (weight --mtp-weight),
DSA indexer KL loss (dense warm-up, then sparse), bias-based MoE load balancing. Resumable: a checkpoint is written
to train/.work/ckpt.pt every --save-min minutes and at the end; rerunning the same command resumes from it.

Run: .venv/bin/python -m train.train --steps N   (after train.data.make_data and train.tokenize_data; see train.pipeline)
"""

import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from train.model import Config, GlmMoeDsa, count_params
from train.paths import ROOT, WORK


def get_args():
    p = argparse.ArgumentParser()
    p.add_argument('--steps', type=int, default=3000)
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--seq', type=int, default=256)
    p.add_argument('--lr', type=float, default=2e-3)
    p.add_argument('--min-lr-frac', type=float, default=0.05)
    p.add_argument('--warmup', type=int, default=100)
    p.add_argument('--dense-frac', type=float, default=0.2, help='share of steps in the dense indexer warm-up')
    p.add_argument('--prose-frac', type=float, default=0.3)
    p.add_argument('--mtp-weight', type=float, default=0.3)
    p.add_argument('--bias-rate', type=float, default=1e-3)
    p.add_argument('--seed', type=int, default=1234)
    p.add_argument('--save-min', type=float, default=5.0)
    p.add_argument('--config', type=str, default='{}', help='JSON overrides of model.Config')
    p.add_argument('--ckpt', type=str, default=os.path.join(WORK, 'ckpt.pt'))
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--data', type=str, default='tokens.pt', help='token file(s) in train/.work: a.pt or a.pt:w,b.pt:w')
    p.add_argument('--pack', action='store_true', help='whole chats per sequence, own document mask and positions')
    p.add_argument('--init', type=str, default=None, help='start from the weights of this checkpoint (phase 2)')
    p.add_argument('--copy-every', type=int, default=0,
                   help='after every N-th step, one extra step on a pure copy task (random tokens, repeated)')
    p.add_argument('--copy-batch', type=int, default=16)
    p.add_argument('--copy-lr', type=float, default=0.0,
                   help='copy steps use their own AdamW at this constant rate (0: the main optimizer and schedule)')
    p.add_argument('--arg-weight', type=float, default=1.0,
                   help='loss weight of tool-call argument value tokens (phase 5: 8)')
    p.add_argument('--name-weight', type=float, default=1.0,
                   help='loss weight of the called tool name tokens (phase 6: 8)')
    p.add_argument('--stop-at', type=int, default=None, help='stop (and save) at this step; the schedule still spans --steps')
    return p.parse_args()


class Data:
    """Deterministic batches: batch k is drawn from an RNG seeded by (seed, k), so a resumed run sees the same data.

    --data is one token file or several with weights ("a.pt:0.7,b.pt:0.3"): each chat sequence draws its chats from
    one file chosen by weight. With --pack, whole chats are packed into a sequence (a chat that does not fit is
    replaced by another draw, the tail is padding) and each carries its own document id and positions from 0, so
    training sees every chat the way a request is served: alone, from position 0, never cut. Without --pack, chats
    are concatenated and cut at the sequence end (phases 1-3)."""

    def __init__(self, spec, seq, prose_frac, pack=False):
        parts = [(p.split(':')[0], float(p.split(':')[1]) if ':' in p else 1.0) for p in spec.split(',')]
        self.files = []
        for name, w in parts:
            d = torch.load(os.path.join(WORK, name))
            self.files.append((w, d['chat_ids'].numpy(), d['chat_mask'].numpy(), d['chat_off'].numpy()))
            self.prose = {k: v.numpy() for k, v in d['prose'].items()}
            self.prose_w = d['prose_weights']
        tw = sum(w for w, *_ in self.files)
        self.file_p = [w / tw for w, *_ in self.files]
        self.seq = seq
        self.prose_frac = prose_frac
        self.pack = pack

    def batch(self, seed, k, B, trace=None):
        """trace: a list that gets one (source, file index, chat index, tokens taken, tokens with loss) per piece."""
        rng = np.random.default_rng([seed, k])
        L = self.seq + 1
        ids = np.zeros((B, L), np.int64)
        mask = np.zeros((B, L), np.float32)
        doc = np.zeros((B, L), np.int64)
        pos = np.tile(np.arange(L, dtype=np.int64), (B, 1))
        names = list(self.prose)
        for b in range(B):
            if rng.random() < self.prose_frac:
                src = names[rng.choice(len(names), p=[self.prose_w[n] for n in names])]
                arr = self.prose[src]
                s = rng.integers(0, len(arr) - L)
                ids[b] = arr[s:s + L]
                mask[b] = 1
                if trace is not None:
                    trace.append((src, None, None, L, L))
                continue
            fi = rng.choice(len(self.files), p=self.file_p) if len(self.files) > 1 else 0  # one file: phases 1-3's draws
            _, cids, cmask, coff = self.files[fi]
            n, d, misses = 0, 0, 0
            while n < L:
                c = rng.integers(0, len(coff) - 1)
                a, e = coff[c], coff[c + 1]
                if self.pack and e - a > L - n:  # does not fit: draw again, after 8 misses pad the rest
                    misses += 1
                    if misses > 8:
                        break
                    continue
                take = min(e - a, L - n)
                ids[b, n:n + take] = cids[a:a + take]
                mask[b, n:n + take] = cmask[a:a + take]
                doc[b, n:n + take] = d
                pos[b, n:n + take] = np.arange(take)
                if trace is not None:
                    trace.append(('chat', fi, int(c), int(take), int(cmask[a:a + take].sum())))
                n += take
                d += 1
            if self.pack and n < L:  # padding: its own document, no loss
                doc[b, n:] = d
                pos[b, n:] = np.arange(L - n)
        return torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(doc), torch.from_numpy(pos)


def copy_batch(seed, k, B, special, pool):
    """A pure copy task in the chat frame: [gMASK]<sop><|user|> x <|assistant|></think> x, x = 8-24 tokens drawn
    uniformly from pool (the 3,000 most frequent ordinary tokens of the chats: rare tokens' embeddings are too
    alike to copy, and words asked about are frequent); loss only on the repeated x. Nothing but copying predicts it, so it trains the attention that carries
    words from a request into the answer (induction heads) far faster than chats, where copies are a small part."""
    rng = np.random.default_rng([seed, k, 7])
    n = int(rng.integers(8, 25))
    x = pool[rng.integers(0, len(pool), size=(B, n))]
    head = np.array([special['[gMASK]'], special['<sop>'], special['<|user|>']])
    mid = np.array([special['<|assistant|>'], special['</think>']])
    ids = np.concatenate([np.tile(head, (B, 1)), x, np.tile(mid, (B, 1)), x], 1)
    mask = np.zeros(ids.shape, np.float32)
    mask[:, -n:] = 1
    return torch.from_numpy(ids), torch.from_numpy(mask)


def lr_at(step, args):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    t = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (args.min_lr_frac + (1 - args.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))


def call_weights(x, m, special, arg_w, name_w):
    """Per-target loss weights [B, T]: `arg_w` where the target is a tool-call argument value token or its closing
    </arg_value> (x[t] lies after an <arg_value> and before its </arg_value>), `name_w` where it is a token of the
    called tool's name or the <arg_key> / </tool_call> that ends it (the last of <tool_call>, <arg_key>, </tool_call>
    at or before t is <tool_call>), 1 elsewhere. Each call has only a few tokens that depend on reading the request and
    the declaration (a unit, an operator, a city, which tool); this raises their share of the gradient."""
    w = m
    if arg_w != 1:
        inside = torch.cumsum((x == special['<arg_value>']).long() - (x == special['</arg_value>']).long(), dim=1) > 0
        w = torch.where(inside & (m > 0), torch.full_like(m, arg_w), w)
    if name_w != 1:
        opens = x == special['<tool_call>']
        event = opens | (x == special['<arg_key>']) | (x == special['</tool_call>'])
        t = torch.arange(x.shape[1]).expand_as(x)
        last = torch.cummax(torch.where(event, t, torch.full_like(t, -1)), dim=1).values
        in_name = (last >= 0) & torch.gather(opens, 1, last.clamp(min=0))
        w = torch.where(in_name & (m > 0), torch.full_like(m, name_w), w)
    return w


def losses(model, ids, mask, mode, doc=None, pos=None, call_w=None):
    """Main CE over positions whose target is trained (weighted by call_weights when call_w = (special, arg w,
    name w) is given; normalised by the count of trained targets), MTP CE (row i predicts ids[i+2]), indexer KL."""
    x, y = ids[:, :-1], ids[:, 1:]
    m = mask[:, 1:]
    w = call_weights(x, m, *call_w) if call_w else None
    with torch.autocast('cpu', dtype=torch.bfloat16):
        hn, mtp_h, iloss = model.hidden(x, mode, doc=None if doc is None else doc[:, :-1],
                                        pos=None if pos is None else pos[:, :-1])
        sel = m.reshape(-1) > 0
        logits = model.lm_head(hn.reshape(-1, hn.shape[-1])[sel]).float()
        ce = F.cross_entropy(logits, y.reshape(-1)[sel], reduction='none')
        main = (ce if w is None else ce * w.reshape(-1)[sel]).sum() / sel.sum()  # unweighted: the mean CE
        mtp = torch.zeros(())
        if mtp_h is not None:
            m2 = m[:, 1:].reshape(-1) > 0
            ml = model.lm_head(mtp_h.reshape(-1, mtp_h.shape[-1])[m2]).float()
            mtp = F.cross_entropy(ml, y[:, 1:].reshape(-1)[m2])
    return main, mtp, iloss.float()


def save(path, model, opt, step, args, log):
    tmp = path + '.tmp'
    torch.save({'model': model.state_dict(), 'opt': opt.state_dict(), 'step': step, 'args': vars(args),
                'config': model.cfg.__dict__, 'log': log}, tmp)
    os.replace(tmp, path)


def plot(log, path, phase_starts=()):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    tr = [r for r in log if 'loss' in r]
    va = [r for r in log if 'val_main' in r]
    fig, ax = plt.subplots(1, 3, figsize=(15, 4))
    s = [r['step'] for r in tr]

    def smooth(v, k=10):  # moving average over k log points (batches alternate prose and chats)
        return [sum(v[max(0, i - k + 1):i + 1]) / len(v[max(0, i - k + 1):i + 1]) for i in range(len(v))]
    ax[0].plot(s, smooth([r['loss'] for r in tr]), label='main (train, avg of 10 logs)', lw=0.8)
    ax[0].plot(s, smooth([r['mtp'] for r in tr]), label='MTP, token i+2 (train, avg)', lw=0.8)
    if va:
        ax[0].plot([r['step'] for r in va], [r['val_main'] for r in va], 'o-', label='main (validation batches of the phase)')
    ax[0].set_xlabel('step'); ax[0].set_ylabel('cross-entropy (nats)'); ax[0].legend(); ax[0].set_title('LM losses')
    ax[1].plot(s, smooth([r['index'] for r in tr]), lw=0.8)
    dense_end = [r['step'] for r in tr if r['mode'] == 'dense']
    if dense_end:
        ax[1].axvline(max(dense_end), color='gray', ls='--', lw=0.8, label='dense warm-up ends')
        ax[1].legend()
    ax[1].set_xlabel('step'); ax[1].set_title('indexer KL (sum over layers)'); ax[1].set_yscale('log')
    for a in ax:
        for p in phase_starts:
            a.axvline(p, color='red', ls=':', lw=0.8)
    ax[2].plot(s, [r['lr'] for r in tr])
    ax[2].set_xlabel('step'); ax[2].set_title('learning rate' + (' (red: next phase starts)' if phase_starts else ''))
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main():
    args = get_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    data = Data(args.data, args.seq, args.prose_frac, args.pack)
    cfg = Config(**json.loads(args.config))
    model = GlmMoeDsa(cfg)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': no_decay, 'weight_decay': 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    step, log = 0, []
    if os.path.exists(args.ckpt):
        ck = torch.load(args.ckpt, weights_only=False)
        model.load_state_dict(ck['model'])
        opt.load_state_dict(ck['opt'])
        step, log = ck['step'], ck['log']
        print(f'resumed at step {step}', flush=True)
    elif args.init:
        ck = torch.load(args.init, weights_only=False)
        model.load_state_dict(ck['model'])
        opt.load_state_dict(ck['opt'])  # Adam moments carry over; the schedule restarts
        print(f"initialised from {args.init} (step {ck['step']})", flush=True)
    print(json.dumps(count_params(model)), flush=True)
    val = [data.batch(args.seed + 999, k, args.batch) for k in range(2)]
    dense_steps = int(args.dense_frac * args.steps)
    moes = model.moe_layers()
    tj = json.load(open(os.path.join(WORK, 'tokenizer.json')))
    special = {t['content']: t['id'] for t in tj['added_tokens']}
    copy_l = None
    call_w = (special, args.arg_weight, args.name_weight) if (args.arg_weight, args.name_weight) != (1, 1) else None
    if args.copy_every:
        ids0 = torch.load(os.path.join(WORK, 'tokens.pt'))['chat_ids'].numpy().astype(np.int64)
        freq = np.bincount(ids0, minlength=cfg.vocab_size)
        freq[min(special.values()):] = 0  # added tokens sit at the top of the vocabulary
        pool = np.argsort(-freq)[:3000]
    # The copy task's own optimizer: its moments see only copy gradients, so its steps keep their size however large
    # the chat gradients are (a fresh AdamW at 2e-3 grows induction heads on this checkpoint in ~100 steps).
    copy_opt = torch.optim.AdamW(model.parameters(), lr=args.copy_lr, betas=(0.9, 0.95), weight_decay=0.0) \
        if args.copy_every and args.copy_lr > 0 else opt
    t_save = time.time()
    t0 = time.time()
    tok0 = step
    end = min(args.steps, args.stop_at or args.steps)
    while step < end:
        mode = 'dense' if step < dense_steps else 'sparse'
        lr = lr_at(step, args)
        for g in opt.param_groups:
            g['lr'] = lr
        ids, mask, doc, pos = data.batch(args.seed, step, args.batch)
        model.train()
        main_l, mtp_l, idx_l = losses(model, ids, mask, mode, doc, pos, call_w)
        (main_l + args.mtp_weight * mtp_l + idx_l).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if args.copy_every and step % args.copy_every == 0:
            cids, cmask = copy_batch(args.seed, step, args.copy_batch, special, pool)
            copy_l, _, cidx = losses(model, cids, cmask, 'dense')
            (copy_l + cidx).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            copy_opt.step()
            copy_opt.zero_grad(set_to_none=True)
        for m in moes:
            m.update_bias(args.bias_rate)
        step += 1
        if step % 10 == 0 or step == 1:
            el = time.time() - t0
            rate = (step - tok0) * args.batch * args.seq / max(el, 1e-9)
            rec = {'step': step, 'loss': main_l.item(), 'mtp': mtp_l.item(), 'index': idx_l.item(), 'lr': lr,
                   'mode': mode, 'tok_s': rate, 'time': time.time()}
            if copy_l is not None:
                rec['copy'] = copy_l.item()
            log.append(rec)
            print(json.dumps(rec), flush=True)
        if step % 200 == 0 or step == end:
            model.eval()
            with torch.no_grad():
                vm = [losses(model, i, m, 'eval_sparse' if mode == 'sparse' else 'eval_dense', d, q)[0].item()
                      for i, m, d, q in val]
            rec = {'step': step, 'val_main': float(np.mean(vm))}
            log.append(rec)
            print(json.dumps(rec), flush=True)
            plot(log, os.path.join(ROOT, 'train', 'loss.png'))
        if time.time() - t_save > args.save_min * 60 or step == end:
            save(args.ckpt, model, opt, step, args, log)
            t_save = time.time()
    plot(log, os.path.join(ROOT, 'train', 'loss.png'))
    print('done', flush=True)


if __name__ == '__main__':
    main()
