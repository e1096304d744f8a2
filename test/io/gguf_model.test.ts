import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ModelConfig, parseConfig } from '../../src/index.js';
import { exportStateDict } from '../../src/io/hf.js';
import { ggufGet, readGguf, writeGguf, type GgufFile } from '../../src/io/gguf.js';
import {
  type GgufDtype,
  type GgufVocab,
  checkLlamaCppSupport,
  ggufToHfTensors,
  interleaveRopeRows,
  modelToGguf,
} from '../../src/io/gguf_model.js';
import { FAMILIES, VOCAB, buildModel } from './gguf_fixtures.js';

/** A minimal vocabulary (the tokenizer side is tested in test/data/gguf_vocab.test.ts). */
const vocab = (n = VOCAB): GgufVocab => ({
  pre: 'deepseek-v3',
  tokens: Array.from({ length: n }, (_, i) => `t${i}`),
  tokenTypes: Array.from({ length: n }, () => 1),
  merges: [],
  bosId: 0,
  eosId: 1,
  padId: null,
  addBos: true,
  addEos: false,
  chatTemplate: null,
});

const family = (name: string) => {
  const f = FAMILIES.find((x) => x.name === name);
  assert.ok(f);
  return f;
};

function exported(name: string, dtype: GgufDtype = 'f32'): { g: GgufFile; notes: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'r1ts-gguf-model-'));
  try {
    const file = join(dir, 'm.gguf');
    const e = modelToGguf(buildModel(family(name).config), { dtype, vocab: vocab(), name });
    writeGguf(file, e);
    return { g: readGguf(file), notes: e.notes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const md = (g: GgufFile, key: string) => ggufGet(g.metadata, key);
const info = (g: GgufFile, name: string) => {
  const t = g.tensors.find((x) => x.name === name);
  assert.ok(t, `no tensor ${name}`);
  return { shape: t.shape, type: t.type };
};

describe('GGUF model layouts', () => {
  for (const f of FAMILIES) {
    it(`${f.name}: every exported weight reads back exactly (f32), transforms undone; MTP and tied heads left out`, () => {
      const model = buildModel(f.config);
      const { g, notes } = exported(f.name);
      const back = ggufToHfTensors(g, model.config);
      const hf = exportStateDict(model);
      const L = model.config.num_hidden_layers;
      const expected = [...hf.keys()].filter((n) => !/^model\.layers\.(\d+)\./.test(n) || Number(n.split('.')[2]) < L);
      assert.deepEqual([...back.keys()].sort(), expected.sort());
      for (const [name, { shape, data }] of back) {
        const t = hf.get(name)!;
        assert.deepEqual(shape, [...t.shape], name);
        assert.ok(
          data.every((v, i) => v === t.data[i]),
          `${name} differs`,
        );
      }
      assert.equal(
        notes.some((n) => n.startsWith('MTP layer(s) 3 not exported')),
        f.name === 'deepseek_v3',
      );
    });
  }

  it('f16, bf16 and q8_0 exports read back within their rounding of every weight', () => {
    const model = buildModel(family('llama').config);
    const hf = exportStateDict(model);
    for (const dtype of ['f16', 'bf16', 'q8_0'] as const) {
      const back = ggufToHfTensors(exported('llama', dtype).g, model.config);
      for (const [name, { data }] of back) {
        const x = hf.get(name)!.data;
        const cols = hf.get(name)!.shape.at(-1)!;
        for (let i = 0; i < x.length; i++) {
          // f16/bf16: half an ulp (relative 2^-11 / 2^-8; f16 subnormals 2^-25 absolute); q8_0: half a step d = amax/127
          // of the 32-value block (plus d's own fp16 rounding), blocks along rows. 1-D tensors and norms stay f32.
          let bound = dtype === 'f16' ? Math.abs(x[i]) * 2 ** -11 + 2 ** -25 : Math.abs(x[i]) * 2 ** -8;
          if (dtype === 'q8_0' && cols % 32 === 0) {
            const b = i - (i % 32);
            let amax = 0;
            for (let j = b; j < b + 32; j++) amax = Math.max(amax, Math.abs(x[j]));
            bound = amax / 254 + amax * 2 ** -11;
          }
          if (Math.abs(data[i] - x[i]) > bound) assert.fail(`${dtype} ${name}[${i}]: ${data[i]} vs ${x[i]}`);
        }
      }
    }
  });

  it('the vocabulary is written under llama.cpp tokenizer keys', () => {
    const { g } = exported('qwen2');
    const want: Record<string, unknown> = {
      'tokenizer.ggml.model': 'gpt2',
      'tokenizer.ggml.pre': 'deepseek-v3',
      'tokenizer.ggml.bos_token_id': 0,
      'tokenizer.ggml.eos_token_id': 1,
      'tokenizer.ggml.padding_token_id': undefined,
      'tokenizer.ggml.add_bos_token': true,
      'tokenizer.ggml.add_eos_token': false,
      'tokenizer.chat_template': undefined,
    };
    for (const [k, v] of Object.entries(want)) assert.deepEqual(md(g, k), v, k);
    assert.deepEqual(md(g, 'tokenizer.ggml.tokens'), vocab().tokens);
    assert.equal(g.metadata.get('tokenizer.ggml.token_type')?.type, 'array');
    assert.deepEqual(md(g, 'tokenizer.ggml.merges'), []);
  });

  it('deepseek2: tensor names, ggml shapes and storage types as llama.cpp loads them (q8_0)', () => {
    const { g, notes } = exported('deepseek_v3', 'q8_0');
    // [H, kv_lora, nope] etc. are row-major; ggml's ne is the reverse.
    const expected: [string, number[], string][] = [
      ['token_embd.weight', [VOCAB, 64], 'Q8_0'],
      ['blk.0.attn_norm.weight', [64], 'F32'],
      ['blk.0.attn_q_a.weight', [32, 64], 'Q8_0'],
      ['blk.0.attn_q_a_norm.weight', [32], 'F32'],
      ['blk.0.attn_q_b.weight', [4 * 24, 32], 'Q8_0'],
      ['blk.0.attn_kv_a_mqa.weight', [32 + 8, 64], 'Q8_0'],
      ['blk.0.attn_kv_a_norm.weight', [32], 'F32'],
      ['blk.0.attn_k_b.weight', [4, 32, 16], 'F16'], // rows of 16: not whole Q8_0 blocks
      ['blk.0.attn_v_b.weight', [4, 16, 32], 'Q8_0'],
      ['blk.0.attn_output.weight', [64, 4 * 16], 'Q8_0'],
      ['blk.0.ffn_gate.weight', [96, 64], 'Q8_0'],
      ['blk.0.ffn_down.weight', [64, 96], 'Q8_0'],
      ['blk.1.ffn_gate_inp.weight', [8, 64], 'F32'],
      ['blk.1.exp_probs_b.bias', [8], 'F32'],
      ['blk.1.ffn_gate_exps.weight', [8, 32, 64], 'Q8_0'],
      ['blk.1.ffn_up_exps.weight', [8, 32, 64], 'Q8_0'],
      ['blk.1.ffn_down_exps.weight', [8, 64, 32], 'Q8_0'],
      ['blk.1.ffn_gate_shexp.weight', [32, 64], 'Q8_0'],
      ['blk.2.ffn_down_shexp.weight', [64, 32], 'Q8_0'],
      ['output_norm.weight', [64], 'F32'],
      ['output.weight', [VOCAB, 64], 'Q8_0'],
    ];
    for (const [name, shape, type] of expected) assert.deepEqual(info(g, name), { shape, type }, name);
    assert.ok(!g.tensors.some((t) => t.name.startsWith('blk.3.') || t.name.includes('kv_b')), 'no MTP, no kv_b');
    assert.ok(notes.some((n) => /tensor\(s\) with rows that are not a multiple of 32 stored as f16/.test(n)));
  });

  it('deepseek2 metadata: MLA as MQA, experts, groups, sigmoid gating, YaRN as the converter writes it', () => {
    const { g } = exported('deepseek_v3', 'bf16');
    const want: Record<string, unknown> = {
      'general.architecture': 'deepseek2',
      'general.file_type': 32,
      'deepseek2.block_count': 3,
      'deepseek2.context_length': 64,
      'deepseek2.embedding_length': 64,
      'deepseek2.feed_forward_length': 96,
      'deepseek2.attention.head_count': 4,
      'deepseek2.attention.head_count_kv': 1,
      'deepseek2.leading_dense_block_count': 1,
      'deepseek2.attention.q_lora_rank': 32,
      'deepseek2.attention.kv_lora_rank': 32,
      'deepseek2.attention.key_length': 40,
      'deepseek2.attention.value_length': 32,
      'deepseek2.attention.key_length_mla': 24,
      'deepseek2.attention.value_length_mla': 16,
      'deepseek2.expert_feed_forward_length': 32,
      'deepseek2.expert_count': 8,
      'deepseek2.expert_used_count': 2,
      'deepseek2.expert_shared_count': 1,
      'deepseek2.expert_weights_scale': 2.5,
      'deepseek2.expert_weights_norm': true,
      'deepseek2.expert_gating_func': 2,
      'deepseek2.expert_group_count': 4,
      'deepseek2.expert_group_used_count': 2,
      'deepseek2.rope.dimension_count': 8,
      'deepseek2.rope.scaling.type': 'yarn',
      'deepseek2.rope.scaling.factor': 4,
      'deepseek2.rope.scaling.original_context_length': 16,
      'deepseek2.rope.scaling.yarn_log_multiplier': Math.fround(0.1),
      'deepseek2.rope.scaling.attn_factor': undefined,
      'deepseek2.nextn_predict_layers': undefined,
      'tokenizer.ggml.model': 'gpt2',
    };
    for (const [k, v] of Object.entries(want)) assert.deepEqual(md(g, k), v, k);
  });

  it('deepseek2 V2-style metadata: q_lora_rank 0 (attn_q), softmax gating, no groups, no renormalisation', () => {
    const { g } = exported('deepseek_v2');
    assert.equal(md(g, 'deepseek2.attention.q_lora_rank'), 0);
    assert.equal(md(g, 'deepseek2.expert_gating_func'), 1);
    assert.equal(md(g, 'deepseek2.expert_group_count'), undefined);
    assert.equal(md(g, 'deepseek2.expert_weights_norm'), undefined);
    assert.equal(md(g, 'deepseek2.leading_dense_block_count'), 0);
    assert.deepEqual(info(g, 'blk.0.attn_q.weight'), { shape: [4 * 24, 64], type: 'F32' });
    assert.ok(!g.tensors.some((t) => t.name === 'output.weight'), 'tied head: llama.cpp reuses token_embd');
    // mscale 0.9 != mscale_all_dim 0.75: matched through attn_factor and a log multiplier other than 0.075.
    assert.ok(typeof md(g, 'deepseek2.rope.scaling.attn_factor') === 'number');
  });

  it('dense metadata: qwen2 and llama head sizes, GQA, file types', () => {
    const q = exported('qwen2', 'f16').g;
    assert.equal(md(q, 'general.architecture'), 'qwen2');
    assert.equal(md(q, 'general.file_type'), 1);
    assert.equal(md(q, 'qwen2.attention.head_count_kv'), 2);
    assert.equal(md(q, 'qwen2.rope.dimension_count'), 16);
    assert.deepEqual(info(q, 'blk.0.attn_q.bias'), { shape: [64], type: 'F32' });
    const l = exported('llama', 'q8_0').g;
    assert.equal(md(l, 'general.file_type'), 7);
    assert.equal(md(l, 'llama.attention.key_length'), 24);
    assert.equal(md(l, 'llama.rope.dimension_count'), 24);
    assert.equal(md(l, 'llama.rope.freq_base'), 500000);
    assert.equal(md(l, 'llama.rope.scaling.attn_factor'), undefined, 'standard YaRN needs no attn_factor');
    assert.deepEqual(info(l, 'blk.0.attn_k.weight'), { shape: [24, 64], type: 'Q8_0' });
  });

  it("llama's q/k rows are permuted into interleaved RoPE pairs (llama.cpp's permute), and back", () => {
    // One head of 8 rows: half-split pairs (i, i + 4) become (2i, 2i + 1).
    const w = Float32Array.from({ length: 16 }, (_, i) => Math.floor(i / 2)); // 8 rows x 2 cols: row r holds r
    const p = interleaveRopeRows(w, 2, { start: 0, stride: 8, count: 1, n: 8 });
    assert.deepEqual(
      [...p].filter((_, i) => i % 2 === 0),
      [0, 4, 1, 5, 2, 6, 3, 7],
    );
    assert.deepEqual([...interleaveRopeRows(p, 2, { start: 0, stride: 8, count: 1, n: 8 }, true)], [...w]);
    // DeepSeek's rope slice of each head (nope 2, rope 4, 2 heads): only rows 2..5 and 8..11 move.
    const q = Float32Array.from({ length: 12 }, (_, i) => i);
    assert.deepEqual(
      [...interleaveRopeRows(q, 1, { start: 2, stride: 6, count: 2, n: 4 })],
      [0, 1, 2, 4, 3, 5, 6, 7, 8, 10, 9, 11],
    );
  });

  it('kv_b_proj splits into attn_k_b (transposed per head) and attn_v_b', () => {
    const model = buildModel(family('deepseek_v3').config);
    const { g } = exported('deepseek_v3');
    const kvb = exportStateDict(model).get('model.layers.0.self_attn.kv_b_proj.weight')!.data; // (H*(16+16), 32)
    const kb = g.tensors.find((t) => t.name === 'blk.0.attn_k_b.weight')!;
    const vb = g.tensors.find((t) => t.name === 'blk.0.attn_v_b.weight')!;
    const k = new Float32Array(
      g.bytes.buffer.slice(g.bytes.byteOffset + kb.offset, g.bytes.byteOffset + kb.offset + kb.byteLength),
    );
    const v = new Float32Array(
      g.bytes.buffer.slice(g.bytes.byteOffset + vb.offset, g.bytes.byteOffset + vb.offset + vb.byteLength),
    );
    for (const [h, i, j] of [
      [0, 0, 0],
      [1, 3, 7],
      [3, 15, 31],
    ]) {
      assert.equal(k[(h * 32 + j) * 16 + i], kvb[(h * 32 + i) * 32 + j], `k_b[${h}][${j}][${i}]`);
      assert.equal(v[(h * 16 + i) * 32 + j], kvb[(h * 32 + 16 + i) * 32 + j], `v_b[${h}][${i}][${j}]`);
    }
  });
});

describe('settings llama.cpp cannot represent are refused, naming the setting', () => {
  const ds = family('deepseek_v3').config;
  const refusal = (raw: Record<string, unknown>): string => {
    const { config } = parseConfig(raw);
    try {
      checkLlamaCppSupport(config);
    } catch (e) {
      const msg = (e as Error).message;
      assert.ok(!msg.includes('\n'), msg);
      return msg;
    }
    return assert.fail(`${JSON.stringify(raw)} was accepted`);
  };
  const yarn = { type: 'yarn', factor: 4, original_max_position_embeddings: 16, mscale: 1, mscale_all_dim: 1 };
  const cases: [string, Record<string, unknown>, string][] = [
    [
      'attention biases',
      { ...ds, attention_bias: true },
      "gguf: attention_bias true: llama.cpp's deepseek2 has no attention biases",
    ],
    [
      'no shared expert',
      { ...ds, n_shared_experts: 0 },
      "gguf: n_shared_experts 0: llama.cpp's deepseek2 needs at least one shared expert in its MoE layers",
    ],
    [
      'V2 group-limited routing',
      { ...ds, topk_method: 'group_limited_greedy', scoring_func: 'softmax' },
      "gguf: topk_method 'group_limited_greedy': it ranks expert groups by their best expert (DeepSeek-V2); llama.cpp's deepseek2 ranks them by the sum of their top two (V3's noaux_tc)",
    ],
    [
      'q_lora with 27 layers',
      { ...ds, num_hidden_layers: 27 },
      "gguf: q_lora_rank 32 with num_hidden_layers 27: llama.cpp's deepseek2 takes every 26- or 27-layer model for V2-Lite and ignores q_lora_rank",
    ],
    [
      'YaRN beta_fast',
      { ...ds, rope_scaling: { ...yarn, beta_fast: 16 } },
      "gguf: rope_scaling.beta_fast 16: llama.cpp's deepseek2 always uses YaRN beta_fast 32 (no GGUF key)",
    ],
    [
      'YaRN beta_slow',
      { ...family('llama').config, rope_scaling: { ...yarn, beta_slow: 2 } },
      "gguf: rope_scaling.beta_slow 2: llama.cpp's llama always uses YaRN beta_slow 1 (no GGUF key)",
    ],
    [
      'YaRN factor below 1',
      { ...ds, rope_scaling: { ...yarn, factor: 0.5 } },
      'gguf: rope_scaling.factor 0.5: llama.cpp has no YaRN with a factor below 1',
    ],
    [
      'qwen2 head_dim',
      { ...family('qwen2').config, head_dim: 32 },
      "gguf: head_dim 32: llama.cpp's qwen2 needs num_attention_heads x head_dim (4 x 32) = hidden_size (64)",
    ],
  ];
  for (const [what, raw, message] of cases) it(what, () => assert.equal(refusal(raw), message));

  it('a model_type without a llama.cpp architecture', () => {
    const config = { ...parseConfig(ds).config, model_type: 'mistral' } as unknown as ModelConfig;
    assert.throws(() => checkLlamaCppSupport(config), {
      message: "gguf: model_type 'mistral' has no llama.cpp architecture (deepseek_v3, deepseek_v2, qwen2, llama)",
    });
  });

  it('group_limited_greedy is fine when every group is kept; a vocabulary of the wrong size is not', () => {
    checkLlamaCppSupport(parseConfig({ ...ds, topk_method: 'group_limited_greedy', topk_group: 4 }).config);
    assert.throws(() => modelToGguf(buildModel(family('qwen2').config), { vocab: vocab(VOCAB - 1) }), {
      message: 'gguf: the vocabulary has 415 tokens (415 types) but vocab_size is 416',
    });
  });
});
