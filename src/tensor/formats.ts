/**
 * Bit-exact small floating-point formats: FP8 E4M3 (the OCP "fn" variant of torch.float8_e4m3fn and the DeepSeek-V3
 * weights), FP8 E5M2, the 12-bit E5M6 of DeepSeek-V3's attention-output cache (with 2-in-3-bytes packing), BF16, FP16
 * (IEEE half), and UE8M0 power-of-2 scales.
 *
 * What it is: encode (number -> code) with round-to-nearest-even, decode (code -> number), array versions of both, and
 * `roundToFormat` (encode then decode: the value a format stores, used to emulate low-precision storage in float32).
 * What it is not: quantisation with scales (tiles, blocks, amax: src/fp8/quant.ts) or FP8 GEMMs (src/fp8/gemm.ts);
 * those build on this file. It sits in tensor/ because every layer that stores reduced-precision numbers uses it: the
 * FP8 kernels (src/backend), BF16 optimizer moments (src/optim), safetensors I/O (src/io) and FP8 training (src/fp8).
 *
 * Two encoders, tested to agree: `encodeFloat` is the simple, exact one (plain arithmetic on a JS number, so a float64
 * input is rounded once, never via float32); `encodeFloatArray` on a Float32Array works on the float32 bit patterns
 * with integer arithmetic and is the fast one. Decoding goes through lookup tables (256 entries per FP8 format, 4096
 * for E5M6, 65536 for FP16; BF16 is the top half of a float32, so its "table" is a 16-bit shift).
 *
 * Overflow (a value whose rounded magnitude exceeds the largest finite value, and +-infinity):
 * - E4M3 saturates to +-448 by default (as DeepSeek-V3's scaled casts and CUDA's `satfinite` conversions do);
 *   `saturate: false` gives NaN instead, as torch and ml_dtypes do (E4M3 "fn" has no infinity).
 * - E5M6 saturates to +-65024 by default; `saturate: false` gives +-infinity.
 * - E5M2, BF16 and FP16 follow IEEE by default: overflow gives +-infinity; `saturate: true` clamps to the max finite.
 * NaN always encodes to NaN (sign kept where the input is a float32 bit pattern; payload canonical: quiet NaN).
 */
import type { DType, TypedArray } from './dtype.js';

/**
 * How a tile's scale is stored: float32 (`amax / maxFinite`, DeepSeek-V3) or a power of two (UE8M0, DeepSeek-V3.1:
 * `ue8m0Scale`).
 */
export type ScaleFormat = 'fp32' | 'ue8m0';

/** A binary floating-point format of 8, 12 or 16 bits: 1 sign bit, `expBits`, `manBits`, exponent `bias`. */
export interface FloatFormat<B extends 8 | 12 | 16 = 8 | 12 | 16> {
  readonly name: 'e4m3' | 'e5m2' | 'e5m6' | 'bf16' | 'fp16';
  readonly bits: B;
  readonly expBits: number;
  readonly manBits: number;
  readonly bias: number;
  /** Largest finite magnitude. */
  readonly maxFinite: number;
  /** Code of +maxFinite. */
  readonly maxCode: number;
  /** Code of +infinity, or -1 where the format has no infinity (E4M3). */
  readonly infCode: number;
  /** The canonical (quiet, positive) NaN code that encoders produce. */
  readonly nanCode: number;
  /** What `encode*` does on overflow when `saturate` is not given. */
  readonly saturateByDefault: boolean;
}

/** FP8 E4M3, "fn" variant: bias 7, max 448, no infinities, NaN = S.1111.111; saturates by default. */
export const FP8_E4M3: FloatFormat<8> = Object.freeze({
  name: 'e4m3',
  bits: 8,
  expBits: 4,
  manBits: 3,
  bias: 7,
  maxFinite: 448,
  maxCode: 0x7e,
  infCode: -1,
  nanCode: 0x7f,
  saturateByDefault: true,
});

