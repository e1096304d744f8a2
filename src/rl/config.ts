/**
 * GRPO run configuration: a typed interface with defaults sized for a tiny model on a CPU, SPEC 5.3's R1-Zero values
 * noted beside each, and a strict merge (unknown keys and wrong types are errors that name the key).
 *
 * A GRPO "step" is one rollout (promptsPerStep problems x groupSize samples) followed by mu x miniBatches optimizer
 * steps. [R1rev]'s bookkeeping: 512 problems x 16 = 8,192 samples per rollout, 16 mini-batches of 512 (32 x 16), one
 * inner epoch (grpoPlan reproduces it). With one mini-batch, a step is one optimizer step.
 */
import { R1_ZERO_TEMPLATE } from '../data/tasks/template.js';
import { checkSamplingParams } from '../infer/sampling.js';
import { type NumberRange, checkRange } from '../tensor/range.js';
import { LOSS_TYPES, type LossType } from './grpo.js';

export interface GrpoConfig {
  /** Rollout steps. */
  steps: number;
  /** Samples per problem, G (SPEC: 16). */
  groupSize: number;
  /** Problems per rollout (SPEC: 512 per rollout, 32 per optimizer step). */
  promptsPerStep: number;
  /** Optimizer steps per rollout and inner epoch; each holds promptsPerStep / miniBatches whole groups (SPEC: 16). */
  miniBatches: number;
  /** Inner epochs over a rollout, mu (SPEC: 1). */
  mu: number;
  /** Learning rate, constant (SPEC: 3e-6 for the 671B model; tiny models need far more). */
  lr: number;
  weightDecay: number;
  maxGradNorm: number;
  /** KL weight (SPEC: 0.001). 0 keeps no reference model. */
  beta: number;
  /** Lower clip range epsilon (also the upper one unless epsilonHigh is set). R1's first RL stage: 10. */
  epsilon: number;
  /** Upper clip range for clip-higher (DAPO: 0.28); null = epsilon. */
  epsilonHigh: number | null;
  /** Loss aggregation: 'grpo' (per-sequence mean), 'dr-grpo' (constant denominator, no std), 'dapo' (token mean). */
  loss: LossType;
  /** Divide advantages by the group std; null = yes except for 'dr-grpo'. */
  scaleAdvantages: boolean | null;
  /** Reset the reference to the policy every N steps (SPEC: 400); 0 = never. */
  refResetEvery: number;
  /** Response budget in tokens (SPEC: 32,768). */
  maxTokens: number;
  /** Raise the budget at a step (SPEC: 65,536 from step 8,200); null = never. */
  maxTokensRaise: { step: number; maxTokens: number } | null;
  /** Rollout temperature (SPEC: 1). */
  temperature: number;
  topP: number;
  topK: number;
  /** Truncated responses: 'none' (train as usual), 'mask' (no loss on them), 'penalty' (add overlongPenalty). */
  overlong: 'none' | 'mask' | 'penalty';
  overlongPenalty: number;
  /** Reward weights by name: built-ins accuracy, format, language, and loaded user functions. */
  rewards: Record<string, number>;
  /** Target of the language reward: `prompt` (the problem's language), `en`, `es`, or a non-Latin script. */
  language: string;
  /** Prompt template with {prompt} (SPEC 5.2: the R1-Zero template). */
  template: string;
  /** Text forced at the start of every response (e.g. "<think>\n"). */
  responsePrefix: string;
  /** Stop strings (kept in the response). */
  stop: string[];
  seed: number;
  /** Task difficulty (N or A-B); null = the task's default. */
  difficulty: string | null;
  /** Rows per forward/backward pass (gradient accumulation inside a mini-batch). */
  microBatch: number;
  /** Rows per generation batch. */
  genBatch: number;
  checkpointEvery: number;
  keepCheckpoints: number;
  /** Problems of the pre-run sanity check (0 = skip it). */
  sanityPrompts: number;
}

