/**
 * Generation: batched sampling with a KV cache (the model's fast decoder or its forward), continuous batching with
 * optional MTP speculative decoding, generation split across threads by rows, sampling parameters and their validator, memory estimates, a toy character codec,
 * and the context bound on prompts.
 */
export * from './generate.js';
export * from './batcher.js';
export { verifyDraft, type Verdict } from './speculative.js';
export * from './sampling.js';
export * from './memory.js';
export { CharCodec } from './codec.js';
export { GenerationWorkers, type GenerationWorkersOptions, splitRows } from './workers.js';
export { checkContext, contextLength, encodePrompt } from './context.js';
