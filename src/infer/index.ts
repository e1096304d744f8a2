/** Generation: batched sampling with a KV cache, the fast decoder, sampling parameters and their validator, memory estimates, a toy character codec. */
export * from './generate.js';
export * from './sampling.js';
export * from './memory.js';
export { createFastRunner } from './fast.js';
export { CharCodec } from './codec.js';
