/** Matrix products with autograd. Backward reads transposed operands in place (no transpose copies). */
import { runKernel } from '../../backend/registry.js';
import { shapeStr } from '../shape.js';
import { type Tensor, isGradEnabled, record } from '../tensor.js';
import { add } from './elementwise.js';
import { reshape } from './shape.js';
import { sumTo, wrap } from './util.js';

export interface MatmulOptions {
  /** Use a's last two dims transposed. */
  transA?: boolean;
  /** Use b's last two dims transposed. */
  transB?: boolean;
}

function mm(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  return wrap(runKernel('matmul', a, b, { transA, transB }));
}

/**
 * Matrix product with broadcast batch dims: (..., M, K) x (..., K, N) -> (..., M, N). 1-D operands are treated as
 * a row (left) or column (right) vector and the added dim is removed again, as in NumPy.
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  if (a.ndim === 0 || b.ndim === 0)
    throw new RangeError(`matmul: ${shapeStr(a.shape)} x ${shapeStr(b.shape)}: scalars are not matrices`);
  if (a.ndim === 1 || b.ndim === 1) {
    const a2 = a.ndim === 1 ? reshape(a, [1, a.shape[0]]) : a;
    const b2 = b.ndim === 1 ? reshape(b, [b.shape[0], 1]) : b;
    const o = matmul(a2, b2, opts);
    const shape = [...o.shape];
    if (b.ndim === 1) shape.splice(shape.length - 1, 1);
    if (a.ndim === 1) shape.splice(shape.length - (b.ndim === 1 ? 1 : 2), 1);
    return reshape(o, shape);
  }
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const out = mm(a, b, transA, transB);
  return record(out, 'matmul', [a, b], (g) => {
    // C = op(A) op(B).  dop(A) = G op(B)^T,  dop(B) = op(A)^T G;  un-transpose to get dA, dB.
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    if (a.requiresGrad) ga = transA ? mm(b, g, transB, true) : mm(g, b, false, !transB);
    if (b.requiresGrad) gb = transB ? mm(g, a, true, transA) : mm(a, g, !transA, false);
    return [ga && sumTo(ga, a.shape), gb && sumTo(gb, b.shape)];
  });
}

/**
 * y = x W^T + bias, with W stored (out, in) as in PyTorch and Hugging Face checkpoints. A bfloat16 W (inference-only
 * weights) runs the `matmulBf16` kernel and records no gradient; an input that requires one is refused.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  if (weight.ndim !== 2) throw new RangeError(`linear: weight must be (out, in), got ${shapeStr(weight.shape)}`);
  if (x.shape[x.ndim - 1] !== weight.shape[1]) {
    throw new RangeError(
      `linear: input ${shapeStr(x.shape)} x weight ${shapeStr(weight.shape)}ᵀ: inner dims ${x.shape[x.ndim - 1]} != ${weight.shape[1]}`,
    );
  }
  if (weight.dtype === 'bfloat16') {
    if (isGradEnabled() && (x.requiresGrad || bias?.requiresGrad))
      throw new TypeError('linear: bfloat16 weights are inference-only (no gradient flows through them)');
    const x2 = reshape(x, [-1, weight.shape[1]]);
    const y = reshape(wrap(runKernel('matmulBf16', x2, weight)), [...x.shape.slice(0, -1), weight.shape[0]]);
    return bias ? add(y, bias) : y;
  }
  const y =
    x.ndim === 2
      ? matmul(x, weight, { transB: true })
      : reshape(matmul(reshape(x, [-1, weight.shape[1]]), weight, { transB: true }), [
          ...x.shape.slice(0, -1),
          weight.shape[0],
        ]);
  return bias ? add(y, bias) : y;
}
