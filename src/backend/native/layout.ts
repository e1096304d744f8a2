/**
 * Native layout kernels: stridedCopy itself, and permute, broadcastTo, concat, slice and sliceScatter, each one call
 * of the addon's strided copy per input (native/isa/layout.cc: merges dims that stay contiguous, copies whole rows with
 * memcpy, splits large copies across the thread pool). Every dtype: elements are moved bit for bit, so results equal the reference's
 * exactly. What the reference leaves to the ops to check (a permutation, a region inside the tensor, shapes that
 * broadcast, one dtype) is checked here, and anything else (rank 0 or above 8 dims, a bad argument) runs the reference,
 * so results and errors stay the reference's.
 */
import type { Kernels, TensorData } from '../kernels.js';
import { allocArray } from '../../tensor/dtype.js';
import { broadcastStrides, numel, stridesOf } from '../../tensor/shape.js';
import { concatLayout } from '../ts/util.js';
import type { NativeAddon } from './addon.js';
import { ref } from './util.js';

/** Most dims the addon's strided copy takes. */
const MAX_DIMS = 8;

const rankOk = (n: number) => n >= 1 && n <= MAX_DIMS;

/** Whether starts..ends (step 1) lies inside `shape`. */
function regionOk(shape: readonly number[], starts: readonly number[], ends: readonly number[]): boolean {
  if (starts.length !== shape.length || ends.length !== shape.length) return false;
  for (let i = 0; i < shape.length; i++) {
    const s = starts[i];
    const e = ends[i];
    if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || s > e || e > shape[i]) return false;
  }
  return true;
}

function isPermutation(perm: readonly number[], n: number): boolean {
  if (perm.length !== n) return false;
  const seen = new Array<boolean>(n).fill(false);
  for (const p of perm) {
    if (!Number.isInteger(p) || p < 0 || p >= n || seen[p]) return false;
    seen[p] = true;
  }
  return true;
}

/** Offset of the element at index `starts` under `strides`. */
function offsetOf(starts: readonly number[], strides: readonly number[]): number {
  let off = 0;
  for (let i = 0; i < starts.length; i++) off += starts[i] * strides[i];
  return off;
}

export function layoutKernels(addon: NativeAddon): Partial<Kernels> {
  type Dims = readonly number[];
  /** dst[dstOff + idx . ds] = src[srcOff + idx . ss] for every index idx of `shape`. */
  const copy = (
    src: TensorData['data'],
    dst: TensorData['data'],
    shape: Dims,
    ss: Dims,
    ds: Dims,
    srcOff = 0,
    dstOff = 0,
  ) => {
    const nd = shape.length;
    const dims = new Int32Array(3 * nd);
    for (let d = 0; d < nd; d++) {
      dims[d] = shape[d];
      dims[nd + d] = ss[d];
      dims[2 * nd + d] = ds[d];
    }
    addon.stridedCopy(src, dst, dims, srcOff, dstOff);
  };

  return {
    stridedCopy: (src, attrs) => {
      const { shape, strides, offset } = attrs;
      const ok = rankOk(shape.length) && strides.length === shape.length && strides.every((st) => st >= 0);
      if (!ok) return ref('stridedCopy')(src, attrs);
      const o = new (src.constructor as new (n: number) => TensorData['data'])(numel(shape));
      if (o.length > 0) copy(src, o, shape, strides, stridesOf(shape), offset);
      return o;
    },

    // the layout copies below write every element of their output: it need not be zero-filled (../../tensor/pool.ts)
    permute: (x, attrs) => {
      const { perm } = attrs;
      if (!rankOk(x.shape.length) || !isPermutation(perm, x.shape.length)) return ref('permute')(x, attrs);
      const strides = stridesOf(x.shape);
      const shape = perm.map((p) => x.shape[p]);
      const o = allocArray(x.dtype, numel(shape), false);
      if (o.length > 0)
        copy(
          x.data,
          o,
          shape,
          perm.map((p) => strides[p]),
          stridesOf(shape),
        );
      return { data: o, shape, dtype: x.dtype };
    },

    broadcastTo: (x, attrs) => {
      const { shape } = attrs;
      const lead = shape.length - x.shape.length;
      const ok = rankOk(shape.length) && lead >= 0 && x.shape.every((d, i) => d === 1 || d === shape[lead + i]);
      if (!ok) return ref('broadcastTo')(x, attrs);
      const o = allocArray(x.dtype, numel(shape), false);
      if (o.length > 0) copy(x.data, o, shape, broadcastStrides(x.shape, shape), stridesOf(shape));
      return { data: o, shape: [...shape], dtype: x.dtype };
    },

    concat: (xs, attrs) => {
      const { axis } = attrs;
      const first = xs[0];
      const fits = (x: TensorData) =>
        x.dtype === first.dtype &&
        x.shape.length === first.shape.length &&
        x.shape.every((d, i) => i === axis || d === first.shape[i]);
      const axisOk = Number.isInteger(axis) && axis >= 0 && axis < first?.shape.length;
      const ok = first !== undefined && rankOk(first.shape.length) && axisOk && xs.every(fits);
      if (!ok) return ref('concat')(xs, attrs);
      const { shape, outer, rowOut, parts } = concatLayout(xs, axis);
      const o = allocArray(first.dtype, numel(shape), false);
      xs.forEach((x, k) => {
        const { w, col } = parts[k];
        if (outer > 0 && w > 0) copy(x.data, o, [outer, w], [w, 1], [rowOut, 1], 0, col);
      });
      return { data: o, shape, dtype: first.dtype };
    },

    slice: (x, attrs) => {
      const { starts, ends } = attrs;
      if (!rankOk(x.shape.length) || !regionOk(x.shape, starts, ends)) return ref('slice')(x, attrs);
      const shape = starts.map((s, i) => ends[i] - s);
      const strides = stridesOf(x.shape);
      const o = allocArray(x.dtype, numel(shape), false);
      if (o.length > 0) copy(x.data, o, shape, strides, stridesOf(shape), offsetOf(starts, strides));
      return { data: o, shape, dtype: x.dtype };
    },

    sliceScatter: (base, src, attrs) => {
      const { starts, ends } = attrs;
      const ok = rankOk(base.shape.length) && src.dtype === base.dtype && regionOk(base.shape, starts, ends);
      const region = starts.map((s, i) => ends[i] - s);
      if (!ok || numel(region) !== src.data.length) return ref('sliceScatter')(base, src, attrs);
      const strides = stridesOf(base.shape);
      const o = allocArray(base.dtype, base.data.length, false);
      o.set(base.data);
      if (src.data.length > 0) copy(src.data, o, region, stridesOf(region), strides, 0, offsetOf(starts, strides));
      return { data: o, shape: [...base.shape], dtype: base.dtype };
    },
  };
}
