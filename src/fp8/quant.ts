/**
 * Fine-grained FP8 quantisation as in DeepSeek-V3 (SPEC §2; `inference/kernel.py` act_quant / weight_dequant):
 * a matrix is cut into tiles, each tile gets one scale `s = max(amax, 1e-4) / 448` computed online from its own
 * max-abs (no delayed scaling), and its elements are stored as E4M3 codes of `x / s` (round-to-nearest-even,
 * saturating at +-448). Activations use 1x128 tiles (per token per 128 channels), weights 128x128 blocks, and the
 * backward pass re-tiles activations to 128x1 (per channel per 128 tokens) because Wgrad reduces over tokens.
 *
 * What it is: `quantize` (float -> codes + scales, any tile shape, edge tiles partial), `dequantize`, `transposeQuantized`
 * (exact: moves codes and scales), `retile` (dequantise, re-quantise with another tile), the power-of-2 (UE8M0)
 * scale option of DeepSeek-V3.1 (`scale_fmt: "ue8m0"`: s = 2^ceil(log2 s)), and `E5M6Matrix` (12-bit codes packed
 * 2-in-3 bytes, power-of-2 scales: V3's cache of the attention-output Linear's input).
 * What it is not: the GEMM (./gemm.ts) or the autograd op (./linear.ts). The number formats are src/tensor/formats.ts.
 *
 * Arithmetic follows the reference kernel: amax and the scale are float32 (`s = fround(amax / 448)`), the element is
 * divided by the scale in float32 and then rounded to E4M3; dequantisation is `fround(code * s)`. With float32 scales
 * the tile's amax maps exactly to +-448; with UE8M0 scales it maps into [224, 448].
 * Non-finite input: NaN anywhere in a tile makes its scale NaN and so the whole tile NaN (training's non-finite check
 * catches it); this is a deliberate "fail loudly", not an attempt at recovery.
 * `quantize`, `dequantize` and `transposeQuantized` run kernels through the registry (`fp8Quantize`, `fp8Dequantize`,
 * `stridedCopy`), so the active backend decides which code runs: the references are src/backend/ts/fp8.ts and
 * src/backend/ts/layout.ts, and the native kernels (native/fp8.cc) give the same bits.
 */
import '../backend/ts/index.js'; // the reference kernels register before any quantisation can run
import type { QuantizedData } from '../backend/kernels.js';
import { runKernel } from '../backend/registry.js';
import { AMAX_FLOOR, applyTileScales, tileScales } from '../backend/ts/fp8.js';
import {
  E5M6,
  FP8_E4M3,
  type FloatFormat,
  type ScaleFormat,
  decodeFloatArray,
  encodeFloatArray,
  packCodes12,
  packedBytes12,
  unpackCodes12,
} from '../tensor/formats.js';

export type { ScaleFormat } from '../tensor/formats.js';
export { AMAX_FLOOR, tileScales };

/** The tile shapes V3 uses: activations 1x128, weights 128x128, activations re-tiled for Wgrad 128x1. */
export const TILE_ACT: readonly [number, number] = [1, 128];
export const TILE_WEIGHT: readonly [number, number] = [128, 128];
export const TILE_ACT_T: readonly [number, number] = [128, 1];

export interface QuantizeOptions {
  /** [tileRows, tileCols]; a dim larger than the matrix means one tile along it (per-row / per-tensor scaling). */
  tile: readonly [number, number];
  /** Default 'fp32'. */
  scaleFmt?: ScaleFormat;
  /** An 8-bit format (default E4M3, as V3 uses for all tensors). */
  format?: FloatFormat<8>;
}

/**
 * A (rows, cols) matrix stored as 8-bit codes (row-major) plus one float32 scale per tile (row-major over the tile
 * grid, edge tiles partial). Element (r, c) is `decode(codes[r * cols + c]) * scales[tile of (r, c)]`. It is the
 * `QuantizedData` the FP8 kernels take.
 */
