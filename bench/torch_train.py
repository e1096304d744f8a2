#!/usr/bin/env python3
"""Training-step throughput of an r1ts DeepSeek-V3 model directory in PyTorch (Debian's python3-torch, fp32, CPU).

Same architecture and weights as r1ts (read from DIR/config.json and DIR/model.safetensors, HF names), the same loss
(next-token CE + lambda * MTP CE + balance loss) and AdamW(0.9, 0.95, wd 0.1) with clipping 1.0. MoE dispatch is
grouped by expert (index_select / index_add), as r1ts does. Prints one JSON line.

usage: torch_train.py DIR BATCH SEQ STEPS THREADS
"""
import json
import math
import struct
import sys
import time

import numpy as np
import torch

from blas_info import sgemm_gflops

DT = {'F32': np.float32, 'I32': np.int32, 'F64': np.float64}


def load_safetensors(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == '__metadata__':
            continue
        s, e = v['data_offsets']
        out[k] = torch.from_numpy(np.frombuffer(data[s:e], dtype=DT[v['dtype']]).reshape(v['shape']).copy())
    return out


def main():
    d, B, T, steps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(threads)
    c = json.load(open(f'{d}/config.json'))
    w = load_safetensors(f'{d}/model.safetensors')
    p = {k: v.clone().requires_grad_(not k.endswith('e_score_correction_bias')) for k, v in w.items()
         if '.embed_tokens.' not in k[len('model.layers.'):] and 'shared_head.head' not in k}
    D, H, V, L = c['hidden_size'], c['num_attention_heads'], c['vocab_size'], c['num_hidden_layers']
    nope, R, vd, kvr = c['qk_nope_head_dim'], c['qk_rope_head_dim'], c['v_head_dim'], c['kv_lora_rank']
    E, K, G, TG = c['n_routed_experts'], c['num_experts_per_tok'], c['n_group'], c['topk_group']
    eps = c.get('rms_norm_eps', 1e-6)
    scale = (nope + R) ** -0.5
    nmtp = c.get('num_nextn_predict_layers', 0)

    def rms(x, wt):
        return wt * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

    inv = 1.0 / (c.get('rope_theta', 10000.0) ** (torch.arange(0, R, 2, dtype=torch.float32) / R))

    def rope(x, Tn):  # interleaved pairs, x (B, T, h, R)
        ang = torch.outer(torch.arange(Tn, dtype=torch.float32), inv)
        cos, sin = ang.cos()[None, :, None, :], ang.sin()[None, :, None, :]
        a, b = x[..., 0::2], x[..., 1::2]
        return torch.stack([a * cos - b * sin, a * sin + b * cos], -1).flatten(-2)

    def lin(name, x):
        return x @ p[name + '.weight'].T

    def mlp(base, x):
        return lin(base + 'down_proj', torch.nn.functional.silu(lin(base + 'gate_proj', x)) * lin(base + 'up_proj', x))

    def attn(a, x):
        Bn, Tn, _ = x.shape
        q = lin(a + 'q_b_proj', rms(lin(a + 'q_a_proj', x), p[a + 'q_a_layernorm.weight'])) if a + 'q_a_proj.weight' in p else lin(a + 'q_proj', x)
        q = q.view(Bn, Tn, H, nope + R)
        qn, qp = q.split([nope, R], -1)
        kv = lin(a + 'kv_a_proj_with_mqa', x)
        ckv, kp = kv.split([kvr, R], -1)
        kvb = lin(a + 'kv_b_proj', rms(ckv, p[a + 'kv_a_layernorm.weight'])).view(Bn, Tn, H, nope + vd)
        kn, v = kvb.split([nope, vd], -1)
        qq = torch.cat([qn, rope(qp, Tn)], -1).transpose(1, 2)
        kk = torch.cat([kn, rope(kp.unsqueeze(2), Tn).expand(Bn, Tn, H, R)], -1).transpose(1, 2)
        s = (qq @ kk.transpose(-1, -2)) * scale
        s = s.masked_fill(torch.ones(Tn, Tn, dtype=torch.bool).triu(1), float('-inf'))
        o = torch.softmax(s, -1) @ v.transpose(1, 2)
        return lin(a + 'o_proj', o.transpose(1, 2).reshape(Bn, Tn, H * vd))

    bal = []

    def moe(m, x):
        Bn, Tn, _ = x.shape
        flat = x.reshape(-1, D)
        s = torch.sigmoid(flat @ p[m + 'gate.weight'].T)
        with torch.no_grad():
            ch = s + w[m + 'gate.e_score_correction_bias']
            gs = ch.view(-1, G, E // G).topk(2, -1)[0].sum(-1)
            keep = gs.topk(TG, -1)[1]
            gm = torch.zeros_like(gs).scatter_(1, keep, 1).bool()
            em = gm.unsqueeze(-1).expand(-1, G, E // G).reshape(-1, E)
            idx = ch.masked_fill(~em, float('-inf')).topk(K, -1)[1]
        wts = s.gather(1, idx)
        wts = wts / (wts.sum(-1, keepdim=True) + 1e-20) * c['routed_scaling_factor']
        out = torch.zeros_like(flat)
        fi, fw = idx.reshape(-1), wts.reshape(-1)
        tok = torch.arange(flat.shape[0]).repeat_interleave(K)
        for e in range(E):
            sel = (fi == e).nonzero().squeeze(1)
            if sel.numel():
                t = tok[sel]
                out = out.index_add(0, t, mlp(m + f'experts.{e}.', flat[t]) * fw[sel].unsqueeze(1))
        out = out + mlp(m + 'shared_experts.', flat)
        f = torch.zeros(Bn, E)
        f.index_add_(1, fi, torch.full((fi.numel(),), E / (K * Tn))) if Bn == 1 else None
        if Bn > 1:
            seq = torch.arange(Bn).repeat_interleave(Tn * K)
            f.index_put_((seq, fi), torch.full((fi.numel(),), E / (K * Tn)), accumulate=True)
        P = (s / s.sum(-1, keepdim=True)).view(Bn, Tn, E).mean(1)
        bal.append(1e-4 * (f * P).sum(-1).mean())
        return out.view(Bn, Tn, D)

    def block(i, x):
        pre = f'model.layers.{i}.'
        h = x + attn(pre + 'self_attn.', rms(x, p[pre + 'input_layernorm.weight']))
        n = rms(h, p[pre + 'post_attention_layernorm.weight'])
        return h + (mlp(pre + 'mlp.', n) if i < c['first_k_dense_replace'] else moe(pre + 'mlp.', n))

    def loss_fn(ids, tg):
        bal.clear()
        h = p['model.embed_tokens.weight'][ids]
        for i in range(L):
            h = block(i, h)
        ce = torch.nn.functional.cross_entropy
        logits = rms(h, p['model.norm.weight']) @ p['lm_head.weight'].T
        loss = ce(logits.reshape(-1, V), tg.reshape(-1))
        if nmtp:
            mt = f'model.layers.{L}.'
            x = lin(mt + 'eh_proj', torch.cat([rms(p['model.embed_tokens.weight'][ids[:, 1:]], p[mt + 'enorm.weight']), rms(h[:, :-1], p[mt + 'hnorm.weight'])], -1))
            x = block(L, x)
            lg = rms(x, p[mt + 'shared_head.norm.weight']) @ p['lm_head.weight'].T
            loss = loss + 0.3 * ce(lg.reshape(-1, V), tg[:, 1:].reshape(-1))
        return loss + sum(bal)

    params = [v for v in p.values() if v.requires_grad]
    decay = [v for v in params if v.dim() >= 2]
    nodecay = [v for v in params if v.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': nodecay, 'weight_decay': 0.0}], lr=1e-3, betas=(0.9, 0.95))
    g = torch.Generator().manual_seed(0)
    times = []
    for step in range(steps + 2):
        ids = torch.randint(0, V, (B, T + 1), generator=g)
        t0 = time.perf_counter()
        loss = loss_fn(ids[:, :-1], ids[:, 1:])
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if step >= 2:
            times.append(time.perf_counter() - t0)
    times.sort()
    med = times[len(times) // 2]
    print(json.dumps({'impl': 'pytorch', 'torch': torch.__version__, 'threads': threads, 'ms_per_step': med * 1000, 'tokens_per_s': B * T / med, 'loss': float(loss), 'blas_gflops': sgemm_gflops(torch)}))


if __name__ == '__main__':
    main()
