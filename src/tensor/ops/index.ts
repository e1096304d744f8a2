/** All ops (functional API). The same ops are available as Tensor methods (see ../methods.ts). */
export * from './elementwise.js';
export * from './reduce.js';
export * from './shape.js';
export * from './indexing.js';
export * from './linalg.js';
export * from './nn.js';
export type { TensorLike } from './util.js';
export * from './moe.js';