export class QuantizedMatrix implements QuantizedData {
  constructor(
    readonly codes: Uint8Array,
    readonly scales: Float32Array,
    readonly rows: number,
    readonly cols: number,
    readonly tileRows: number,
    readonly tileCols: number,
    readonly format: FloatFormat<8>,
    readonly scaleFmt: ScaleFormat,
  ) {
    if (codes.length !== rows * cols)
      throw new RangeError(`QuantizedMatrix: ${codes.length} codes for ${rows}x${cols}`);
    if (scales.length !== this.scaleRows * this.scaleCols) {
      throw new RangeError(
        `QuantizedMatrix: ${scales.length} scales for a ${this.scaleRows}x${this.scaleCols} tile grid`,
      );
    }
  }
  /** Tiles along the rows / columns (edge tiles partial). */
  get scaleRows(): number {
    return Math.ceil(this.rows / this.tileRows) || 0;
  }
  get scaleCols(): number {
    return Math.ceil(this.cols / this.tileCols) || 0;
  }
  /** The scale of element (r, c). */
  scaleAt(r: number, c: number): number {
    return this.scales[Math.floor(r / this.tileRows) * this.scaleCols + Math.floor(c / this.tileCols)];
  }
  /** Bytes held: one per code plus four per float32 scale (one per UE8M0 scale: it is an exponent byte). */
  get byteSize(): number {
    return this.codes.byteLength + this.scales.length * (this.scaleFmt === 'ue8m0' ? 1 : 4);
  }
}

function checkTile(tile: readonly [number, number], what: string): void {
  const [tr, tc] = tile;
  if (!Number.isInteger(tr) || !Number.isInteger(tc) || tr < 1 || tc < 1) {
    throw new RangeError(`${what}: tile must be two positive integers, got [${tile.join(', ')}]`);
  }
}

/**
 * Quantises a row-major (rows, cols) matrix tile by tile with online max-abs scaling (the `fp8Quantize` kernel).
 * `x` may be float32 or float64 (float64 input is rounded to float32 first).
 */
export function quantize(
  x: Float32Array | Float64Array,
  rows: number,
  cols: number,
  opts: QuantizeOptions,
): QuantizedMatrix {
  checkTile(opts.tile, 'quantize');
  if (x.length !== rows * cols) throw new RangeError(`quantize: ${x.length} values do not fill ${rows}x${cols}`);
  const format = opts.format ?? FP8_E4M3;
  if (format.bits !== 8) throw new RangeError(`quantize: ${format.name} is not an 8-bit format`);
  const scaleFmt = opts.scaleFmt ?? 'fp32';
  const tr = Math.min(opts.tile[0], Math.max(rows, 1));
  const tc = Math.min(opts.tile[1], Math.max(cols, 1));
  const dtype = x instanceof Float64Array ? 'float64' : 'float32';
  const { codes, scales } = runKernel(
    'fp8Quantize',
    { data: x, shape: [rows, cols], dtype },
    { tileRows: tr, tileCols: tc, format, scaleFmt },
  );
  return new QuantizedMatrix(codes, scales, rows, cols, tr, tc, format, scaleFmt);
}

/** The values a quantised matrix stands for: `fround(decode(code) * scale)`, float32, row-major (`fp8Dequantize`). */
export function dequantize(q: QuantizedMatrix): Float32Array {
  return runKernel('fp8Dequantize', q).data as Float32Array;
}

/**
 * The transpose (cols, rows) of a quantised matrix: codes and scales move, nothing is rounded, so a (tr, tc) tiling
 * becomes (tc, tr). This is how a 128x1-tiled (tokens, channels) activation becomes the K-major 1x128-tiled operand of
 * the Wgrad GEMM, and how a weight's 128x128 blocks serve the Dgrad GEMM.
 */
