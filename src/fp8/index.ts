/**
 * FP8 mixed precision as in DeepSeek-V3: fine-grained quantisation, FP8 GEMM emulation, FP8/BF16 Linear ops and the
 * precision switch (the number formats, from src/tensor/formats.ts, are re-exported here too). The validation
 * experiment, which trains models, is src/experiments/fp8.ts.
 */
export * from '../tensor/formats.js';
export * from './quant.js';
export * from './gemm.js';
export * from './linear.js';
export * from './swiglu.js';
export * from './precision.js';
