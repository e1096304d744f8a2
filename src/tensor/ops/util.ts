/** Helpers for writing ops: scalar promotion, wrapping kernel outputs, reducing broadcast gradients. */
import { runKernel } from '../../backend/registry.js';
import type { TensorData } from '../../backend/kernels.js';
import { type DType, allocArray, isFloat } from '../dtype.js';
import { numel, sameShape } from '../shape.js';
import { Tensor } from '../tensor.js';

/** A tensor or a plain number (which becomes a 0-d tensor of a matching dtype). */
export type TensorLike = Tensor | number;

export function wrap(d: TensorData): Tensor {
  return Tensor.fromData(d);
}

/** A 0-d tensor holding `v`, typed to combine with `like`. */
export function scalarLike(v: number, like: DType): Tensor {
  const dtype: DType = isFloat(like) ? like : Number.isInteger(v) && like !== 'bool' ? 'int32' : 'float32';
  const a = allocArray(dtype, 1);
  a[0] = v;
  return new Tensor(a, [], dtype);
}

export function asTensor(x: TensorLike, like: DType): Tensor {
  return typeof x === 'number' ? scalarLike(x, like) : x;
}

/** Converts to `dtype` if needed (no graph; used on gradients). */
export function castTo(t: Tensor, dtype: DType): Tensor {
  return t.dtype === dtype ? t : wrap(runKernel('cast', t, { dtype }));
}

/** Sums a broadcast gradient back down to `shape` (the inverse of broadcasting), keeping `dtype`. */
export function sumTo(g: Tensor, shape: readonly number[], dtype: DType = g.dtype): Tensor {
  if (sameShape(g.shape, shape)) return castTo(g, dtype);
  const lead = g.shape.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.shape.length; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const s = wrap(runKernel('sum', g, { axes, keepdim: true }));
  return castTo(new Tensor(s.data, shape, s.dtype), dtype);
}

/** A zero tensor (no graph). */
export function zerosOf(shape: readonly number[], dtype: DType): Tensor {
  return new Tensor(allocArray(dtype, numel(shape)), shape, dtype);
}

/**
 * The gradients of a several-output op's parts (null where a part got none) joined along `axis`: part i is `xs` with
 * `sizes[i]` on that axis, zeros where it got no gradient. At least one part is not null.
 */
export function concatParts(
  parts: readonly (Tensor | null)[],
  xs: readonly number[],
  sizes: readonly number[],
  axis: number,
): Tensor {
  const dtype = parts.find((g) => g !== null)!.dtype;
  const shapeOf = (i: number) => xs.map((d, j) => (j === axis ? sizes[i] : d));
  const filled = parts.map((g, i) => g ?? zerosOf(shapeOf(i), dtype));
  return filled.length === 1 ? filled[0] : wrap(runKernel('concat', filled, { axis }));
}
