/** Generation: batched sampling with a KV cache (the model's fast decoder or its forward), sampling filters, a toy character codec. */
export * from './generate.js';
export * from './sampling.js';
export { CharCodec } from './codec.js';
