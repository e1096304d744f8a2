/** Reference reductions: sum and max over any set of axes (accumulating in double), argmax along one axis. */
import type { AxesAttrs, Kernels, TensorData } from '../kernels.js';
import { allocArray } from '../../tensor/dtype.js';
import { numel } from '../../tensor/shape.js';
import { around, stridedOffsets } from './util.js';
import { stridesOf } from '../../tensor/shape.js';

/**
 * Visits the input so that the reduced axes come last: returns, for each output element, the offsets of the inputs
 * that reduce into it, laid out as (outCount, groupSize).
 */
function reductionLayout(x: TensorData, axes: readonly number[]) {
  const keep = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const perm = [...keep, ...axes];
  const strides = stridesOf(x.shape);
  const permShape = perm.map((p) => x.shape[p]);
  const offsets = stridedOffsets(
    permShape,
    perm.map((p) => strides[p]),
  );
  const group = axes.reduce((n, a) => n * x.shape[a], 1);
  return { offsets, group, count: group === 0 ? numel(keep.map((k) => x.shape[k])) : offsets.length / group };
}

function outShape(shape: readonly number[], { axes, keepdim }: AxesAttrs): number[] {
  const o: number[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) o.push(d);
    else if (keepdim) o.push(1);
  });
  return o;
}

export const reduceKernels: Partial<Kernels> = {
  sum: (x, attrs) => {
    const shape = outShape(x.shape, attrs);
    const dtype = x.dtype === 'bool' ? 'int32' : x.dtype;
    const o = allocArray(dtype, numel(shape));
    const { offsets, group, count } = reductionLayout(x, attrs.axes);
    const d = x.data;
    for (let i = 0; i < count; i++) {
      let acc = 0;
      for (let j = 0, base = i * group; j < group; j++) acc += d[offsets[base + j]];
      o[i] = acc;
    }
    return { data: o, shape, dtype };
  },

  max: (x, attrs) => {
    const shape = outShape(x.shape, attrs);
    const { offsets, group, count } = reductionLayout(x, attrs.axes);
    if (group === 0 && count > 0) throw new RangeError('max: cannot reduce over an empty dimension');
    const o = allocArray(x.dtype, numel(shape));
    const d = x.data;
    for (let i = 0; i < count; i++) {
      let m = -Infinity;
      for (let j = 0, base = i * group; j < group; j++) {
        const v = d[offsets[base + j]];
        if (v > m || v !== v) m = v;
        if (m !== m) break;
      }
      o[i] = m;
    }
    return { data: o, shape, dtype: x.dtype };
  },

  argmax: (x, { axis, keepdim }) => {
    const { outer, n, inner } = around(x.shape, axis);
    if (n === 0) throw new RangeError('argmax: cannot reduce over an empty dimension');
    const shape = outShape(x.shape, { axes: [axis], keepdim });
    const o = new Int32Array(outer * inner);
    const d = x.data;
    for (let a = 0; a < outer; a++) {
      for (let c = 0; c < inner; c++) {
        let best = 0;
        let m = d[a * n * inner + c];
        for (let j = 1; j < n; j++) {
          const v = d[(a * n + j) * inner + c];
          if (v > m) {
            m = v;
            best = j;
          }
        }
        o[a * inner + c] = best;
      }
    }
    return { data: o, shape, dtype: 'int32' };
  },
};
