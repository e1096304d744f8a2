/**
 * r1ts: the DeepSeek-R1 training system in TypeScript.
 *
 * The package root exports the tensor engine (Tensor, autograd, ops, random numbers), the backend registry and
 * the gradient checker. Later layers (models, training, RL) are exported from here as they land.
 */
export * from './tensor/index.js';
export { registerBackend, setBackend, getBackend, listBackends, getKernel, runKernel, type BackendKernels } from './backend/registry.js';
export type { Kernels, KernelName, TensorData } from './backend/kernels.js';
export * from './nn/index.js';
export { VERSION } from './version.js';
