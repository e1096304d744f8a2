/** Creating tensors: from JS data, filled, ranges, and seeded random (same seed = same numbers on every machine). */
import { type DType, type FloatDType, type TypedArray, allocArray, dtypeOfArray, isFloat } from './dtype.js';
import { type Generator, getDefaultGenerator } from './random.js';
import { type Shape, checkShape, numel, shapeStr } from './shape.js';
import { Tensor } from './tensor.js';

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

export interface RandomOptions {
  dtype?: FloatDType;
  requiresGrad?: boolean;
  /** Defaults to the process-wide generator (see `manualSeed`). */
  generator?: Generator;
}

/** Nested arrays of numbers or booleans, or a flat typed array. */
export type NestedArray = number | boolean | readonly NestedArray[];

function finish(t: Tensor, opts: { requiresGrad?: boolean }): Tensor {
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
  }
  return shape;
}

function flattenInto(data: NestedArray, shape: number[], depth: number, out: number[]): void {
  if (depth === shape.length) {
    if (Array.isArray(data)) throw new RangeError(`tensor: ragged nested array (too deep at depth ${depth})`);
    out.push(typeof data === 'boolean' ? (data ? 1 : 0) : (data as number));
    return;
  }
  if (!Array.isArray(data)) throw new RangeError(`tensor: ragged nested array (expected a list at depth ${depth})`);
  if (data.length !== shape[depth]) {
    throw new RangeError(
      `tensor: ragged nested array at depth ${depth} (expected length ${shape[depth]}, got ${data.length})`,
    );
  }
  for (const d of data) flattenInto(d, shape, depth + 1, out);
}

/**
 * A tensor from nested arrays (`tensor([[1, 2], [3, 4]])`), a number, or a typed array (with `shape`).
 * The dtype defaults to float32, bool for booleans, or the typed array's own type; a typed array is not copied.
 */
export function tensor(data: NestedArray | TypedArray, opts: CreateOptions & { shape?: Shape } = {}): Tensor {
  if (ArrayBuffer.isView(data)) {
    const arr = data as TypedArray;
    const shape = opts.shape ?? [arr.length];
    const own = dtypeOfArray(arr);
    const dtype = opts.dtype ?? own;
    if (dtype === own) return finish(new Tensor(arr, shape, dtype), opts);
    const conv = allocArray(dtype, arr.length);
    conv.set(arr);
    return finish(new Tensor(conv, shape, dtype), opts);
  }
  const shape = inferShape(data as NestedArray);
  const flat: number[] = [];
  flattenInto(data as NestedArray, shape, 0, flat);
  const first = (function leaf(d: NestedArray): NestedArray {
    return Array.isArray(d) && d.length ? leaf(d[0]) : d;
  })(data as NestedArray);
  const dtype = opts.dtype ?? (typeof first === 'boolean' ? 'bool' : 'float32');
  const arr = allocArray(dtype, flat.length);
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i];
    if (dtype === 'int32' && !Number.isInteger(v)) throw new TypeError(`tensor: ${v} is not an integer (dtype int32)`);
    arr[i] = dtype === 'bool' ? (v ? 1 : 0) : v;
  }
  const final = opts.shape ?? shape;
  if (numel(final) !== flat.length)
    throw new RangeError(`tensor: ${flat.length} values do not fill shape ${shapeStr(final)}`);
  return finish(new Tensor(arr, final, dtype), opts);
}

/** A tensor of `shape` filled with `value`. */
export function full(shape: Shape, value: number, opts: CreateOptions = {}): Tensor {
  checkShape(shape, 'full');
  const dtype = opts.dtype ?? 'float32';
  const arr = allocArray(dtype, numel(shape));
  if (value !== 0) arr.fill(dtype === 'bool' ? (value ? 1 : 0) : value);
  return finish(new Tensor(arr, shape, dtype), opts);
}

export const zeros = (shape: Shape, opts: CreateOptions = {}): Tensor => full(shape, 0, opts);
export const ones = (shape: Shape, opts: CreateOptions = {}): Tensor => full(shape, 1, opts);
export const zerosLike = (t: Tensor, opts: CreateOptions = {}): Tensor => full(t.shape, 0, { dtype: t.dtype, ...opts });
export const onesLike = (t: Tensor, opts: CreateOptions = {}): Tensor => full(t.shape, 1, { dtype: t.dtype, ...opts });
export const fullLike = (t: Tensor, value: number, opts: CreateOptions = {}): Tensor =>
  full(t.shape, value, { dtype: t.dtype, ...opts });

/** Values start, start+step, ... below end (`arange(5)` = 0..4). Integer arguments give int32 unless dtype says otherwise. */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  if (step === 0) throw new RangeError('arange: step must be non-zero');
  const n = Math.max(0, Math.ceil((end - start) / step));
  const ints = Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step);
  const dtype = opts.dtype ?? (ints ? 'int32' : 'float32');
  const arr = allocArray(dtype, n);
  for (let i = 0; i < n; i++) arr[i] = start + i * step;
  return finish(new Tensor(arr, [n], dtype), opts);
}

/** n evenly spaced values from start to end inclusive. */
export function linspace(start: number, end: number, n: number, opts: CreateOptions = {}): Tensor {
  const dtype = opts.dtype ?? 'float32';
  const arr = allocArray(dtype, n);
  for (let i = 0; i < n; i++) arr[i] = n === 1 ? start : start + ((end - start) * i) / (n - 1);
  return finish(new Tensor(arr, [n], dtype), opts);
}

/** Identity matrix. */
export function eye(n: number, opts: CreateOptions = {}): Tensor {
  const t = zeros([n, n], opts);
  for (let i = 0; i < n; i++) t.data[i * n + i] = 1;
  return t;
}

function randomDtype(op: string, dtype: DType | undefined): FloatDType {
  const d = dtype ?? 'float32';
  if (!isFloat(d)) throw new TypeError(`${op}: dtype must be float32 or float64, got ${d}`);
  return d;
}

/** Samples from U[0, 1). */
export function rand(shape: Shape, opts: RandomOptions = {}): Tensor {
  checkShape(shape, 'rand');
  const dtype = randomDtype('rand', opts.dtype);
  const g = opts.generator ?? getDefaultGenerator();
  return finish(new Tensor(g.uniform(numel(shape), dtype), shape, dtype), opts);
}

/** Samples from N(0, 1). */
export function randn(shape: Shape, opts: RandomOptions = {}): Tensor {
  checkShape(shape, 'randn');
  const dtype = randomDtype('randn', opts.dtype);
  const g = opts.generator ?? getDefaultGenerator();
  return finish(new Tensor(g.normal(numel(shape), dtype), shape, dtype), opts);
}

/** Integers uniform in [low, high) (int32). */
export function randint(low: number, high: number, shape: Shape, opts: { generator?: Generator } = {}): Tensor {
  checkShape(shape, 'randint');
  const g = opts.generator ?? getDefaultGenerator();
  return new Tensor(g.integers(numel(shape), low, high), shape, 'int32');
}
