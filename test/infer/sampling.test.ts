import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_SAMPLING,
  SAMPLING_RANGES,
  type SamplingParams,
  argmaxRow,
  checkSamplingParams,
  logProbAt,
  sampleRow,
  samplingScratch,
} from '../../src/infer/sampling.js';
import { Generator } from '../../src/tensor/random.js';

const logits = Float32Array.from([1.0, 3.0, 0.5, 3.0, -2.0, 2.0]);
const V = logits.length;

function softmax(x: ArrayLike<number>, T = 1): number[] {
  const m = Math.max(...Array.from(x));
  const e = Array.from(x, (v) => Math.exp((v - m) / T));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

/** Empirical token frequencies over n draws with a seeded stream. */
function freqs(params: { temperature?: number; topP?: number; topK?: number }, n = 20000): number[] {
  const p = checkSamplingParams(params);
  const u = new Generator(3).uniform(n, 'float64');
  const s = samplingScratch(V);
  const c = new Array(V).fill(0);
  for (let i = 0; i < n; i++) c[sampleRow(logits, 0, V, p, u[i], s)]++;
  return c.map((x) => x / n);
}

describe('sampling', () => {
  it('greedy (temperature 0) is the first argmax, whatever u', () => {
    assert.equal(argmaxRow(logits, 0, V), 1);
    const p = checkSamplingParams({ temperature: 0 });
    for (const u of [0, 0.5, 0.999]) assert.equal(sampleRow(logits, 0, V, p, u), 1);
  });

  it('temperature sampling follows softmax(x / T)', () => {
    for (const T of [1, 0.5, 2]) {
      const want = softmax(logits, T);
      freqs({ temperature: T }).forEach((f, i) =>
        assert.ok(Math.abs(f - want[i]) < 0.015, `T=${T} token ${i}: ${f} vs ${want[i]}`),
      );
    }
  });

  it('top-k keeps only the k most likely tokens, renormalised (ties: lower id first)', () => {
    const f = freqs({ topK: 2 });
    // the two largest are ids 1 and 3 (equal): 50/50
    assert.deepEqual(
      f.map((x, i) => (x > 0 ? i : -1)).filter((i) => i >= 0),
      [1, 3],
    );
    assert.ok(Math.abs(f[1] - 0.5) < 0.015);
    const g = freqs({ topK: 3 });
    const p = softmax(logits);
    const z = p[1] + p[3] + p[5];
    assert.ok(Math.abs(g[5] - p[5] / z) < 0.015);
    assert.equal(g[0] + g[2] + g[4], 0);
  });

  it('top-p keeps the smallest nucleus reaching p', () => {
    const p = softmax(logits); // ranked: 1, 3, 5, 0, 2, 4
    const two = p[1] + p[3];
    // p just below the mass of the top two: the nucleus is {1, 3}
    const f = freqs({ topP: two - 1e-3 });
    assert.deepEqual(
      f.map((x, i) => (x > 0 ? i : -1)).filter((i) => i >= 0),
      [1, 3],
    );
    // slightly above: token 5 joins
    const g = freqs({ topP: two + 1e-3 });
    assert.ok(g[5] > 0 && g[0] === 0);
    // a tiny p keeps the single most likely token
    assert.deepEqual(new Set(freqs({ topP: 1e-6 }, 200)).size, 2); // one token at 1.0, the rest 0
  });

  it('the same u gives the same token; logProbAt is the log-softmax', () => {
    const p = checkSamplingParams({ temperature: 0.7, topP: 0.9, topK: 4 });
    for (const u of [0.1, 0.42, 0.9])
      assert.equal(sampleRow(logits, 0, V, p, u), sampleRow(logits, 0, V, p, u, samplingScratch(V)));
    const lp = Math.log(softmax(logits)[5]);
    assert.ok(Math.abs(logProbAt(logits, 0, V, 5) - lp) < 1e-6);
  });

  it('rejects bad parameters, naming them', () => {
    assert.throws(() => checkSamplingParams({ temperature: -1 }), /temperature/);
    assert.throws(() => checkSamplingParams({ topP: 0 }), /top-p/);
    assert.throws(() => checkSamplingParams({ topK: 1.5 }), /top-k/);
  });

  it('one validator for generate, eval and GRPO: ranges, defaults, names, greedy or not', () => {
    assert.deepEqual(checkSamplingParams({}), DEFAULT_SAMPLING);
    assert.deepEqual(checkSamplingParams({ n: 3, stop: ['</answer>'] }, { defaults: { temperature: 0.6 } }), {
      ...DEFAULT_SAMPLING,
      temperature: 0.6,
      n: 3,
      stop: ['</answer>'],
    });
    const bad: [SamplingParams, string][] = [
      [{ temperature: -1 }, 'sampling: temperature must be a number >= 0, got -1'],
      [{ temperature: Number.POSITIVE_INFINITY }, 'sampling: temperature must be a number >= 0, got Infinity'],
      [{ topP: 0 }, 'sampling: top-p must be a number in (0, 1], got 0'],
      [{ topK: 1.5 }, 'sampling: top-k must be an integer in [0, 2147483647], got 1.5'],
      [{ maxTokens: 0 }, 'sampling: max-tokens must be an integer in [1, 1048576], got 0'],
      [{ maxTokens: 2 ** 20 + 1 }, 'sampling: max-tokens must be an integer in [1, 1048576], got 1048577'],
      [{ seed: -1 }, 'sampling: seed must be an integer >= 0, got -1'],
      [{ n: 1e8 }, 'sampling: n must be an integer in [1, 4096], got 100000000'],
      [{ stop: ['a', ''] }, 'sampling: stop must be non-empty strings, got ""'],
    ];
    for (const [p, msg] of bad) assert.throws(() => checkSamplingParams(p), { message: msg });
    // the same check under the caller's names: the CLI's flags, a config's keys
    assert.throws(() => checkSamplingParams({ n: 0 }, { who: 'eval', names: { n: '--k' } }), {
      message: 'eval: --k must be an integer in [1, 4096], got 0',
    });
    // GRPO needs sampled responses: temperature 0 is refused there, allowed elsewhere
    assert.equal(checkSamplingParams({ temperature: 0 }).temperature, 0);
    assert.throws(() => checkSamplingParams({ temperature: 0 }, { who: 'grpo', greedy: false }), {
      message: 'grpo: temperature must be > 0 (sampled responses, not greedy ones), got 0',
    });
    assert.deepEqual(Object.keys(SAMPLING_RANGES).sort(), ['maxTokens', 'n', 'seed', 'temperature', 'topK', 'topP']);
  });
});
