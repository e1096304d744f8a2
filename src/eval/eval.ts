/**
 * Evaluation the R1 way (SPEC 5.5): k samples per problem at temperature 0.6 / top-p 0.95, pass@1 = the mean over the
 * k samples of each problem's correctness, averaged over problems; cons@k = majority vote over the k final answers;
 * and greedy accuracy (one temperature-0 sample, which R1 does not report but small models are often judged by).
 *
 * A sample is correct when the accuracy reward gives 1 (final answer after `</think>`, src/rl/rewards.ts). For the
 * vote, each sample's final answer is normalised (numbers to their exact rational value, so `0.5`, `1/2` and `\frac12`
 * are one vote; other text with whitespace collapsed); samples without an answer do not vote; ties go to the answer
 * seen first. `passAtK` is the unbiased estimator of Chen et al. (2021) for pass@k from n samples with c correct.
 *
 * Not here: problem sources (src/rl/problems.ts), generation (src/infer).
 */
import type { CausalLM } from '../models/index.js';
import type { TextCodec } from '../infer/generate.js';
import { extractAnswer, parseNumber } from '../data/tasks/answer.js';
import type { RLProblem } from '../rl/problems.js';
import { accuracyReward, afterThink, formatReward } from '../rl/rewards.js';
import { reflectionRate } from '../rl/reflection.js';
import { rewardInputs, rollout, type Rollout, type RolloutOptions } from '../rl/rollout.js';
import { checkSamplingParams, type ResolvedSampling } from '../infer/sampling.js';
import type { ProgressSink } from '../util/progress.js';

/** R1's evaluation sampling (SPEC 5.5): 16 samples per problem at temperature 0.6, top-p 0.95; 256 new tokens. */
export const EVAL_SAMPLING: Partial<ResolvedSampling> = {
  n: 16,
  temperature: 0.6,
  topP: 0.95,
  maxTokens: 256,
  stop: ['</answer>'],
};

export interface EvalOptions {
  /** Samples per problem (default 16). */
  k?: number;
  temperature?: number;
  topP?: number;
  /** Also run greedy decoding (default true). */
  greedy?: boolean;
  maxTokens?: number;
  template?: string;
  responsePrefix?: string;
  stop?: readonly string[];
  seed?: number;
  batchSize?: number;
  /** Progress of the sampling, one update per generation batch (default none: evaluation prints nothing). */
  progress?: ProgressSink | null;
  /** The progress phase's name (default 'eval'). */
  phase?: string;
}

/** Per-problem outcome. */
export interface ProblemResult {
  id: string;
  correct: number;
  samples: number;
  /** The majority answer (null when no sample gave one) and whether it is right. */
  vote: string | null;
  voteCorrect: boolean;
  greedyCorrect: boolean | null;
}

export interface EvalResult {
  n: number;
  k: number;
  'pass@1': number;
  'cons@k': number;
  /** null when greedy decoding was not run. */
  greedy: number | null;
  /** Mean response length (tokens) of the sampled responses. */
  meanLength: number;
  formatRate: number;
  /** Share of the sampled responses that re-check a result or redo a step (src/rl/reflection.ts). */
  reflectionRate: number;
  truncationRate: number;
  problems: ProblemResult[];
}

/** Unbiased pass@k from n samples of which c are correct: 1 - C(n-c, k) / C(n, k). */
export function passAtK(n: number, c: number, k: number): number {
  if (!(k >= 1 && k <= n && c >= 0 && c <= n))
    throw new RangeError(`passAtK: need 1 <= k <= n and 0 <= c <= n, got n=${n} c=${c} k=${k}`);
  if (n - c < k) return 1;
  let prod = 1;
  for (let i = n - c + 1; i <= n; i++) prod *= 1 - k / i;
  return 1 - prod;
}

/** A vote key for a final answer: the exact value for numbers, else whitespace-normalised text. */
export function answerKey(answer: string): string {
  const r = parseNumber(answer);
  return r !== null ? `#${r.toString()}` : answer.trim().replace(/\s+/g, ' ');
}

/** The most frequent answer (by answerKey) among non-null answers, first seen on ties; null if there is none. */
export function majorityVote(answers: readonly (string | null)[]): string | null {
  const counts = new Map<string, { n: number; first: number; answer: string }>();
  answers.forEach((a, i) => {
    if (a === null) return;
    const key = answerKey(a);
    const e = counts.get(key);
    if (e) e.n++;
    else counts.set(key, { n: 1, first: i, answer: a });
  });
  let best: { n: number; first: number; answer: string } | null = null;
  for (const e of counts.values()) if (!best || e.n > best.n || (e.n === best.n && e.first < best.first)) best = e;
  return best ? best.answer : null;
}

/** The final answer a response commits to (after `</think>`), or null. */
export function finalAnswer(response: string): string | null {
  const tail = afterThink(response);
  return tail === null ? null : extractAnswer(tail);
}

/** One problem's sampled responses (k of them) and, optionally, its greedy response. */
export interface ScoredResponses {
  responses: readonly string[];
  greedy?: string;
}

