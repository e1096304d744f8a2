/** Forward values of every op against hand-computed cases, and the errors users see for bad shapes. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as r from '../../src/index.js';
import { Generator, tensor } from '../../src/index.js';
import { assertClose } from '../helpers/util.js';

const i32 = (v: number[], shape?: number[]) => tensor(v, { dtype: 'int32', shape });

describe('elementwise forward', () => {
  it('broadcasting arithmetic', () => {
    const a = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual(r.add(a, tensor([10, 20, 30])).toArray(), [
      [11, 22, 33],
      [14, 25, 36],
    ]);
    assert.deepEqual(r.sub(a, tensor([[1], [4]])).toArray(), [
      [0, 1, 2],
      [0, 1, 2],
    ]);
    assert.deepEqual(r.mul(a, 2).toArray(), [
      [2, 4, 6],
      [8, 10, 12],
    ]);
    assert.deepEqual(r.div(1, tensor([2, 4])).toList(), [0.5, 0.25]);
    assert.deepEqual(r.pow(tensor([2, 3]), 2).toList(), [4, 9]);
    assert.deepEqual(r.maximum(tensor([1, 5]), tensor([3, 2])).toList(), [3, 5]);
    assert.deepEqual(r.minimum(tensor([1, 5]), 2).toList(), [1, 2]);
    assert.deepEqual(r.add(tensor([1, 2], { dtype: 'int32' }), 1).toList(), [2, 3]);
    assert.equal(r.add(tensor([1, 2], { dtype: 'int32' }), 1).dtype, 'int32');
    assert.equal(r.div(tensor([1], { dtype: 'int32' }), 2).dtype, 'float32');
    assert.equal(r.add(tensor([1], { dtype: 'float64' }), tensor([1])).dtype, 'float64');
  });

  it('comparisons give bool', () => {
    const a = tensor([1, 2, 3]);
    assert.deepEqual(r.gt(a, 2).toArray(), [false, false, true]);
    assert.deepEqual(r.le(a, 2).toArray(), [true, true, false]);
    assert.deepEqual(r.eq(a, tensor([1, 0, 3])).toArray(), [true, false, true]);
    assert.deepEqual(r.ne(a, 2).toArray(), [true, false, true]);
    assert.deepEqual(r.lt(a, 2).toArray(), [true, false, false]);
    assert.deepEqual(r.ge(a, 2).toArray(), [false, true, true]);
  });

  it('unary math', () => {
    const x = tensor([0, 1, -2], { dtype: 'float64' });
    assertClose(r.exp(x), [1, Math.E, Math.exp(-2)]);
    assertClose(r.log(tensor([1, Math.E])), [0, 1]);
    assertClose(r.sqrt(tensor([4, 9])), [2, 3]);
    assertClose(r.rsqrt(tensor([4, 16])), [0.5, 0.25]);
    assertClose(r.abs(x), [0, 1, 2]);
    assertClose(r.neg(x), [-0, -1, 2]);
    assertClose(r.tanh(x), [0, Math.tanh(1), Math.tanh(-2)]);
    assertClose(r.sin(x), [0, Math.sin(1), Math.sin(-2)]);
    assertClose(r.cos(x), [1, Math.cos(1), Math.cos(-2)]);
    assertClose(r.sigmoid(x), [0.5, 1 / (1 + Math.exp(-1)), 1 / (1 + Math.exp(2))]);
    assertClose(r.silu(x), [0, 1 / (1 + Math.exp(-1)), -2 / (1 + Math.exp(2))]);
    assertClose(r.clamp(tensor([-5, 0.5, 5]), -1, 1), [-1, 0.5, 1]);
    // erf reference values (Abramowitz & Stegun table): erf(0.5) = 0.5204998778, erf(1) = 0.8427007929, erf(2) = 0.9953222650
    assertClose(
      r.erf(tensor([0.5, 1, 2, -1], { dtype: 'float64' })),
      [0.5204998778130465, 0.8427007929497149, 0.9953222650189527, -0.8427007929497149],
      1e-15,
      1e-14,
    );
    // gelu(1) = 0.5 * (1 + erf(1/sqrt 2)) = 0.8413447460685429; tanh approximation = 0.8411919906082768
    assertClose(r.gelu(tensor([1], { dtype: 'float64' })), [0.8413447460685429], 1e-14, 1e-13);
    assertClose(r.gelu(tensor([1], { dtype: 'float64' }), 'tanh'), [0.8411919906082768], 1e-14, 1e-13);
    assertClose(r.swiglu(tensor([1, -1]), tensor([2, 3])), [2 / (1 + Math.exp(-1)), -3 / (1 + Math.exp(1))]);
  });
});

describe('reductions forward', () => {
  const a = tensor([
    [1, 5, 3],
    [4, 2, 6],
  ]);
  it('sum / mean / max / min / argmax', () => {
    assert.equal(r.sum(a).item(), 21);
    assert.deepEqual(r.sum(a, 0).toList(), [5, 7, 9]);
    assert.deepEqual(r.sum(a, -1, { keepdim: true }).shape, [2, 1]);
    assert.deepEqual(r.mean(a, 1).toList(), [3, 4]);
    assert.deepEqual(r.max(a, 1).toList(), [5, 6]);
    assert.deepEqual(r.min(a, 0).toList(), [1, 2, 3]);
    assert.deepEqual(r.argmax(a, 1).toList(), [1, 2]);
    assert.deepEqual(r.argmax(tensor([3, 7, 7])).toList(), [1], 'first maximum wins');
    assert.equal(r.sum(tensor([true, true, false])).item(), 2);
    assert.equal(r.mean(tensor([1, 2], { dtype: 'int32' })).item(), 1.5);
  });
  it('logsumexp is stable', () => {
    assertClose(r.logsumexp(tensor([1000, 1000], { dtype: 'float64' })), [1000 + Math.log(2)]);
    assertClose(r.logsumexp(tensor([-Infinity, -Infinity], { dtype: 'float64' })), [-Infinity]);
  });
  it('max splits the gradient between ties', () => {
    const x = tensor([2, 2, 1], { requiresGrad: true });
    r.max(x).backward();
    assert.deepEqual(x.grad!.toList(), [0.5, 0.5, 0]);
  });
});

describe('shape ops forward', () => {
  const a = r.arange(6).cast('float32').reshape([2, 3]);
  it('permute / transpose / expand / flatten', () => {
    assert.deepEqual(r.transpose(a).toArray(), [
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
    assert.deepEqual(r.permute(a.reshape([1, 2, 3]), [2, 0, 1]).shape, [3, 1, 2]);
    assert.deepEqual(r.expand(tensor([[1], [2]]), [2, 3]).toArray(), [
      [1, 1, 1],
      [2, 2, 2],
    ]);
    assert.deepEqual(r.flatten(a).shape, [6]);
    assert.deepEqual(r.unsqueeze(a, -1).shape, [2, 3, 1]);
    assert.deepEqual(r.squeeze(tensor([[[1]]])).shape, []);
  });
  it('concat / stack / split / chunk / slice / sliceScatter', () => {
    assert.deepEqual(r.concat([a, a], 0).shape, [4, 3]);
    assert.deepEqual(
      r
        .concat(
          [
            tensor([[1], [2]]),
            tensor([
              [3, 4],
              [5, 6],
            ]),
          ],
          1,
        )
        .toArray(),
      [
        [1, 3, 4],
        [2, 5, 6],
      ],
    );
    assert.deepEqual(r.stack([tensor([1, 2]), tensor([3, 4])], 1).toArray(), [
      [1, 3],
      [2, 4],
    ]);
    assert.deepEqual(
      r.split(a, [1, 2], 1).map((t) => t.toArray()),
      [
        [[0], [3]],
        [
          [1, 2],
          [4, 5],
        ],
      ],
    );
    assert.deepEqual(
      r.chunk(r.arange(5), 2).map((t) => t.toList()),
      [
        [0, 1, 2],
        [3, 4],
      ],
    );
    assert.deepEqual(r.slice(a, [null, [1, 3]]).toArray(), [
      [1, 2],
      [4, 5],
    ]);
    assert.deepEqual(r.slice(a, [[-1, 2]]).toArray(), [[3, 4, 5]]);
    assert.deepEqual(r.sliceScatter(r.zeros([2, 3]), tensor([[7, 8]]), [1, 1], [2, 3]).toArray(), [
      [0, 0, 0],
      [0, 7, 8],
    ]);
  });
});

describe('indexing forward', () => {
  const x = tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  it('gather / scatterAdd follow torch semantics', () => {
    assert.deepEqual(r.gather(x, 1, i32([2, 0, 1, 1], [2, 2])).toArray(), [
      [3, 1],
      [5, 5],
    ]);
    assert.deepEqual(r.gather(x, 0, i32([1, 0, 1], [1, 3])).toArray(), [[4, 2, 6]]);
    const s = r.scatterAdd(
      r.zeros([2, 3]),
      1,
      i32([0, 0, 2, 1], [2, 2]),
      tensor([
        [1, 2],
        [3, 4],
      ]),
    );
    assert.deepEqual(s.toArray(), [
      [3, 0, 0],
      [0, 4, 3],
    ]);
  });
  it('indexSelect / indexAdd / embedding', () => {
    assert.deepEqual(r.indexSelect(x, 0, i32([1, 1, 0])).toArray(), [
      [4, 5, 6],
      [4, 5, 6],
      [1, 2, 3],
    ]);
    assert.deepEqual(r.indexSelect(x, 1, i32([2])).toArray(), [[3], [6]]);
    const groups = r.indexSelectGroups(x, 1, i32([2, 0, 1]), [1, 0, 2]);
    assert.deepEqual(
      groups.map((t) => t.shape),
      [
        [2, 1],
        [2, 0],
        [2, 2],
      ],
    );
    assert.deepEqual(groups[2].toArray(), [
      [1, 2],
      [4, 5],
    ]);
    assert.throws(
      () => r.indexSelectGroups(x, 0, i32([0, 1]), [1, 2]),
      /indexSelectGroups: group sizes \[1, 2\] must be whole numbers summing to the 2 indices/,
    );
    assert.deepEqual(
      r
        .indexAdd(
          r.zeros([3, 2]),
          0,
          i32([2, 0, 2]),
          tensor([
            [1, 1],
            [2, 2],
            [3, 3],
          ]),
        )
        .toArray(),
      [
        [2, 2],
        [0, 0],
        [4, 4],
      ],
    );
    const w = tensor([
      [0, 0],
      [1, 1],
      [2, 2],
    ]);
    assert.deepEqual(r.embedding(w, i32([2, 1, 0, 2], [2, 2])).toArray(), [
      [
        [2, 2],
        [1, 1],
      ],
      [
        [0, 0],
        [2, 2],
      ],
    ]);
  });
  it('where / maskedFill broadcast', () => {
    assert.deepEqual(
      r
        .where(
          tensor([true, false]),
          tensor([
            [1, 2],
            [3, 4],
          ]),
          0,
        )
        .toArray(),
      [
        [1, 0],
        [3, 0],
      ],
    );
    assert.deepEqual(r.maskedFill(x, tensor([false, true, false]), -1).toArray(), [
      [1, -1, 3],
      [4, -1, 6],
    ]);
  });
  it('out-of-range indices are errors', () => {
    assert.throws(() => r.indexSelect(x, 0, i32([2])), /indexSelect: index 2 is out of range for dim 0 of size 2/);
    assert.throws(() => r.gather(x, 1, i32([3], [1, 1])), /gather: index 3 is out of range for dim 1 of size 3/);
    assert.throws(() => r.embedding(tensor([[1]]), i32([-1])), /out of range/);
  });
});

describe('linear algebra forward', () => {
  it('matmul, transposed operands, batches, vectors', () => {
    const a = tensor([
      [1, 2],
      [3, 4],
    ]);
    const b = tensor([
      [5, 6],
      [7, 8],
    ]);
    assert.deepEqual(r.matmul(a, b).toArray(), [
      [19, 22],
      [43, 50],
    ]);
    assert.deepEqual(r.matmul(a, b, { transA: true }).toArray(), [
      [26, 30],
      [38, 44],
    ]);
    assert.deepEqual(r.matmul(a, b, { transB: true }).toArray(), [
      [17, 23],
      [39, 53],
    ]);
    assert.deepEqual(r.matmul(a, b, { transA: true, transB: true }).toArray(), [
      [23, 31],
      [34, 46],
    ]);
    assert.deepEqual(r.matmul(r.stack([a, b]), a).toArray(), [
      [
        [7, 10],
        [15, 22],
      ],
      [
        [23, 34],
        [31, 46],
      ],
    ]);
    assert.deepEqual(r.matmul(tensor([1, 1]), a).toList(), [4, 6]);
    assert.deepEqual(r.matmul(a, tensor([1, 1])).toList(), [3, 7]);
    assert.deepEqual(r.linear(tensor([[1, 1]]), a, tensor([10, 20])).toArray(), [[13, 27]]);
  });
  it('shape errors name both shapes and the op', () => {
    assert.throws(
      () => r.matmul(r.zeros([2, 3]), r.zeros([4, 5])),
      /^RangeError: matmul: \[2,3\] x \[4,5\]: inner dims 3 != 4$/,
    );
    assert.throws(() => r.add(r.zeros([2, 3]), r.zeros([4])), /add: shapes \[2,3\] and \[4\] cannot be broadcast/);
    assert.throws(
      () => r.matmul(r.zeros([2, 2, 3]), r.zeros([3, 3, 1])),
      /matmul: shapes \[2\] and \[3\] cannot be broadcast/,
    );
    assert.throws(
      () => r.linear(r.zeros([2, 3]), r.zeros([5, 4])),
      /linear: input \[2,3\] x weight \[5,4\]ᵀ: inner dims 3 != 4/,
    );
    assert.throws(
      () => r.concat([r.zeros([2, 3]), r.zeros([3, 3])], 1),
      /concat: shapes \[2,3\] and \[3,3\] differ outside axis 1/,
    );
    assert.throws(() => r.sum(r.zeros([2]), 3), /sum: axis 3 is out of range for a tensor with 1 dims/);
  });
});

describe('neural-network ops forward', () => {
  it('softmax / logSoftmax', () => {
    const x = tensor([[1, 2, 3]], { dtype: 'float64' });
    const e = [Math.exp(1), Math.exp(2), Math.exp(3)];
    const s = e[0] + e[1] + e[2];
    assertClose(
      r.softmax(x),
      e.map((v) => v / s),
      1e-12,
    );
    assertClose(
      r.logSoftmax(x),
      e.map((v) => Math.log(v / s)),
      1e-12,
    );
    assertClose(r.softmax(tensor([[1000, 1000]])), [0.5, 0.5]);
  });
  it('crossEntropy with ignoreIndex and reductions', () => {
    const logits = tensor(
      [
        [2, 0, 0],
        [0, 0, 0],
        [1, 1, 4],
      ],
      { dtype: 'float64' },
    );
    const t = i32([0, -100, 2]);
    const l0 = Math.log(Math.exp(2) + 2) - 2;
    const l2 = Math.log(2 * Math.E + Math.exp(4)) - 4;
    assertClose(r.crossEntropy(logits, t), [(l0 + l2) / 2], 1e-12);
    assertClose(r.crossEntropy(logits, t, { reduction: 'sum' }), [l0 + l2], 1e-12);
    assertClose(r.crossEntropy(logits, t, { reduction: 'none' }), [l0, 0, l2], 1e-12);
    assert.equal(r.crossEntropy(logits, i32([-100, -100, -100])).item(), 0);
    assert.throws(
      () => r.crossEntropy(logits, i32([0, 3, 1])),
      /crossEntropy: target 3 at row 1 is out of range \[0, 3\)/,
    );
    assert.throws(() => r.crossEntropy(logits, i32([0, 1])), /logits \[3,3\] do not match targets \[2\]/);
  });
  it('rmsNorm', () => {
    const x = tensor([[3, 4]], { dtype: 'float64' });
    const rms = Math.sqrt((9 + 16) / 2 + 1e-6);
    assertClose(r.rmsNorm(x, tensor([1, 2], { dtype: 'float64' }), 1e-6), [3 / rms, 8 / rms], 1e-12);
  });
  it('rope rotates interleaved pairs and half-split pairs', () => {
    const x = tensor([[1, 0, 0, 1]], { dtype: 'float64' });
    const th = tensor([[Math.PI / 2, 0]], { dtype: 'float64' });
    // interleaved pairs (x0,x1)=(1,0) rotated by 90 deg -> (0,1); (x2,x3)=(0,1) by 0 -> (0,1)
    assertClose(r.rope(x, r.cos(th), r.sin(th), { interleaved: true }), [0, 1, 0, 1], 1e-12);
    // half-split pairs (x0,x2)=(1,0) by 90 deg -> (0,1); (x1,x3)=(0,1) by 0 -> (0,1)
    assertClose(r.rope(x, r.cos(th), r.sin(th), { interleaved: false }), [0, 0, 1, 1], 1e-12);
  });
  it('dropout keeps the expectation and is reproducible', () => {
    const x = r.ones([10000]);
    const y = r.dropout(x, 0.25, { generator: new Generator(1) });
    const kept = y.toList().filter((v) => v !== 0);
    assert.ok(kept.every((v) => Math.abs(v - 4 / 3) < 1e-6));
    assert.ok(Math.abs(kept.length / 10000 - 0.75) < 0.02);
    assert.deepEqual(r.dropout(x, 0.25, { generator: new Generator(1) }).toList(), y.toList());
    assert.equal(r.dropout(x, 0.5, { training: false }), x);
  });
  it('topk sorted with lower index first on ties', () => {
    const { values, indices } = r.topk(tensor([[3, 1, 3, 2]]), 3);
    assert.deepEqual(values.toList(), [3, 3, 2]);
    assert.deepEqual(indices.toList(), [0, 2, 3]);
    const s = r.topk(tensor([[3, 1, 3, 2]]), 2, -1, false);
    assert.deepEqual(s.indices.toList(), [1, 3]);
  });
  it('attention matches an explicit softmax(QK^T)V with the causal mask', () => {
    const g = new Generator(2);
    const q = r.randn([1, 2, 3, 4], { dtype: 'float64', generator: g });
    const k = r.randn([1, 2, 3, 4], { dtype: 'float64', generator: g });
    const v = r.randn([1, 2, 3, 5], { dtype: 'float64', generator: g });
    const scores = r.mul(r.matmul(q, k, { transB: true }), 0.5);
    const mask = tensor([
      [false, true, true],
      [false, false, true],
      [false, false, false],
    ]);
    const ref = r.matmul(r.softmax(r.maskedFill(scores, mask, -Infinity)), v);
    assertClose(r.scaledDotProductAttention(q, k, v), ref, 1e-12);
    const refFull = r.matmul(r.softmax(r.mul(scores, 2 * 0.3)), v);
    assertClose(r.scaledDotProductAttention(q, k, v, { causal: false, scale: 0.3 }), refFull, 1e-12);
  });
  it('attention with fewer queries than keys aligns the causal mask to the end (KV-cache decode)', () => {
    const g = new Generator(3);
    const q = r.randn([1, 1, 5, 2], { dtype: 'float64', generator: g });
    const k = r.randn([1, 1, 5, 2], { dtype: 'float64', generator: g });
    const v = r.randn([1, 1, 5, 3], { dtype: 'float64', generator: g });
    const full = r.scaledDotProductAttention(q, k, v);
    const last = r.scaledDotProductAttention(r.narrow(q, 2, 4, 1), k, v);
    assertClose(last, r.narrow(full, 2, 4, 1), 1e-12);
  });
  it("attention's (B, T, H, D) layout is the (B, H, T, D) one with heads and tokens swapped, in and out", () => {
    const g = new Generator(4);
    const q = r.randn([2, 3, 5, 4], { dtype: 'float64', generator: g });
    const k = r.randn([2, 1, 7, 4], { dtype: 'float64', generator: g });
    const v = r.randn([2, 1, 7, 3], { dtype: 'float64', generator: g });
    const sw = (t: r.Tensor) => r.permute(t, [0, 2, 1, 3]);
    const want = sw(r.scaledDotProductAttention(q, k, v, { scale: 0.4 }));
    const got = r.scaledDotProductAttention(sw(q), sw(k), sw(v), { scale: 0.4, layout: 'bthd' });
    assert.deepEqual(got.shape, [2, 5, 3, 3]);
    assert.deepEqual(Array.from(got.data), Array.from(want.data));
    assert.throws(
      () => r.scaledDotProductAttention(sw(q), sw(k), sw(v), { layout: 'bhtd' }),
      /batch sizes differ|heads|lengths differ/,
    );
  });
  it('attention shape errors', () => {
    assert.throws(
      () => r.scaledDotProductAttention(r.zeros([1, 3, 2, 4]), r.zeros([1, 2, 2, 4]), r.zeros([1, 2, 2, 4])),
      /heads 3 must be a multiple of key\/value heads 2/,
    );
    assert.throws(
      () => r.scaledDotProductAttention(r.zeros([1, 1, 2, 4]), r.zeros([1, 1, 2, 3]), r.zeros([1, 1, 2, 4])),
      /q and k head dims 4 != 3/,
    );
  });
});