/** FP8 E5M2: bias 15, max 57344, IEEE infinities and NaNs; overflows to infinity by default. */
export const FP8_E5M2: FloatFormat<8> = Object.freeze({
  name: 'e5m2',
  bits: 8,
  expBits: 5,
  manBits: 2,
  bias: 15,
  maxFinite: 57344,
  maxCode: 0x7b,
  infCode: 0x7c,
  nanCode: 0x7e,
  saturateByDefault: false,
});

/**
 * E5M6, 12 bits: bias 15 (the exponent of FP16), 6 mantissa bits, subnormals, IEEE infinities and NaNs (exponent 31),
 * max 65024; saturates by default. DeepSeek-V3 caches the input of the Linear after attention in it (SPEC §2); codes
 * are kept in Uint16Array and packed two to three bytes for storage (`packCodes12`).
 */
export const E5M6: FloatFormat<12> = Object.freeze({
  name: 'e5m6',
  bits: 12,
  expBits: 5,
  manBits: 6,
  bias: 15,
  maxFinite: 65024,
  maxCode: 0x7bf,
  infCode: 0x7c0,
  nanCode: 0x7e0,
  saturateByDefault: true,
});

/** bfloat16: the top 16 bits of a float32 (bias 127, 7 mantissa bits), rounded to nearest even. */
export const BF16: FloatFormat<16> = Object.freeze({
  name: 'bf16',
  bits: 16,
  expBits: 8,
  manBits: 7,
  bias: 127,
  maxFinite: 3.3895313892515355e38,
  maxCode: 0x7f7f,
  infCode: 0x7f80,
  nanCode: 0x7fc0,
  saturateByDefault: false,
});

/** IEEE 754 binary16: bias 15, 10 mantissa bits, max 65504. */
export const FP16: FloatFormat<16> = Object.freeze({
  name: 'fp16',
  bits: 16,
  expBits: 5,
  manBits: 10,
  bias: 15,
  maxFinite: 65504,
  maxCode: 0x7bff,
  infCode: 0x7c00,
  nanCode: 0x7e00,
  saturateByDefault: false,
});

/** The code array type of a format: bytes for FP8, 16-bit words for E5M6 (unpacked), BF16 and FP16. */
export type CodeArray<F extends FloatFormat> = F extends FloatFormat<8> ? Uint8Array : Uint16Array;

export interface EncodeOptions {
  /** Clamp overflow (and +-infinity) to the max finite value instead of infinity / NaN. Default: per format. */
  saturate?: boolean;
}

/** The code of an overflowing magnitude: max finite, infinity, or (E4M3 without saturation) NaN. */
function overflowCode(f: FloatFormat, saturate: boolean): number {
  if (saturate) return f.maxCode;
  return f.infCode >= 0 ? f.infCode : f.nanCode;
}

/** Round half to even of a non-negative number whose fractional part is exact. */
function roundHalfEven(s: number): number {
  const fl = Math.floor(s);
  const d = s - fl;
  return d > 0.5 || (d === 0.5 && fl % 2 === 1) ? fl + 1 : fl;
}

/** floor(log2(a)) for finite a > 0, exact (Math.log2 alone can be off by one near powers of two). */
function floorLog2(a: number): number {
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  return e;
}

/**
 * Encodes a number into `fmt`, rounding to nearest even: the simple, exact reference (any JS number, rounded once).
 * Overflow behaviour: see the file header (`opts.saturate`, default `fmt.saturateByDefault`).
 */
export function encodeFloat(x: number, fmt: FloatFormat, opts: EncodeOptions = {}): number {
  const saturate = opts.saturate ?? fmt.saturateByDefault;
  if (Number.isNaN(x)) return fmt.nanCode;
  const sign = x < 0 || Object.is(x, -0) ? 1 << (fmt.bits - 1) : 0;
  const a = Math.abs(x);
  let code: number;
  if (a === Infinity) code = fmt.maxCode + 1;
  else if (a === 0) code = 0;
  else {
    const m = fmt.manBits;
    const emin = 1 - fmt.bias; // exponent of the smallest normal
    const e = floorLog2(a);
    // Quantum (value of one unit in the last place) at this magnitude; below emin the spacing stays 2^(emin - m).
    const q = roundHalfEven(a * 2 ** (m - Math.max(e, emin)));
    // Normal: (biased exponent, mantissa) = q - 2^m on top of the exponent field; a carry of q to 2^(m+1) bumps the
    // exponent by itself. Subnormal: the code is q, and q = 2^m is the smallest normal.
    code = e >= emin ? ((e - emin + 1) << m) + q - (1 << m) : q;
  }
  if (code > fmt.maxCode) code = overflowCode(fmt, saturate);
  return sign | code;
}

