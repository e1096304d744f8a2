/** DeepSeek-V3 behaviour: MLA paths agree, latent cache size, routing rules, aux-loss-free bias, balance loss, MTP. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeepseekV3, Gate, MoE } from '../../src/models/index.js';
import { sortByValueDesc } from '../../src/models/routing.js';
import { routeRows } from '../../src/models/deepseek_v3_decode.js';
import { eachBackend } from '../helpers/util.js';
import { Generator, concat, crossEntropy, narrow, noGrad, randint, randn, tensor, Tensor } from '../../src/index.js';
import { tinyDeepseek } from './helpers.js';

function maxRelErr(a: Tensor, b: Tensor): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.size; i++) {
    num = Math.max(num, Math.abs(a.data[i] - b.data[i]));
    den = Math.max(den, Math.abs(b.data[i]));
  }
  return num / den;
}

describe('Multi-head Latent Attention', () => {
  const c = tinyDeepseek();
  const model = new DeepseekV3(c, { initStd: 0.2, seed: 3 }).eval();
  const ids = randint(0, c.vocab_size, [2, 9], { generator: new Generator(5) });

  it('absorbed path equals the naive path (prefill) to < 1e-5 relative', () => {
    const a = noGrad(() => model.forward(ids).logits);
    const b = noGrad(() => model.forward(ids, { attnImpl: 'absorb' }).logits);
    assert.ok(maxRelErr(b, a) < 1e-5, `rel err ${maxRelErr(b, a)}`);
  });

  for (const impl of ['absorb', 'naive'] as const) {
    it(`token-by-token decoding with the latent cache (${impl}) equals the full forward`, () => {
      const full = noGrad(() => model.forward(ids).logits);
      const cache = model.createCache();
      const parts = [noGrad(() => model.forward(narrow(ids, 1, 0, 4), { cache, attnImpl: impl }).logits)];
      for (let t = 4; t < 9; t++)
        parts.push(noGrad(() => model.forward(narrow(ids, 1, t, 1), { cache, attnImpl: impl }).logits));
      const inc = concat(parts, 1);
      assert.ok(maxRelErr(inc, full) < 1e-5, `rel err ${maxRelErr(inc, full)}`);
      assert.equal(cache.length, 9);
    });
  }

  it('the cache holds exactly kv_lora_rank + qk_rope_head_dim values per token per layer', () => {
    const cache = model.createCache();
    noGrad(() => model.forward(ids, { cache, attnImpl: 'absorb' }));
    assert.equal(cache.valuesPerToken(), c.kv_lora_rank + c.qk_rope_head_dim);
    for (const l of cache.layers) {
      assert.deepEqual(l.kv!.shape, [2, 9, c.kv_lora_rank]);
      assert.deepEqual(l.pe!.shape, [2, 9, c.qk_rope_head_dim]);
    }
  });
});

describe('DeepSeekMoE routing', () => {
  const c = tinyDeepseek({
    n_routed_experts: 16,
    n_group: 4,
    topk_group: 2,
    num_experts_per_tok: 3,
    routed_scaling_factor: 2.5,
  });
  const x = randn([50, c.hidden_size], { generator: new Generator(2) });

  it('no selected expert falls outside the kept groups; every token gets exactly K experts; weights sum to 2.5', () => {
    const gate = new Gate(c, { std: 0.5, generator: new Generator(1) });
    gate.bias!.data.set(randn([16], { generator: new Generator(9) }).data.map((v) => v * 0.1));
    const { scores, indices, weights } = noGrad(() => gate.forward(x));
    for (let t = 0; t < 50; t++) {
      const picked = [...indices.slice(t * 3, t * 3 + 3)];
      assert.equal(new Set(picked).size, 3, 'K distinct experts');
      // recompute group scores from biased scores: sum of top-2 per group of 4
      const biased = Array.from({ length: 16 }, (_, e) => scores.data[t * 16 + e] + gate.bias!.data[e]);
      const gs = [0, 1, 2, 3].map((g) =>
        biased
          .slice(g * 4, g * 4 + 4)
          .sort((a, b) => b - a)
          .slice(0, 2)
          .reduce((a, b) => a + b),
      );
      const kept = [0, 1, 2, 3].sort((a, b) => gs[b] - gs[a]).slice(0, 2);
      for (const e of picked)
        assert.ok(kept.includes(Math.floor(e / 4)), `token ${t}: expert ${e} outside kept groups ${kept}`);
      const w = Array.from(weights.data.slice(t * 3, t * 3 + 3)).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(w - 2.5) < 1e-5, `weights sum ${w}`);
      // weights come from unbiased scores
      const s = picked.map((e) => scores.data[t * 16 + e]);
      const tot = s.reduce((a, b) => a + b);
      picked.forEach((_, j) => assert.ok(Math.abs(weights.data[t * 3 + j] - (2.5 * s[j]) / tot) < 1e-5));
    }
  });

  it("the fast decoder's router gives Gate.forward's experts and gate values, bit for bit, on every backend", () => {
    for (const norm of [true, false]) {
      const cn = { ...c, norm_topk_prob: norm };
      const gate = new Gate(cn, { std: 0.5, generator: new Generator(1) });
      gate.bias!.data.set(randn([16], { generator: new Generator(9) }).data.map((v) => v * 0.1));
      const moe = { c: cn, gate, experts: [], shared_experts: null };
      eachBackend((backend) => {
        for (const N of [1, 2, 7, 50]) {
          const xs = x.data.subarray(0, N * c.hidden_size) as Float32Array;
          const want = noGrad(() => gate.forward(new Tensor(xs, [N, c.hidden_size])));
          const got = routeRows(moe, xs, N);
          assert.deepEqual([...got.indices], [...want.indices], `${backend} N=${N} norm=${norm}: experts`);
          const w = want.weights.data;
          for (let i = 0; i < w.length; i++)
            assert.ok(
              Object.is(got.weights[i], w[i]),
              `${backend} N=${N} norm=${norm}: weight ${i}: ${got.weights[i]} vs ${w[i]}`,
            );
        }
      });
    }
  });

  it("the routers' insertion sort gives the order of the comparator sorts it stands for (ties, -0, infinities), and declines NaN", () => {
    let seed = 11;
    const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const pool = [0, -0, 0.25, 0.5, 1, -1, Infinity, -Infinity, 1e-30];
    for (let trial = 0; trial < 2000; trial++) {
      const n = 1 + (trial % 12);
      const v = Float64Array.from({ length: n }, () =>
        trial % 2 ? pool[Math.floor(rnd() * pool.length)] : Math.round(rnd() * 4) / 4,
      );
      const start = Array.from({ length: n }, (_, i) => i); // any starting permutation: a Fisher-Yates shuffle
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [start[i], start[j]] = [start[j], start[i]];
      }
      const a = [...start];
      assert.equal(sortByValueDesc(a, v), true);
      const byEq = [...start].sort((p, q) => (v[q] === v[p] ? p - q : v[q] > v[p] ? 1 : -1)); // MoE experts
      const byDiff = [...start].sort((p, q) => v[q] - v[p] || p - q); // groups
      assert.deepEqual(a, byEq, `values ${[...v]}`);
      assert.deepEqual(a, byDiff, `values ${[...v]}`);
    }
    const order = [2, 0, 1];
    assert.equal(sortByValueDesc(order, Float64Array.from([0.5, NaN, 1])), false);
    assert.deepEqual(order, [2, 0, 1]);
  });

  it('the bias changes which experts are picked, never the weight formula', () => {
    const gate = new Gate(c, { std: 0.5, generator: new Generator(1) });
    const before = noGrad(() => gate.forward(x));
    gate.bias!.data.fill(0);
    gate.bias!.data[7] = 10; // force expert 7 everywhere
    const after = noGrad(() => gate.forward(x));
    assert.notDeepEqual([...after.indices], [...before.indices]);
    for (let t = 0; t < 50; t++) {
      assert.ok([...after.indices.slice(t * 3, t * 3 + 3)].includes(7));
      const picked = [...after.indices.slice(t * 3, t * 3 + 3)];
      const s = picked.map((e) => after.scores.data[t * 16 + e]);
      const tot = s.reduce((a, b) => a + b);
      picked.forEach((_, j) => assert.ok(Math.abs(after.weights.data[t * 3 + j] - (2.5 * s[j]) / tot) < 1e-5));
    }
  });

  it('after one step with a known load histogram each bias moves by exactly +-gamma (0 at the mean)', () => {
    const gate = new Gate(tinyDeepseek(), { std: 0.5 });
    gate.load.set([4, 0, 2, 2, 2, 2, 1, 3]); // mean 2
    const loads = gate.updateBias(0.001);
    assert.deepEqual([...loads], [4, 0, 2, 2, 2, 2, 1, 3]);
    assert.deepEqual(
      [...gate.bias!.data].map((v) => Math.round(v * 1e6) / 1e6),
      [-0.001, 0.001, 0, 0, 0, 0, 0.001, -0.001],
    );
    assert.deepEqual([...gate.load], [0, 0, 0, 0, 0, 0, 0, 0], 'counters reset');
  });

  it('uniform routing with uniform scores gives L_Bal = alpha', () => {
    const moe = new MoE(tinyDeepseek(), { std: 0.1 });
    const E = 8;
    const K = 2;
    const T = 8;
    const scores = tensor(new Float32Array(T * E).fill(0.5), { shape: [T, E] });
    const idx = new Int32Array(T * K);
    for (let t = 0; t < T; t++) for (let j = 0; j < K; j++) idx[t * K + j] = (t * K + j) % E; // each expert twice
    const l = moe.balanceLoss(scores, idx, 1, T, 0.0001);
    assert.ok(Math.abs(l.item() - 0.0001) < 1e-10, `L_Bal ${l.item()}`);
  });

  it('training forwards count loads; the model-level update touches every MoE layer incl. MTP', () => {
    const m = new DeepseekV3(tinyDeepseek(), { seed: 2 });
    const ids = randint(0, 40, [2, 6], { generator: new Generator(1) });
    m.computeLoss(ids, ids);
    const loads = m.updateRouterBias(0.001);
    assert.equal(loads.length, 3, '2 MoE layers + 1 MTP MoE');
    assert.equal(
      loads[0].reduce((a, b) => a + b),
      12 * 2,
      'every token routed to K experts, none dropped',
    );
    assert.equal(
      loads[2].reduce((a, b) => a + b),
      10 * 2,
      'MTP sees T-1 positions',
    );
    assert.ok(m.gates().some((g) => g.bias!.data.some((v) => v !== 0)));
  });
});

describe('Multi-Token Prediction loss', () => {
  it('loss = CE_main + 0.3 * CE_mtp (+ L_Bal), MTP targets shifted by k+1', () => {
    const m = new DeepseekV3(tinyDeepseek(), { initStd: 0.2, seed: 4 });
    const seq = randint(0, 40, [2, 8], { generator: new Generator(3) });
    const ids = narrow(seq, 1, 0, 7);
    const targets = narrow(seq, 1, 1, 7);
    const r = m.computeLoss(ids, targets);
    assert.ok(Math.abs(r.loss.item() - (r.mainLoss + 0.3 * r.mtpLosses[0])) < 1e-5);
    // recompute the MTP depth-1 loss by hand: predict token i+2 from h_i and Emb(t_{i+1})
    const { hidden } = noGrad(() => m.forward(ids));
    const mtp = m.mtp[0];
    const h = noGrad(() => {
      const ctxModel = m as unknown as { context: (s: number, T: number, o: object, b: Tensor[]) => never };
      const ctx = ctxModel.context(0, 6, {}, []);
      return mtp.forward(narrow(hidden, 1, 0, 6), m.embed.forward(narrow(ids, 1, 1, 6)), ctx);
    });
    const logits = noGrad(() => m.head!.forward(mtp.norm.forward(h)));
    const ce = crossEntropy(logits, narrow(seq, 1, 2, 6)).item();
    assert.ok(Math.abs(ce - r.mtpLosses[0]) < 1e-5, `${ce} vs ${r.mtpLosses[0]}`);
    const withBal = m.computeLoss(ids, targets, { balanceAlpha: 0.01 });
    assert.ok(withBal.balanceLoss > 0);
    assert.ok(
      Math.abs(withBal.loss.item() - (withBal.mainLoss + 0.3 * withBal.mtpLosses[0] + withBal.balanceLoss)) < 1e-5,
    );
  });

  it('backward reaches every parameter', () => {
    const m = new DeepseekV3(tinyDeepseek({ n_routed_experts: 2, n_group: 1, topk_group: 1, num_experts_per_tok: 2 }), {
      seed: 1,
    });
    const ids = randint(0, 40, [2, 6], { generator: new Generator(1) });
    m.computeLoss(ids, ids, { balanceAlpha: 0.01 }).loss.backward();
    const missing = m
      .namedParameters()
      .filter(([, p]) => !p.grad)
      .map(([n]) => n);
    assert.deepEqual(missing, []);
  });
});
