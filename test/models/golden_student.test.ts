/**
 * The distilled students' Hugging Face export against an independent PyTorch implementation. The fixtures are real
 * `distill()` exports of a micro Qwen2 and a micro Llama student (test/fixtures/models/make_student_export.ts); the
 * golden logits come from make_student_golden.py, which reads only their config.json and model.safetensors by HF
 * names with transformers' Qwen2 / Llama semantics. Here r1ts loads the same files and must give the same logits
 * (forward, and the fast decoder token by token), and the files must carry exactly the HF config keys and tensor
 * names a Qwen2 / Llama loader reads.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { goldenDiff } from '../helpers/util.js';
import { Tokenizer } from '../../src/data/tokenizer.js';
import { loadSafetensors, readSafetensorsHeader } from '../../src/io/safetensors.js';
import { loadModelDir, saveModelDir } from '../../src/io/model_dir.js';
import { createModel } from '../../src/models/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { tinyDense } from './helpers.js';

const DIR = 'test/fixtures/models';

/** config.json keys of an exported student (sorted): what Qwen2Config / LlamaConfig read, nothing r1ts-internal. */
const COMMON_KEYS = [
  'architectures',
  'bos_token_id',
  'eos_token_id',
  'head_dim',
  'hidden_act',
  'hidden_size',
  'initializer_range',
  'intermediate_size',
  'max_position_embeddings',
  'model_type',
  'num_attention_heads',
  'num_hidden_layers',
  'num_key_value_heads',
  'pad_token_id',
  'rms_norm_eps',
  'rope_scaling',
  'rope_theta',
  'tie_word_embeddings',
  'torch_dtype',
  'vocab_size',
];
const CONFIG_KEYS: Record<string, string[]> = {
  qwen2: [...COMMON_KEYS, 'max_window_layers', 'sliding_window', 'use_sliding_window'].sort(),
  llama: [...COMMON_KEYS, 'attention_bias', 'mlp_bias'].sort(),
};

/** The HF tensors of one decoder layer (D = 16, I = 32; q/k/v widths per family), with their shapes. */
function layerTensors(i: number, q: number, kv: number, bias: boolean): [string, number[]][] {
  const p = `model.layers.${i}.`;
  const out: [string, number[]][] = [
    [`${p}input_layernorm.weight`, [16]],
    [`${p}post_attention_layernorm.weight`, [16]],
    [`${p}self_attn.q_proj.weight`, [q, 16]],
    [`${p}self_attn.k_proj.weight`, [kv, 16]],
    [`${p}self_attn.v_proj.weight`, [kv, 16]],
    [`${p}self_attn.o_proj.weight`, [16, q]],
    [`${p}mlp.gate_proj.weight`, [32, 16]],
    [`${p}mlp.up_proj.weight`, [32, 16]],
    [`${p}mlp.down_proj.weight`, [16, 32]],
  ];
  if (bias)
    out.push(
      [`${p}self_attn.q_proj.bias`, [q]],
      [`${p}self_attn.k_proj.bias`, [kv]],
      [`${p}self_attn.v_proj.bias`, [kv]],
    );
  return out;
}

/** Every tensor of the two exports (vocabulary 320, hidden 16, 2 layers), as transformers names them. */
const TENSORS: Record<string, [string, number[]][]> = {
  // 4 query heads and 2 key/value heads of 4; q/k/v biases; tied embeddings: no lm_head.weight
  'student-qwen2': [
    ['model.embed_tokens.weight', [320, 16]],
    ['model.norm.weight', [16]],
    ...layerTensors(0, 16, 8, true),
    ...layerTensors(1, 16, 8, true),
  ],
  // 2 query heads and 1 key/value head of 8; no biases; an untied head
  'student-llama': [
    ['model.embed_tokens.weight', [320, 16]],
    ['model.norm.weight', [16]],
    ['lm_head.weight', [320, 16]],
    ...layerTensors(0, 16, 8, false),
    ...layerTensors(1, 16, 8, false),
  ],
};

const sortedEntries = (xs: [string, number[]][]) => [...xs].sort((a, b) => (a[0] < b[0] ? -1 : 1));

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

/** r1ts's logits of the golden ids (forward), and the fast decoder's, prefilled then fed one token at a time. */
function checkLogits(name: string): void {
  const { model, warnings } = loadModelDir(`${DIR}/${name}`);
  assert.deepEqual(warnings, []);
  const g = loadSafetensors(`${DIR}/${name}/golden.safetensors`);
  const ids = g.get('input_ids')!;
  const ref = g.get('logits')!; // (B, T, V)
  const [B, T, V] = ref.shape;
  const failures: string[] = [];
  const push = (f: string | null) => f && failures.push(f);
  const { logits } = model.forward(ids);
  assert.deepEqual(logits.shape, [B, T, V]);
  push(goldenDiff('forward logits', logits, ref, 1e-5));

  // the decoder: a 10-token prefill, then tokens 10..T-1 one by one; each step gives every row's last logits
  const dec = model.createDecoder!();
  const row = (b: number, t0: number, t1: number) => Array.from(ids.data.subarray(b * T + t0, b * T + t1));
  const refAt = (t: number) =>
    new Tensor(
      Float32Array.from({ length: B * V }, (_, i) => ref.data[(Math.floor(i / V) * T + t) * V + (i % V)]),
      [B, V],
    );
  const P = 10;
  push(
    goldenDiff(
      `decoder logits at ${P - 1}`,
      dec.feed(Int32Array.from([...row(0, 0, P), ...row(1, 0, P)]), B, P),
      refAt(P - 1),
      1e-5,
    ),
  );
  for (let t = P; t < T; t++) {
    const step = dec.feed(Int32Array.from([...row(0, t, t + 1), ...row(1, t, t + 1)]), B, 1);
    push(goldenDiff(`decoder logits at ${t}`, step, refAt(t), 1e-5));
  }
  assert.deepEqual(failures, [], failures.join('\n'));
}

