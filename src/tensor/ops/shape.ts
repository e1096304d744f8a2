/**
 * Shape ops with autograd: reshape (a view sharing data), squeeze/unsqueeze/flatten, permute/transpose (copies),
 * expand, concat/stack, split/chunk, slice and sliceScatter.
 */
import { runKernel } from '../../backend/registry.js';
import { type Shape, broadcastShapes, checkShape, normAxis, numel, sameShape, shapeStr } from '../shape.js';
import { Tensor, record, recordParts } from '../tensor.js';
import { concatParts, sumTo, wrap, zerosOf } from './util.js';

// Backward rules are built by these module-level functions, so that a rule's closure holds its arguments only: an arrow
// written inside an op shares one scope object with every other arrow there (V8 allocates one context per call), so a
// helper like `shape.map((d, i) => x.shape[i])` would make the rule keep the op's input tensor alive.
type Rule = (g: Tensor) => Tensor[];
const reshapeRule =
  (xs: readonly number[]): Rule =>
  (g) => [reshape(g, xs)];
const permuteRule =
  (inv: readonly number[]): Rule =>
  (g) => [permute(g, inv)];
const sumToRule =
  (xs: readonly number[]): Rule =>
  (g) => [sumTo(g, xs)];
const splitRule =
  (sizes: readonly number[], axis: number): Rule =>
  (g) =>
    split(g, sizes, axis);
/** split's rule: the parts' gradients concatenated (zeros for a part that got none), one copy in all. */
const splitPartsRule =
  (xs: readonly number[], sizes: readonly number[], axis: number) =>
  (parts: readonly (Tensor | null)[]): Tensor =>
    concatParts(parts, xs, sizes, axis);

const sliceRule =
  (xs: readonly number[], starts: number[], ends: number[]): Rule =>
  (g) => [wrap(runKernel('sliceScatter', zerosOf(xs, g.dtype), g, { starts, ends }))];

/** Resolves one -1 entry and checks the element count. */
function resolveShape(x: Tensor, shape: readonly number[], op: string): number[] {
  const out = [...shape];
  const free = out.indexOf(-1);
  if (free !== out.lastIndexOf(-1)) throw new RangeError(`${op}: only one dim can be -1 in ${shapeStr(shape)}`);
  if (free >= 0) {
    const rest = numel(out.filter((_, i) => i !== free));
    if (rest === 0 || x.size % rest !== 0)
      throw new RangeError(`${op}: cannot reshape ${shapeStr(x.shape)} into ${shapeStr(shape)}`);
    out[free] = x.size / rest;
  }
  checkShape(out, op);
  if (numel(out) !== x.size) {
    throw new RangeError(
      `${op}: cannot reshape ${shapeStr(x.shape)} (${x.size} elements) into ${shapeStr(shape)} (${numel(out)})`,
    );
  }
  return out;
}

/** A view of `x` with a new shape (one dim may be -1). Shares data. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const s = resolveShape(x, shape, 'reshape');
  if (sameShape(s, x.shape)) return x;
  const out = new Tensor(x.data, s, x.dtype);
  return record(out, 'reshape', [x], reshapeRule(x.shape));
}

/** Flattens dims start..end (inclusive) into one. */
export function flatten(x: Tensor, start = 0, end = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normAxis(start, x.ndim, 'flatten');
  const e = normAxis(end, x.ndim, 'flatten');
  const shape = [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
}

/** Inserts a size-1 dim at `axis`. */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = normAxis(axis, x.ndim + 1, 'unsqueeze');
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}

/** Removes size-1 dims (all, or the given one). */
export function squeeze(x: Tensor, axis?: number): Tensor {
  if (axis === undefined)
    return reshape(
      x,
      x.shape.filter((d) => d !== 1),
    );
  const a = normAxis(axis, x.ndim, 'squeeze');
  if (x.shape[a] !== 1) return x;
  return reshape(x, [...x.shape.slice(0, a), ...x.shape.slice(a + 1)]);
}

/** Reorders dims (copies the data). */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const p = perm.map((a) => normAxis(a, x.ndim, 'permute'));
  if (p.length !== x.ndim || new Set(p).size !== p.length) {
    throw new RangeError(`permute: ${shapeStr(perm)} is not a permutation of ${x.ndim} dims`);
  }
  if (p.every((v, i) => v === i)) return x;
  const out = wrap(runKernel('permute', x, { perm: p }));
  const inv = new Array<number>(p.length);
  p.forEach((v, i) => (inv[v] = i));
  return record(out, 'permute', [x], permuteRule(inv));
}

/** Swaps two dims (copies). */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const i = normAxis(a, x.ndim, 'transpose');
  const j = normAxis(b, x.ndim, 'transpose');
  const perm = x.shape.map((_, k) => k);
  perm[i] = j;
  perm[j] = i;
  return permute(x, perm);
}

/** Broadcasts to `shape` (materialised). The gradient is summed back. */
export function expand(x: Tensor, shape: Shape): Tensor {
  const target = shape.map((d, i) => (d === -1 ? x.shape[i - (shape.length - x.ndim)] : d));
  const b = broadcastShapes(x.shape, target, 'expand');
  if (!sameShape(b, target)) throw new RangeError(`expand: ${shapeStr(x.shape)} cannot expand to ${shapeStr(shape)}`);
  if (sameShape(x.shape, target)) return x;
  const out = wrap(runKernel('broadcastTo', x, { shape: target }));
  return record(out, 'expand', [x], sumToRule(x.shape));
}

