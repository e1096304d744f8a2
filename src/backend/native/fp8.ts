/**
 * Native FP8 kernels: `fp8Quantize`, `fp8Dequantize` and `fp8Gemm` through the addon (native/fp8.cc and the per-ISA
 * native/isa/fp8gemm.cc), bit-exact with the references of src/backend/ts/fp8.ts. The addon knows E4M3 and E5M2;
 * other 8-bit formats and GEMM operands of two formats run the reference, as does input the reference rejects (so its
 * error is the one a caller sees). float64 input is rounded to float32 first, as the reference does element by element.
 */
import type { Kernels, QuantizedData } from '../kernels.js';
import { FP8_E4M3, FP8_E5M2, type FloatFormat } from '../../tensor/formats.js';
import type { NativeAddon } from './addon.js';
import { ref } from './util.js';

/** The addon's format id (native/fp8.cc kFormats), or -1 for a format only the reference handles. */
function formatId(f: FloatFormat<8>): number {
  return f === FP8_E4M3 ? 0 : f === FP8_E5M2 ? 1 : -1;
}

/** Scales of a quantised matrix's tile grid. */
const gridSize = (q: Pick<QuantizedData, 'rows' | 'cols' | 'tileRows' | 'tileCols'>): number =>
  Math.ceil(q.rows / q.tileRows) * Math.ceil(q.cols / q.tileCols);

export function fp8Kernels(addon: NativeAddon): Partial<Kernels> {
  return {
    fp8Quantize: (x, attrs) => {
      const id = formatId(attrs.format);
      if (id < 0 || x.shape.length !== 2 || (x.dtype !== 'float32' && x.dtype !== 'float64'))
        return ref('fp8Quantize')(x, attrs);
      const [rows, cols] = x.shape;
      const { tileRows, tileCols } = attrs;
      const codes = new Uint8Array(rows * cols);
      const scales = new Float32Array(gridSize({ rows, cols, tileRows, tileCols }));
      const x32 = x.data instanceof Float32Array ? x.data : Float32Array.from(x.data);
      addon.fp8Quantize(x32, rows, cols, tileRows, tileCols, id, attrs.scaleFmt === 'ue8m0', codes, scales);
      return { codes, scales };
    },

    fp8Dequantize: (q) => {
      const id = formatId(q.format);
      if (id < 0) return ref('fp8Dequantize')(q);
      const out = new Float32Array(q.rows * q.cols);
      addon.fp8Dequantize(q.codes, q.scales, q.rows, q.cols, q.tileRows, q.tileCols, id, out);
      return { data: out, shape: [q.rows, q.cols], dtype: 'float32' };
    },

    fp8Gemm: (a, b, attrs) => {
      const id = formatId(a.format);
      if (id < 0 || formatId(b.format) !== id) return ref('fp8Gemm')(a, b, attrs);
      const { accumulator: model, interval } = attrs;
      const C = new Float32Array(a.rows * b.rows);
      addon.fp8Gemm(
        a.codes,
        a.scales,
        a.rows,
        a.cols,
        a.tileRows,
        a.tileCols,
        b.codes,
        b.scales,
        b.rows,
        b.tileRows,
        b.tileCols,
        id,
        model.kind === 'exact' ? 0 : model.kind === 'fp32' ? 1 : 2,
        model.kind === 'limited' ? model.mantissaBits : 52,
        model.kind === 'exact' ? 1 : model.groupSize,
        model.kind === 'limited' && model.rounding === 'nearest',
        interval,
        C,
      );
      return { data: C, shape: [a.rows, b.rows], dtype: 'float32' };
    },
  };
}
