// Continuous batching (src/infer/batcher.ts): sequences that join mid-flight give exactly what `generate` gives them
// alone; cancelled rows are freed; speculative decoding with the MTP module is exact for greedy decoding and keeps the
// target distribution when sampling (a chi-square test against the exact marginals, fixed seeds).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import '../../src/tensor/index.js'; // registers the native backend when its addon is built
import { eachBackend } from '../helpers/util.js';
import { AdamW } from '../../src/optim/adamw.js';
import { type CausalLM, createModel } from '../../src/models/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Batcher, type Sequence, tokenLogprob } from '../../src/infer/batcher.js';
import { generate, rowGenerator } from '../../src/infer/generate.js';
import { filteredProbs, logProbAt, type SamplingFilters } from '../../src/infer/sampling.js';
import { verifyDraft } from '../../src/infer/speculative.js';
import { tinyDeepseek } from '../models/helpers.js';

const SAMPLED = { temperature: 1, topP: 1, topK: 0 };
const GREEDY = { temperature: 0, topP: 1, topK: 0 };

/** A tiny DeepSeek-V3 with MTP taught to count mod 16 (main and MTP losses): its drafts are mostly right. */
function countingModel(): CausalLM {
  const m = createModel(tinyDeepseek({ vocab_size: 16, max_position_embeddings: 64 }), { seed: 1, initStd: 0.1 });
  const opt = new AdamW(m.namedParameters(), { lr: 1e-2 });
  const count = (start: number) => Array.from({ length: 17 }, (_, i) => (start + i) % 16);
  for (let step = 1; step <= 80; step++) {
    const rows = [0, 1, 2, 3].map((r) => count((step * 5 + r * 3) % 16));
    const ids = new Tensor(Int32Array.from(rows.flatMap((r) => r.slice(0, 16))), [4, 16], 'int32');
    const targets = new Tensor(Int32Array.from(rows.flatMap((r) => r.slice(1))), [4, 16], 'int32');
    m.computeLoss(ids, targets, { mtpLambda: 1 }).loss.backward();
    opt.step();
    opt.zeroGrad();
  }
  return m.eval();
}

const prompts = [[1, 2, 3], [4, 5, 6, 7, 8, 9], [10], [11, 12, 13, 14], [1, 2, 3], [1, 7]];