/** Joins tensors along an existing axis. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new RangeError('concat: needs at least one tensor');
  const first = xs[0];
  const a = normAxis(axis, first.ndim, 'concat');
  for (const x of xs) {
    const ok = x.ndim === first.ndim && x.shape.every((d, i) => i === a || d === first.shape[i]);
    if (!ok)
      throw new RangeError(`concat: shapes ${shapeStr(first.shape)} and ${shapeStr(x.shape)} differ outside axis ${a}`);
    if (x.dtype !== first.dtype) throw new TypeError(`concat: dtypes ${first.dtype} and ${x.dtype} differ`);
  }
  if (xs.length === 1) return first;
  const out = wrap(runKernel('concat', xs, { axis: a }));
  return record(
    out,
    'concat',
    xs,
    splitRule(
      xs.map((x) => x.shape[a]),
      a,
    ),
  );
}

/** Stacks same-shape tensors along a new axis. */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new RangeError('stack: needs at least one tensor');
  const a = normAxis(axis, xs[0].ndim + 1, 'stack');
  return concat(
    xs.map((x) => unsqueeze(x, a)),
    a,
  );
}

/** Slices `x` along every dim: `ranges[i] = [start, end]` (negative values count from the end; missing = whole dim). */
export function slice(x: Tensor, ranges: readonly (readonly [number, number] | null | undefined)[]): Tensor {
  if (ranges.length > x.ndim) throw new RangeError(`slice: ${ranges.length} ranges for a tensor with ${x.ndim} dims`);
  const starts: number[] = [];
  const ends: number[] = [];
  for (let i = 0; i < x.ndim; i++) {
    const n = x.shape[i];
    const r = ranges[i];
    let s = r ? r[0] : 0;
    let e = r ? r[1] : n;
    if (s < 0) s += n;
    if (e < 0) e += n;
    s = Math.max(0, Math.min(n, s));
    e = Math.max(s, Math.min(n, e));
    starts.push(s);
    ends.push(e);
  }
  if (starts.every((s, i) => s === 0 && ends[i] === x.shape[i])) return x;
  const out = wrap(runKernel('slice', x, { starts, ends }));
  return record(out, 'slice', [x], sliceRule(x.shape, starts, ends));
}

/** `x[..., start:end, ...]` along one axis. */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  const a = normAxis(axis, x.ndim, 'narrow');
  const ranges: ([number, number] | null)[] = x.shape.map(() => null);
  ranges[a] = [start, start + length];
  return slice(x, ranges);
}

/** A copy of `base` with the region `starts..ends` replaced by `src` (gradients flow to both). */
export function sliceScatter(base: Tensor, src: Tensor, starts: readonly number[], ends: readonly number[]): Tensor {
  const region = starts.map((s, i) => ends[i] - s);
  if (!sameShape(region, src.shape)) {
    throw new RangeError(`sliceScatter: source ${shapeStr(src.shape)} does not match region ${shapeStr(region)}`);
  }
  const out = wrap(runKernel('sliceScatter', base, src, { starts, ends }));
  const ss = src.shape;
  return record(out, 'sliceScatter', [base, src], (g) => {
    const zeros = zerosOf(ss, g.dtype);
    return [wrap(runKernel('sliceScatter', g, zeros, { starts, ends })), wrap(runKernel('slice', g, { starts, ends }))];
  });
}

/** Splits along `axis` into pieces of the given sizes, or of `size` each (the last may be smaller). */
export function split(x: Tensor, sizes: number | readonly number[], axis = 0): Tensor[] {
  const a = normAxis(axis, x.ndim, 'split');
  const n = x.shape[a];
  let parts: number[];
  if (typeof sizes === 'number') {
    if (sizes <= 0) throw new RangeError(`split: size ${sizes} must be positive`);
    parts = [];
    for (let s = 0; s < n; s += sizes) parts.push(Math.min(sizes, n - s));
  } else {
    parts = [...sizes];
    const total = parts.reduce((p, q) => p + q, 0);
    if (total !== n) throw new RangeError(`split: sizes ${shapeStr(parts)} sum to ${total}, not dim ${a} of size ${n}`);
  }
  if (parts.length === 1) return [x];
  const out: Tensor[] = [];
  let start = 0;
  for (const p of parts) {
    const starts = x.shape.map(() => 0);
    const ends = [...x.shape];
    starts[a] = start;
    ends[a] = start + p;
    out.push(wrap(runKernel('slice', x, { starts, ends })));
    start += p;
  }
  recordParts(out, 'split', x, splitPartsRule(x.shape, parts, a));
  return out;
}

/** Splits into `chunks` nearly equal pieces along `axis`. */
export function chunk(x: Tensor, chunks: number, axis = 0): Tensor[] {
  const a = normAxis(axis, x.ndim, 'chunk');
  return split(x, Math.ceil(x.shape[a] / chunks), a);
}
