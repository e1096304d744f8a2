/** The TypeScript reference backend: every kernel, readable and obviously correct. Registered as 'ts'. */
import type { Kernels } from '../kernels.js';
import { registerBackend } from '../registry.js';
import { elementwiseKernels } from './elementwise.js';
import { reduceKernels } from './reduce.js';
import { layoutKernels } from './layout.js';
import { indexingKernels } from './indexing.js';
import { linalgKernels } from './linalg.js';
import { nnKernels } from './nn.js';
import { attentionKernels } from './attention.js';

export const tsKernels = {
  ...elementwiseKernels,
  ...reduceKernels,
  ...layoutKernels,
  ...indexingKernels,
  ...linalgKernels,
  ...nnKernels,
  ...attentionKernels,
} as Kernels;

registerBackend('ts', tsKernels);
