/**
 * The native FP8 kernels (native/fp8.cc): bit-exact twins of the TypeScript references in ./quant.ts and ./gemm.ts,
 * used when the active compute backend is 'native' and the addon has them. The references stay the definition
 * (test/fp8/native.test.ts compares every code, scale and output bit).
 */
import { getBackend } from '../backend/registry.js';
import { nativeAddon } from '../backend/native/index.js';

/** The FP8 functions of the addon (see native/fp8.cc for the argument order). Format: 0 = E4M3, 1 = E5M2. */
export interface NativeFp8 {
  fp8Quantize(
    x: Float32Array,
    rows: number,
    cols: number,
    tileRows: number,
    tileCols: number,
    format: number,
    ue8m0: boolean,
    codes: Uint8Array,
    scales: Float32Array,
  ): void;
  fp8Dequantize(
    codes: Uint8Array,
    scales: Float32Array,
    rows: number,
    cols: number,
    tileRows: number,
    tileCols: number,
    format: number,
    out: Float32Array,
  ): void;
  fp8Gemm(
    aCodes: Uint8Array,
    aScales: Float32Array,
    M: number,
    K: number,
    aTileRows: number,
    aTileCols: number,
    bCodes: Uint8Array,
    bScales: Float32Array,
    N: number,
    bTileRows: number,
    bTileCols: number,
    format: number,
    kind: number,
    mantissaBits: number,
    groupSize: number,
    nearest: boolean,
    interval: number,
    C: Float32Array,
  ): void;
}

const addon = nativeAddon() as unknown as Partial<NativeFp8> | null;
const fns: NativeFp8 | null =
  addon && addon.fp8Quantize && addon.fp8Dequantize && addon.fp8Gemm ? (addon as NativeFp8) : null;

const strided = fns ? nativeAddon() : null;

/**
 * The byte transpose behind `transposeQuantized`, dst (cols, rows) = src (rows, cols)ᵀ, through the addon's strided
 * copy when the native FP8 kernels are active. Returns false (and does nothing) otherwise.
 */
export function transposeBytesNative(src: Uint8Array, dst: Uint8Array, rows: number, cols: number): boolean {
  if (!strided || getBackend() !== 'native' || rows * cols === 0) return false;
  strided.stridedCopy(src, dst, Int32Array.of(rows, cols, cols, 1, 1, rows), 0, 0);
  return true;
}

/** The native FP8 kernels when the addon has them (whatever the active backend), else null. */
export function nativeFp8Kernels(): NativeFp8 | null {
  return fns;
}

/** The native FP8 kernels if they should run now: the active backend is 'native' and the addon has them. */
export function activeNativeFp8(): NativeFp8 | null {
  return fns && getBackend() === 'native' ? fns : null;
}
