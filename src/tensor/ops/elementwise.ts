/**
 * Elementwise ops with autograd: arithmetic with broadcasting, comparisons, unary math and activations.
 * Each backward rule is written with ops; broadcast inputs get their gradient summed back to their own shape.
 */
import { runKernel } from '../../backend/registry.js';
import type { BinaryKernel } from '../../backend/kernels.js';
import type { DType } from '../dtype.js';
import { type Tensor, record } from '../tensor.js';
import { type TensorLike, asTensor, sumTo, wrap } from './util.js';

type BinaryName = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum';

function operands(a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number') return [asTensor(a, 'float32'), asTensor(b, 'float32')];
  const ta = typeof a === 'number' ? asTensor(a, (b as Tensor).dtype) : a;
  const tb = typeof b === 'number' ? asTensor(b, ta.dtype) : b;
  return [ta, tb];
}

/**
 * What a backward rule reads. A binary op's rule gets only the tensors its op saved (the others are null), so the
 * graph holds no input or output that the rule does not need (see the engine's header in ../tensor.ts).
 */
interface Saved {
  x: Tensor | null;
  y: Tensor | null;
  out: Tensor | null;
}

/** Which of x, y, out a binary op's rule reads, given which inputs want a gradient. */
type Saves = (wantX: boolean, wantY: boolean) => { x?: boolean; y?: boolean; out?: boolean };

const SAVES_NOTHING: Saves = () => ({});
const SAVES_INPUTS: Saves = () => ({ x: true, y: true });

function binaryOp(
  name: BinaryName,
  a: TensorLike,
  b: TensorLike,
  saves: Saves,
  rule: (g: Tensor, s: Saved, wantX: boolean, wantY: boolean) => [Tensor | null, Tensor | null],
): Tensor {
  const [x, y] = operands(a, b);
  const out = wrap(runKernel(name, x, y) as ReturnType<BinaryKernel>);
  // What the closure below captures: the saved tensors, the inputs' shapes and dtypes, which inputs want a gradient
  // (at record time; the engine drops gradients of leaves that stopped requiring grad).
  const wantX = x.requiresGrad;
  const wantY = y.requiresGrad;
  const keep = saves(wantX, wantY);
  const s: Saved = { x: keep.x ? x : null, y: keep.y ? y : null, out: keep.out ? out : null };
  const [xs, xd, ys, yd] = [x.shape, x.dtype, y.shape, y.dtype];
  return record(out, name, [x, y], (g) => {
    const [gx, gy] = rule(g, s, wantX, wantY);
    return [gx && wantX ? sumTo(gx, xs, xd) : null, gy && wantY ? sumTo(gy, ys, yd) : null];
  });
}

/** a + b (broadcasting). */
export function add(a: TensorLike, b: TensorLike): Tensor {
  return binaryOp('add', a, b, SAVES_NOTHING, (g) => [g, g]);
}

/** a - b (broadcasting). */
export function sub(a: TensorLike, b: TensorLike): Tensor {
  return binaryOp('sub', a, b, SAVES_NOTHING, (g) => [g, neg(g)]);
}

/** a * b (broadcasting). */
export function mul(a: TensorLike, b: TensorLike): Tensor {
  return binaryOp(
    'mul',
    a,
    b,
    (wx, wy) => ({ x: wy, y: wx }),
    (g, s, wx, wy) => [wx ? mul(g, s.y!) : null, wy ? mul(g, s.x!) : null],
  );
}

/** a / b (true division, broadcasting). */
export function div(a: TensorLike, b: TensorLike): Tensor {
  return binaryOp(
    'div',
    a,
    b,
    (_wx, wy) => ({ y: true, out: wy }),
    (g, s, _wx, wy) => [div(g, s.y!), wy ? neg(div(mul(g, s.out!), s.y!)) : null],
  );
}

/** a ** b (broadcasting). The gradient for b uses log(a) and is defined where a > 0. */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  return binaryOp(
    'pow',
    a,
    b,
    (_wx, wy) => ({ x: true, y: true, out: wy }),
    (g, s, wx, wy) => [
      wx ? mul(g, mul(s.y!, pow(s.x!, sub(s.y!, 1)))) : null,
      wy ? mul(g, mul(s.out!, log(s.x!))) : null,
    ],
  );
}

/** Elementwise maximum; ties send half the gradient to each side. */
export function maximum(a: TensorLike, b: TensorLike): Tensor {
  return binaryOp('maximum', a, b, SAVES_INPUTS, (g, s) => tieSplit(g, gt(s.x!, s.y!), eq(s.x!, s.y!)));
}

/** Elementwise minimum; ties send half the gradient to each side. */
export function minimum(a: TensorLike, b: TensorLike): Tensor {
  return binaryOp('minimum', a, b, SAVES_INPUTS, (g, s) => tieSplit(g, lt(s.x!, s.y!), eq(s.x!, s.y!)));
}

function tieSplit(g: Tensor, first: Tensor, tie: Tensor): [Tensor, Tensor] {
  const w = add(cast(first, g.dtype), mul(cast(tie, g.dtype), 0.5));
  return [mul(g, w), mul(g, sub(1, w))];
}

function compare(name: 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge', a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = operands(a, b);
  return wrap(runKernel(name, x, y));
}

