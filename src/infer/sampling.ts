/**
 * Next-token sampling from one row of logits: greedy, temperature, top-k and top-p (nucleus), driven by one uniform
 * number so that a seeded stream reproduces a run exactly. Plain loops over the row; no tensors, no autograd.
 *
 * Order of the filters (as Hugging Face's `generate` and vLLM apply them): temperature, then top-k, then top-p on the
 * renormalised top-k distribution. Top-p keeps the smallest set of most likely tokens whose probability reaches p
 * (the token that crosses p is kept; at least one token always survives). Ties in ranking go to the lower token id.
 *
 * The one `SamplingParams` object (filters, token budget, seed, stop strings, samples per prompt) and its validator
 * live here too, shared by generation, evaluation and GRPO.
 *
 * Not here: the decoding loop, KV caches, stop conditions (generate.ts).
 */
import { type NumberRange, checkRange } from '../tensor/range.js';

/** How to pick a token from a row of logits (what `sampleRow` reads). */
export interface SamplingFilters {
  /** Softmax temperature; 0 means greedy (argmax). Default 1. */
  temperature?: number;
  /** Nucleus mass in (0, 1]; 1 turns it off. Default 1. */
  topP?: number;
  /** Keep only the k most likely tokens; 0 turns it off. Default 0. */
  topK?: number;
}

/**
 * How to sample responses: the filters, the token budget, the seed, stop strings and the samples per prompt. One
 * object shared by `generate`, evaluation (n = k samples per problem) and GRPO (n = the group size G), checked by one
 * validator, `checkSamplingParams`.
 */
export interface SamplingParams extends SamplingFilters {
  /** New tokens per response at most. Default 64. */
  maxTokens?: number;
  /** Seed of the sampling streams. Default 0. */
  seed?: number;
  /** Stop when the response contains one of these (kept in the response). Default none. */
  stop?: readonly string[];
  /** Samples per prompt. Default 1. */
  n?: number;
}

/** Sampling parameters with every default filled in. */
export type ResolvedSampling = Required<SamplingFilters> & {
  maxTokens: number;
  seed: number;
  stop: readonly string[];
  n: number;
};

/** The library's defaults (those of `generate`); evaluation and GRPO pass their own. */
export const DEFAULT_SAMPLING: ResolvedSampling = {
  temperature: 1,
  topP: 1,
  topK: 0,
  maxTokens: 64,
  seed: 0,
  stop: [],
  n: 1,
};

type NumericField = Exclude<keyof SamplingParams, 'stop'>;

/**
 * The allowed values of each number. `maxTokens` and `n` are sizes (they drive the KV cache, logits and outputs), so
 * they have upper bounds; a model's context bounds `maxTokens` further (checked where the model is known).
 */
export const SAMPLING_RANGES: Readonly<Record<NumericField, NumberRange>> = {
  temperature: { min: 0, max: Infinity },
  topP: { min: 0, max: 1, minExclusive: true },
  topK: { min: 0, max: 2 ** 31 - 1, integer: true },
  maxTokens: { min: 1, max: 2 ** 20, integer: true },
  seed: { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true },
  n: { min: 1, max: 4096, integer: true },
};

/** Names of the parameters in messages (the CLI's flags are these with `--`). */
export const SAMPLING_NAMES: Readonly<Record<keyof SamplingParams, string>> = {
  temperature: 'temperature',
  topP: 'top-p',
  topK: 'top-k',
  maxTokens: 'max-tokens',
  seed: 'seed',
  stop: 'stop',
  n: 'n',
};

/** Who checks and how the parameters are named in errors. */
export interface SamplingCheck {
  /** Prefix of messages (default 'sampling'). */
  who?: string;
  /** Names of the parameters in messages (default SAMPLING_NAMES; e.g. the CLI's flags or a config's keys). */
  names?: Partial<Record<keyof SamplingParams, string>>;
  /** Defaults of parameters left out (default DEFAULT_SAMPLING). */
  defaults?: Partial<ResolvedSampling>;
  /** Whether temperature 0 (greedy) is allowed (default true; GRPO needs sampled responses). */
  greedy?: boolean;
}

/**
 * Checks sampling parameters against SAMPLING_RANGES and fills in the defaults; the one validator of sampling
 * parameters. Errors are one line naming the parameter: `sampling: top-p must be a number in (0, 1], got 0`.
 */