/** Decodes one code of `fmt` to its value (NaN codes give NaN). The formula behind the decode tables. */
export function decodeFloat(code: number, fmt: FloatFormat): number {
  const m = fmt.manBits;
  const expMask = (1 << fmt.expBits) - 1;
  const manMask = (1 << m) - 1;
  const neg = (code >> (fmt.bits - 1)) & 1;
  const e = (code >> m) & expMask;
  const f = code & manMask;
  let v: number;
  if (e === expMask && fmt.infCode >= 0) v = f === 0 ? Infinity : NaN;
  else if (e === expMask && f === manMask)
    v = NaN; // E4M3fn: only S.1111.111 is NaN
  else if (e === 0) v = f * 2 ** (1 - fmt.bias - m);
  else v = ((1 << m) + f) * 2 ** (e - fmt.bias - m);
  return neg ? -v : v;
}

// ---- fast paths over float32 bit patterns -------------------------------------------------------------------------

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** Bit pattern of a number rounded to float32. */
export function float32Bits(x: number): number {
  f32Scratch[0] = x;
  return u32Scratch[0];
}

/** The float32 whose bit pattern is `bits`. */
export function float32FromBits(bits: number): number {
  u32Scratch[0] = bits;
  return f32Scratch[0];
}

/** Encodes one float32 bit pattern (integer arithmetic only; the same rule as `encodeFloat`, keeps NaN signs). */
function encodeBits32(u: number, fmt: FloatFormat, saturate: boolean): number {
  const sign = (u >>> 31) << (fmt.bits - 1);
  const a = u & 0x7fffffff;
  if (a > 0x7f800000) return sign | fmt.nanCode;
  let code: number;
  if (a === 0x7f800000) code = fmt.maxCode + 1;
  else {
    const m = fmt.manBits;
    const emin = 1 - fmt.bias;
    // value = S * 2^(e - 23) with S the 24-bit significand (float32 subnormals: e = -126, no implicit bit).
    let e = (a >>> 23) - 127;
    let s = (a & 0x7fffff) | 0x800000;
    if (a < 0x800000) {
      e = -126;
      s = a;
    }
    const shift = (e > emin ? e : emin) - m - e + 23; // bits of S below the target's last place (>= 23 - m)
    let q = 0;
    if (shift < 25) {
      // shift >= 25 leaves S / 2^shift < 1/2: rounds to 0
      q = s >>> shift;
      const rem = s & ((1 << shift) - 1);
      const half = 1 << (shift - 1);
      if (rem > half || (rem === half && (q & 1) === 1)) q++;
    }
    code = e >= emin ? ((e - emin + 1) << m) + q - (1 << m) : q;
  }
  if (code > fmt.maxCode) code = overflowCode(fmt, saturate);
  return sign | code;
}

/**
 * Encodes an array into `fmt` codes (Uint8Array for FP8, Uint16Array for BF16/FP16), rounding to nearest even.
 * Float32 input takes the fast bit-pattern path; float64 input is rounded exactly once per element.
 */
