/**
 * Fine-grained FP8 quantisation as in DeepSeek-V3 (SPEC §2; `inference/kernel.py` act_quant / weight_dequant):
 * a matrix is cut into tiles, each tile gets one scale `s = max(amax, 1e-4) / 448` computed online from its own
 * max-abs (no delayed scaling), and its elements are stored as E4M3 codes of `x / s` (round-to-nearest-even,
 * saturating at +-448). Activations use 1x128 tiles (per token per 128 channels), weights 128x128 blocks, and the
 * backward pass re-tiles activations to 128x1 (per channel per 128 tokens) because Wgrad reduces over tokens.
 *
 * What it is: `quantize` (float -> codes + scales, any tile shape, edge tiles partial), `dequantize`, `transposeQuantized`
 * (exact: moves codes and scales), `retile` (dequantise, re-quantise with another tile), and the power-of-2 (UE8M0)
 * scale option of DeepSeek-V3.1 (`scale_fmt: "ue8m0"`: s = 2^ceil(log2 s)).
 * What it is not: the GEMM (./gemm.ts) or the autograd op (./linear.ts). The number formats are ./formats.ts.
 *
 * Arithmetic follows the reference kernel: amax and the scale are float32 (`s = fround(amax / 448)`), the element is
 * divided by the scale in float32 and then rounded to E4M3; dequantisation is `fround(code * s)`. With float32 scales
 * the tile's amax maps exactly to +-448; with UE8M0 scales it maps into [224, 448].
 * Non-finite input: NaN anywhere in a tile makes its scale NaN and so the whole tile NaN (training's non-finite check
 * catches it); this is a deliberate "fail loudly", not an attempt at recovery.
 * `quantize` / `dequantize` run the native kernels (native/fp8.cc, bit-exact) when the active backend is 'native' and
 * the format is E4M3 or E5M2; `quantizeTs` / `dequantizeTs` are the references.
 */
import { FP8_E4M3, FP8_E5M2, type FloatFormat, decodeFloatArray, encodeFloatArray, ue8m0Scale } from './formats.js';
import { activeNativeFp8 } from './native.js';

/** How a tile's scale is stored: float32 (`amax / 448`, DeepSeek-V3) or a power of two (UE8M0, DeepSeek-V3.1). */
export type ScaleFormat = 'fp32' | 'ue8m0';

/** The amax floor of DeepSeek's kernels: an all-zero tile gets scale 1e-4 / 448 instead of 0 (no 0 / 0). */
export const AMAX_FLOOR = 1e-4;

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
 * grid, edge tiles partial). Element (r, c) is `decode(codes[r * cols + c]) * scales[tile of (r, c)]`.
 */
