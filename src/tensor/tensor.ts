/**
 * The Tensor: a contiguous, row-major N-d array over a typed array, with reverse-mode autograd.
 *
 * What it is: `data`, `shape`, `dtype`, plus the autograd fields (`requiresGrad`, `grad`, `gradFn`). Reshapes are views
 * that share `data`; every other op returns a new buffer. What it is not: a strided tensor; there are no non-contiguous
 * views, so transposes copy (matmul reads transposed operands in place through its trans flags instead).
 *
 * The autograd engine is here too: ops record a `GradFn` (inputs + one backward rule) on their output, and
 * `backward()` walks the graph in reverse topological order, summing gradients of tensors used several times.
 * Op methods (`t.add(u)`, `t.matmul(w)`, ...) are attached in ./methods.ts.
 */
import { inspect } from 'node:util';
import '../backend/ts/index.js'; // the reference backend registers itself before any op can run
import { runKernel } from '../backend/registry.js';
import type { TensorData } from '../backend/kernels.js';
import { type DType, type TypedArray, allocArray, dtypeOfArray, isFloat } from './dtype.js';
import { type Shape, numel, sameShape, shapeStr } from './shape.js';
import { formatTensor } from './format.js';

/** One recorded op: its differentiable inputs and the rule mapping the output gradient to input gradients. */
export interface GradFn {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  /** Returns one gradient per input (null where the input gets none). Runs with grad recording off. */
  readonly backward: (grad: Tensor) => readonly (Tensor | null)[];
}

let gradEnabled = true;

/** Whether ops currently record the graph. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording the autograd graph (like `torch.no_grad()`). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Runs `fn` with recording on, even inside `noGrad`. */
export function enableGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = true;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

export class Tensor implements TensorData {
  readonly data: TypedArray;
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** The accumulated gradient (leaves, and non-leaves after `retainGrad()`). */
  grad: Tensor | null = null;
  /** The op that produced this tensor, when it was recorded for autograd. */
  gradFn: GradFn | null = null;
  private requiresGradValue = false;
  private retainsGrad = false;

  /** Wraps `data` (not copied) as a tensor of `shape`. Prefer the creation functions (`tensor`, `zeros`, ...). */
  constructor(data: TypedArray, shape: Shape, dtype: DType = dtypeOfArray(data)) {
    if (data.length !== numel(shape)) {
      throw new RangeError(`Tensor: ${data.length} elements do not fill shape ${shapeStr(shape)} (${numel(shape)})`);
    }
    if (dtypeOfArray(data) !== dtype) throw new TypeError(`Tensor: a ${data.constructor.name} cannot hold dtype ${dtype}`);
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
  }

  /** Wraps a kernel result. */
  static fromData(d: TensorData): Tensor {
    return d instanceof Tensor ? d : new Tensor(d.data, d.shape, d.dtype);
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** Number of elements. */
  get size(): number {
    return this.data.length;
  }

  get requiresGrad(): boolean {
    return this.requiresGradValue;
  }

  set requiresGrad(v: boolean) {
    if (v && !isFloat(this.dtype)) throw new TypeError(`requiresGrad: only float tensors can require grad (got ${this.dtype})`);
    if (!v && this.gradFn) throw new Error('requiresGrad: cannot turn off on a non-leaf tensor; use detach()');
    this.requiresGradValue = v;
  }

  /** Sets requiresGrad and returns this (like `torch.Tensor.requires_grad_`). */
  requiresGrad_(v = true): this {
    this.requiresGrad = v;
    return this;
  }

  /** True for tensors created by the user rather than recorded by an op. */
  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /** @internal Used by `record`: attaches the op that produced this tensor. */
  _setGradFn(fn: GradFn): void {
    this.gradFn = fn;
    this.requiresGradValue = true;
  }

  /** @internal Whether backward should keep `.grad` on this tensor. */
  get _keepsGrad(): boolean {
    return this.gradFn === null || this.retainsGrad;
  }

  /** Keeps `.grad` on this non-leaf tensor after backward. */
  retainGrad(): this {
    this.retainsGrad = true;
    return this;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.data.length !== 1) throw new RangeError(`item: tensor of shape ${shapeStr(this.shape)} has ${this.data.length} elements, not 1`);
    return this.data[0];
  }

