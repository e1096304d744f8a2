/**
 * The TypeScript reference backend: every kernel of ../kernels.ts (the tensor primitives, the strided copy, the AdamW
 * step and the FP8 kernels), readable and obviously correct. Registered as 'ts'.
 */
import type { Kernels } from '../kernels.js';
import { registerBackend } from '../registry.js';
import { elementwiseKernels } from './elementwise.js';
import { reduceKernels } from './reduce.js';
import { layoutKernels } from './layout.js';
import { indexingKernels } from './indexing.js';
import { linalgKernels } from './linalg.js';
import { nnKernels } from './nn.js';
import { attentionKernels } from './attention.js';
import { optimKernels } from './optim.js';
import { rowKernels } from './rows.js';
import { fp8Kernels } from './fp8.js';
import { moeKernels } from './moe.js';

const tsKernels = {
  ...elementwiseKernels,
  ...reduceKernels,
  ...layoutKernels,
  ...indexingKernels,
  ...linalgKernels,
  ...nnKernels,
  ...attentionKernels,
  ...moeKernels,
  ...rowKernels,
  ...optimKernels,
  ...fp8Kernels,
} as Kernels;

registerBackend('ts', tsKernels);
