/**
 * Native elementwise kernels: binary ops (same shape, scalar, suffix and per-row broadcasts; any other broadcast goes
 * to the reference), unary maps and activations, SwiGLU, GELU backward, and sum / max over a contiguous run of axes.
 * float32 only: other dtypes, and anything the fast paths do not cover, run the reference kernel, so the
 * results and error messages are the reference's.
 */
import type { AxesAttrs, BinaryKernel, Kernels, TensorData, UnaryKernel } from '../kernels.js';
import { broadcastShapes, numel, sameShape } from '../../tensor/shape.js';
import { type NativeAddon, BIN_OPS, type BinOpName, BinMode, UN_OPS, type UnOpName } from './addon.js';
import { f32, isF32, ref } from './util.js';
import { allocF32 } from '../../tensor/pool.js';

/**
 * How b lines up with an output of shape `out` when a already has that shape: 'suffix' (b's dims, left-padded with
 * ones, equal out's trailing dims after leading ones), 'column' (b equals out's leading dims followed by ones), or
 * null. Returns the period for the mode.
 */
function layoutOf(b: readonly number[], out: readonly number[]): { mode: 'suffix' | 'column'; period: number } | null {
  const nd = out.length;
  const pb = [...new Array<number>(nd - b.length).fill(1), ...b];
  // suffix: pb = [1, ..., 1, out[k], ..., out[nd-1]]
  let k = 0;
  while (k < nd && pb[k] === 1 && out[k] !== 1) k++;
  let suffix = true;
  for (let d = k; d < nd; d++) if (pb[d] !== out[d]) suffix = false;
  if (suffix) return { mode: 'suffix', period: numel(out.slice(k)) };
  // column: pb = [out[0], ..., out[k-1], 1, ..., 1]
  let j = nd;
  while (j > 0 && pb[j - 1] === 1) j--;
  for (let d = 0; d < j; d++) if (pb[d] !== out[d]) return null;
  return { mode: 'column', period: numel(out.slice(j)) };
}

function binary(addon: NativeAddon, name: BinOpName): BinaryKernel {
  const op = BIN_OPS.indexOf(name);
  const isCmp = op >= BIN_OPS.indexOf('eq');
  return (a, b) => {
    if (!isF32(a) || !isF32(b)) return ref(name)(a, b);
    const shape = broadcastShapes(a.shape, b.shape, name);
    const n = numel(shape);
    let mode: BinMode | null = null;
    let period = 1;
    if (sameShape(a.shape, b.shape)) mode = BinMode.Same;
    else if (b.data.length === 1 && a.data.length === n) mode = BinMode.BScalar;
    else if (a.data.length === 1 && b.data.length === n) mode = BinMode.AScalar;
    else if (a.data.length === n || b.data.length === n) {
      const aFull = a.data.length === n;
      const l = layoutOf(aFull ? b.shape : a.shape, shape);
      if (l && l.period > 0) {
        period = l.period;
        if (l.mode === 'suffix') mode = aFull ? BinMode.BSuffix : BinMode.ASuffix;
        else mode = aFull ? BinMode.BColumn : BinMode.AColumn;
      }
    }
    if (mode === null || n === 0) return ref(name)(a, b);
    if (isCmp) {
      const o = new Uint8Array(n);
      addon.binary(op, mode, a.data, b.data, o, n, period);
      return { data: o, shape, dtype: 'bool' };
    }
    const o = allocF32(n, false);
    addon.binary(op, mode, a.data, b.data, o, n, period);
    return { data: o, shape, dtype: 'float32' };
  };
}

function unary(addon: NativeAddon, name: UnOpName & keyof Kernels): UnaryKernel {
  const op = UN_OPS.indexOf(name);
  return (x) => {
    if (!isF32(x)) return (ref(name) as UnaryKernel)(x);
    const o = allocF32(x.data.length, false);
    addon.unary(op, x.data, o, 0, 0);
    return { data: o, shape: [...x.shape], dtype: 'float32' };
  };
}

