/**
 * Experiments that reproduce a claim of the papers by training models: today the FP8 validation experiment
 * (DeepSeek-V3 §3.3, ./fp8.ts) and its repetition over seeds with the verdict on the 0.25% target (./fp8_seeds.ts).
 * The numerics they measure live below (src/fp8); `r1ts experiment` runs them.
 */
export * from './fp8.js';
export * from './fp8_seeds.js';
