import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { configToJson, countParams, createModel, parseConfig } from '../../src/models/index.js';
import { tinyDeepseek, tinyDense } from './helpers.js';

const load = (f: string) => parseConfig(JSON.parse(readFileSync(`configs/${f}.json`, 'utf8')), f).config;

describe('model config', () => {
  it('fills transformers defaults for deepseek_v3', () => {
    const { config } = parseConfig({ model_type: 'deepseek_v3' });
    assert.equal(config.hidden_size, 7168);
    assert.equal(config.vocab_size, 129280);
    assert.ok(config.model_type === 'deepseek_v3');
    if (config.model_type === 'deepseek_v3') {
      assert.equal(config.n_routed_experts, 256);
      assert.equal(config.q_lora_rank, 1536);
      assert.equal(config.scoring_func, 'sigmoid');
      assert.equal(config.rope_interleave, true);
    }
  });

  it('fills transformers defaults for qwen2 and llama', () => {
    const q = parseConfig({ model_type: 'qwen2' }).config;
    assert.deepEqual(
      [q.vocab_size, q.hidden_size, q.intermediate_size, q.max_position_embeddings],
      [151936, 4096, 22016, 32768],
    );
    const l = parseConfig({ model_type: 'llama' }).config;
    assert.deepEqual(
      [l.vocab_size, l.intermediate_size, l.num_key_value_heads, l.max_position_embeddings],
      [32000, 11008, 32, 2048],
    );
    assert.ok(q.model_type === 'qwen2' && q.head_dim === 128 && q.qkv_bias);
  });

  it('errors name the field', () => {
    assert.throws(() => parseConfig({}), /config: model_type is required/);
    assert.throws(() => parseConfig({ model_type: 'gpt2' }), /model_type must be one of "deepseek_v3"/);
    assert.throws(
      () => parseConfig({ model_type: 'deepseek_v3', hidden_size: '7168' }, 'c.json'),
      /^Error: config \(c\.json\): hidden_size must be an integer, got "7168"$/,
    );
    assert.throws(
      () => parseConfig({ model_type: 'deepseek_v3', n_group: 3 }),
      /n_group \(3\) must divide n_routed_experts \(256\)/,
    );
    assert.throws(
      () => parseConfig({ model_type: 'deepseek_v3', topk_group: 9 }),
      /topk_group \(9\) exceeds n_group \(8\)/,
    );
    assert.throws(
      () => parseConfig({ model_type: 'deepseek_v3', num_experts_per_tok: 300 }),
      /num_experts_per_tok \(300\) exceeds n_routed_experts/,
    );
    assert.throws(
      () =>
        parseConfig({
          model_type: 'llama',
          hidden_size: 8,
          intermediate_size: 8,
          num_hidden_layers: 1,
          num_attention_heads: 2,
          vocab_size: 4,
          num_key_value_heads: 3,
        }),
      /num_key_value_heads \(3\) must divide num_attention_heads \(2\)/,
    );
    assert.throws(
      () => parseConfig({ model_type: 'deepseek_v3', rope_scaling: { type: 'dynamic', factor: 2 } }),
      /rope_scaling\.type "dynamic" is not supported/,
    );
    assert.throws(
      () => parseConfig({ model_type: 'deepseek_v3', hidden_act: 'gelu' }),
      /hidden_act must be one of "silu"/,
    );
  });

  it('keeps unknown fields and warns about them', () => {
    const r = parseConfig({ model_type: 'deepseek_v3', my_field: 1, architectures: ['X'] });
    assert.deepEqual(r.warnings, [
      'config: unknown field my_field (kept, not used)',
      'config: missing size field(s) set to the DeepSeek-V3 671B defaults: hidden_size=7168, ' +
        'num_attention_heads=128, vocab_size=129280, intermediate_size=18432, num_hidden_layers=61, ' +
        'max_position_embeddings=4096, moe_intermediate_size=2048, n_routed_experts=256, q_lora_rank=1536, ' +
        'kv_lora_rank=512, qk_nope_head_dim=128, qk_rope_head_dim=64, v_head_dim=128',
    ]);
    assert.equal(r.config.extra.my_field, 1);
  });

  it('refuses the dense settings transformers would honour and r1ts cannot: one line naming the field', () => {
    assert.throws(
      () => tinyDense({ use_sliding_window: true }),
      /^Error: config: use_sliding_window true is not supported \(r1ts attends to the whole context in every layer\)$/,
    );
    assert.throws(
      () => tinyDense({ model_type: 'llama', mlp_bias: true }),
      /^Error: config: mlp_bias true is not supported \(r1ts's MLP has no biases\)$/,
    );
    // the released students' settings (no window, no Llama biases) are read without a warning, and not kept as extras
    for (const f of ['deepseek-r1-distill-qwen-1.5b', 'deepseek-r1-distill-llama-8b']) {
      const c = load(f);
      for (const k of ['use_sliding_window', 'sliding_window', 'max_window_layers', 'mlp_bias'])
        assert.ok(!(k in c.extra), `${f}: ${k} kept as an extra`);
    }
    // a Qwen2 exports full attention, with the window's size and layers covering everything; a Llama its two biases
    const q = configToJson(tinyDense());
    assert.deepEqual(
      [q.use_sliding_window, q.sliding_window, q.max_window_layers, 'attention_bias' in q],
      [false, 32768, 2, false],
    );
    const l = configToJson(tinyDense({ model_type: 'llama' }));
    assert.deepEqual([l.attention_bias, l.mlp_bias, 'use_sliding_window' in l], [false, false, false]);
    // Llama's attention_bias is a bias on each of q/k/v/o_proj, as transformers' LlamaAttention has it
    const biases = [
      ...createModel(tinyDense({ model_type: 'llama', attention_bias: true }))
        .stateDict()
        .keys(),
    ];
    assert.deepEqual(
      biases.filter((n) => n.startsWith('layers.0.') && n.endsWith('.bias')),
      ['layers.0.attn.wq.bias', 'layers.0.attn.wk.bias', 'layers.0.attn.wv.bias', 'layers.0.attn.wo.bias'],
    );
  });

  it('round-trips through configToJson', () => {
    for (const c of [tinyDeepseek(), tinyDense(), tinyDense({ model_type: 'llama' }), load('deepseek-v3-671b')]) {
      const again = parseConfig(configToJson(c)).config;
      assert.deepEqual(again, {
        ...c,
        extra: { ...c.extra, architectures: again.extra.architectures, torch_dtype: 'float32' },
      });
    }
  });
});

describe('parameter accounting (SPEC 1.5)', () => {
  it('reproduces the published totals exactly', () => {
    const v3 = countParams(load('deepseek-v3-671b'));
    assert.equal(v3.total, 671_026_419_200);
    assert.equal(v3.activated, 37_552_297_472);
    assert.equal(v3.mtp, 11_610_068_224);
    assert.equal(v3.breakdown.mlaPerLayer, 187_107_328);
    assert.equal(v3.breakdown.moePerLayer, 11_320_164_608);
    assert.equal(v3.breakdown.expert, 44_040_192);
    assert.ok(Math.abs(v3.activated / 37e9 - 1) < 0.02, 'activated within 2% of the 37B headline');
    const v2 = countParams(load('deepseek-v2-236b'));
    assert.equal(v2.total, 235_741_434_880);
    assert.ok(Math.abs(v2.total / 236e9 - 1) < 0.005);
    const lite = countParams(load('deepseek-v2-lite-16b'));
    assert.equal(lite.total, 15_706_484_224);
    assert.ok(Math.abs(lite.total / 15.7e9 - 1) < 0.005);
    assert.ok(
      Math.abs((lite.activated - 102400 * 2048) / 2.4e9 - 1) < 0.03,
      'V2-Lite: 2.4B active without input embedding',
    );
  });

  it('matches the instantiated tiny models element for element', () => {
    for (const c of [
      tinyDeepseek(),
      tinyDeepseek({ q_lora_rank: null, num_nextn_predict_layers: 0 }),
      tinyDense(),
      tinyDense({ tie_word_embeddings: true }),
      tinyDense({ model_type: 'llama', attention_bias: true }),
    ]) {
      const m = createModel(c);
      const counted = countParams(c);
      const elements = [...m.stateDict().values()].reduce((n, t) => n + t.size, 0);
      assert.equal(
        counted.total + counted.mtp,
        elements,
        `${c.model_type} q_lora=${'q_lora_rank' in c ? c.q_lora_rank : '-'}`,
      );
    }
  });
});
