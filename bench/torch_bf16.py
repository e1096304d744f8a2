#!/usr/bin/env python3
"""PyTorch's side of bench/bf16_decode.ts: a Qwen2 / Llama model directory of BF16 safetensors shards kept in bf16 and
decoded with torch's bf16 Linear on the CPU (Debian's python3-torch 1.13): activations are cast to bf16 for each
matrix product (what `model.to(torch.bfloat16)` does in transformers), norms, RoPE and attention in float32, a K/V
cache, torch.inference_mode. Prints one JSON line: load seconds, batch-1 and batch-8 decode tokens/s (median step of
STEPS one-token steps after a PROMPT-token prefill) and prefill tokens/s (one PREFILL-token prefill).

usage: torch_bf16.py DIR THREADS STEPS PROMPT PREFILL
"""
import json
import struct
import sys
import time

import torch
import torch.nn.functional as F


def load_dir(d):
    index = json.load(open(f'{d}/model.safetensors.index.json'))
    w = {}
    for shard in sorted(set(index['weight_map'].values())):
        with open(f'{d}/{shard}', 'rb') as f:
            n = struct.unpack('<Q', f.read(8))[0]
            header = json.loads(f.read(n))
            for name, e in sorted(header.items(), key=lambda kv: kv[1]['data_offsets'][0] if kv[0] != '__metadata__' else -1):
                if name == '__metadata__':
                    continue
                assert e['dtype'] == 'BF16', name
                b, end = e['data_offsets']
                f.seek(8 + n + b)
                buf = bytearray(f.read(end - b))
                w[name] = torch.frombuffer(buf, dtype=torch.bfloat16).view(e['shape'])
    return w


class Model:
    def __init__(self, d):
        self.c = c = json.load(open(f'{d}/config.json'))
        self.w = load_dir(d)
        self.L, self.H, self.Hkv = c['num_hidden_layers'], c['num_attention_heads'], c['num_key_value_heads']
        self.D = c['hidden_size']
        self.Dh = self.D // self.H
        self.eps = c.get('rms_norm_eps', 1e-6)
        self.inv = 1.0 / (c.get('rope_theta', 10000.0) ** (torch.arange(0, self.Dh, 2, dtype=torch.float32) / self.Dh))
        self.norms = {k: v.float() for k, v in self.w.items() if k.endswith('norm.weight') or k.endswith('bias')}
        self.head = self.w.get('lm_head.weight', self.w['model.embed_tokens.weight'])

    def lin(self, x, name, bias=None):
        y = F.linear(x.to(torch.bfloat16), self.w[name]).float()
        return y + self.norms[bias] if bias else y

    def rms(self, x, name):
        return self.norms[name] * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))

    def rope(self, x, start):  # (B, T, h, Dh), half-split pairs
        T = x.shape[1]
        ang = torch.outer(torch.arange(start, start + T, dtype=torch.float32), self.inv)
        cos, sin = ang.cos()[None, :, None, :], ang.sin()[None, :, None, :]
        h = self.Dh // 2
        a, b = x[..., :h], x[..., h:]
        return torch.cat([a * cos - b * sin, a * sin + b * cos], -1)

    def forward(self, ids, cache, start):
        B, T = ids.shape
        x = self.w['model.embed_tokens.weight'][ids].float()
        for i in range(self.L):
            p = f'model.layers.{i}.'
            n = self.rms(x, p + 'input_layernorm.weight')
            bias = lambda s: (p + f'self_attn.{s}_proj.bias') if (p + f'self_attn.{s}_proj.bias') in self.norms else None
            q = self.rope(self.lin(n, p + 'self_attn.q_proj.weight', bias('q')).view(B, T, self.H, self.Dh), start)
            k = self.rope(self.lin(n, p + 'self_attn.k_proj.weight', bias('k')).view(B, T, self.Hkv, self.Dh), start)
            v = self.lin(n, p + 'self_attn.v_proj.weight', bias('v')).view(B, T, self.Hkv, self.Dh)
            k, v = k.transpose(1, 2), v.transpose(1, 2)
            if cache[i] is not None:
                k, v = torch.cat([cache[i][0], k], 2), torch.cat([cache[i][1], v], 2)
            cache[i] = (k, v)
            rep = self.H // self.Hkv
            kk, vv = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
            s = q.transpose(1, 2) @ kk.transpose(2, 3) * self.Dh ** -0.5
            if T > 1:
                s = s + torch.full((T, start + T), float('-inf')).triu(start + 1)
            o = (s.softmax(-1) @ vv).transpose(1, 2).reshape(B, T, self.D)
            x = x + self.lin(o, p + 'self_attn.o_proj.weight')
            n = self.rms(x, p + 'post_attention_layernorm.weight')
            g = F.silu(self.lin(n, p + 'mlp.gate_proj.weight')) * self.lin(n, p + 'mlp.up_proj.weight')
            x = x + self.lin(g, p + 'mlp.down_proj.weight')
        last = self.rms(x[:, -1], 'model.norm.weight')
        return F.linear(last.to(torch.bfloat16), self.head).float()


def main():
    d, threads, steps, plen, prefill = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    m = Model(d)
    load = time.perf_counter() - t0
    V = m.c['vocab_size']
    ids = lambda n, b: [(7 * i + 3 + b * 13) % V for i in range(n)]
    out = {'side': 'pytorch', 'torch': torch.__version__, 'threads': threads, 'loadSeconds': load}
    with torch.inference_mode():
        for B in (1, 8):
            cache = [None] * m.L
            m.forward(torch.tensor([ids(plen, b) for b in range(B)]), cache, 0)
            times = []
            for s in range(steps):
                t = time.perf_counter()
                m.forward(torch.tensor([ids(1, s + 1 + b) for b in range(B)]), cache, plen + s)
                times.append(time.perf_counter() - t)
            out[f'decode{B}'] = B / sorted(times)[len(times) // 2]
            out[f'decode{B}Steps'] = [round(x, 4) for x in times]
            print(json.dumps(out), flush=True)
        t = time.perf_counter()
        m.forward(torch.tensor([ids(prefill, 0)]), [None] * m.L, 0)
        out['prefillSeconds'] = time.perf_counter() - t
        out['prefillTokensPerSecond'] = prefill / out['prefillSeconds']
    print(json.dumps(out), flush=True)


if __name__ == '__main__':
    main()