/** config.json: exactly the HF keys, the architecture, and values that agree with the tokenizer and the weights. */
function checkConfig(name: string, family: 'qwen2' | 'llama'): Record<string, unknown> {
  const cfg = readJson(`${DIR}/${name}/config.json`);
  assert.deepEqual(Object.keys(cfg).sort(), CONFIG_KEYS[family]);
  assert.deepEqual(cfg.architectures, [family === 'qwen2' ? 'Qwen2ForCausalLM' : 'LlamaForCausalLM']);
  assert.equal(cfg.model_type, family);
  assert.equal(cfg.hidden_act, 'silu');
  // the weights are stored as F32, which torch_dtype must say
  const header = readSafetensorsHeader(`${DIR}/${name}/model.safetensors`);
  assert.deepEqual([...new Set(header.tensors.map((t) => t.dtype))], ['F32']);
  assert.equal(cfg.torch_dtype, 'float32');
  // the special tokens and the vocabulary are the exported tokenizer's
  const tok = Tokenizer.load(`${DIR}/${name}`);
  assert.equal(cfg.vocab_size, tok.vocabSize);
  assert.equal(cfg.bos_token_id, tok.bosId);
  assert.equal(cfg.eos_token_id, tok.eosId);
  assert.equal(cfg.head_dim, (cfg.hidden_size as number) / (cfg.num_attention_heads as number));
  return cfg;
}

/** model.safetensors: exactly the HF tensor names and shapes of the list above. */
function checkTensors(name: string): void {
  const header = readSafetensorsHeader(`${DIR}/${name}/model.safetensors`);
  const got = sortedEntries(header.tensors.map((t): [string, number[]] => [t.name, [...t.shape]]));
  assert.deepEqual(got, sortedEntries(TENSORS[name]));
}

describe("distilled students' Hugging Face export (independent PyTorch reference)", () => {
  it('Qwen2 student (GQA, q/k/v biases, tied embeddings, rope_theta 1e6): logits, forward and decoder', () => {
    checkLogits('student-qwen2');
  });

  it('Llama student (no biases, untied head, Llama 3.1 rope scaling): logits, forward and decoder', () => {
    checkLogits('student-llama');
  });

  it("Qwen2 student: config.json holds Qwen2Config's keys, full attention everywhere; HF tensor names and shapes", () => {
    const cfg = checkConfig('student-qwen2', 'qwen2');
    assert.equal(cfg.tie_word_embeddings, true);
    assert.equal(cfg.rope_theta, 1e6);
    assert.equal(cfg.rms_norm_eps, 1e-6);
    assert.equal(cfg.rope_scaling, null);
    // no sliding window; its size and layer count are written anyway (some loaders require them) and cover everything
    assert.equal(cfg.use_sliding_window, false);
    assert.equal(cfg.sliding_window, cfg.max_position_embeddings);
    assert.equal(cfg.max_window_layers, cfg.num_hidden_layers);
    checkTensors('student-qwen2');
  });

  it("Llama student: config.json holds LlamaConfig's keys, llama3 rope scaling as Llama 3.1 spells it; HF tensor names and shapes", () => {
    const cfg = checkConfig('student-llama', 'llama');
    assert.equal(cfg.tie_word_embeddings, false);
    assert.equal(cfg.attention_bias, false);
    assert.equal(cfg.mlp_bias, false);
    assert.equal(cfg.rms_norm_eps, 1e-5);
    assert.deepEqual(cfg.rope_scaling, {
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 128,
      rope_type: 'llama3',
    });
    checkTensors('student-llama');
  });

  it('re-exporting a loaded student writes the same files: config.json as is, every tensor bit for bit', () => {
    const dir = mkdtempSync(join(tmpdir(), 'r1ts-student-reexport-'));
    try {
      for (const name of Object.keys(TENSORS)) {
        const from = `${DIR}/${name}`;
        saveModelDir(join(dir, name), loadModelDir(from).model);
        assert.equal(readFileSync(join(dir, name, 'config.json'), 'utf8'), readFileSync(`${from}/config.json`, 'utf8'));
        const again = loadSafetensors(join(dir, name, 'model.safetensors'));
        const was = loadSafetensors(`${from}/model.safetensors`);
        assert.deepEqual([...again.keys()].sort(), [...was.keys()].sort());
        for (const [n, t] of was) {
          assert.deepEqual(again.get(n)!.shape, t.shape, n);
          assert.ok(
            again.get(n)!.data.every((x, i) => x === t.data[i]),
            `${name}: ${n} differs after a load and an export`,
          );
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("config.json's torch_dtype is the dtype the weights were written in", () => {
    const dir = mkdtempSync(join(tmpdir(), 'r1ts-student-dtype-'));
    try {
      const model = createModel(tinyDense({ torch_dtype: 'float32' }));
      for (const [dtype, torch] of [
        ['BF16', 'bfloat16'],
        ['F16', 'float16'],
        ['F32', 'float32'],
      ] as const) {
        saveModelDir(join(dir, dtype), model, { dtype });
        assert.equal(readJson(join(dir, dtype, 'config.json')).torch_dtype, torch);
        const stored = readSafetensorsHeader(join(dir, dtype, 'model.safetensors')).tensors.map((t) => t.dtype);
        assert.deepEqual([...new Set(stored)], [dtype]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