export function transposeQuantized(q: QuantizedMatrix): QuantizedMatrix {
  const { rows, cols } = q;
  // out (cols, rows) reads src (rows, cols) with strides (1, cols): the `stridedCopy` kernel, for codes and scales
  const transposed = <T extends Uint8Array | Float32Array>(src: T, r: number, c: number): T =>
    runKernel('stridedCopy', src, { shape: [c, r], strides: [1, c], offset: 0 }) as T;
  const codes = transposed(q.codes, rows, cols);
  const scales = transposed(q.scales, q.scaleRows, q.scaleCols);
  return new QuantizedMatrix(codes, scales, cols, rows, q.tileCols, q.tileRows, q.format, q.scaleFmt);
}

/**
 * Re-tiles a quantised matrix (e.g. 1x128 -> 128x1 for the Wgrad GEMM): dequantise, then quantise with `tile`.
 * With UE8M0 scales on both sides this is exact for every element that stays in the normal range of its new tile
 * (dividing by a power of two only moves the exponent); with float32 scales it rounds a second time.
 */
export function retile(
  q: QuantizedMatrix,
  tile: readonly [number, number],
  scaleFmt: ScaleFormat = q.scaleFmt,
): QuantizedMatrix {
  return quantize(dequantize(q), q.rows, q.cols, { tile, scaleFmt, format: q.format });
}

/**
 * A (rows, cols) matrix cached as E5M6: 12-bit codes packed two into three bytes, one power-of-2 scale per tile (SPEC §2:
 * DeepSeek-V3 keeps the input of the Linear after attention this way for the backward pass). Element (r, c) is
 * `decode(code) * scale`. The scale maps the tile's amax into the top binade below 65024; since it is a power of two,
 * dividing by it is exact, so the only rounding is to E5M6 (relative error <= 2^-7 in the normal range), and
 * re-tiling (dequantise, quantise with other power-of-2 tiles) moves exponents without rounding again.
 */
export class E5M6Matrix {
  constructor(
    readonly packed: Uint8Array,
    readonly scales: Float32Array,
    readonly rows: number,
    readonly cols: number,
    readonly tileRows: number,
    readonly tileCols: number,
  ) {
    if (packed.length !== packedBytes12(rows * cols))
      throw new RangeError(`E5M6Matrix: ${packed.length} bytes for ${rows}x${cols} 12-bit codes`);
    if (scales.length !== Math.ceil(rows / tileRows) * Math.ceil(cols / tileCols))
      throw new RangeError(`E5M6Matrix: ${scales.length} scales for its tile grid`);
  }
  /** Bytes held: 1.5 per element (packed codes) plus one per scale (a UE8M0 exponent byte). */
  get byteSize(): number {
    return this.packed.byteLength + this.scales.length;
  }
}

/** Quantises a row-major (rows, cols) matrix to E5M6 with one power-of-2 scale per tile (default 1x128). */
export function quantizeE5M6(
  x: Float32Array | Float64Array,
  rows: number,
  cols: number,
  tile: readonly [number, number] = TILE_ACT,
): E5M6Matrix {
  checkTile(tile, 'quantizeE5M6');
  if (x.length !== rows * cols) throw new RangeError(`quantizeE5M6: ${x.length} values do not fill ${rows}x${cols}`);
  const tr = Math.min(tile[0], Math.max(rows, 1));
  const tc = Math.min(tile[1], Math.max(cols, 1));
  const scales = tileScales(x, rows, cols, tr, tc, E5M6.maxFinite, 'ue8m0');
  const codes = encodeFloatArray(
    applyTileScales(x, new Float32Array(rows * cols), rows, cols, tr, tc, scales, true),
    E5M6,
    { saturate: true },
  );
  return new E5M6Matrix(packCodes12(codes), scales, rows, cols, tr, tc);
}

/** The values an E5M6 matrix stands for (float32, row-major). */
export function dequantizeE5M6(q: E5M6Matrix): Float32Array {
  const v = decodeFloatArray(unpackCodes12(q.packed, q.rows * q.cols), E5M6);
  return applyTileScales(v, v, q.rows, q.cols, q.tileRows, q.tileCols, q.scales, false);
}
