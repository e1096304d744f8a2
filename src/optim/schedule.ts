/**
 * DeepSeek-V3's pre-training schedules (SPEC 4), as functions of tokens seen, and scaled to any run length.
 *
 * Learning rate (V3: peak 2.2e-4): linear warmup over the first 2K steps; constant until 10T tokens; cosine decay to
 * peak/10 (2.2e-5) by 14.3T; peak/10 for 333B tokens; 7.3e-6 (peak x 0.0332) for the last 167B; 14.8T in all.
 * Batch size ramps 3072 -> 15360 sequences over the first 469B tokens (linear in tokens: the shape is unconfirmed).
 * The bias-update speed gamma is 0.001 until 14.3T, then 0; the MTP weight lambda is 0.3 until 10T, then 0.1.
 *
 * `scaledV3Schedule` keeps the same phase fractions of the total token budget, so a tiny run goes through every phase.
 */

export const V3 = {
  totalTokens: 14.8e12,
  constantUntil: 10e12,
  cosineUntil: 14.3e12,
  holdUntil: 14.633e12,
  peakLr: 2.2e-4,
  finalLr1: 2.2e-5,
  finalLr2: 7.3e-6,
  warmupSteps: 2000,
  batchStart: 3072,
  batchEnd: 15360,
  batchRampTokens: 469e9,
  gamma: 0.001,
  lambdaEarly: 0.3,
  lambdaLate: 0.1,
} as const;

export interface ScheduleConfig {
  totalTokens: number;
  warmupSteps: number;
  peakLr: number;
  /** Phase boundaries in tokens. */
  constantUntil: number;
  cosineUntil: number;
  holdUntil: number;
  finalLr1: number;
  finalLr2: number;
  batchStart: number;
  batchEnd: number;
  batchRampTokens: number;
  gamma: number;
  lambdaEarly: number;
  lambdaLate: number;
}

/** The published V3 schedule (token counts as in the paper). */
export function v3Schedule(): ScheduleConfig {
  return { ...V3 };
}

/**
 * The V3 schedule compressed to `totalTokens`, with the same phase fractions and LR ratios.
 * `peakLr`, `warmupSteps` and the batch sizes are the run's own.
 */
export function scaledV3Schedule(opts: {
  totalTokens: number;
  peakLr: number;
  warmupSteps: number;
  batchStart: number;
  batchEnd: number;
}): ScheduleConfig {
  const f = opts.totalTokens / V3.totalTokens;
  return {
    totalTokens: opts.totalTokens,
    warmupSteps: opts.warmupSteps,
    peakLr: opts.peakLr,
    constantUntil: V3.constantUntil * f,
    cosineUntil: V3.cosineUntil * f,
    holdUntil: V3.holdUntil * f,
    finalLr1: (opts.peakLr * V3.finalLr1) / V3.peakLr,
    finalLr2: (opts.peakLr * V3.finalLr2) / V3.peakLr,
    batchStart: opts.batchStart,
    batchEnd: opts.batchEnd,
    batchRampTokens: V3.batchRampTokens * f,
    gamma: V3.gamma,
    lambdaEarly: V3.lambdaEarly,
    lambdaLate: V3.lambdaLate,
  };
}

/** Learning rate at optimizer step `step` (0-based) after `tokens` tokens. */
export function lrAt(s: ScheduleConfig, step: number, tokens: number): number {
  if (step < s.warmupSteps) return (s.peakLr * (step + 1)) / s.warmupSteps;
  if (tokens < s.constantUntil) return s.peakLr;
  if (tokens < s.cosineUntil) {
    const p = (tokens - s.constantUntil) / (s.cosineUntil - s.constantUntil);
    return s.finalLr1 + 0.5 * (s.peakLr - s.finalLr1) * (1 + Math.cos(Math.PI * p));
  }
  if (tokens < s.holdUntil) return s.finalLr1;
  return s.finalLr2;
}

/** Sequences per batch after `tokens` tokens: linear ramp batchStart -> batchEnd, then constant. */
export function batchSizeAt(s: ScheduleConfig, tokens: number): number {
  if (tokens >= s.batchRampTokens || s.batchRampTokens <= 0) return s.batchEnd;
  return Math.round(s.batchStart + ((s.batchEnd - s.batchStart) * tokens) / s.batchRampTokens);
}

/** Bias update speed gamma after `tokens` tokens. */
export function gammaAt(s: ScheduleConfig, tokens: number): number {
  return tokens < s.cosineUntil ? s.gamma : 0;
}

/** MTP loss weight lambda after `tokens` tokens. */
export function mtpLambdaAt(s: ScheduleConfig, tokens: number): number {
  return tokens < s.constantUntil ? s.lambdaEarly : s.lambdaLate;
}

/** Settings of `warmupCosineLrAt`. */
export interface WarmupCosineSchedule {
  /** Optimizer steps of the run. */
  totalSteps: number;
  peakLr: number;
  /** Steps of linear warm-up from peakLr / warmupSteps to peakLr (0: none). */
  warmupSteps: number;
  /** The final learning rate as a share of peakLr (R1's SFT: 5e-5 -> 5e-6 is 0.1; V3's 5e-6 -> 1e-6 is 0.2). */
  minRatio: number;
}

/**
 * Learning rate at optimizer step `step` (0-based) of a warm-up + cosine run: linear warm-up over `warmupSteps`, then
 * a cosine from peakLr down to peakLr * minRatio, reached at the last step (totalSteps - 1). The SFT schedule of
 * DeepSeek-R1 and V3 (SPEC 4, 5.3, 6).
 */
export function warmupCosineLrAt(s: WarmupCosineSchedule, step: number): number {
  if (step < s.warmupSteps) return (s.peakLr * (step + 1)) / s.warmupSteps;
  const span = s.totalSteps - 1 - s.warmupSteps;
  const p = span > 0 ? Math.min(1, (step - s.warmupSteps) / span) : 1;
  const min = s.peakLr * s.minRatio;
  return min + 0.5 * (s.peakLr - min) * (1 + Math.cos(Math.PI * p));
}