export const DEFAULT_GRPO_CONFIG: GrpoConfig = {
  steps: 50,
  groupSize: 8,
  promptsPerStep: 8,
  miniBatches: 1,
  mu: 1,
  lr: 1e-4,
  weightDecay: 0,
  maxGradNorm: 1,
  beta: 0.001,
  epsilon: 0.2,
  epsilonHigh: null,
  loss: 'grpo',
  scaleAdvantages: null,
  refResetEvery: 400,
  maxTokens: 128,
  maxTokensRaise: null,
  temperature: 1,
  topP: 1,
  topK: 0,
  overlong: 'none',
  overlongPenalty: -1,
  rewards: { accuracy: 1, format: 1 },
  language: 'prompt',
  template: R1_ZERO_TEMPLATE,
  responsePrefix: '',
  stop: ['</answer>'],
  seed: 0,
  difficulty: null,
  microBatch: 16,
  genBatch: 64,
  checkpointEvery: 10,
  keepCheckpoints: 2,
  sanityPrompts: 8,
};

/**
 * Ranges of the integer settings (the sampling ones are SAMPLING_RANGES). The sizes are bounded: a step holds
 * promptsPerStep x groupSize responses, and micro-batches and generation batches are allocated whole.
 */
export const GRPO_RANGES: Readonly<Partial<Record<keyof GrpoConfig, NumberRange>>> = {
  steps: { min: 0, max: 10_000_000, integer: true },
  promptsPerStep: { min: 1, max: 4096, integer: true },
  miniBatches: { min: 1, max: 4096, integer: true },
  mu: { min: 1, max: 1000, integer: true },
  refResetEvery: { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true },
  microBatch: { min: 1, max: 4096, integer: true },
  genBatch: { min: 1, max: 4096, integer: true },
  checkpointEvery: { min: 1, max: Number.MAX_SAFE_INTEGER, integer: true },
  keepCheckpoints: { min: 1, max: 1000, integer: true },
  sanityPrompts: { min: 0, max: 4096, integer: true },
};

const NULLABLE = new Set(['epsilonHigh', 'scaleAdvantages', 'maxTokensRaise', 'difficulty']);
const KIND: Record<string, 'number' | 'boolean' | 'string' | 'string[]' | 'weights' | 'raise'> = {
  epsilonHigh: 'number',
  scaleAdvantages: 'boolean',
  maxTokensRaise: 'raise',
  difficulty: 'string',
  rewards: 'weights',
  stop: 'string[]',
};