function sameF32(...xs: TensorData[]): boolean {
  return xs.every(isF32) && xs.every((x) => sameShape(x.shape, xs[0].shape));
}

/** (outer, n, inner) for reducing a contiguous run of axes, or null when the axes are not contiguous. */
function reductionSplit(
  shape: readonly number[],
  axes: readonly number[],
): { outer: number; n: number; inner: number } | null {
  if (axes.length === 0) return null;
  for (let i = 1; i < axes.length; i++) if (axes[i] !== axes[i - 1] + 1) return null;
  const first = axes[0];
  const last = axes[axes.length - 1];
  return {
    outer: numel(shape.slice(0, first)),
    n: numel(shape.slice(first, last + 1)),
    inner: numel(shape.slice(last + 1)),
  };
}

function reduction(addon: NativeAddon, name: 'sum' | 'max') {
  return (x: TensorData, attrs: AxesAttrs): TensorData => {
    const split = isF32(x) ? reductionSplit(x.shape, attrs.axes) : null;
    if (!split || split.n === 0 || x.data.length === 0) return ref(name)(x, attrs);
    const shape: number[] = [];
    x.shape.forEach((d, i) => {
      if (!attrs.axes.includes(i)) shape.push(d);
      else if (attrs.keepdim) shape.push(1);
    });
    const o = allocF32(split.outer * split.inner, false);
    addon.reduce(name === 'max', f32(x), o, split.outer, split.n, split.inner);
    return { data: o, shape, dtype: 'float32' };
  };
}

export function elementwiseKernels(addon: NativeAddon): Partial<Kernels> {
  const k: Partial<Kernels> = {};
  for (const name of BIN_OPS) k[name] = binary(addon, name);
  for (const name of ['neg', 'exp', 'log', 'sqrt', 'rsqrt', 'abs', 'sign', 'tanh', 'erf', 'sigmoid', 'silu'] as const) {
    k[name] = unary(addon, name);
  }
  return {
    ...k,
    clamp: (x, attrs) => {
      if (!isF32(x)) return ref('clamp')(x, attrs);
      const o = allocF32(x.data.length, false);
      addon.unary(UN_OPS.indexOf('clamp'), x.data, o, attrs.min, attrs.max);
      return { data: o, shape: [...x.shape], dtype: 'float32' };
    },
    gelu: (x, attrs) => {
      if (!isF32(x)) return ref('gelu')(x, attrs);
      const o = allocF32(x.data.length, false);
      addon.unary(UN_OPS.indexOf(attrs.approximate === 'tanh' ? 'geluTanh' : 'gelu'), x.data, o, 0, 0);
      return { data: o, shape: [...x.shape], dtype: 'float32' };
    },
    geluBackward: (x, dy, attrs) => {
      if (!sameF32(x, dy)) return ref('geluBackward')(x, dy, attrs);
      const o = allocF32(x.data.length, false);
      addon.geluBackward(f32(x), f32(dy), o, attrs.approximate === 'tanh');
      return { data: o, shape: [...x.shape], dtype: 'float32' };
    },
    swiglu: (a, b) => {
      if (!sameF32(a, b)) return ref('swiglu')(a, b);
      const o = allocF32(a.data.length, false);
      addon.swiglu(f32(a), f32(b), o);
      return { data: o, shape: [...a.shape], dtype: 'float32' };
    },
    swigluBackward: (a, b, dy) => {
      if (!sameF32(a, b, dy)) return ref('swigluBackward')(a, b, dy);
      const da = allocF32(a.data.length, false);
      const db = allocF32(a.data.length, false);
      addon.swigluBackward(f32(a), f32(b), f32(dy), da, db);
      return {
        da: { data: da, shape: [...a.shape], dtype: 'float32' },
        db: { data: db, shape: [...a.shape], dtype: 'float32' },
      };
    },
    sum: reduction(addon, 'sum'),
    max: reduction(addon, 'max'),
  };
}
