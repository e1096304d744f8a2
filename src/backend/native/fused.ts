/**
 * Fused helpers outside the kernel contract, each with its plain TypeScript reference beside the native path:
 * - `adamwStep`: the AdamW update in place, bit-exact with its reference (`adamwStep` of src/optim/adamw-kernel.ts:
 *   the same double operations in the same order, native/adamw.cc), so `AdamW` runs it on the native backend;
 * - `weightedIndexAdd`: the MoE combine, out = x; out[index[j]] += weight[j] * src[j] (rows along dim 0), which the
 *   contract would spell as mul + indexAdd with an extra (m, D) temporary.
 * Without the addon, or for float64 buffers, both run the reference.
 */
import type { TensorData } from '../kernels.js';
import { shapeStr } from '../../tensor/shape.js';
import { type AdamWHyper, adamwStep as adamwStepRef } from '../../optim/adamw-kernel.js';
import { addon } from './addon.js';

/** One AdamW step in place over float32 buffers (native when available, else the reference; the same bits). */
export function adamwStep(
  param: Float32Array,
  grad: Float32Array,
  m: Float32Array,
  v: Float32Array,
  h: AdamWHyper,
): void {
  const n = param.length;
  if (grad.length !== n || m.length !== n || v.length !== n) {
    throw new RangeError(`adamwStep: param has ${n} elements, grad ${grad.length}, m ${m.length}, v ${v.length}`);
  }
  if (!Number.isInteger(h.step) || h.step < 1)
    throw new RangeError(`adamwStep: step must be an integer >= 1, got ${h.step}`);
  if (!addon) {
    adamwStepRef(param, grad, m, v, h);
    return;
  }
  const bc1 = 1 - h.beta1 ** h.step;
  const bc2 = 1 - h.beta2 ** h.step;
  addon.adamw(param, grad, m, v, h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, bc1, bc2);
}

function checkWeighted(
  x: TensorData,
  index: TensorData,
  src: TensorData,
  weight: TensorData,
): { m: number; inner: number } {
  const m = index.data.length;
  const n = x.shape[0];
  const inner = x.shape.length === 0 ? 0 : x.data.length / Math.max(n, 1);
  const bad = (why: string) =>
    new RangeError(
      `weightedIndexAdd: x ${shapeStr(x.shape)}, index ${shapeStr(index.shape)}, src ${shapeStr(src.shape)}, weight ${shapeStr(weight.shape)}: ${why}`,
    );
  if (x.shape.length === 0) throw bad('x needs at least one dim');
  if (index.dtype !== 'int32' || index.shape.length !== 1) throw bad('index must be a 1-D int32 tensor');
  if (weight.data.length !== m) throw bad('weight needs one value per index');
  if (src.data.length !== m * inner) throw bad('src must have one row of x per index');
  for (let j = 0; j < m; j++) {
    const v = index.data[j];
    if (v < 0 || v >= n) throw bad(`index ${v} is out of range for dim 0 of size ${n}`);
  }
  return { m, inner };
}

/** Reference: out = copy of x; out[index[j], ...] += weight[j] * src[j, ...], rows in index order. */
export function weightedIndexAddRef(x: TensorData, index: TensorData, src: TensorData, weight: TensorData): TensorData {
  const { m, inner } = checkWeighted(x, index, src, weight);
  const o = x.dtype === 'float64' ? new Float64Array(x.data) : new Float32Array(x.data);
  for (let j = 0; j < m; j++) {
    const w = weight.data[j];
    const to = index.data[j] * inner;
    const from = j * inner;
    for (let c = 0; c < inner; c++) o[to + c] += w * src.data[from + c];
  }
  return { data: o, shape: [...x.shape], dtype: x.dtype === 'float64' ? 'float64' : 'float32' };
}

/**
 * MoE combine: out = x with out[index[j]] += weight[j] * src[j] for each routed row j (x (N, ...), src (m, ...),
 * index and weight (m)). Native for float32, else the reference.
 */
export function weightedIndexAdd(x: TensorData, index: TensorData, src: TensorData, weight: TensorData): TensorData {
  const f32 = x.data instanceof Float32Array && src.data instanceof Float32Array && weight.data instanceof Float32Array;
  if (!addon || !f32) return weightedIndexAddRef(x, index, src, weight);
  const { m, inner } = checkWeighted(x, index, src, weight);
  const o = new Float32Array(x.data as Float32Array);
  if (m > 0 && inner > 0) {
    addon.indexAdd(
      o,
      index.data as Int32Array,
      src.data as Float32Array,
      weight.data as Float32Array,
      1,
      x.shape[0],
      inner,
      m,
    );
  }
  return { data: o, shape: [...x.shape], dtype: 'float32' };
}
