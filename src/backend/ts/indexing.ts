/** Reference indexing kernels: gather / scatter-add (torch semantics), index-select / index-add, where. */
import type { Kernels, TensorData } from '../kernels.js';
import { type TypedArray, allocArray } from '../../tensor/dtype.js';
import { broadcastShapes, broadcastStrides, numel, shapeStr, stridesOf } from '../../tensor/shape.js';
import { around, stridedOffsets } from './util.js';

function checkIndex(kernel: string, v: number, n: number, axis: number): void {
  if (v < 0 || v >= n) throw new RangeError(`${kernel}: index ${v} is out of range for dim ${axis} of size ${n}`);
}

/**
 * For every element of `index` (row-major), the offset into a tensor of shape `target` at the same coordinates
 * except along `axis`, where the coordinate is the index value.
 */
function scatterOffsets(kernel: string, target: readonly number[], index: TensorData, axis: number): Int32Array {
  const ts = stridesOf(target);
  const strides = ts.map((s, d) => (d === axis ? 0 : s));
  const base = stridedOffsets(index.shape, strides);
  const n = target[axis];
  const idx = index.data;
  for (let i = 0; i < base.length; i++) {
    const v = idx[i];
    checkIndex(kernel, v, n, axis);
    base[i] += v * ts[axis];
  }
  return base;
}

/** o[idx[j0 + j] along axis] += src[j along axis] for j < m, in j order (o has `shape`; src has m along axis). */
function addRows(
  kernel: string,
  o: TypedArray,
  shape: readonly number[],
  idx: TensorData['data'],
  j0: number,
  m: number,
  src: TensorData,
  axis: number,
): void {
  const { outer, n, inner } = around(shape, axis);
  if (src.data.length !== outer * m * inner) {
    throw new RangeError(`${kernel}: src ${shapeStr(src.shape)} does not match ${m} indices on axis ${axis}`);
  }
  for (let a = 0; a < outer; a++) {
    for (let j = 0; j < m; j++) {
      const v = idx[j0 + j] as number;
      checkIndex(kernel, v, n, axis);
      const to = (a * n + v) * inner;
      const from = (a * m + j) * inner;
      for (let c = 0; c < inner; c++) o[to + c] += src.data[from + c] as number;
    }
  }
}

/** The parts' sizes along axis, checked: x's shape elsewhere, x's dtype, summing to the m indices. */
export function indexParts(op: string, x: TensorData, parts: readonly TensorData[], axis: number, m: number): number[] {
  const sizes = parts.map((p) => {
    const ok = p.shape.length === x.shape.length && p.shape.every((d, i) => i === axis || d === x.shape[i]);
    if (!ok || p.dtype !== x.dtype)
      throw new RangeError(`${op}: part ${shapeStr(p.shape)} ${p.dtype} does not fit ${shapeStr(x.shape)} ${x.dtype}`);
    return p.shape[axis];
  });
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total !== m) throw new RangeError(`${op}: the parts have ${total} rows on axis ${axis}, the index ${m}`);
  return sizes;
}

export const indexingKernels: Partial<Kernels> = {
  gather: (x, index, { axis }) => {
    const offs = scatterOffsets('gather', x.shape, index, axis);
    const o = allocArray(x.dtype, offs.length);
    for (let i = 0; i < offs.length; i++) o[i] = x.data[offs[i]];
    return { data: o, shape: [...index.shape], dtype: x.dtype };
  },

  scatterAdd: (x, index, src, { axis }) => {
    const offs = scatterOffsets('scatterAdd', x.shape, index, axis);
    const o = allocArray(x.dtype, x.data.length);
    o.set(x.data);
    for (let i = 0; i < offs.length; i++) o[offs[i]] += src.data[i];
    return { data: o, shape: [...x.shape], dtype: x.dtype };
  },

  indexSelect: (x, index, { axis }) => {
    const { outer, n, inner } = around(x.shape, axis);
    const m = index.data.length;
    const shape = [...x.shape];
    shape[axis] = m;
    const o = allocArray(x.dtype, outer * m * inner);
    for (let a = 0; a < outer; a++) {
      for (let j = 0; j < m; j++) {
        const v = index.data[j];
        checkIndex('indexSelect', v, n, axis);
        const from = (a * n + v) * inner;
        o.set(x.data.subarray(from, from + inner), (a * m + j) * inner);
      }
    }
    return { data: o, shape, dtype: x.dtype };
  },

  indexAdd: (x, index, src, { axis }) => {
    const o = allocArray(x.dtype, x.data.length);
    o.set(x.data);
    addRows('indexAdd', o, x.shape, index.data, 0, index.data.length, src, axis);
    return { data: o, shape: [...x.shape], dtype: x.dtype };
  },

  indexAddParts: (x, index, parts, { axis }) => {
    const m = index.data.length;
    const sizes = indexParts('indexAddParts', x, parts, axis, m);
    const o = allocArray(x.dtype, x.data.length);
    o.set(x.data);
    let j0 = 0;
    parts.forEach((p, i) => {
      addRows('indexAddParts', o, x.shape, index.data, j0, sizes[i], p, axis);
      j0 += sizes[i];
    });
    return { data: o, shape: [...x.shape], dtype: x.dtype };
  },

  where: (cond, a, b) => {
    const shape = broadcastShapes(broadcastShapes(cond.shape, a.shape, 'where'), b.shape, 'where');
    const n = numel(shape);
    const ic = stridedOffsets(shape, broadcastStrides(cond.shape, shape));
    const ia = stridedOffsets(shape, broadcastStrides(a.shape, shape));
    const ib = stridedOffsets(shape, broadcastStrides(b.shape, shape));
    const o = allocArray(a.dtype, n);
    for (let i = 0; i < n; i++) o[i] = cond.data[ic[i]] ? a.data[ia[i]] : b.data[ib[i]];
    return { data: o, shape, dtype: a.dtype };
  },
};