export function encodeFloatArray<F extends FloatFormat>(
  src: Float32Array | Float64Array | readonly number[],
  fmt: F,
  opts: EncodeOptions & { out?: CodeArray<F> } = {},
): CodeArray<F> {
  const saturate = opts.saturate ?? fmt.saturateByDefault;
  const n = src.length;
  const out = (opts.out ?? (fmt.bits === 8 ? new Uint8Array(n) : new Uint16Array(n))) as CodeArray<F>;
  if (out.length !== n) throw new RangeError(`encodeFloatArray(${fmt.name}): out has ${out.length} elements, src ${n}`);
  if (src instanceof Float32Array) {
    const bits = new Uint32Array(src.buffer, src.byteOffset, n);
    if (fmt === BF16 && !saturate) {
      // BF16 is a float32 with the low 16 bits rounded away: round-to-nearest-even by integer addition.
      for (let i = 0; i < n; i++) {
        const u = bits[i];
        out[i] =
          (u & 0x7fffffff) > 0x7f800000 ? ((u >>> 16) & 0x8000) | 0x7fc0 : (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
      }
    } else {
      for (let i = 0; i < n; i++) out[i] = encodeBits32(bits[i], fmt, saturate);
    }
  } else {
    for (let i = 0; i < n; i++) out[i] = encodeFloat(src[i], fmt, { saturate });
  }
  return out;
}

/** Float32 bit patterns of every code of a format (NaN payloads kept, as torch widens them). */
function buildDecodeTable(fmt: FloatFormat): Uint32Array {
  const n = 1 << fmt.bits;
  const table = new Uint32Array(n);
  const m = fmt.manBits;
  for (let c = 0; c < n; c++) {
    const v = decodeFloat(c, fmt);
    if (Number.isNaN(v)) {
      const sign = ((c >> (fmt.bits - 1)) & 1) << 31;
      const payload = (c & ((1 << m) - 1)) << (23 - m);
      table[c] = (sign | 0x7f800000 | payload) >>> 0;
    } else {
      table[c] = float32Bits(v); // exact: every FP8/FP16 value is a float32
    }
  }
  return table;
}

const decodeTables = new Map<FloatFormat, Uint32Array>();

/** The decode table of a format: float32 bit patterns indexed by code (built on first use). */
export function decodeTable(fmt: FloatFormat): Uint32Array {
  if (fmt === BF16) throw new RangeError('decodeTable: BF16 decodes by a 16-bit shift and has no table');
  let t = decodeTables.get(fmt);
  if (!t) {
    t = buildDecodeTable(fmt);
    decodeTables.set(fmt, t);
  }
  return t;
}

/** Decodes codes of `fmt` into float32 values (every FP8/BF16/FP16 value is exactly a float32). */
export function decodeFloatArray<F extends FloatFormat>(codes: CodeArray<F>, fmt: F, out?: Float32Array): Float32Array {
  const n = codes.length;
  const dst = out ?? new Float32Array(n);
  if (dst.length !== n)
    throw new RangeError(`decodeFloatArray(${fmt.name}): out has ${dst.length} elements, codes ${n}`);
  const bits = new Uint32Array(dst.buffer, dst.byteOffset, n);
  if (fmt === BF16) {
    for (let i = 0; i < n; i++) bits[i] = codes[i] << 16;
  } else {
    const table = decodeTable(fmt);
    for (let i = 0; i < n; i++) bits[i] = table[codes[i]];
  }
  return dst;
}

/**
 * Rounds each float32 to the nearest value of `fmt` (encode then decode), in place when `out` is `src`.
 * This is what storing a tensor in that format does to it.
 */
export function roundToFormat(
  src: Float32Array,
  fmt: FloatFormat,
  opts: EncodeOptions & { out?: Float32Array } = {},
): Float32Array {
  const saturate = opts.saturate ?? fmt.saturateByDefault;
  const n = src.length;
  const dst = opts.out ?? new Float32Array(n);
  if (dst.length !== n) throw new RangeError(`roundToFormat(${fmt.name}): out has ${dst.length} elements, src ${n}`);
  const sbits = new Uint32Array(src.buffer, src.byteOffset, n);
  const dbits = new Uint32Array(dst.buffer, dst.byteOffset, n);
  if (fmt === BF16) {
    for (let i = 0; i < n; i++) dbits[i] = encodeBits32(sbits[i], fmt, saturate) << 16;
  } else {
    const table = decodeTable(fmt);
    for (let i = 0; i < n; i++) dbits[i] = table[encodeBits32(sbits[i], fmt, saturate)];
  }
  return dst;
}

// ---- 12-bit packing ------------------------------------------------------------------------------------------------

/** Bytes that `n` 12-bit codes take packed: 3 per pair, 2 for an odd last one. */
export function packedBytes12(n: number): number {
  return Math.ceil((n * 3) / 2);
}

/** Packs 12-bit codes two into three bytes, little-endian: c0 bits 0-11, c1 bits 12-23. */
export function packCodes12(codes: Uint16Array): Uint8Array {
  const n = codes.length;
  const out = new Uint8Array(packedBytes12(n));
  let o = 0;
  for (let i = 0; i < n; i += 2) {
    const c0 = codes[i] & 0xfff;
    const c1 = i + 1 < n ? codes[i + 1] & 0xfff : 0;
    out[o++] = c0 & 0xff;
    out[o++] = (c0 >> 8) | ((c1 & 0xf) << 4);
    if (i + 1 < n) out[o++] = c1 >> 4;
  }
  return out;
}

/** Unpacks `n` 12-bit codes packed by `packCodes12`. */
export function unpackCodes12(packed: Uint8Array, n: number): Uint16Array {
  if (packed.length !== packedBytes12(n))
    throw new RangeError(`unpackCodes12: ${packed.length} bytes do not hold ${n} codes (${packedBytes12(n)} bytes)`);
  const out = new Uint16Array(n);
  let o = 0;
  for (let i = 0; i < n; i += 2) {
    const b0 = packed[o++];
    const b1 = packed[o++];
    out[i] = b0 | ((b1 & 0xf) << 8);
    if (i + 1 < n) out[i + 1] = (b1 >> 4) | (packed[o++] << 4);
  }
  return out;
}

// ---- UE8M0 power-of-2 scales ----------------------------------------------------------------------------------------

/**
 * The power-of-2 scale DeepSeek-V3.1 uses (`scale_fmt: "ue8m0"`): 2^ceil(log2 s), i.e. `s` rounded up to a power of
 * two, so that dividing by it never pushes a block's amax past the format's max. `s` must be positive and finite.
 */
export function ue8m0Scale(s: number): number {
  if (!(s > 0) || !Number.isFinite(s)) throw new RangeError(`ue8m0Scale: scale must be positive and finite (got ${s})`);
  const e = floorLog2(s);
  return 2 ** e === s ? s : 2 ** (e + 1);
}

/** The UE8M0 byte of a scale: its rounded-up power-of-2 exponent + 127 (exponents outside -127..127 are an error). */
export function encodeUE8M0(s: number): number {
  const e = floorLog2(ue8m0Scale(s));
  if (e < -127 || e > 127) throw new RangeError(`encodeUE8M0: 2^${e} is outside the UE8M0 range 2^-127..2^127`);
  return e + 127;
}

/** The scale a UE8M0 byte stands for: 2^(b - 127); 0xFF is NaN. */
export function decodeUE8M0(b: number): number {
  if (!Number.isInteger(b) || b < 0 || b > 255) throw new RangeError(`decodeUE8M0: not a byte: ${b}`);
  return b === 0xff ? NaN : 2 ** (b - 127);
}

/**
 * Copies `src`'s values into `dst` (same element count), converting between dtypes: into bfloat16 storage rounded to
 * nearest even, out of it exactly, and otherwise as typed arrays convert (the float dtypes, int32 and bool).
 */
export function copyConverted(
  dst: { readonly data: TypedArray; readonly dtype: DType },
  src: { readonly data: TypedArray; readonly dtype: DType },
): void {
  if (dst.data.length !== src.data.length)
    throw new RangeError(`copyConverted: ${src.data.length} values into ${dst.data.length}`);
  if (dst.dtype === 'bfloat16' && src.dtype !== 'bfloat16') {
    const from =
      src.data instanceof Float32Array || src.data instanceof Float64Array ? src.data : Float64Array.from(src.data);
    encodeFloatArray(from, BF16, { out: dst.data as Uint16Array });
  } else if (src.dtype === 'bfloat16' && dst.dtype !== 'bfloat16') {
    const f = decodeFloatArray(src.data as Uint16Array, BF16);
    dst.data.set(f);
  } else dst.data.set(src.data);
}