/**
 * pass@1, cons@k and greedy accuracy from responses already generated (the scoring half of `evaluate`, separate so
 * that it can be checked on hand-written responses).
 */
export function scoreResponses(
  problems: readonly RLProblem[],
  outs: readonly ScoredResponses[],
): Pick<EvalResult, 'n' | 'k' | 'pass@1' | 'cons@k' | 'greedy' | 'problems'> {
  if (problems.length === 0 || problems.length !== outs.length)
    throw new RangeError(`eval: ${problems.length} problems but ${outs.length} response sets`);
  const k = outs[0].responses.length;
  const withGreedy = outs.every((o) => o.greedy !== undefined);
  const correct = (p: RLProblem, response: string) =>
    accuracyReward({ response, question: p.question, answer: p.answer, check: p.check, finish: 'stop', length: 0 });
  const per: ProblemResult[] = problems.map((p, j) => {
    const rs = outs[j].responses;
    if (rs.length !== k) throw new RangeError(`eval: problem ${j} has ${rs.length} responses, expected ${k}`);
    const vote = majorityVote(rs.map(finalAnswer));
    let voteCorrect = false;
    if (vote !== null) {
      try {
        voteCorrect = p.check(vote);
      } catch {
        voteCorrect = false;
      }
    }
    return {
      id: p.id,
      correct: rs.reduce((s, r) => s + correct(p, r), 0),
      samples: k,
      vote,
      voteCorrect,
      greedyCorrect: withGreedy ? correct(p, outs[j].greedy!) === 1 : null,
    };
  });
  const n = problems.length;
  const avg = (f: (r: ProblemResult) => number) => per.reduce((s, r) => s + f(r), 0) / n;
  return {
    n,
    k,
    'pass@1': avg((r) => r.correct / r.samples),
    'cons@k': avg((r) => (r.voteCorrect ? 1 : 0)),
    greedy: withGreedy ? avg((r) => (r.greedyCorrect ? 1 : 0)) : null,
    problems: per,
  };
}

/** Evaluates `model` on `problems`: pass@1 over k samples, cons@k, greedy accuracy. */
export function evaluate(
  model: CausalLM,
  codec: TextCodec,
  problems: readonly RLProblem[],
  opts: EvalOptions = {},
): EvalResult {
  const { n: k, ...sampling } = checkSamplingParams(
    {
      n: opts.k,
      temperature: opts.temperature,
      topP: opts.topP,
      maxTokens: opts.maxTokens,
      seed: opts.seed,
      stop: opts.stop,
    },
    { who: 'eval', names: { n: 'k' }, defaults: EVAL_SAMPLING },
  );
  if (problems.length === 0) throw new RangeError('eval: no problems');
  const base: RolloutOptions = {
    template: opts.template,
    responsePrefix: opts.responsePrefix,
    maxTokens: sampling.maxTokens,
    temperature: sampling.temperature,
    topP: sampling.topP,
    stop: sampling.stop,
    batchSize: opts.batchSize ?? 64,
  };
  const seed = sampling.seed;
  const progress = opts.progress ?? null;
  const rows = problems.length * (k + (opts.greedy === false ? 0 : 1));
  progress?.begin(opts.phase ?? 'eval', rows, { unit: 'samples' });
  let sampled: Rollout[];
  let greedy: Rollout[] | null;
  let sampledAll = false;
  try {
    sampled = rollout(model, codec, problems, k, { ...base, seed, onBatch: (done) => progress?.update(done) });
    const onGreedy = (done: number) => progress?.update(sampled.length + done);
    greedy =
      opts.greedy === false
        ? null
        : rollout(model, codec, problems, 1, { ...base, temperature: 0, topP: 1, seed, onBatch: onGreedy });
    sampledAll = true;
  } finally {
    if (!sampledAll) progress?.end(); // an error: clear the live line
  }
  const scored = scoreResponses(
    problems,
    problems.map((_, j) => ({
      responses: sampled.slice(j * k, (j + 1) * k).map((r) => r.response),
      greedy: greedy?.[j].response,
    })),
  );
  const inputs = rewardInputs(sampled);
  const result: EvalResult = {
    ...scored,
    meanLength: sampled.reduce((s, r) => s + r.gen.tokens.length, 0) / sampled.length,
    formatRate: inputs.reduce((s, x) => s + formatReward(x), 0) / inputs.length,
    reflectionRate: reflectionRate(sampled.map((r) => r.response)),
    truncationRate: sampled.filter((r) => r.gen.finish === 'length').length / sampled.length,
  };
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  progress?.end(
    `${problems.length} problems, pass@1 ${pct(result['pass@1'])}, cons@${k} ${pct(result['cons@k'])}` +
      `${result.greedy !== null ? `, greedy ${pct(result.greedy)}` : ''}, mean length ${result.meanLength.toFixed(1)}` +
      `, format ${pct(result.formatRate)}, reflection ${pct(result.reflectionRate)}`,
  );
  return result;
}
