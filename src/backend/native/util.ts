/** Helpers shared by the native kernel wrappers: dtype checks and the reference kernel to delegate to. */
import type { KernelName, Kernels, TensorData } from '../kernels.js';
import { getKernel } from '../registry.js';

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