describe('continuous batching', () => {
  const m = createModel(tinyDeepseek({ num_nextn_predict_layers: 0 }), { seed: 3, initStd: 0.2 }).eval();

  it('sequences joining a running batch (and others cancelled) give exactly the tokens generate gives them alone', () => {
    eachBackend((backend) => {
      const b = new Batcher(m, { maxBatch: 4 });
      const seqs: Sequence[] = [];
      const add = (r: number) =>
        seqs.push(
          b.add({ prompt: prompts[r], filters: SAMPLED, maxTokens: 5 + r, rng: rowGenerator(9, r), eosId: null }),
        );
      add(0);
      add(1);
      b.step();
      b.step();
      add(2);
      const doomed = b.add({ prompt: [5, 5], filters: SAMPLED, maxTokens: 30, rng: rowGenerator(1, 0) });
      b.step();
      add(3);
      add(4);
      add(5); // waits: the batch holds 4 rows
      b.step();
      assert.equal(b.waiting, 3, 'the batch is full');
      b.cancel(doomed);
      while (b.step());
      assert.equal(doomed.finish, 'cancelled');
      assert.equal(b.rows, 0, 'an idle batcher holds no rows');
      seqs.forEach((s, r) => {
        const [alone] = generate(m, [prompts[r]], { maxTokens: 5 + r, temperature: 1, seed: 9, firstRow: r });
        assert.deepEqual(s.tokens, alone.tokens, `${backend}: sequence ${r}`);
        assert.equal(s.finish, 'length');
      });
    });
  });

  it('sequences added together with one prompt share its pre-fill and equal generate rows 0..n-1', () => {
    const b = new Batcher(m);
    const n = 3;
    const seqs = Array.from({ length: n }, (_, j) =>
      b.add({ prompt: [7, 8, 9], filters: SAMPLED, maxTokens: 6, rng: rowGenerator(4, j) }),
    );
    while (b.step());
    const ref = generate(m, Array(n).fill([7, 8, 9]), { maxTokens: 6, temperature: 1, seed: 4 });
    assert.deepEqual(
      seqs.map((s) => s.tokens),
      ref.map((g) => g.tokens),
    );
    assert.equal(b.stats.steps, 6, 'one pre-fill step for all three, then one step per token');
  });

  it('stops on EOS, on the caller saying so, at the budget; reports logprobs; names bad input', () => {
    const b = new Batcher(m);
    const lps: number[] = [];
    const free = b.add({ prompt: [3, 1], filters: GREEDY, maxTokens: 6, rng: rowGenerator(0, 0), topLogprobs: 3 });
    const stopped = b.add({
      prompt: [3, 1],
      filters: GREEDY,
      maxTokens: 6,
      rng: rowGenerator(0, 1),
      onToken: (_t, lp) => {
        lps.push(lp === null ? Number.NaN : lp.logprob);
        return lps.length < 2;
      },
    });
    while (b.step());
    assert.equal(free.finish, 'length');
    assert.equal(stopped.finish, 'stop');
    assert.deepEqual(stopped.tokens, free.tokens.slice(0, 2));
    assert.ok(lps.every(Number.isNaN), 'no logprobs unless asked');
    const withEos = new Batcher(m);
    const e = withEos.add({
      prompt: [3, 1],
      filters: GREEDY,
      maxTokens: 6,
      rng: rowGenerator(0, 0),
      eosId: free.tokens[2],
    });
    while (withEos.step());
    assert.equal(e.finish, 'eos');
    assert.deepEqual(e.tokens, free.tokens.slice(0, free.tokens.indexOf(free.tokens[2]) + 1));
    assert.throws(() => b.add({ prompt: [], filters: GREEDY, maxTokens: 1, rng: rowGenerator(0, 0) }), /empty/);
    assert.throws(() => b.add({ prompt: [99], filters: GREEDY, maxTokens: 1, rng: rowGenerator(0, 0) }), /99/);
    assert.throws(
      () => b.add({ prompt: [1], filters: GREEDY, maxTokens: 128, rng: rowGenerator(0, 0) }),
      /context of 128/,
    );
    assert.throws(() => new Batcher(m, { speculative: 'mtp' }), /MTP module/);
  });

  it("tokenLogprob is the row's log-softmax, with the k most likely (ties to the lower id)", () => {
    const row = Float32Array.from([0.5, 2, -1, 2, 0.1]);
    const lp = tokenLogprob(row, 0, 5, 4, 3);
    assert.ok(Math.abs(lp.logprob - logProbAt(row, 0, 5, 4)) < 1e-12);
    assert.deepEqual(
      lp.top.map(([id]) => id),
      [1, 3, 0],
    );
    assert.ok(Math.abs(lp.top[2][1] - logProbAt(row, 0, 5, 0)) < 1e-12);
    assert.deepEqual(tokenLogprob(row, 0, 5, 1, 0).top, []);
  });
});

