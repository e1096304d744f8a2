import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DeepseekV3, parseConfig, ropeTables, type DeepseekConfig } from '../../src/models/index.js';
import { noGrad, randn, Generator, rope } from '../../src/index.js';
import { ropeCosSin } from '../../src/models/rope.js';

describe('RoPE / YaRN (SPEC 1.2)', () => {
  const c = parseConfig(JSON.parse(readFileSync('configs/deepseek-v3-671b.json', 'utf8'))).config as DeepseekConfig;

  it('correction range is [10, 23]; low pairs keep base frequency, high pairs are base/40', () => {
    const t = ropeTables(64, 10000, c.rope_scaling);
    assert.deepEqual(t.correction, { low: 10, high: 23 });
    for (let i = 0; i < 32; i++) {
      const base = 10000 ** (-(2 * i) / 64);
      if (i <= 10) assert.ok(Math.abs(t.invFreq[i] / base - 1) < 1e-15, `pair ${i}`);
      else if (i >= 23) assert.ok(Math.abs(t.invFreq[i] - base / 40) < 1e-18, `pair ${i}`);
      else {
        const r = (i - 10) / 13;
        assert.ok(Math.abs(t.invFreq[i] - (base * (1 - r) + (base / 40) * r)) < 1e-18, `pair ${i} ramp`);
      }
    }
  });

  it('softmax scale is 0.1352338 with YaRN (0.072169 without)', () => {
    const m = ropeTables(64, 10000, c.rope_scaling);
    assert.ok(Math.abs(192 ** -0.5 * m.scaleMultiplier - 0.1352338) < 5e-8);
    assert.ok(Math.abs(192 ** -0.5 - 0.072169) < 5e-7);
    assert.equal(m.attentionFactor, 1, 'mscale == mscale_all_dim: cos/sin unscaled');
  });

  it('the attention layer uses the YaRN scale', () => {
    const tiny = parseConfig({
      model_type: 'deepseek_v3',
      vocab_size: 8,
      hidden_size: 8,
      intermediate_size: 8,
      moe_intermediate_size: 4,
      num_hidden_layers: 1,
      num_attention_heads: 1,
      n_routed_experts: 2,
      n_group: 1,
      topk_group: 1,
      num_experts_per_tok: 1,
      q_lora_rank: null,
      kv_lora_rank: 4,
      qk_nope_head_dim: 128,
      qk_rope_head_dim: 64,
      v_head_dim: 4,
      first_k_dense_replace: 0,
      rope_scaling: c.rope_scaling,
    }).config as DeepseekConfig;
    assert.ok(Math.abs(new DeepseekV3(tiny).layers[0].attn.softmaxScale - 0.1352338) < 5e-8);
  });

  it('rotating by position p then by q equals rotating by p + q (relative positions)', () => {
    const t = ropeTables(8, 10000, null);
    const x = randn([1, 1, 1, 8], { generator: new Generator(1), dtype: 'float32' });
    const a = ropeCosSin(t, 3, 1);
    const b = ropeCosSin(t, 4, 1);
    const ab = ropeCosSin(t, 7, 1);
    const two = noGrad(() => rope(rope(x, a.cos, a.sin, { interleaved: true }), b.cos, b.sin, { interleaved: true }));
    const one = rope(x, ab.cos, ab.sin, { interleaved: true });
    for (let i = 0; i < 8; i++) assert.ok(Math.abs(two.data[i] - one.data[i]) < 1e-5);
  });
});

describe('RoPE: Llama 3.1 scaling (the released Llama students)', () => {
  it('matches an independent float64 computation of rope_type "llama3" (make_llama3_rope.py)', () => {
    const ref = JSON.parse(readFileSync('test/fixtures/models/llama3_rope.json', 'utf8')) as {
      dim: number;
      theta: number;
      inv_freq: number[];
    };
    const { config } = parseConfig(JSON.parse(readFileSync('configs/deepseek-r1-distill-llama-8b.json', 'utf8')));
    assert.equal(config.rope_scaling?.type, 'llama3');
    const t = ropeTables(ref.dim, config.rope_theta, config.rope_scaling);
    assert.equal(t.attentionFactor, 1);
    assert.equal(t.scaleMultiplier, 1);
    let worst = 0;
    for (let i = 0; i < ref.inv_freq.length; i++)
      worst = Math.max(worst, Math.abs(t.invFreq[i] - ref.inv_freq[i]) / ref.inv_freq[i]);
    assert.ok(worst < 1e-12, `largest relative |Δ| ${worst}`);
    // all three regimes occur: kept, blended and divided by the factor
    const base = (i: number) => ref.theta ** (-(2 * i) / ref.dim);
    assert.equal(t.invFreq[0], base(0));
    assert.ok(Math.abs(t.invFreq[63] - base(63) / 8) < 1e-20);
    assert.ok(ref.inv_freq.some((f, i) => f < base(i) && f > base(i) / 8));
  });
});
