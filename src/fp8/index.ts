/** FP8 mixed precision as in DeepSeek-V3: number formats, fine-grained quantisation, FP8 GEMM emulation, FP8/BF16 Linear ops, the precision switch, the validation experiment. */
export * from './formats.js';
export * from './quant.js';
export * from './gemm.js';
export * from './linear.js';
export * from './swiglu.js';
export * from './precision.js';
export { nativeFp8Kernels, type NativeFp8 } from './native.js';
export * from './experiment.js';