export function checkSamplingParams(p: SamplingParams, how: SamplingCheck = {}): ResolvedSampling {
  const who = how.who ?? 'sampling';
  const name = (k: keyof SamplingParams): string => how.names?.[k] ?? SAMPLING_NAMES[k];
  const r: ResolvedSampling = { ...DEFAULT_SAMPLING, ...how.defaults };
  for (const k of Object.keys(SAMPLING_RANGES) as NumericField[]) {
    const v = p[k];
    if (v !== undefined) r[k] = checkRange(who, name(k), v, SAMPLING_RANGES[k]);
  }
  if (how.greedy === false && r.temperature === 0)
    throw new RangeError(`${who}: ${name('temperature')} must be > 0 (sampled responses, not greedy ones), got 0`);
  if (p.stop !== undefined) {
    const bad = p.stop.findIndex((s) => typeof s !== 'string' || s === '');
    if (bad >= 0)
      throw new RangeError(`${who}: ${name('stop')} must be non-empty strings, got ${JSON.stringify(p.stop[bad])}`);
    r.stop = p.stop;
  }
  return r;
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

/** exp((row[i] - max) / temperature) into prob[0, V); returns their sum. */
function expScaled(row: ArrayLike<number>, off: number, V: number, temperature: number, prob: Float64Array): number {
  let m = -Infinity;
  for (let i = 0; i < V; i++) m = Math.max(m, row[off + i]);
  let z = 0;
  for (let i = 0; i < V; i++) {
    const p = Math.exp((row[off + i] - m) / temperature);
    prob[i] = p;
    z += p;
  }
  return z;
}

/**
 * Top-k then top-p over unnormalised prob[0, V): ranks ids into `ranked` (most likely first, ties to the lower id) and
 * returns how many lead the ranking (`keep`) and their total (`kz`).
 */
function keptTokens(
  prob: Float64Array,
  V: number,
  topK: number,
  topP: number,
  ranked: number[],
): { keep: number; kz: number } {
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
  return { keep, kz };
}

const isFiltered = (V: number, topK: number, topP: number): boolean => (topK > 0 && topK < V) || topP < 1;

/**
 * Draws a token id from row[off, off+V) given `u` uniform in [0, 1). Greedy when temperature is 0.
 * `scratch` (length >= V, optional) avoids allocations in the decoding loop.
 */
export function sampleRow(
  row: ArrayLike<number>,
  off: number,
  V: number,
  params: Required<SamplingFilters>,
  u: number,
  scratch?: SamplingScratch,
): number {
  const { temperature, topP, topK } = params;
  if (temperature === 0) return argmaxRow(row, off, V);
  const prob = scratch?.prob ?? new Float64Array(V);
  const z = expScaled(row, off, V, temperature, prob);
  if (!isFiltered(V, topK, topP)) {
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
  const { keep, kz } = keptTokens(prob, V, topK, topP, ranked);
  let target = u * kz;
  for (let j = 0; j < keep; j++) {
    target -= prob[ranked[j]];
    if (target < 0) return ranked[j];
  }
  return ranked[keep - 1];
}

/**
 * The distribution `sampleRow` draws from, written into out[0, V): temperature, then top-k, then top-p, renormalised
 * (zero outside the kept tokens); one-hot at the argmax when temperature is 0. Speculative decoding compares two
 * such distributions (./speculative.ts).
 */
export function filteredProbs(
  row: ArrayLike<number>,
  off: number,
  V: number,
  params: Required<SamplingFilters>,
  out: Float64Array,
  scratch?: SamplingScratch,
): Float64Array {
  const { temperature, topP, topK } = params;
  out.fill(0, 0, V);
  if (temperature === 0) {
    out[argmaxRow(row, off, V)] = 1;
    return out;
  }
  const z = expScaled(row, off, V, temperature, out);
  if (!isFiltered(V, topK, topP)) {
    for (let i = 0; i < V; i++) out[i] /= z;
    return out;
  }
  const ranked = scratch?.ranked ?? [];
  const { keep, kz } = keptTokens(out, V, topK, topP, ranked);
  for (let j = 0; j < V; j++) out[ranked[j]] = j < keep ? out[ranked[j]] / kz : 0;
  return out;
}

/** Inverse CDF of probs[0, V) (summing to 1) in id order at `u` in [0, 1). */
export function sampleProbs(probs: Float64Array, V: number, u: number): number {
  let target = u;
  for (let i = 0; i < V; i++) {
    target -= probs[i];
    if (target < 0) return i;
  }
  return lastPositive(probs, V);
}

/** The last id with non-zero probability (guards the inverse CDF against rounding at u close to 1). */
function lastPositive(prob: Float64Array, V: number): number {
  for (let i = V - 1; i >= 0; i--) if (prob[i] > 0) return i;
  return 0;
}
