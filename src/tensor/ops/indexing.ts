/** Indexing ops with autograd: gather / scatterAdd, indexSelect / indexAdd, embedding, where, maskedFill. */
import { runKernel } from '../../backend/registry.js';
import type { TensorData } from '../../backend/kernels.js';
import { normAxis, shapeStr } from '../shape.js';
import { Tensor, record, recordParts } from '../tensor.js';
import { reshape } from './shape.js';
import { type TensorLike, asTensor, sumTo, wrap, zerosOf } from './util.js';

function requireIndex(op: string, index: TensorData, oneDim: boolean): void {
  if (index.dtype !== 'int32') throw new TypeError(`${op}: index must be int32, got ${index.dtype}`);
  if (oneDim && index.shape.length !== 1)
    throw new RangeError(`${op}: index must be 1-D, got ${shapeStr(index.shape)}`);
}

function checkGatherShapes(op: string, x: Tensor, index: Tensor, axis: number): void {
  const ok = index.ndim === x.ndim && index.shape.every((d, i) => i === axis || d <= x.shape[i]);
  if (!ok)
    throw new RangeError(
      `${op}: index ${shapeStr(index.shape)} does not fit input ${shapeStr(x.shape)} outside axis ${axis}`,
    );
}

/** torch.gather: out[i][j][k] = x[i][index[i][j][k]][k] for axis 1. */
export function gather(x: Tensor, axis: number, index: Tensor): Tensor {
  requireIndex('gather', index, false);
  const a = normAxis(axis, x.ndim, 'gather');
  checkGatherShapes('gather', x, index, a);
  const out = wrap(runKernel('gather', x, index, { axis: a }));
  const xs = x.shape; // backward closures capture shapes, not the input (../tensor.ts header)
  return record(out, 'gather', [x], (g) => [
    wrap(runKernel('scatterAdd', zerosOf(xs, g.dtype), index, g, { axis: a })),
  ]);
}

/** torch.scatter_add (returns a new tensor): out = x; out[index[i][j][k]][j][k] += src[i][j][k] for axis 0. */
export function scatterAdd(x: Tensor, axis: number, index: Tensor, src: Tensor): Tensor {
  requireIndex('scatterAdd', index, false);
  const a = normAxis(axis, x.ndim, 'scatterAdd');
  if (index.ndim !== src.ndim || index.shape.some((d, i) => d !== src.shape[i])) {
    throw new RangeError(
      `scatterAdd: index ${shapeStr(index.shape)} and src ${shapeStr(src.shape)} must have the same shape`,
    );
  }
  checkGatherShapes('scatterAdd', x, index, a);
  const out = wrap(runKernel('scatterAdd', x, index, src, { axis: a }));
  return record(out, 'scatterAdd', [x, src], (g) => [g, wrap(runKernel('gather', g, index, { axis: a }))]);
}

/** torch.index_select: picks entries `index` (1-D int32) along `axis`. */
export function indexSelect(x: Tensor, axis: number, index: Tensor): Tensor {
  requireIndex('indexSelect', index, true);
  const a = normAxis(axis, x.ndim, 'indexSelect');
  const out = wrap(runKernel('indexSelect', x, index, { axis: a }));
  const xs = x.shape;
  return record(out, 'indexSelect', [x], (g) => [
    wrap(runKernel('indexAdd', zerosOf(xs, g.dtype), index, g, { axis: a })),
  ]);
}

/**
 * indexSelect once per group of `index`: the index is cut into consecutive groups of `sizes` (summing to its length)
 * and part g is `indexSelect(x, axis, group g)`. One autograd node for all parts: the backward concatenates the parts'
 * gradients and adds them into x's gradient with one indexAdd, where separate indexSelects would each build a full-size
 * gradient of x, all then summed (MoE's per-expert token gathers).
 */
export function indexSelectGroups(x: Tensor, axis: number, index: Tensor, sizes: readonly number[]): Tensor[] {
  requireIndex('indexSelectGroups', index, true);
  const a = normAxis(axis, x.ndim, 'indexSelectGroups');
  const total = sizes.reduce((p, q) => p + q, 0);
  if (total !== index.size || sizes.some((n) => !Number.isInteger(n) || n < 0))
    throw new RangeError(
      `indexSelectGroups: group sizes [${sizes.join(', ')}] must be whole numbers summing to the ${index.size} indices`,
    );
  const idx = index.data as Int32Array;
  const parts: Tensor[] = [];
  let start = 0;
  for (const n of sizes) {
    const group = new Tensor(idx.subarray(start, start + n), [n], 'int32');
    parts.push(wrap(runKernel('indexSelect', x, group, { axis: a })));
    start += n;
  }
  recordParts(parts, 'indexSelectGroups', x, indexSelectGroupsRule(x.shape, index, sizes, a));
  return parts;
}

