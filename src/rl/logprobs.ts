/**
 * Log-probabilities of sampled responses under a model, with autograd, laid out response-aligned: (n, R) where R is
 * the longest response and entry (i, k) is log pi(response_i[k] | prompt_i, response_i[:k]) (0 past the end of row i).
 * Also the policy entropy at each of those positions (for logging).
 *
 * Two paths that give the same numbers (tested):
 * - packed (the simple one): every row is prompt + response, right-padded; one forward over all of it (DeepSeek: the
 *   naive MLA path, as in pre-training).
 * - shared prompt (the one GRPO uses): the G responses of a group share their prompt, so the prompt runs once with a
 *   KV cache that is then expanded to the G rows (expand is differentiable: its gradient sums the rows), and only the
 *   responses run per row. A group of G responses of length R after a prompt of length P costs P + G R tokens instead
 *   of G (P + R). DeepSeek models use the absorbed MLA path here, which attends over the cached latents without
 *   re-expanding the prompt's keys for every row. Right padding is harmless: causal attention never looks later.
 */
import type { CausalLM, KVCache } from '../models/causal_lm.js';
import { Tensor } from '../tensor/tensor.js';
import { crossEntropy, gather, mul, neg } from '../tensor/ops/index.js';

export interface ResponseLogProbs {
  /** (n, R), differentiable; 0 past each row's end. */
  logp: Tensor;
  /** Entropy (nats) of the next-token distribution at each position, (n * R); 0 past each row's end. */
  entropy: Float64Array;
  R: number;
}

/** Entropy of the softmax of row `at` (V entries). */
function rowEntropy(x: ArrayLike<number>, at: number, V: number): number {
  let m = -Infinity;
  for (let v = 0; v < V; v++) m = Math.max(m, x[at + v]);
  let z = 0;
  let s = 0;
  for (let v = 0; v < V; v++) {
    const e = Math.exp(x[at + v] - m);
    z += e;
    s += e * (x[at + v] - m);
  }
  return Math.log(z) - s / z;
}

/** Options of the log-prob functions. */
export interface LogProbOptions {
  /** Also the entropy at each position (for logging). */
  entropy?: boolean;
  /**
   * The temperature the responses were sampled at (default 1): log-probs are those of softmax(logits / T), the
   * distribution the sampler drew from (top-p / top-k truncation is not modelled, as in TRL's and verl's GRPO).
   */
  temperature?: number;
}

/** Response-aligned log-probs and entropies from logits (n, L, V) where row i's response token k is predicted at start_i + k. */
function fromLogits(
  raw: Tensor,
  responses: readonly (readonly number[])[],
  start: readonly number[],
  opts: LogProbOptions,
): ResponseLogProbs {
  const T = opts.temperature ?? 1;
  if (!(T > 0 && Number.isFinite(T))) throw new RangeError(`log-probs: temperature must be > 0, got ${T}`);
  const withEntropy = opts.entropy ?? false;
  // temperature 1 skips the op, so those numbers stay bit for bit what they were
  const logits = T === 1 ? raw : mul(raw, 1 / T);
  const [n, L, V] = logits.shape;
  const R = Math.max(1, ...responses.map((r) => r.length));
  const targets = new Int32Array(n * L).fill(-100);
  const index = new Int32Array(n * R);
  const mask = new Float32Array(n * R);
  const entropy = new Float64Array(n * R);
  responses.forEach((r, i) => {
    for (let k = 0; k < R; k++) {
      const t = Math.min(start[i] + k, L - 1);
      index[i * R + k] = t;
      if (k < r.length) {
        targets[i * L + t] = r[k];
        mask[i * R + k] = 1;
        if (withEntropy) entropy[i * R + k] = rowEntropy(logits.data, (i * L + t) * V, V);
      }
    }
  });
  const all = neg(crossEntropy(logits, new Tensor(targets, [n, L], 'int32'), { reduction: 'none' })); // (n, L)
  const picked = R === L && start.every((s) => s === 0) ? all : gather(all, 1, new Tensor(index, [n, R], 'int32'));
  const m = logits.dtype === 'float64' ? Float64Array.from(mask) : mask;
  return { logp: mul(picked, new Tensor(m, [n, R], logits.dtype)), entropy, R };
}

/** The simple path: each row is its prompt followed by its response, right-padded, in one forward. */
export function packedLogProbs(
  model: CausalLM,
  rows: readonly { prompt: readonly number[]; response: readonly number[] }[],
  opts: LogProbOptions = {},
): ResponseLogProbs {
  const L = Math.max(...rows.map((r) => r.prompt.length + r.response.length)) - 1;
  const ids = new Int32Array(rows.length * L);
  rows.forEach((r, i) => ids.set([...r.prompt, ...r.response].slice(0, L), i * L));
  const logits = model.forward(new Tensor(ids, [rows.length, L], 'int32')).logits;
  return fromLogits(
    logits,
    rows.map((r) => r.response),
    rows.map((r) => r.prompt.length - 1),
    opts,
  );
}

/** The GRPO path: one prompt shared by all `responses` (a group), run once through a KV cache. */
export function sharedPromptLogProbs(
  model: CausalLM,
  prompt: readonly number[],
  responses: readonly (readonly number[])[],
  opts: LogProbOptions = {},
): ResponseLogProbs {
  if (prompt.length === 0) throw new RangeError('sharedPromptLogProbs: empty prompt');
  const n = responses.length;
  const R = Math.max(1, ...responses.map((r) => r.length));
  // a cache even for a one-token prompt, so that every row takes the cached (DeepSeek: absorbed) attention path
  const cache: KVCache = model.createCache();
  if (prompt.length > 1) {
    model.forward(new Tensor(Int32Array.from(prompt.slice(0, -1)), [1, prompt.length - 1], 'int32'), { cache });
    cache.expand(n);
  }
  // Row i reads [last prompt token, response[0..R-2]]; position k predicts response[k].
  const ids = new Int32Array(n * R);
  responses.forEach((r, i) => {
    ids[i * R] = prompt[prompt.length - 1];
    for (let k = 1; k < R && k - 1 < r.length; k++) ids[i * R + k] = r[k - 1];
  });
  const logits = model.forward(new Tensor(ids, [n, R], 'int32'), { cache }).logits;
  return fromLogits(logits, responses, Array(n).fill(0), opts);
}