/** a == b as a bool tensor (no gradient). */
export const eq = (a: TensorLike, b: TensorLike): Tensor => compare('eq', a, b);
/** a != b as a bool tensor (no gradient). */
export const ne = (a: TensorLike, b: TensorLike): Tensor => compare('ne', a, b);
/** a < b as a bool tensor (no gradient). */
export const lt = (a: TensorLike, b: TensorLike): Tensor => compare('lt', a, b);
/** a <= b as a bool tensor (no gradient). */
export const le = (a: TensorLike, b: TensorLike): Tensor => compare('le', a, b);
/** a > b as a bool tensor (no gradient). */
export const gt = (a: TensorLike, b: TensorLike): Tensor => compare('gt', a, b);
/** a >= b as a bool tensor (no gradient). */
export const ge = (a: TensorLike, b: TensorLike): Tensor => compare('ge', a, b);

type UnaryName =
  | 'neg'
  | 'exp'
  | 'log'
  | 'sqrt'
  | 'rsqrt'
  | 'abs'
  | 'sign'
  | 'tanh'
  | 'sin'
  | 'cos'
  | 'erf'
  | 'sigmoid'
  | 'silu';

/**
 * A unary op whose rule reads the input (`saves` 'x'), the output ('out') or neither: the closure captures that one
 * tensor only. Rules get it as their second argument and must not capture the op's `x` themselves.
 */
function unaryOp(
  name: UnaryName,
  x: Tensor,
  saves: 'x' | 'out' | null,
  rule: ((g: Tensor, saved: Tensor) => Tensor) | null,
): Tensor {
  const out = wrap(runKernel(name, x));
  if (!rule) return out;
  const saved = saves === 'x' ? x : saves === 'out' ? out : null;
  return record(out, name, [x], (g) => [rule(g, saved!)]);
}

/** -x */
export function neg(x: Tensor): Tensor {
  return unaryOp('neg', x, null, (g) => neg(g));
}

/** e^x */
export function exp(x: Tensor): Tensor {
  return unaryOp('exp', x, 'out', (g, out) => mul(g, out));
}

/** Natural log. */
export function log(x: Tensor): Tensor {
  return unaryOp('log', x, 'x', (g, xs) => div(g, xs));
}

/** Square root. */
export function sqrt(x: Tensor): Tensor {
  return unaryOp('sqrt', x, 'out', (g, out) => div(g, mul(out, 2)));
}

/** 1 / sqrt(x). */
export function rsqrt(x: Tensor): Tensor {
  return unaryOp('rsqrt', x, 'out', (g, out) => mul(g, mul(pow(out, 3), -0.5)));
}

/** |x|; the gradient at 0 is 0 (sign(0)). */
export function abs(x: Tensor): Tensor {
  return unaryOp('abs', x, 'x', (g, xs) => mul(g, sign(xs)));
}

/** Sign of x (-1, 0, 1); zero gradient. */
export function sign(x: Tensor): Tensor {
  return unaryOp('sign', x, null, null);
}

/** Hyperbolic tangent. */
export function tanh(x: Tensor): Tensor {
  return unaryOp('tanh', x, 'out', (g, out) => mul(g, sub(1, mul(out, out))));
}

/** Sine. */
export function sin(x: Tensor): Tensor {
  return unaryOp('sin', x, 'x', (g, xs) => mul(g, cos(xs)));
}

/** Cosine. */
export function cos(x: Tensor): Tensor {
  return unaryOp('cos', x, 'x', (g, xs) => neg(mul(g, sin(xs))));
}

/** The error function. */
export function erf(x: Tensor): Tensor {
  return unaryOp('erf', x, 'x', (g, xs) => mul(g, mul(exp(neg(mul(xs, xs))), 2 / Math.sqrt(Math.PI))));
}

/** Logistic sigmoid. */
export function sigmoid(x: Tensor): Tensor {
  return unaryOp('sigmoid', x, 'out', (g, out) => mul(g, mul(out, sub(1, out))));
}

/** SiLU / swish: x * sigmoid(x). */
export function silu(x: Tensor): Tensor {
  return unaryOp('silu', x, 'x', (g, xs) => {
    const s = sigmoid(xs);
    return mul(g, mul(s, add(1, mul(xs, sub(1, s)))));
  });
}

/** GELU: exact (erf, the default, as PyTorch) or the tanh approximation. */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  const out = wrap(runKernel('gelu', x, { approximate }));
  return record(out, 'gelu', [x], (g) => [wrap(runKernel('geluBackward', x, g, { approximate }))]);
}

/** SwiGLU gate: silu(a) * b (fused; same shapes). */
export function swiglu(a: Tensor, b: Tensor): Tensor {
  const out = wrap(runKernel('swiglu', a, b));
  return record(out, 'swiglu', [a, b], (g) => {
    const { da, db } = runKernel('swigluBackward', a, b, g);
    return [wrap(da), wrap(db)];
  });
}

/** Clamps to [min, max]; the gradient flows where min <= x <= max. */
export function clamp(x: Tensor, min = -Infinity, max = Infinity): Tensor {
  if (min > max) throw new RangeError(`clamp: min ${min} > max ${max}`);
  const out = wrap(runKernel('clamp', x, { min, max }));
  return record(out, 'clamp', [x], (g) => {
    const inside = cast(mul(cast(ge(x, min), 'int32'), cast(le(x, max), 'int32')), g.dtype);
    return [mul(g, inside)];
  });
}

/** Converts to another dtype. Float-to-float casts pass gradients through (cast back); others cut the graph. */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  const out = wrap(runKernel('cast', x, { dtype }));
  const src = x.dtype;
  return record(out, 'cast', [x], (g) => [cast(g, src)]);
}