/** indexSelectGroups' rule (holds the index and shapes only): the parts' gradients added in place of x's rows. */
function indexSelectGroupsRule(xs: readonly number[], index: Tensor, sizes: readonly number[], axis: number) {
  return (parts: readonly (Tensor | null)[]): Tensor => {
    const dtype = parts.find((g) => g !== null)!.dtype;
    const filled = parts.map(
      (g, i) =>
        g ??
        zerosOf(
          xs.map((d, j) => (j === axis ? sizes[i] : d)),
          dtype,
        ),
    );
    return wrap(runKernel('indexAddParts', zerosOf(xs, dtype), index, filled, { axis }));
  };
}

/**
 * indexAdd(x, axis, index, concat(parts, axis)) without joining the parts (an MoE layer's expert outputs added back
 * at their tokens): the same numbers, with one copy fewer forward and none backward (each part's gradient is the
 * gradient's rows at its own indices).
 */
export function indexAddGroups(x: Tensor, axis: number, index: Tensor, parts: readonly Tensor[]): Tensor {
  requireIndex('indexAddGroups', index, true);
  const a = normAxis(axis, x.ndim, 'indexAddGroups');
  const out = wrap(runKernel('indexAddParts', x, index, parts, { axis: a }));
  const sizes = parts.map((p) => p.shape[a]);
  return record(out, 'indexAddGroups', [x, ...parts], indexAddGroupsRule(index, sizes, a));
}

/** indexAddGroups' rule (holds the index and sizes only). */
function indexAddGroupsRule(index: Tensor, sizes: readonly number[], axis: number): (g: Tensor) => Tensor[] {
  return (g) => {
    const idx = index.data as Int32Array;
    let j0 = 0;
    const grads = sizes.map((m) => {
      const part = new Tensor(idx.subarray(j0, j0 + m), [m], 'int32');
      j0 += m;
      return wrap(runKernel('indexSelect', g, part, { axis }));
    });
    return [g, ...grads];
  };
}

/** torch.index_add (returns a new tensor): out = x; out[index[j]] += src[j] along `axis` (duplicates accumulate). */
export function indexAdd(x: Tensor, axis: number, index: Tensor, src: Tensor): Tensor {
  requireIndex('indexAdd', index, true);
  const a = normAxis(axis, x.ndim, 'indexAdd');
  const ok = src.ndim === x.ndim && src.shape.every((d, i) => (i === a ? d === index.size : d === x.shape[i]));
  if (!ok) {
    throw new RangeError(
      `indexAdd: src ${shapeStr(src.shape)} does not match input ${shapeStr(x.shape)} with ${index.size} indices on axis ${a}`,
    );
  }
  const out = wrap(runKernel('indexAdd', x, index, src, { axis: a }));
  return record(out, 'indexAdd', [x, src], indexAddRule(index, a));
}

/** indexAdd's rule, built outside the op so that it holds only `index` (the op's scope has arrows that read x). */
function indexAddRule(index: Tensor, axis: number): (g: Tensor) => Tensor[] {
  return (g) => [g, wrap(runKernel('indexSelect', g, index, { axis }))];
}

/** Embedding lookup: rows of `weight` (V, D) for int32 `ids` of any shape; returns (...ids.shape, D). */
export function embedding(weight: Tensor, ids: Tensor): Tensor {
  requireIndex('embedding', ids, false);
  if (weight.ndim !== 2) throw new RangeError(`embedding: weight must be (vocab, dim), got ${shapeStr(weight.shape)}`);
  const flat = reshape(ids, [ids.size]);
  // bfloat16 weights (inference-only) are decoded row by row; they never require grad.
  if (weight.dtype === 'bfloat16')
    return reshape(wrap(runKernel('bf16Rows', weight, flat)), [...ids.shape, weight.shape[1]]);
  return reshape(indexSelect(weight, 0, flat), [...ids.shape, weight.shape[1]]);
}

/** cond ? a : b, broadcasting all three; `cond` is a bool tensor. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  if (cond.dtype !== 'bool') throw new TypeError(`where: condition must be bool, got ${cond.dtype}`);
  const ta = typeof a === 'number' ? asTensor(a, typeof b === 'number' ? 'float32' : b.dtype) : a;
  const tb = typeof b === 'number' ? asTensor(b, ta.dtype) : b;
  if (ta.dtype !== tb.dtype) throw new TypeError(`where: dtypes ${ta.dtype} and ${tb.dtype} differ`);
  const out = wrap(runKernel('where', cond, ta, tb));
  const [wantA, wantB, shapeA, shapeB] = [ta.requiresGrad, tb.requiresGrad, ta.shape, tb.shape];
  return record(out, 'where', [ta, tb], (g) => {
    const zero = asTensor(0, g.dtype);
    return [
      wantA ? sumTo(wrap(runKernel('where', cond, g, zero)), shapeA) : null,
      wantB ? sumTo(wrap(runKernel('where', cond, zero, g)), shapeB) : null,
    ];
  });
}

/** Returns x with `value` wherever `mask` (bool, broadcastable) is true. */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  return where(mask, asTensor(value, x.dtype), x);
}
