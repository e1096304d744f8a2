/**
 * Next-token sampling from one row of logits: greedy, temperature, top-k and top-p (nucleus), driven by one uniform
 * number so that a seeded stream reproduces a run exactly. Plain loops over the row; no tensors, no autograd.
 *
 * Order of the filters (as Hugging Face's `generate` and vLLM apply them): temperature, then top-k, then top-p on the
 * renormalised top-k distribution. Top-p keeps the smallest set of most likely tokens whose probability reaches p
 * (the token that crosses p is kept; at least one token always survives). Ties in ranking go to the lower token id.
 *
 * Not here: the decoding loop, KV caches, stop conditions (generate.ts).
 */

/** How to pick a token from a row of logits. */
export interface SamplingParams {
  /** Softmax temperature; 0 means greedy (argmax). Default 1. */
  temperature?: number;
  /** Nucleus mass in (0, 1]; 1 turns it off. Default 1. */
  topP?: number;
  /** Keep only the k most likely tokens; 0 turns it off. Default 0. */
  topK?: number;
}

/** Checks sampling parameters; the error names the parameter. */
export function checkSamplingParams(p: SamplingParams): Required<SamplingParams> {
  const temperature = p.temperature ?? 1;
  const topP = p.topP ?? 1;
  const topK = p.topK ?? 0;
  if (!(Number.isFinite(temperature) && temperature >= 0))
    throw new RangeError(`sampling: temperature must be >= 0, got ${temperature}`);
  if (!(topP > 0 && topP <= 1)) throw new RangeError(`sampling: top-p must be in (0, 1], got ${topP}`);
  if (!(Number.isInteger(topK) && topK >= 0))
    throw new RangeError(`sampling: top-k must be a non-negative integer, got ${topK}`);
  return { temperature, topP, topK };
}

/** Index of the first maximum of row[off, off+V). */
export function argmaxRow(row: ArrayLike<number>, off: number, V: number): number {
  let best = 0;
  let m = -Infinity;
  for (let i = 0; i < V; i++) {
    const x = row[off + i];
    if (x > m) {
      m = x;
      best = i;
    }
  }
  return best;
}

/** log-softmax value of entry `id` of row[off, off+V) (temperature 1). */
export function logProbAt(row: ArrayLike<number>, off: number, V: number, id: number): number {
  let m = -Infinity;
  for (let i = 0; i < V; i++) m = Math.max(m, row[off + i]);
  let s = 0;
  for (let i = 0; i < V; i++) s += Math.exp(row[off + i] - m);
  return row[off + id] - m - Math.log(s);
}

/** Reusable buffers for sampleRow (one per decoding loop). */
export interface SamplingScratch {
  prob: Float64Array;
  ranked: number[];
}

export function samplingScratch(V: number): SamplingScratch {
  return { prob: new Float64Array(V), ranked: new Array<number>(V) };
}

/**
 * Draws a token id from row[off, off+V) given `u` uniform in [0, 1). Greedy when temperature is 0.
 * `scratch` (length >= V, optional) avoids allocations in the decoding loop.
 */
export function sampleRow(
  row: ArrayLike<number>,
  off: number,
  V: number,
  params: Required<SamplingParams>,
  u: number,
  scratch?: SamplingScratch,
): number {
  const { temperature, topP, topK } = params;
  if (temperature === 0) return argmaxRow(row, off, V);
  const prob = scratch?.prob ?? new Float64Array(V);
  let m = -Infinity;
  for (let i = 0; i < V; i++) m = Math.max(m, row[off + i]);
  let z = 0;
  for (let i = 0; i < V; i++) {
    const p = Math.exp((row[off + i] - m) / temperature);
    prob[i] = p;
    z += p;
  }
  const filtered = (topK > 0 && topK < V) || topP < 1;
  if (!filtered) {
    // Inverse CDF in id order.
    let target = u * z;
    for (let i = 0; i < V; i++) {
      target -= prob[i];
      if (target < 0) return i;
    }
    return lastPositive(prob, V);
  }
  // Rank by probability (ties: lower id first), keep top-k, then the top-p prefix of what is left.
  const ranked = scratch?.ranked ?? [];
  ranked.length = V;
  for (let i = 0; i < V; i++) ranked[i] = i;
  ranked.sort((a, b) => prob[b] - prob[a] || a - b);
  let keep = topK > 0 && topK < V ? topK : V;
  let kz = 0;
  for (let j = 0; j < keep; j++) kz += prob[ranked[j]];
  if (topP < 1) {
    let cum = 0;
    let n = 0;
    while (n < keep) {
      cum += prob[ranked[n++]];
      if (cum >= topP * kz) break;
    }
    keep = n;
    kz = cum;
  }
  let target = u * kz;
  for (let j = 0; j < keep; j++) {
    target -= prob[ranked[j]];
    if (target < 0) return ranked[j];
  }
  return ranked[keep - 1];
}

/** The last id with non-zero probability (guards the inverse CDF against rounding at u close to 1). */
function lastPositive(prob: Float64Array, V: number): number {
  for (let i = V - 1; i >= 0; i--) if (prob[i] > 0) return i;
  return 0;
}