export class QuantizedMatrix {
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
    if (codes.length !== rows * cols) throw new RangeError(`QuantizedMatrix: ${codes.length} codes for ${rows}x${cols}`);
    if (scales.length !== this.scaleRows * this.scaleCols) {
      throw new RangeError(`QuantizedMatrix: ${scales.length} scales for a ${this.scaleRows}x${this.scaleCols} tile grid`);
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

/** Native format id (native/fp8.cc), or -1 for a format only the reference handles. */
function nativeFormat(fmt: FloatFormat<8>): number {
  return fmt === FP8_E4M3 ? 0 : fmt === FP8_E5M2 ? 1 : -1;
}

/**
 * Quantises a row-major (rows, cols) matrix tile by tile with online max-abs scaling.
 * `x` may be float32 or float64 (float64 input is rounded to float32 first).
 */
export function quantize(x: Float32Array | Float64Array, rows: number, cols: number, opts: QuantizeOptions): QuantizedMatrix {
  checkTile(opts.tile, 'quantize');
  if (x.length !== rows * cols) throw new RangeError(`quantize: ${x.length} values do not fill ${rows}x${cols}`);
  const fmt = opts.format ?? FP8_E4M3;
  if (fmt.bits !== 8) throw new RangeError(`quantize: ${fmt.name} is not an 8-bit format`);
  const native = activeNativeFp8();
  const id = nativeFormat(fmt);
  if (!native || id < 0) return quantizeTs(x, rows, cols, opts);
  const scaleFmt = opts.scaleFmt ?? 'fp32';
  const tr = Math.min(opts.tile[0], Math.max(rows, 1));
  const tc = Math.min(opts.tile[1], Math.max(cols, 1));
  const codes = new Uint8Array(rows * cols);
  const scales = new Float32Array(Math.ceil(rows / tr) * Math.ceil(cols / tc));
  native.fp8Quantize(x instanceof Float32Array ? x : Float32Array.from(x), rows, cols, tr, tc, id, scaleFmt === 'ue8m0', codes, scales);
  return new QuantizedMatrix(codes, scales, rows, cols, tr, tc, fmt, scaleFmt);
}

/** The TypeScript reference of `quantize` (the definition the native kernel is tested against). */
export function quantizeTs(x: Float32Array | Float64Array, rows: number, cols: number, opts: QuantizeOptions): QuantizedMatrix {
  checkTile(opts.tile, 'quantize');
  if (x.length !== rows * cols) throw new RangeError(`quantize: ${x.length} values do not fill ${rows}x${cols}`);
  const fmt = opts.format ?? FP8_E4M3;
  if (fmt.bits !== 8) throw new RangeError(`quantize: ${fmt.name} is not an 8-bit format`);
  const scaleFmt = opts.scaleFmt ?? 'fp32';
  const tr = Math.min(opts.tile[0], Math.max(rows, 1));
  const tc = Math.min(opts.tile[1], Math.max(cols, 1));
  const sr = Math.ceil(rows / tr);
  const sc = Math.ceil(cols / tc);
  const scales = new Float32Array(sr * sc);
  // amax per tile
  const amax = new Float64Array(sr * sc);
  for (let r = 0; r < rows; r++) {
    const rowTile = Math.floor(r / tr) * sc;
    const off = r * cols;
    for (let t = 0; t < sc; t++) {
      const end = Math.min(cols, (t + 1) * tc);
      let m = amax[rowTile + t];
      for (let c = t * tc; c < end; c++) {
        const a = Math.abs(x[off + c]);
        if (a > m || a !== a) m = a !== a ? NaN : a;
      }
      amax[rowTile + t] = m;
    }
  }
  const maxFinite = fmt.maxFinite;
  for (let i = 0; i < scales.length; i++) {
    const a = Math.fround(Math.max(amax[i], AMAX_FLOOR)); // NaN stays NaN through Math.max
    let s = Math.fround(a / maxFinite);
    if (scaleFmt === 'ue8m0' && Number.isFinite(s)) s = ue8m0Scale(s);
    scales[i] = s;
  }
  // x / s in float32, then one rounding to the 8-bit format (fast float32 bit-pattern encoder)
  const y = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const rowTile = Math.floor(r / tr) * sc;
    const off = r * cols;
    for (let t = 0; t < sc; t++) {
      const s = scales[rowTile + t];
      const end = Math.min(cols, (t + 1) * tc);
      for (let c = t * tc; c < end; c++) y[off + c] = Math.fround(x[off + c]) / s;
    }
  }
  const codes = encodeFloatArray(y, fmt, { saturate: true });
  return new QuantizedMatrix(codes, scales, rows, cols, tr, tc, fmt, scaleFmt);
}

/** The values a quantised matrix stands for: `fround(decode(code) * scale)`, float32, row-major. */
export function dequantize(q: QuantizedMatrix, out?: Float32Array): Float32Array {
  const native = activeNativeFp8();
  const id = nativeFormat(q.format);
  if (!native || id < 0) return dequantizeTs(q, out);
  const dst = out ?? new Float32Array(q.rows * q.cols);
  if (dst.length !== q.rows * q.cols) throw new RangeError(`dequantize: out has ${dst.length} elements, the matrix ${q.rows * q.cols}`);
  native.fp8Dequantize(q.codes, q.scales, q.rows, q.cols, q.tileRows, q.tileCols, id, dst);
  return dst;
}

/** The TypeScript reference of `dequantize`. */
export function dequantizeTs(q: QuantizedMatrix, out?: Float32Array): Float32Array {
  const { rows, cols, tileRows: tr, tileCols: tc, scaleCols: sc } = q;
  const v = decodeFloatArray(q.codes, q.format, out);
  for (let r = 0; r < rows; r++) {
    const rowTile = Math.floor(r / tr) * sc;
    const off = r * cols;
    for (let t = 0; t < sc; t++) {
      const s = q.scales[rowTile + t];
      const end = Math.min(cols, (t + 1) * tc);
      for (let c = t * tc; c < end; c++) v[off + c] = v[off + c] * s;
    }
  }
  return v;
}

/**
 * The transpose (cols, rows) of a quantised matrix: codes and scales move, nothing is rounded, so a (tr, tc) tiling
 * becomes (tc, tr). This is how a 128x1-tiled (tokens, channels) activation becomes the K-major 1x128-tiled operand of
 * the Wgrad GEMM, and how a weight's 128x128 blocks serve the Dgrad GEMM.
 */
export function transposeQuantized(q: QuantizedMatrix): QuantizedMatrix {
  const { rows, cols } = q;
  const codes = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) codes[c * rows + r] = q.codes[r * cols + c];
  const sr = q.scaleRows;
  const sc = q.scaleCols;
  const scales = new Float32Array(sr * sc);
  for (let i = 0; i < sr; i++) for (let j = 0; j < sc; j++) scales[j * sr + i] = q.scales[i * sc + j];
  return new QuantizedMatrix(codes, scales, cols, rows, q.tileCols, q.tileRows, q.format, q.scaleFmt);
}

/**
 * Re-tiles a quantised matrix (e.g. 1x128 -> 128x1 for the Wgrad GEMM): dequantise, then quantise with `tile`.
 * With UE8M0 scales on both sides this is exact for every element that stays in the normal range of its new tile
 * (dividing by a power of two only moves the exponent); with float32 scales it rounds a second time.
 */
export function retile(q: QuantizedMatrix, tile: readonly [number, number], scaleFmt: ScaleFormat = q.scaleFmt): QuantizedMatrix {
  return quantize(dequantize(q), q.rows, q.cols, { tile, scaleFmt, format: q.format });
}
