/**
 * Generation: batched sampling with a KV cache, the fast decoder, sampling filters, a toy character codec, and the
 * context bound on prompts.
 */
export * from './generate.js';
export * from './sampling.js';
export { createFastRunner } from './fast.js';
export { CharCodec } from './codec.js';
export { checkContext, contextLength, encodePrompt } from './context.js';
