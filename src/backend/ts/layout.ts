/** Reference layout kernels: permute, broadcast, concat, slice and slice-scatter, and the strided copy under them. */
import type { Kernels } from '../kernels.js';
import { type TypedArray, allocArray } from '../../tensor/dtype.js';
import { broadcastStrides, numel, shapeStr, stridesOf } from '../../tensor/shape.js';
import { concatLayout, stridedOffsets } from './util.js';

/** out[i] = src[offsets[i]], in a fresh array of src's type. */
function gather(src: TypedArray, offsets: Int32Array): TypedArray {
  const o = new (src.constructor as new (n: number) => TypedArray)(offsets.length);
  for (let i = 0; i < offsets.length; i++) o[i] = src[offsets[i]];
  return o;
}

function sliceOffsets(shape: readonly number[], starts: readonly number[], ends: readonly number[]) {
  const strides = stridesOf(shape);
  const outShape = starts.map((s, i) => ends[i] - s);
  let base = 0;
  for (let i = 0; i < shape.length; i++) base += starts[i] * strides[i];
  return { outShape, offsets: stridedOffsets(outShape, strides, base) };
}

export const layoutKernels: Partial<Kernels> = {
  stridedCopy: (src, { shape, strides, offset }) => gather(src, stridedOffsets(shape, strides, offset)),

  permute: (x, { perm }) => {
    const strides = stridesOf(x.shape);
    const shape = perm.map((p) => x.shape[p]);
    const offsets = stridedOffsets(
      shape,
      perm.map((p) => strides[p]),
    );
    return { data: gather(x.data, offsets), shape, dtype: x.dtype };
  },

  broadcastTo: (x, { shape }) => {
    const offsets = stridedOffsets(shape, broadcastStrides(x.shape, shape));
    return { data: gather(x.data, offsets), shape: [...shape], dtype: x.dtype };
  },

  concat: (xs, { axis }) => {
    const { shape, outer, rowOut, parts } = concatLayout(xs, axis);
    const o = allocArray(xs[0].dtype, numel(shape));
    xs.forEach((x, k) => {
      const { w, col } = parts[k];
      for (let a = 0; a < outer; a++) o.set(x.data.subarray(a * w, (a + 1) * w), a * rowOut + col);
    });
    return { data: o, shape, dtype: xs[0].dtype };
  },

  slice: (x, { starts, ends }) => {
    const { outShape, offsets } = sliceOffsets(x.shape, starts, ends);
    return { data: gather(x.data, offsets), shape: outShape, dtype: x.dtype };
  },

  sliceScatter: (base, src, { starts, ends }) => {
    const { outShape, offsets } = sliceOffsets(base.shape, starts, ends);
    if (numel(outShape) !== src.data.length) {
      throw new RangeError(`sliceScatter: source ${shapeStr(src.shape)} does not fill region ${shapeStr(outShape)}`);
    }
    const o = allocArray(base.dtype, base.data.length);
    o.set(base.data);
    for (let i = 0; i < offsets.length; i++) o[offsets[i]] = src.data[i];
    return { data: o, shape: [...base.shape], dtype: base.dtype };
  },
};
