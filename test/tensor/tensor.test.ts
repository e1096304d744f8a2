import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import {
  Tensor,
  arange,
  eye,
  full,
  linspace,
  ones,
  tensor,
  zeros,
  zerosLike,
  randn,
  Generator,
} from '../../src/index.js';

describe('Tensor creation and access', () => {
  it('builds from nested arrays with the right shape and dtype', () => {
    const t = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual(t.shape, [2, 3]);
    assert.equal(t.dtype, 'float32');
    assert.equal(t.ndim, 2);
    assert.equal(t.size, 6);
    assert.deepEqual(t.toArray(), [
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual(tensor([true, false]).toArray(), [true, false]);
    assert.equal(tensor([1, 2], { dtype: 'int32' }).data.constructor, Int32Array);
    assert.equal(tensor(3.5).item(), 3.5);
    assert.deepEqual(tensor(3.5).shape, []);
  });

  it('wraps typed arrays without copying', () => {
    const a = new Float32Array([1, 2, 3, 4]);
    const t = tensor(a, { shape: [2, 2] });
    assert.equal(t.data, a);
    assert.deepEqual(t.toArray(), [
      [1, 2],
      [3, 4],
    ]);
  });

  it('rejects ragged arrays and wrong sizes with clear errors', () => {
    assert.throws(() => tensor([[1, 2], [3]]), /ragged nested array at depth 1 \(expected length 2, got 1\)/);
    assert.throws(() => new Tensor(new Float32Array(5), [2, 3]), /5 elements do not fill shape \[2,3\] \(6\)/);
    assert.throws(() => tensor([1.5], { dtype: 'int32' }), /1.5 is not an integer/);
  });

  it('creation helpers', () => {
    assert.deepEqual(zeros([2, 2]).toList(), [0, 0, 0, 0]);
    assert.deepEqual(ones([3]).toList(), [1, 1, 1]);
    assert.deepEqual(full([2], 7, { dtype: 'int32' }).toList(), [7, 7]);
    assert.deepEqual(arange(5).toList(), [0, 1, 2, 3, 4]);
    assert.equal(arange(5).dtype, 'int32');
    assert.deepEqual(arange(1, 2, 0.25).toList(), [1, 1.25, 1.5, 1.75]);
    assert.deepEqual(linspace(0, 1, 5).toList(), [0, 0.25, 0.5, 0.75, 1]);
    assert.deepEqual(eye(2).toArray(), [
      [1, 0],
      [0, 1],
    ]);
    assert.equal(zerosLike(tensor([1], { dtype: 'float64' })).dtype, 'float64');
  });

  it('item() needs exactly one element', () => {
    assert.throws(() => zeros([2]).item(), /item: tensor of shape \[2\] has 2 elements, not 1/);
  });

  it('reshape and view share data; -1 is inferred', () => {
    const t = arange(6).cast('float32');
    const v = t.reshape([2, -1]);
    assert.deepEqual(v.shape, [2, 3]);
    assert.equal(v.data, t.data);
    assert.deepEqual(t.view([3, 2]).toArray(), [
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    assert.throws(() => t.reshape([4, -1]), /cannot reshape \[6\] into \[4,-1\]/);
    assert.throws(() => t.reshape([4, 2]), /cannot reshape \[6\] \(6 elements\) into \[4,2\] \(8\)/);
  });

  it('requiresGrad only on float tensors', () => {
    assert.throws(() => (tensor([1], { dtype: 'int32' }).requiresGrad = true), /only float tensors can require grad/);
  });

  it('prints like PyTorch', () => {
    assert.equal(
      tensor([
        [1, 2],
        [3, 4],
      ]).toString(),
      'tensor([[1., 2.],\n        [3., 4.]])',
    );
    assert.equal(tensor([0.5, -1.25]).toString(), 'tensor([ 0.5000, -1.2500])');
    assert.equal(tensor([1, 2], { dtype: 'int32' }).toString(), 'tensor([1, 2], dtype=int32)');
    assert.equal(tensor([1e-5, 1]).toString(), 'tensor([1.0000e-05, 1.0000e+00])');
    assert.equal(tensor(2).toString(), 'tensor(2.)');
    assert.equal(inspect(tensor([1], { requiresGrad: true })), 'tensor([1.], requiresGrad=true)');
    assert.match(tensor([1], { requiresGrad: true }).mul(2).toString(), /gradFn=<mul>/);
    const big = randn([50, 50], { generator: new Generator(0) }).toString();
    assert.match(big, /\.\.\./);
    assert.ok(big.split('\n').length === 7, 'summarised to 3 + ... + 3 rows');
  });
});
