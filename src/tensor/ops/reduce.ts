/** Reductions with autograd: sum, mean, max, min over any axes (keepdim), argmax, logsumexp. */
import { runKernel } from '../../backend/registry.js';
import { normAxes, normAxis } from '../shape.js';
import { type Tensor, record } from '../tensor.js';
import { add, cast, div, eq, exp, log, mul, neg, sub } from './elementwise.js';
import { reshape } from './shape.js';
import { wrap } from './util.js';

export interface ReduceOptions {
  /** Keep reduced dims as size 1. Default false. */
  keepdim?: boolean;
}

/** Shape of the result with reduced dims kept as 1: what a gradient is broadcast from. */
function keptShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

/** Sum over `axes` (all by default). */
export function sum(x: Tensor, axes?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
  const ax = normAxes(axes, x.ndim, 'sum');
  const keepdim = opts.keepdim ?? false;
  const out = wrap(runKernel('sum', x, { axes: ax, keepdim }));
  const xs = x.shape; // backward closures capture shapes, not the input (../tensor.ts header)
  return record(out, 'sum', [x], (g) => [wrap(runKernel('broadcastTo', reshape(g, keptShape(xs, ax)), { shape: xs }))]);
}

/** Mean over `axes` (all by default). */
export function mean(x: Tensor, axes?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
  const ax = normAxes(axes, x.ndim, 'mean');
  const count = ax.reduce((n, a) => n * x.shape[a], 1);
  const s = sum(x.dtype === 'float32' || x.dtype === 'float64' ? x : cast(x, 'float32'), ax, opts);
  return div(s, count);
}

/**
 * Max over `axes` (all by default). The gradient goes to the positions equal to the max, split evenly between ties
 * (PyTorch's amax rule).
 */
export function max(x: Tensor, axes?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
  const ax = normAxes(axes, x.ndim, 'max');
  const keepdim = opts.keepdim ?? false;
  const out = wrap(runKernel('max', x, { axes: ax, keepdim }));
  return record(out, 'max', [x], (g) => {
    const kept = keptShape(x.shape, ax);
    const mask = cast(eq(x, reshape(out, kept)), g.dtype);
    const count = wrap(runKernel('sum', mask, { axes: ax, keepdim: true }));
    return [mul(mask, div(reshape(g, kept), count))];
  });
}

/** Min over `axes` (all by default): -max(-x). */
export function min(x: Tensor, axes?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
  return neg(max(neg(x), axes, opts));
}

/** Index of the first maximum along `axis` (int32, no gradient). */
export function argmax(x: Tensor, axis = -1, opts: ReduceOptions = {}): Tensor {
  return wrap(runKernel('argmax', x, { axis: normAxis(axis, x.ndim, 'argmax'), keepdim: opts.keepdim ?? false }));
}

/** log(sum(exp(x))) over `axes`, computed stably. */
export function logsumexp(x: Tensor, axes?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
  const ax = normAxes(axes, x.ndim, 'logsumexp');
  // The shift is a constant (no gradient); rows whose max is not finite are shifted by 0.
  const m = wrap(runKernel('max', x, { axes: ax, keepdim: true }));
  for (let i = 0; i < m.data.length; i++) if (!Number.isFinite(m.data[i])) m.data[i] = 0;
  const s = log(sum(exp(sub(x, m)), ax, { keepdim: true }));
  const r = add(s, m);
  return opts.keepdim
    ? r
    : reshape(
        r,
        x.shape.filter((_, i) => !ax.includes(i)),
      );
}