  /** Nested JS arrays (a number for a 0-d tensor; booleans for bool tensors). */
  toArray(): unknown {
    const { data, shape } = this;
    const conv = this.dtype === 'bool' ? (v: number) => v !== 0 : (v: number) => v;
    if (shape.length === 0) return conv(data[0]);
    const build = (dim: number, off: number, stride: number): unknown[] => {
      const n = shape[dim];
      const inner = stride / n;
      const out = new Array<unknown>(n);
      for (let i = 0; i < n; i++) {
        out[i] = dim === shape.length - 1 ? conv(data[off + i]) : build(dim + 1, off + i * inner, inner);
      }
      return out;
    };
    return build(0, 0, data.length || numel(shape));
  }

  /** A flat JS array copy of the data. */
  toList(): number[] {
    return Array.from(this.data);
  }

  /** A tensor sharing data, cut from the graph. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape, this.dtype);
  }

  /**
   * Computes gradients of this tensor with respect to every leaf that requires grad, accumulating into `.grad`.
   * A non-scalar tensor needs an explicit `grad` of its own shape.
   */
  backward(grad?: Tensor): void {
    runBackward(this, grad);
  }

  toString(): string {
    return formatTensor(this);
  }

  [inspect.custom](): string {
    return formatTensor(this);
  }
}

/** Marks `out` as produced by op `op` from `inputs` with the given backward rule, if any input requires grad. */
export function record(out: Tensor, op: string, inputs: readonly Tensor[], backward: GradFn['backward']): Tensor {
  if (!gradEnabled || !isFloat(out.dtype)) return out;
  if (!inputs.some((t) => t.requiresGrad)) return out;
  out._setGradFn({ op, inputs, backward });
  return out;
}

function accumulate(a: Tensor | undefined | null, b: Tensor): Tensor {
  return a ? Tensor.fromData(runKernel('add', a, b)) : b;
}

function runBackward(root: Tensor, grad?: Tensor): void {
  if (!root.requiresGrad) {
    throw new Error('backward: this tensor does not require grad (no input of its graph has requiresGrad = true)');
  }
  let seed: Tensor;
  if (grad === undefined) {
    if (root.size !== 1) {
      throw new Error(
        `backward: called on a non-scalar tensor of shape ${shapeStr(root.shape)}; reduce it to a scalar first or pass a gradient of the same shape`,
      );
    }
    const one = allocArray(root.dtype, 1);
    one[0] = 1;
    seed = new Tensor(one, root.shape, root.dtype);
  } else {
    if (!sameShape(grad.shape, root.shape)) {
      throw new RangeError(`backward: gradient shape ${shapeStr(grad.shape)} does not match tensor shape ${shapeStr(root.shape)}`);
    }
    seed = grad;
  }

  // Reverse topological order by iterative post-order DFS over recorded inputs.
  const order: Tensor[] = [];
  const seen = new Set<Tensor>([root]);
  const stack: { t: Tensor; next: number }[] = [{ t: root, next: 0 }];
  while (stack.length) {
    const top = stack[stack.length - 1];
    const inputs = top.t.gradFn?.inputs ?? [];
    if (top.next < inputs.length) {
      const child = inputs[top.next++];
      if (child.requiresGrad && !seen.has(child)) {
        seen.add(child);
        stack.push({ t: child, next: 0 });
      }
    } else {
      order.push(top.t);
      stack.pop();
    }
  }

  const grads = new Map<Tensor, Tensor>([[root, seed]]);
  noGrad(() => {
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      if (t._keepsGrad) t.grad = accumulate(t.grad, g);
      const fn = t.gradFn;
      if (!fn) continue;
      const ins = fn.backward(g);
      for (let j = 0; j < fn.inputs.length; j++) {
        const input = fn.inputs[j];
        const gi = ins[j];
        if (!gi || !input.requiresGrad) continue;
        if (!sameShape(gi.shape, input.shape)) {
          throw new Error(`backward of ${fn.op}: gradient for input ${j} has shape ${shapeStr(gi.shape)}, expected ${shapeStr(input.shape)}`);
        }
        grads.set(input, accumulate(grads.get(input), gi));
      }
    }
  });
}
