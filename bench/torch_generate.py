#!/usr/bin/env python3
"""Generation throughput of an r1ts DeepSeek-V3 model directory in PyTorch (Debian's python3-torch, fp32, CPU).

The same model (DIR/config.json + DIR/model.safetensors, HF names) decoded the way DeepSeek-V3's inference code does
it: absorbed MLA over a latent cache (kv_lora_rank normed latents + rope keys per token), the MoE dispatched per
expert, torch.inference_mode. Runs a greedy decode (its tokens are printed so the caller can check both sides run
the same model), then serves timed sampled decodes (temperature 1): it reads a batch size per line on stdin and
answers one JSON line (wall and CPU seconds), so the caller can interleave its own runs with PyTorch's.

usage: torch_generate.py DIR PROMPT_LEN NEW_TOKENS THREADS
"""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_train import load_safetensors  # noqa: E402
from blas_info import sgemm_gflops  # noqa: E402


class Model:
    def __init__(self, d):
        c = json.load(open(f'{d}/config.json'))
        if c.get('rope_scaling'):
            raise SystemExit('torch_generate.py: rope_scaling (YaRN) is not implemented here')
        self.c = c
        self.w = load_safetensors(f'{d}/model.safetensors')
        self.L = c['num_hidden_layers']
        self.H = c['num_attention_heads']
        self.nope, self.R, self.vd, self.kvr = c['qk_nope_head_dim'], c['qk_rope_head_dim'], c['v_head_dim'], c['kv_lora_rank']
        self.eps = c.get('rms_norm_eps', 1e-6)
        self.scale = (self.nope + self.R) ** -0.5
        self.inv = 1.0 / (c.get('rope_theta', 10000.0) ** (torch.arange(0, self.R, 2, dtype=torch.float32) / self.R))
        self.interleave = c.get('rope_interleave', True)
        # absorbed weights per layer: W_UK (H, nope, kvr), W_UV (H, vd, kvr)
        self.wuk, self.wuv = [], []
        for i in range(self.L):
            wkvb = self.w[f'model.layers.{i}.self_attn.kv_b_proj.weight'].view(self.H, self.nope + self.vd, self.kvr)
            self.wuk.append(wkvb[:, : self.nope])
            self.wuv.append(wkvb[:, self.nope:])

    def p(self, name):
        return self.w[name]

    def rms(self, x, name):
        return self.p(name) * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))

    def rope(self, x, start):  # x (B, T, h, R)
        T = x.shape[1]
        ang = torch.outer(torch.arange(start, start + T, dtype=torch.float32), self.inv)
        cos, sin = ang.cos()[None, :, None, :], ang.sin()[None, :, None, :]
        if self.interleave:
            a, b = x[..., 0::2], x[..., 1::2]
            return torch.stack([a * cos - b * sin, a * sin + b * cos], -1).flatten(-2)
        h = x.shape[-1] // 2
        a, b = x[..., :h], x[..., h:]
        return torch.cat([a * cos - b * sin, a * sin + b * cos], -1)

    def mlp(self, base, x):
        g = x @ self.p(base + 'gate_proj.weight').T
        return (torch.nn.functional.silu(g) * (x @ self.p(base + 'up_proj.weight').T)) @ self.p(base + 'down_proj.weight').T

    def moe(self, pre, x):
        c = self.c
        E, K, G, TG = c['n_routed_experts'], c['num_experts_per_tok'], c['n_group'], c['topk_group']
        s = torch.sigmoid(x @ self.p(pre + 'gate.weight').T)
        choice = s + self.p(pre + 'gate.e_score_correction_bias')
        if G > 1:
            gs = choice.view(-1, G, E // G).topk(2, -1)[0].sum(-1)
            keep = gs.topk(TG, -1)[1]
            gmask = torch.zeros_like(gs).scatter_(1, keep, 1).bool()
            choice = choice.masked_fill(~gmask.unsqueeze(-1).expand(-1, G, E // G).reshape(-1, E), float('-inf'))
        idx = choice.topk(K, -1)[1]
        wt = s.gather(1, idx)
        wt = wt / (wt.sum(-1, keepdim=True) + 1e-20) * c['routed_scaling_factor']
        y = torch.zeros_like(x)
        counts = torch.bincount(idx.flatten(), minlength=E).tolist()
        for e in range(E):
            if counts[e] == 0:
                continue
            tok, slot = torch.where(idx == e)
            y.index_add_(0, tok, self.mlp(pre + f'experts.{e}.', x[tok]) * wt[tok, slot, None])
        if c.get('n_shared_experts', 0):
            y = y + self.mlp(pre + 'shared_experts.', x)
        return y

    def attention(self, i, x, cache, start):
        B, T, _ = x.shape
        H, nope, R, kvr = self.H, self.nope, self.R, self.kvr
        a = f'model.layers.{i}.self_attn.'
        if self.c.get('q_lora_rank'):
            q = self.rms(x @ self.p(a + 'q_a_proj.weight').T, a + 'q_a_layernorm.weight') @ self.p(a + 'q_b_proj.weight').T
        else:
            q = x @ self.p(a + 'q_proj.weight').T
        q = q.view(B, T, H, nope + R)
        q_nope, q_pe = q.split([nope, R], -1)
        q_pe = self.rope(q_pe, start)
        kv = x @ self.p(a + 'kv_a_proj_with_mqa.weight').T
        ckv, k_pe = kv.split([kvr, R], -1)
        ckv = self.rms(ckv, a + 'kv_a_layernorm.weight')
        k_pe = self.rope(k_pe.unsqueeze(2), start).squeeze(2)
        kvc, pec = cache[i]
        kvc[:, start:start + T] = ckv
        pec[:, start:start + T] = k_pe
        n = start + T
        q_lat = torch.einsum('bshd,hdc->bshc', q_nope, self.wuk[i])
        scores = (torch.einsum('bshc,btc->bsht', q_lat, kvc[:, :n]) + torch.einsum('bshr,btr->bsht', q_pe, pec[:, :n])) * self.scale
        if T > 1:
            mask = torch.full((T, n), float('-inf')).triu(start + 1)
            scores = scores + mask.view(1, T, 1, n)
        o = torch.einsum('bsht,btc->bshc', scores.softmax(-1), kvc[:, :n])
        o = torch.einsum('bshc,hdc->bshd', o, self.wuv[i])
        return o.reshape(B, T, -1) @ self.p(a + 'o_proj.weight').T

    def forward(self, ids, cache, start):
        h = self.p('model.embed_tokens.weight')[ids]
        for i in range(self.L):
            pre = f'model.layers.{i}.'
            h = h + self.attention(i, self.rms(h, pre + 'input_layernorm.weight'), cache, start)
            n = self.rms(h, pre + 'post_attention_layernorm.weight')
            h = h + (self.mlp(pre + 'mlp.', n) if i < self.c['first_k_dense_replace'] else self.moe(pre + 'mlp.', n.view(-1, n.shape[-1])).view(n.shape))
        last = self.rms(h[:, -1], 'model.norm.weight')
        return last @ self.p('lm_head.weight').T

    def generate(self, prompts, new, greedy, gen):
        B, cap = len(prompts), len(prompts[0]) + new
        cache = [(torch.zeros(B, cap, self.kvr), torch.zeros(B, cap, self.R)) for _ in range(self.L)]
        ids = torch.tensor(prompts)
        logits = self.forward(ids, cache, 0)
        pos, out = len(prompts[0]), []
        for _ in range(new):
            tok = logits.argmax(-1) if greedy else torch.multinomial(logits.softmax(-1), 1, generator=gen).squeeze(1)
            out.append(tok)
            logits = self.forward(tok.view(B, 1), cache, pos)
            pos += 1
        return torch.stack(out, 1)


def main():
    d, plen, new, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    m = Model(d)
    V = m.c['vocab_size']
    def prompts(B):  # row b: tokens (7 i + 3 + b) mod V, the same prompts as bench/generate.ts
        return [[(7 * i + 3 + b) % V for i in range(plen)] for b in range(B)]

    gen = torch.Generator().manual_seed(0)
    with torch.inference_mode():
        greedy = m.generate(prompts(1), new, True, gen)[0].tolist()
        m.generate(prompts(2), 8, False, gen)  # warm-up
        print(json.dumps({'torch': torch.__version__, 'threads': threads, 'greedy': greedy, 'blasGflops': sgemm_gflops(torch)}), flush=True)
        for line in sys.stdin:  # one batch size per line; one JSON result per line
            B = int(line)
            t0, c0 = time.perf_counter(), time.process_time()
            m.generate(prompts(B), new, False, gen)
            sec, cpu = time.perf_counter() - t0, time.process_time() - c0
            print(json.dumps({'batch': B, 'seconds': sec, 'cpuSeconds': cpu, 'tokensPerSecond': B * new / sec}), flush=True)


if __name__ == '__main__':
    main()
