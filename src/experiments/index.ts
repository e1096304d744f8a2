/**
 * Experiments that reproduce a claim of the papers by training models: today the FP8 validation experiment
 * (DeepSeek-V3 §3.3, ./fp8.ts). The numerics they measure live below (src/fp8); `r1ts experiment` runs them.
 */
export * from './fp8.js';