describe('speculative decoding with the MTP module', () => {
  const counting = countingModel();
  const ragged = [[1, 2, 3], [9, 10, 11, 12, 13], [4], [6, 7], [1, 2, 3]];

  it('greedy output is identical to plain greedy decoding (most drafts accepted by a trained model)', () => {
    eachBackend((backend) => {
      for (const [name, model] of [
        ['counting', counting],
        ['random', createModel(tinyDeepseek(), { seed: 2, initStd: 0.2 }).eval()],
      ] as const) {
        const plain = generate(model, ragged, { maxTokens: 12, temperature: 0 });
        const spec = generate(model, ragged, { maxTokens: 12, temperature: 0, speculative: 'mtp', batchSize: 3 });
        assert.deepEqual(
          spec.map((g) => g.tokens),
          plain.map((g) => g.tokens),
          `${backend} ${name}`,
        );
        const drafted = spec.reduce((s, g) => s + g.drafted!, 0);
        const accepted = spec.reduce((s, g) => s + g.accepted!, 0);
        assert.ok(drafted > 0);
        if (name === 'counting') assert.ok(accepted / drafted > 0.5, `${backend}: acceptance ${accepted}/${drafted}`);
      }
    });
  });

  it('a seeded sequence gives the same tokens alone and in a batch', () => {
    const alone = generate(counting, [ragged[1]], { maxTokens: 10, seed: 3, firstRow: 1, speculative: 'mtp' });
    const batch = generate(counting, ragged, { maxTokens: 10, seed: 3, speculative: 'mtp', batchSize: 2 });
    assert.deepEqual(batch[1].tokens, alone[0].tokens);
  });

  it('verifyDraft: accepts with probability min(1, p/q), else draws from normalize(max(0, p - q))', () => {
    const p = Float64Array.from([0.5, 0.3, 0.2]);
    const q = Float64Array.from([0.2, 0.6, 0.2]);
    const r = new Float64Array(3);
    assert.deepEqual(verifyDraft(p, q, 3, 0, 0.99, 0, r), { accepted: true, token: 0 }); // p > q: always
    assert.deepEqual(verifyDraft(p, q, 3, 1, 0.49, 0, r), { accepted: true, token: 1 }); // 0.49 < 0.3 / 0.6
    assert.deepEqual(verifyDraft(p, q, 3, 1, 0.51, 0.99, r), { accepted: false, token: 0 }); // residual: only id 0
  });

  for (const filters of [SAMPLED, { temperature: 0.8, topP: 0.9, topK: 0 }, { temperature: 1.3, topP: 1, topK: 5 }]) {
    it(`sampled output keeps the target distribution (chi-square, ${JSON.stringify(filters)})`, () => {
      // a random model (drafts far from the target: many rejections) over 16 tokens with spread-out distributions
      const model = createModel(tinyDeepseek({ vocab_size: 16 }), { seed: 5, initStd: 0.5 }).eval();
      const V = 16;
      const prompt = [3, 1, 4];
      const N = 3000;
      const gens = generate(model, Array(N).fill(prompt), {
        maxTokens: 3,
        seed: 17,
        speculative: 'mtp',
        batchSize: 500,
        ...filters,
      });
      const drafted = gens.reduce((s, g) => s + g.drafted!, 0);
      const accepted = gens.reduce((s, g) => s + g.accepted!, 0);
      const why = `acceptance ${accepted}/${drafted}: both paths run`;
      assert.ok(accepted >= 50 && drafted - accepted >= 50, why);
      const [second, third] = exactMarginals(model, prompt, filters, V);
      for (const [k, expected] of [
        [1, second],
        [2, third],
      ] as const) {
        const counts = new Float64Array(V);
        for (const g of gens) counts[g.tokens[k]]++;
        const { stat, dof } = chiSquare(counts, expected, N);
        assert.ok(stat < chiSquareCritical(dof), `token ${k + 1}: chi-square ${stat.toFixed(1)} on ${dof} dof`);
      }
    });
  }
});

/** The exact distributions of the 2nd and 3rd sampled tokens after `prompt` (over all earlier draws). */
function exactMarginals(model: CausalLM, prompt: number[], f: Required<SamplingFilters>, V: number): Float64Array[] {
  const probs = (seqs: number[][]): Float64Array[] => {
    const d = model.createDecoder!();
    const T = seqs[0].length;
    const logits = d.feed(Int32Array.from(seqs.flat()), seqs.length, T);
    return seqs.map((_, i) => filteredProbs(logits, i * V, V, f, new Float64Array(V)));
  };
  const ids = Array.from({ length: V }, (_, i) => i);
  const [p1] = probs([prompt]);
  const p2 = probs(ids.map((a) => [...prompt, a]));
  const pairs = ids.flatMap((a) => ids.map((b) => [a, b]));
  const p3 = probs(pairs.map(([a, b]) => [...prompt, a, b]));
  const second = new Float64Array(V);
  const third = new Float64Array(V);
  ids.forEach((a) => {
    for (let b = 0; b < V; b++) second[b] += p1[a] * p2[a][b];
  });
  pairs.forEach(([a, b], i) => {
    for (let c = 0; c < V; c++) third[c] += p1[a] * p2[a][b] * p3[i][c];
  });
  return [second, third];
}

/** Pearson's chi-square of observed counts against probabilities (cells with expectation < 5 pooled). */
function chiSquare(counts: Float64Array, probs: Float64Array, N: number): { stat: number; dof: number } {
  let stat = 0;
  let cells = 0;
  let poolO = 0;
  let poolE = 0;
  for (let i = 0; i < counts.length; i++) {
    const e = probs[i] * N;
    if (e < 5) {
      poolO += counts[i];
      poolE += e;
      continue;
    }
    stat += (counts[i] - e) ** 2 / e;
    cells++;
  }
  if (poolE >= 5) {
    stat += (poolO - poolE) ** 2 / poolE;
    cells++;
  } else
    assert.ok(poolO <= poolE + 5, `tokens outside the target's support: ${poolO} seen, ${poolE.toFixed(2)} expected`);
  return { stat, dof: cells - 1 };
}

/** The chi-square quantile at 1 - 1e-4 (Wilson-Hilferty): the runs are seeded, so this is a fixed bound. */
function chiSquareCritical(dof: number): number {
  const z = 3.719;
  return dof * (1 - 2 / (9 * dof) + z * Math.sqrt(2 / (9 * dof))) ** 3;
}
