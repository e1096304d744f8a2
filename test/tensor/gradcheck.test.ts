/**
 * Finite-difference gradient checks (float64) for every differentiable op, on several shapes including broadcasting
 * and size-1 dims. The last test proves the table covers every op that records a backward rule, and that the checker
 * itself catches a wrong gradient.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as r from '../../src/index.js';
import { Generator, Tensor, tensor } from '../../src/index.js';
import { record } from '../../src/tensor/tensor.js';
import { assertGrad, opsIn, r64, u64 } from '../helpers/util.js';

interface Case {
  name: string;
  inputs: (g: Generator) => Tensor[];
  fn: (...xs: Tensor[]) => Tensor | readonly Tensor[];
}

const idx = (values: number[], shape?: number[]) => tensor(values, { dtype: 'int32', shape: shape ?? [values.length] });

const cases: Case[] = [
  // elementwise binary with broadcasting
  { name: 'add same shape', inputs: (g) => [r64([3, 4], g), r64([3, 4], g)], fn: (a, b) => r.add(a, b) },
  { name: 'add row broadcast', inputs: (g) => [r64([3, 4], g), r64([4], g)], fn: (a, b) => r.add(a, b) },
  { name: 'add two-sided broadcast', inputs: (g) => [r64([2, 1, 4], g), r64([3, 1], g)], fn: (a, b) => r.add(a, b) },
  { name: 'add 0-d and scalar', inputs: (g) => [r64([], g), r64([2, 3], g)], fn: (a, b) => r.add(r.add(a, b), 2.5) },
  { name: 'sub broadcast', inputs: (g) => [r64([1, 3], g), r64([4, 1], g)], fn: (a, b) => r.sub(a, b) },
  { name: 'sub scalar left', inputs: (g) => [r64([2, 2], g)], fn: (a) => r.sub(1, a) },
  { name: 'mul broadcast size-1', inputs: (g) => [r64([2, 3, 1], g), r64([1, 3, 5], g)], fn: (a, b) => r.mul(a, b) },
  { name: 'mul same tensor twice', inputs: (g) => [r64([5], g)], fn: (a) => r.mul(a, a) },
  { name: 'div broadcast', inputs: (g) => [r64([3, 4], g), u64([4], g, 0.5, 2)], fn: (a, b) => r.div(a, b) },
  { name: 'div scalar numerator', inputs: (g) => [u64([3], g, 0.5, 2)], fn: (a) => r.div(2, a) },
  { name: 'pow tensor^tensor', inputs: (g) => [u64([2, 3], g, 0.5, 2), r64([3], g)], fn: (a, b) => r.pow(a, b) },
  { name: 'pow tensor^3', inputs: (g) => [r64([4], g)], fn: (a) => r.pow(a, 3) },
  { name: 'maximum', inputs: (g) => [r64([3, 4], g), r64([4], g)], fn: (a, b) => r.maximum(a, b) },
  { name: 'minimum', inputs: (g) => [r64([2, 1], g), r64([2, 3], g)], fn: (a, b) => r.minimum(a, b) },
  // unary
  { name: 'neg', inputs: (g) => [r64([3], g)], fn: (a) => r.neg(a) },
  { name: 'exp', inputs: (g) => [r64([2, 3], g)], fn: (a) => r.exp(a) },
  { name: 'log', inputs: (g) => [u64([2, 3], g, 0.2, 3)], fn: (a) => r.log(a) },
  { name: 'sqrt', inputs: (g) => [u64([4], g, 0.2, 3)], fn: (a) => r.sqrt(a) },
  { name: 'rsqrt', inputs: (g) => [u64([4], g, 0.2, 3)], fn: (a) => r.rsqrt(a) },
  { name: 'abs', inputs: (g) => [u64([6], g, 0.1, 1), u64([6], g, -1, -0.1)], fn: (a, b) => r.add(r.abs(a), r.abs(b)) },
  { name: 'tanh', inputs: (g) => [r64([3, 2], g)], fn: (a) => r.tanh(a) },
  { name: 'erf', inputs: (g) => [r64([3, 2], g)], fn: (a) => r.erf(r.mul(a, 2)) },
  { name: 'sigmoid', inputs: (g) => [r64([5], g)], fn: (a) => r.sigmoid(r.mul(a, 3)) },
  { name: 'silu', inputs: (g) => [r64([5], g)], fn: (a) => r.silu(r.mul(a, 3)) },
  { name: 'gelu exact', inputs: (g) => [r64([6], g)], fn: (a) => r.gelu(r.mul(a, 2)) },
  { name: 'gelu tanh', inputs: (g) => [r64([6], g)], fn: (a) => r.gelu(r.mul(a, 2), 'tanh') },
  { name: 'swiglu', inputs: (g) => [r64([2, 5], g), r64([2, 5], g)], fn: (a, b) => r.swiglu(a, b) },
  { name: 'clamp', inputs: (g) => [r64([3, 4], g)], fn: (a) => r.clamp(a, -0.5, 0.7) },
  { name: 'sin', inputs: (g) => [r64([5], g)], fn: (a) => r.sin(r.mul(a, 2)) },
  { name: 'cos', inputs: (g) => [r64([5], g)], fn: (a) => r.cos(r.mul(a, 2)) },
  // reductions
  { name: 'sum all', inputs: (g) => [r64([2, 3, 4], g)], fn: (a) => r.sum(a) },
  { name: 'sum axes keepdim', inputs: (g) => [r64([2, 3, 4], g)], fn: (a) => r.sum(a, [0, 2], { keepdim: true }) },
  { name: 'sum negative axis', inputs: (g) => [r64([2, 1, 4], g)], fn: (a) => r.sum(a, -1) },
  { name: 'mean', inputs: (g) => [r64([3, 5], g)], fn: (a) => r.mean(a, 1) },
  { name: 'max axis', inputs: (g) => [r64([3, 5], g)], fn: (a) => r.max(a, 1) },
  { name: 'max all', inputs: (g) => [r64([2, 2, 3], g)], fn: (a) => r.max(a) },
  { name: 'min keepdim', inputs: (g) => [r64([4, 3], g)], fn: (a) => r.min(a, 0, { keepdim: true }) },
  { name: 'logsumexp', inputs: (g) => [r64([3, 4], g)], fn: (a) => r.logsumexp(a, 1) },
  // shape
  {
    name: 'reshape',
    inputs: (g) => [r64([2, 6], g)],
    fn: (a) => r.mul(r.reshape(a, [3, -1]), r.arange(4).cast('float64')),
  },
  {
    name: 'flatten/squeeze/unsqueeze',
    inputs: (g) => [r64([2, 1, 3], g)],
    fn: (a) => r.unsqueeze(r.squeeze(r.flatten(a, 1, 2), 0), 0),
  },
  { name: 'permute', inputs: (g) => [r64([2, 3, 4], g)], fn: (a) => r.permute(a, [2, 0, 1]) },
  { name: 'transpose', inputs: (g) => [r64([3, 1, 2], g)], fn: (a) => r.transpose(a, 0, 2) },
  { name: 'expand', inputs: (g) => [r64([3, 1], g)], fn: (a) => r.expand(a, [2, 3, 4]) },
  {
    name: 'concat',
    inputs: (g) => [r64([2, 3], g), r64([2, 1], g), r64([2, 2], g)],
    fn: (a, b, c) => r.concat([a, b, c], 1),
  },
  { name: 'stack', inputs: (g) => [r64([2, 3], g), r64([2, 3], g)], fn: (a, b) => r.stack([a, b], 1) },
  {
    name: 'slice',
    inputs: (g) => [r64([4, 5], g)],
    fn: (a) =>
      r.slice(a, [
        [1, 3],
        [-3, 5],
      ]),
  },
  { name: 'narrow', inputs: (g) => [r64([2, 6, 1], g)], fn: (a) => r.narrow(a, 1, 2, 3) },
  { name: 'split', inputs: (g) => [r64([5, 2], g)], fn: (a) => r.split(a, [2, 3], 0) },
  // split has one node for all its outputs: a part that gets no gradient, a part used twice, a split of a split
  { name: 'split, one part used', inputs: (g) => [r64([5, 2], g)], fn: (a) => r.split(a, [2, 3], 0)[1] },
  {
    name: 'split, a part used twice',
    inputs: (g) => [r64([2, 6], g)],
    fn: (a) => {
      const [p, q] = r.split(a, [3, 3], 1);
      return r.mul(r.add(p, q), p);
    },
  },
  {
    name: 'split of a split',
    inputs: (g) => [r64([2, 6], g)],
    fn: (a) => {
      const [p, q] = r.split(a, [2, 4], 1);
      const [, t] = r.split(q, [1, 3], 1);
      return r.concat([t, r.mul(p, p)], 1);
    },
  },
  { name: 'chunk', inputs: (g) => [r64([2, 7], g)], fn: (a) => r.chunk(a, 3, 1) },
  {
    name: 'sliceScatter',
    inputs: (g) => [r64([4, 4], g), r64([2, 3], g)],
    fn: (a, b) => r.sliceScatter(a, b, [1, 0], [3, 3]),
  },
  // indexing
  { name: 'gather', inputs: (g) => [r64([3, 4], g)], fn: (a) => r.gather(a, 1, idx([0, 3, 3, 1, 2, 0], [3, 2])) },
  { name: 'gather axis 0', inputs: (g) => [r64([3, 2], g)], fn: (a) => r.gather(a, 0, idx([2, 0, 1, 1], [2, 2])) },
  {
    name: 'scatterAdd',
    inputs: (g) => [r64([3, 4], g), r64([2, 4], g)],
    fn: (a, b) => r.scatterAdd(a, 0, idx([0, 2, 2, 1, 0, 0, 1, 2], [2, 4]), b),
  },
  { name: 'indexSelect', inputs: (g) => [r64([4, 3], g)], fn: (a) => r.indexSelect(a, 0, idx([3, 0, 3])) },
  { name: 'indexSelect axis 1', inputs: (g) => [r64([2, 5, 2], g)], fn: (a) => r.indexSelect(a, 1, idx([4, 4, 1])) },
  {
    // groups of 2, 0 and 3 indices, with rows picked in several groups; the empty group's part is unused
    name: 'indexSelectGroups',
    inputs: (g) => [r64([4, 3], g)],
    fn: (a) => {
      const [p, , q] = r.indexSelectGroups(a, 0, idx([3, 1, 1, 3, 0]), [2, 0, 3]);
      return r.concat([r.mul(p, p), q], 0);
    },
  },
  {
    name: 'indexSelectGroups axis 1, one group without a gradient',
    inputs: (g) => [r64([2, 5, 2], g)],
    fn: (a) => r.indexSelectGroups(a, 1, idx([4, 0, 4, 2]), [1, 3])[1],
  },
  {
    // two experts of 2 and 3 rows (D 3, I 4); token 2 and token 0 reach both experts, token 1 one; two slots unused
    name: 'moeExperts',
    inputs: (g) => [
      r64([5, 3], g),
      r64([3, 2], g),
      ...[0, 1].flatMap(() => [r64([4, 3], g), r64([4, 3], g), r64([3, 4], g)]),
    ],
    fn: (xs, w, ...m) =>
      r.moeExperts(
        xs,
        w,
        [
          { w1: m[0], w3: m[1], w2: m[2] },
          { w1: m[3], w3: m[4], w2: m[5] },
        ],
        {
          sizes: [2, 3],
          tokens: Int32Array.from([0, 2, 1, 2, 0]),
          slots: Int32Array.from([0, 4, 2, 5, 1]),
          nTokens: 3,
        },
      ),
  },
  {
    // MLA's attention from kv (B, Tk, H, nope + Dv) and the shared kPe (B, Tk, R): B 2, Tq 3, Tk 4 (causal aligned
    // to the end), H 2, nope 3, R 2, Dv 2, a query seeing no key
    name: 'mlaAttention',
    inputs: (g) => [r64([2, 3, 2, 5], g), r64([2, 4, 2, 5], g), r64([2, 4, 2], g)],
    fn: (q, kv, kPe) =>
      r.mlaAttention(q, kv, kPe, {
        nope: 3,
        scale: 0.6,
        keyStart: new Tensor(Int32Array.from([0, 3, 0, 1, 1, 2]), [2, 3], 'int32'),
      }),
  },
  {
    name: 'indexAdd with duplicates',
    inputs: (g) => [r64([4, 3], g), r64([3, 3], g)],
    fn: (a, b) => r.indexAdd(a, 0, idx([1, 1, 3]), b),
  },
  {
    // parts of 2, 0 and 3 rows, with duplicates across parts
    name: 'indexAddGroups',
    inputs: (g) => [r64([4, 3], g), r64([2, 3], g), r64([0, 3], g), r64([3, 3], g)],
    fn: (a, b, c, d) => r.indexAddGroups(a, 0, idx([1, 3, 3, 1, 0]), [b, c, d]),
  },
  {
    name: 'indexAddGroups axis 1',
    inputs: (g) => [r64([2, 4, 2], g), r64([2, 1, 2], g), r64([2, 2, 2], g)],
    fn: (a, b, c) => r.indexAddGroups(a, 1, idx([2, 2, 0]), [b, c]),
  },
  { name: 'embedding', inputs: (g) => [r64([5, 3], g)], fn: (w) => r.embedding(w, idx([0, 4, 4, 2], [2, 2])) },
  {
    name: 'where broadcast',
    inputs: (g) => [r64([2, 3], g), r64([3], g)],
    fn: (a, b) =>
      r.where(
        tensor([
          [true, false, true],
          [false, false, true],
        ]),
        a,
        b,
      ),
  },
  { name: 'maskedFill', inputs: (g) => [r64([2, 3], g)], fn: (a) => r.maskedFill(a, tensor([true, false, true]), -1) },
  // linear algebra
  { name: 'matmul 2-D', inputs: (g) => [r64([3, 4], g), r64([4, 5], g)], fn: (a, b) => r.matmul(a, b) },
  {
    name: 'matmul transA',
    inputs: (g) => [r64([4, 3], g), r64([4, 2], g)],
    fn: (a, b) => r.matmul(a, b, { transA: true }),
  },
  {
    name: 'matmul transB',
    inputs: (g) => [r64([3, 4], g), r64([2, 4], g)],
    fn: (a, b) => r.matmul(a, b, { transB: true }),
  },
  {
    name: 'matmul transA transB',
    inputs: (g) => [r64([4, 3], g), r64([2, 4], g)],
    fn: (a, b) => r.matmul(a, b, { transA: true, transB: true }),
  },
  { name: 'matmul batched', inputs: (g) => [r64([2, 3, 4], g), r64([2, 4, 2], g)], fn: (a, b) => r.matmul(a, b) },
  {
    name: 'matmul broadcast batch',
    inputs: (g) => [r64([1, 3, 4], g), r64([2, 1, 4, 2], g)],
    fn: (a, b) => r.matmul(a, b),
  },
  {
    name: 'matmul broadcast batch transB',
    inputs: (g) => [r64([2, 3, 4], g), r64([5, 4], g)],
    fn: (a, b) => r.matmul(a, b, { transB: true }),
  },
  { name: 'matmul vector', inputs: (g) => [r64([4], g), r64([4, 3], g)], fn: (a, b) => r.matmul(a, b) },
  { name: 'matmul size-1 dims', inputs: (g) => [r64([1, 1], g), r64([1, 3], g)], fn: (a, b) => r.matmul(a, b) },
  {
    name: 'linear with bias',
    inputs: (g) => [r64([2, 3, 4], g), r64([5, 4], g), r64([5], g)],
    fn: (x, w, b) => r.linear(x, w, b),
  },
  // neural-network primitives
  { name: 'softmax last', inputs: (g) => [r64([3, 5], g)], fn: (a) => r.softmax(a) },
  { name: 'softmax axis 0', inputs: (g) => [r64([3, 2, 2], g)], fn: (a) => r.softmax(a, 0) },
  { name: 'logSoftmax', inputs: (g) => [r64([2, 6], g)], fn: (a) => r.logSoftmax(a) },
  { name: 'logSoftmax axis 1 of 3', inputs: (g) => [r64([2, 3, 2], g)], fn: (a) => r.logSoftmax(a, 1) },
  {
    name: 'crossEntropy mean with ignore',
    inputs: (g) => [r64([2, 3, 5], g)],
    fn: (a) => r.crossEntropy(a, idx([1, -100, 4, 0, 2, -100], [2, 3])),
  },
  {
    name: 'crossEntropy sum',
    inputs: (g) => [r64([4, 3], g)],
    fn: (a) => r.crossEntropy(a, idx([0, 2, 1, 1]), { reduction: 'sum' }),
  },
  {
    name: 'crossEntropy none',
    inputs: (g) => [r64([3, 4], g)],
    fn: (a) => r.crossEntropy(a, idx([3, 7, 0]), { reduction: 'none', ignoreIndex: 7 }),
  },
  { name: 'rmsNorm with weight', inputs: (g) => [r64([3, 6], g), r64([6], g)], fn: (x, w) => r.rmsNorm(x, w, 1e-6) },
  { name: 'rmsNorm no weight, size-1 rows', inputs: (g) => [r64([1, 1, 4], g)], fn: (x) => r.rmsNorm(x, null, 1e-5) },
  {
    name: 'rope interleaved (B,T,H,D) with cos (T,1,D/2)',
    inputs: (g) => [r64([2, 3, 2, 4], g)],
    fn: (x) => {
      const g = new Generator(9);
      const ang = r.randn([3, 1, 2], { dtype: 'float64', generator: g });
      return r.rope(x, r.cos(ang), r.sin(ang), { interleaved: true });
    },
  },
  {
    name: 'rope half-split (B,H,T,D) with cos (T,D/2)',
    inputs: (g) => [r64([1, 2, 3, 6], g)],
    fn: (x) => {
      const ang = r.randn([3, 3], { dtype: 'float64', generator: new Generator(4) });
      return r.rope(x, r.cos(ang), r.sin(ang), { interleaved: false });
    },
  },
  {
    name: "rope with pass-through features (MLA's query heads: 3 unrotated, then 4 rotated)",
    inputs: (g) => [r64([2, 3, 2, 7], g)],
    fn: (x) => {
      const ang = r.randn([3, 1, 2], { dtype: 'float64', generator: new Generator(5) });
      return r.rope(x, r.cos(ang), r.sin(ang), { interleaved: true, pass: 3 });
    },
  },
  {
    name: 'dropout (fixed generator)',
    inputs: (g) => [r64([4, 5], g)],
    fn: (a) => r.dropout(a, 0.3, { generator: new Generator(3) }),
  },
  { name: 'topk values', inputs: (g) => [r64([3, 6], g)], fn: (a) => r.topk(a, 2).values },
  { name: 'topk smallest axis 0', inputs: (g) => [r64([5, 2], g)], fn: (a) => r.topk(a, 3, 0, false).values },
  {
    name: 'attention causal',
    inputs: (g) => [r64([1, 2, 4, 3], g), r64([1, 2, 4, 3], g), r64([1, 2, 4, 3], g)],
    fn: (q, k, v) => r.scaledDotProductAttention(q, k, v),
  },
  {
    name: 'attention non-causal, Dk != Dv',
    inputs: (g) => [r64([2, 1, 3, 5], g), r64([2, 1, 4, 5], g), r64([2, 1, 4, 2], g)],
    fn: (q, k, v) => r.scaledDotProductAttention(q, k, v, { causal: false, scale: 0.3 }),
  },
  {
    name: 'attention causal with packed samples (keyStart), GQA',
    inputs: (g) => [r64([2, 2, 6, 3], g), r64([2, 1, 6, 3], g), r64([2, 1, 6, 4], g)],
    fn: (q, k, v) =>
      r.scaledDotProductAttention(q, k, v, {
        keyStart: new Tensor(Int32Array.from([0, 0, 2, 2, 2, 5, 0, 1, 1, 3, 3, 3]), [2, 6], 'int32'),
      }),
  },
  {
    name: 'attention in the (B, T, H, D) layout with packed samples, GQA and Dk != Dv',
    inputs: (g) => [r64([2, 6, 2, 3], g), r64([2, 6, 1, 3], g), r64([2, 6, 1, 4], g)],
    fn: (q, k, v) =>
      r.scaledDotProductAttention(q, k, v, {
        keyStart: new Tensor(Int32Array.from([0, 0, 2, 2, 2, 5, 0, 1, 1, 3, 3, 3]), [2, 6], 'int32'),
        layout: 'bthd',
      }),
  },
  {
    name: 'attention causal decode (Tq < Tk) with GQA',
    inputs: (g) => [r64([1, 4, 2, 3], g), r64([1, 2, 5, 3], g), r64([1, 2, 5, 4], g)],
    fn: (q, k, v) => r.scaledDotProductAttention(q, k, v),
  },
];

// Every op that records a backward rule. A new differentiable op must be added here and get a case above.
const DIFFERENTIABLE_OPS = [
  'add',
  'sub',
  'mul',
  'div',
  'pow',
  'maximum',
  'minimum',
  'neg',
  'exp',
  'log',
  'sqrt',
  'rsqrt',
  'abs',
  'tanh',
  'erf',
  'sin',
  'cos',
  'sigmoid',
  'silu',
  'gelu',
  'swiglu',
  'clamp',
  'cast',
  'sum',
  'max',
  'reshape',
  'permute',
  'expand',
  'concat',
  'slice',
  'split',
  'sliceScatter',
  'gather',
  'scatterAdd',
  'indexSelect',
  'indexSelectGroups',
  'indexAdd',
  'indexAddGroups',
  'moeExperts',
  'mlaAttention',
  'where',
  'matmul',
  'softmax',
  'logSoftmax',
  'crossEntropy',
  'rmsNorm',
  'rope',
  'topk',
  'attention',
];

describe('gradcheck (float64 central differences)', () => {
  const covered = new Set<string>();
  cases.forEach((c, i) => {
    it(c.name, () => {
      const inputs = c.inputs(new Generator(100 + i));
      for (const op of opsIn(c.fn(...inputs))) covered.add(op);
      assertGrad(c.fn, inputs);
    });
  });

  it('cast float64 -> float32 -> float64 passes gradients through (float32 rounding: looser tolerance)', () => {
    const x = r64([6], new Generator(8));
    const fn = (a: Tensor) => r.mul(r.cast(r.cast(a, 'float32'), 'float64'), 2);
    for (const op of opsIn(fn(x))) covered.add(op);
    assertGrad(fn, [x], { eps: 1e-2, atol: 1e-4, rtol: 1e-4 });
  });

  it('covers every differentiable op (runs after the cases)', () => {
    const missing = DIFFERENTIABLE_OPS.filter((op) => !covered.has(op));
    assert.deepEqual(missing, [], `ops without a gradient check: ${missing.join(', ')}`);
    const unknown = [...covered].filter((op) => !DIFFERENTIABLE_OPS.includes(op));
    assert.deepEqual(unknown, [], `recorded ops missing from DIFFERENTIABLE_OPS: ${unknown.join(', ')}`);
  });

  it('catches a wrong gradient', () => {
    // y = x^2 with a deliberately wrong backward rule (2x + 1).
    const x = r64([4], new Generator(7));
    const res = r.gradcheck(customSquare, [x]);
    assert.equal(res.ok, false, 'the checker must reject a wrong backward rule');
    assert.match(res.message, /gradcheck failed: input 0/);
  });
});

/** x^2 with a wrong backward rule (2x + 1). */
function customSquare(a: Tensor): Tensor {
  const out = new Tensor(
    Float64Array.from(a.data, (v) => v * v),
    a.shape,
    'float64',
  );
  return record(out, 'wrongSquare', [a], (g) => [r.mul(g, r.add(r.mul(a, 2), 1))]);
}
