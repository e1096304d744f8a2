/** Helpers shared by the native kernel wrappers: dtype checks and the reference kernel to delegate to. */
import type { KernelName, Kernels, TensorData } from '../kernels.js';
import { getKernel } from '../registry.js';
import { numel } from '../../tensor/shape.js';
import { allocF32 } from '../../tensor/pool.js';

export function isF32(x: TensorData): x is TensorData & { data: Float32Array } {
  return x.dtype === 'float32' && x.data instanceof Float32Array;
}

/** The float32 buffer of a tensor already checked with isF32. */
export function f32(x: TensorData): Float32Array {
  return x.data as Float32Array;
}

/** The reference ('ts') implementation of a kernel: what native wrappers run for dtypes and layouts they skip. */
export function ref<K extends KernelName>(name: K): Kernels[K] {
  const k = getKernel('ts', name);
  if (!k) throw new Error(`native backend: the reference backend has no kernel '${name}' (is src/backend/ts loaded?)`);
  return k;
}

/**
 * A float32 output array, zero-filled unless `zero` is false: only for kernels that write every element (a recycled
 * array keeps its old values otherwise: ../../tensor/pool.ts). Attention's kernels write every element of their
 * outputs too (the backward writes dK and dV from zeroed scratch and zeroes or copies dQ itself).
 */
export function out32(shape: readonly number[], zero = true): TensorData & { data: Float32Array } {
  return { data: allocF32(numel(shape), zero), shape: [...shape], dtype: 'float32' };
}