/** `over` merged onto `base`; unknown keys, wrong types and out-of-range values are errors naming the key. */
export function resolveGrpoConfig(over: Record<string, unknown>, base: GrpoConfig = DEFAULT_GRPO_CONFIG): GrpoConfig {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    if (!(k in DEFAULT_GRPO_CONFIG))
      throw new Error(`grpo config: unknown key '${k}' (known: ${Object.keys(DEFAULT_GRPO_CONFIG).join(', ')})`);
    const kind =
      KIND[k] ??
      (typeof (DEFAULT_GRPO_CONFIG as unknown as Record<string, unknown>)[k] as 'number' | 'boolean' | 'string');
    const bad = (want: string) => new Error(`grpo config: '${k}' must be ${want}, got ${JSON.stringify(v)}`);
    if (v === null) {
      if (!NULLABLE.has(k)) throw bad(`a ${kind}`);
    } else if (kind === 'string[]') {
      if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw bad('an array of strings');
    } else if (kind === 'weights') {
      if (
        typeof v !== 'object' ||
        Array.isArray(v) ||
        Object.values(v as object).some((w) => typeof w !== 'number' || !Number.isFinite(w))
      )
        throw bad('an object of name -> number');
    } else if (kind === 'raise') {
      const r = v as { step?: unknown; maxTokens?: unknown };
      if (
        typeof v !== 'object' ||
        !Number.isInteger(r.step) ||
        !Number.isInteger(r.maxTokens) ||
        Object.keys(v as object).length !== 2
      )
        throw bad('{"step": N, "maxTokens": M}');
    } else if (typeof v !== kind || (kind === 'number' && !Number.isFinite(v))) throw bad(`a ${kind}`);
    out[k] = v;
  }
  const c = out as unknown as GrpoConfig;
  const key = (k: string) => `'${k}'`;
  // the rollout's sampling: one validator for generate, eval and GRPO (n = the group size G)
  checkSamplingParams(
    {
      temperature: c.temperature,
      topP: c.topP,
      topK: c.topK,
      maxTokens: c.maxTokens,
      seed: c.seed,
      stop: c.stop,
      n: c.groupSize,
    },
    {
      who: 'grpo config',
      names: {
        temperature: key('temperature'),
        topP: key('topP'),
        topK: key('topK'),
        maxTokens: key('maxTokens'),
        seed: key('seed'),
        stop: key('stop'),
        n: key('groupSize'),
      },
      greedy: false,
    },
  );
  if (c.maxTokensRaise)
    checkSamplingParams(
      { maxTokens: c.maxTokensRaise.maxTokens },
      { who: 'grpo config', names: { maxTokens: key('maxTokensRaise.maxTokens') } },
    );
  for (const [k, r] of Object.entries(GRPO_RANGES))
    checkRange('grpo config', key(k), c[k as keyof GrpoConfig] as number, r);
  if (c.promptsPerStep % c.miniBatches !== 0)
    throw new Error(
      `grpo config: promptsPerStep ${c.promptsPerStep} must be a multiple of miniBatches ${c.miniBatches} (mini-batches hold whole groups)`,
    );
  if (!(c.lr > 0)) throw new Error(`grpo config: 'lr' must be > 0, got ${c.lr}`);
  if (!(c.beta >= 0)) throw new Error(`grpo config: 'beta' must be >= 0, got ${c.beta}`);
  if (!(c.epsilon > 0) || (c.epsilonHigh !== null && !(c.epsilonHigh > 0)))
    throw new Error(`grpo config: epsilon and epsilonHigh must be > 0`);
  if (!LOSS_TYPES.includes(c.loss))
    throw new Error(`grpo config: 'loss' must be one of ${LOSS_TYPES.join('|')}, got '${c.loss}'`);
  if (!['none', 'mask', 'penalty'].includes(c.overlong))
    throw new Error(`grpo config: 'overlong' must be none|mask|penalty, got '${c.overlong}'`);
  if (Object.keys(c.rewards).length === 0) throw new Error(`grpo config: 'rewards' needs at least one reward`);
  if (!c.template.includes('{prompt}')) throw new Error(`grpo config: 'template' must contain {prompt}`);
  return c;
}

/** Sample bookkeeping of a configuration. */
export interface GrpoPlan {
  samplesPerStep: number;
  samplesPerOptimizerStep: number;
  promptsPerOptimizerStep: number;
  optimizerStepsPerStep: number;
}

export function grpoPlan(c: Pick<GrpoConfig, 'groupSize' | 'promptsPerStep' | 'miniBatches' | 'mu'>): GrpoPlan {
  const samplesPerStep = c.promptsPerStep * c.groupSize;
  return {
    samplesPerStep,
    samplesPerOptimizerStep: samplesPerStep / c.miniBatches,
    promptsPerOptimizerStep: c.promptsPerStep / c.miniBatches,
    optimizerStepsPerStep: c.miniBatches * c.mu,
  };
}

/** The response budget at (0-based) step `step`. */
export function maxTokensAt(c: Pick<GrpoConfig, 'maxTokens' | 'maxTokensRaise'>, step: number): number {
  return c.maxTokensRaise && step >= c.maxTokensRaise.step ? c.maxTokensRaise.maxTokens : c.maxTokens;
}

/** Whether the reference is reset to the policy after (1-based) step `step`. */
export function refResetAfter(c: Pick<GrpoConfig, 'refResetEvery' | 'beta'>, step: number): boolean {
  return c.beta > 0 && c.refResetEvery > 0 && step % c.refResetEvery === 0;
}
