/**
 * Element types. Storage is always a JS typed array; `float32` is the default compute type, `float64` exists so that
 * gradient checks can run in double precision through the very same kernels, `int32` holds indices and token ids, and
 * `bool` holds masks (one byte per element). `bfloat16` is storage only (a Uint16Array of BF16 codes, the top half of
 * a float32): inference-only weights of large models, read by the kernels that take it (`matmulBf16`, `bf16Rows`;
 * src/backend/kernels.ts) and refused by every other kernel; it never requires grad. Other reduced-precision formats
 * (fp8, fp16) convert to float32 for compute (./formats.ts).
 */

import { allocF32 } from './pool.js';

export type DType = 'float32' | 'float64' | 'int32' | 'bool' | 'bfloat16';
export type FloatDType = 'float32' | 'float64';

export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array | Uint16Array;
export type FloatArray = Float32Array | Float64Array;

/**
 * Allocates a zero-filled array of `n` elements for `dtype` (float32: recycled inside a buffer pool scope, ./pool.ts,
 * and left unfilled there when `zero` is false, which only kernels that write every element pass).
 */
export function allocArray(dtype: DType, n: number, zero = true): TypedArray {
  switch (dtype) {
    case 'float32':
      return allocF32(n, zero);
    case 'float64':
      return new Float64Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'bool':
      return new Uint8Array(n);
    case 'bfloat16':
      return new Uint16Array(n);
  }
}

/** Allocates a float array of the same kind as `like` (used by kernels to keep float32 vs float64). */
export function allocFloat(dtype: FloatDType, n: number): FloatArray {
  return dtype === 'float64' ? new Float64Array(n) : allocF32(n);
}

export function isFloat(dtype: DType): dtype is FloatDType {
  return dtype === 'float32' || dtype === 'float64';
}

/** The dtype a typed array stores. */
export function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Uint16Array) return 'bfloat16';
  return 'bool';
}

/** Bytes per element in memory. */
export function bytesPerElement(dtype: DType): number {
  return dtype === 'float64' ? 8 : dtype === 'bool' ? 1 : dtype === 'bfloat16' ? 2 : 4;
}

/** Result dtype of a binary op between two dtypes (float64 > float32 > int32 > bool), as PyTorch promotes. */
export function promoteTypes(a: DType, b: DType): DType {
  const rank: Record<DType, number> = { bool: 0, int32: 1, bfloat16: 2, float32: 3, float64: 4 };
  return rank[a] >= rank[b] ? a : b;
}

/** The compute dtypes (bfloat16 is storage only and not listed). */
export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bool'];
