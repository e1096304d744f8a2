/**
 * The Tensor: a contiguous, row-major N-d array over a typed array, with reverse-mode autograd.
 *
 * What it is: `data`, `shape`, `dtype`, plus the autograd fields (`requiresGrad`, `grad`, `gradFn`). Reshapes are views
 * that share `data`; every other op returns a new buffer. What it is not: a strided tensor; there are no non-contiguous
 * views, so transposes copy (matmul reads transposed operands in place through its trans flags instead).
 *
 * The autograd engine is here too: ops record a `GradFn` (one backward rule plus one edge per input) on their output,
 * and `backward()` walks the graph in reverse topological order, summing gradients of nodes used several times.
 * The graph is made of grad nodes, not of tensors (as PyTorch's): an edge points to the producer's `GradFn` for a
 * non-leaf input, to the tensor itself only for a leaf that requires grad, and nowhere for an input that needs no
 * gradient. So the graph holds an op's float32 input only if the op's backward closure captures it; an intermediate
 * no closure captures can be garbage-collected right after the forward pass (the FP8 Linear's input, for one:
 * src/fp8/linear.ts). A non-leaf's `GradFn` references its output tensor only after `retainGrad()`. An op with several
 * outputs (`split`) gives each output a node that hands its gradient to one shared node, whose rule then runs once with
 * all of them (`recordParts`).
 * Op methods (`t.add(u)`, `t.matmul(w)`, ...) are attached in ./methods.ts.
 */
import { inspect } from 'node:util';
import '../backend/ts/index.js'; // the reference backend registers itself before any op can run
import { runKernel } from '../backend/registry.js';
import type { TensorData } from '../backend/kernels.js';
import { type DType, type TypedArray, allocArray, dtypeOfArray, isFloat } from './dtype.js';
import { type Shape, numel, sameShape, shapeStr } from './shape.js';
import { formatTensor } from './format.js';
import { inBufferPool } from './pool.js';

/** A node of the backward graph: a recorded op, or a leaf tensor that requires grad (where gradients land). */
export type GradNode = GradFn | Tensor;

/**
 * One recorded op: the rule mapping the output gradient to input gradients, and one graph edge per input (see the file
 * header). It holds no input tensor of its own; the rule's closure holds what it needs.
 */
export interface GradFn {
  readonly op: string;
  /** Per input: the producer's GradFn (non-leaf), the leaf tensor (a leaf that required grad when recorded), or null. */
  readonly next: readonly (GradNode | null)[];
  /** Per input: its shape, to check the gradients `backward` returns. */
  readonly inputShapes: readonly (readonly number[])[];
  /** Returns one gradient per input (null where the input gets none). Runs with grad recording off. */
  readonly backward: (grad: Tensor) => readonly (Tensor | null)[];
  /** The op's output, set only by `retainGrad()` (backward then stores its `.grad`); otherwise null. */
  retained: Tensor | null;
  /**
   * Set on each output of an op with several outputs (see `recordParts`): this output's gradient is handed to the
   * op's shared node as part `index`, and `backward` is not called.
   */
  readonly partOf?: { readonly node: GradFn; readonly index: number; readonly count: number };
  /** Set on the shared node of an op with several outputs: the rule from the outputs' gradients (null where none). */
  readonly backwardParts?: (parts: readonly (Tensor | null)[]) => readonly (Tensor | null)[];
}

/** The gradients of an op with several outputs, collected part by part until its shared node runs. */
class PartGrads {
  constructor(readonly parts: (Tensor | null)[]) {}
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
  /**
   * A float32 leaf's gradient array, kept from one training micro-batch to the next (`leafGrad`): `.grad` wraps it
   * while set; setting `.grad` to null (zeroGrad) keeps the array for the next backward.
   */
  gradBuffer: Float32Array | null = null;
  /** The op that produced this tensor, when it was recorded for autograd. */
  gradFn: GradFn | null = null;
  private requiresGradValue = false;
  private retainsGrad = false;

  /** Wraps `data` (not copied) as a tensor of `shape`. Prefer the creation functions (`tensor`, `zeros`, ...). */
  constructor(data: TypedArray, shape: Shape, dtype: DType = dtypeOfArray(data)) {
    if (data.length !== numel(shape)) {
      throw new RangeError(`Tensor: ${data.length} elements do not fill shape ${shapeStr(shape)} (${numel(shape)})`);
    }
    if (dtypeOfArray(data) !== dtype)
      throw new TypeError(`Tensor: a ${data.constructor.name} cannot hold dtype ${dtype}`);
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
    if (v && !isFloat(this.dtype))
      throw new TypeError(`requiresGrad: only float tensors can require grad (got ${this.dtype})`);
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
    if (this.retainsGrad) fn.retained = this;
  }

  /** Keeps `.grad` on this non-leaf tensor after backward (its GradFn then references it). */
  retainGrad(): this {
    this.retainsGrad = true;
    if (this.gradFn) this.gradFn.retained = this;
    return this;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.data.length !== 1)
      throw new RangeError(`item: tensor of shape ${shapeStr(this.shape)} has ${this.data.length} elements, not 1`);
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

/**
 * Marks `out` as produced by op `op` from `inputs` with the given backward rule, if any input requires grad.
 * The graph keeps the inputs' grad nodes and shapes, not the inputs: `backward` must capture what it needs itself.
 */
export function record(out: Tensor, op: string, inputs: readonly Tensor[], backward: GradFn['backward']): Tensor {
  if (!gradEnabled || !isFloat(out.dtype)) return out;
  if (!inputs.some((t) => t.requiresGrad)) return out;
  const next = inputs.map((t): GradNode | null => t.gradFn ?? (t.requiresGrad ? t : null));
  out._setGradFn({ op, next, inputShapes: inputs.map((t) => t.shape), backward, retained: null });
  return out;
}

function accumulate(a: Tensor | undefined | null, b: Tensor): Tensor {
  return a ? Tensor.fromData(runKernel('add', a, b)) : b;
}

/**
 * A leaf's `.grad` after adding `g`: the same bits as `accumulate`. Inside a buffer-pool scope (a training micro-batch)
 * a float32 leaf sums into its own `gradBuffer` instead: the first gradient is copied there, later ones added in place
 * (float32 sums, as the 'add' kernel's). The backward's arrays then all go back to the pool when the micro-batch ends,
 * and a step makes no fresh parameter-sized arrays for the garbage collector (BENCHMARKS.md, "Buffer pool").
 */
function leafGrad(leaf: Tensor, g: Tensor): Tensor {
  const a = leaf.grad;
  if (!inBufferPool() || leaf.dtype !== 'float32' || !(g.data instanceof Float32Array)) return accumulate(a, g);
  if (a && a.data !== leaf.gradBuffer) return accumulate(a, g); // a gradient set from outside: left as it was
  // Made outside the pool (a plain array): it outlives the scope.
  const buf = leaf.gradBuffer?.length === leaf.size ? leaf.gradBuffer : new Float32Array(leaf.size);
  leaf.gradBuffer = buf;
  if (a) runKernel('addInto', buf, g.data, buf.length);
  else buf.set(g.data);
  return a ?? new Tensor(buf, leaf.shape, 'float32');
}

const unreachableRule = (op: string) => (): never => {
  throw new Error(`backward of ${op}: an output's node was run directly`);
};
const oneInputRule =
  (backward: (parts: readonly (Tensor | null)[]) => Tensor | null) =>
  (parts: readonly (Tensor | null)[]): (Tensor | null)[] => [backward(parts)];

/**
 * Records an op with several outputs and one input (`split`): one shared node whose rule gets every output's gradient
 * at once (null for an output that got none), so the input's gradient is built once (a concat) instead of once per
 * output and then summed.
 */
export function recordParts(
  outs: readonly Tensor[],
  op: string,
  input: Tensor,
  backward: (parts: readonly (Tensor | null)[]) => Tensor | null,
): void {
  if (!gradEnabled || !isFloat(input.dtype) || !input.requiresGrad) return;
  // The rules come from module-level factories: an arrow written here would share this call's scope, which holds
  // `outs` and `input`, and keep them alive for as long as the graph (see the header).
  const fail = unreachableRule(op);
  const node: GradFn = {
    op,
    next: [input.gradFn ?? input],
    inputShapes: [input.shape],
    backward: fail,
    backwardParts: oneInputRule(backward),
    retained: null,
  };
  outs.forEach((out, index) => {
    out._setGradFn({
      op,
      next: [node],
      inputShapes: [out.shape],
      backward: fail,
      partOf: { node, index, count: outs.length },
      retained: null,
    });
  });
}

/**
 * Adds `g` to a leaf's `.grad` exactly as `backward` does (the first gradient is taken as is, later ones are added with
 * the 'add' kernel), so gradients computed elsewhere (data-parallel workers) sum to the same bits as accumulation here.
 */
export function accumulateGrad(leaf: Tensor, g: Tensor): void {
  if (!sameShape(g.shape, leaf.shape))
    throw new RangeError(
      `accumulateGrad: gradient shape ${shapeStr(g.shape)} does not match tensor shape ${shapeStr(leaf.shape)}`,
    );
  leaf.grad = leafGrad(leaf, g);
}

/** Whether gradients flow into this node now (a leaf's requiresGrad is read at backward time). */
function live(n: GradNode | null): n is GradNode {
  return n !== null && (!(n instanceof Tensor) || n.requiresGrad);
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
      throw new RangeError(
        `backward: gradient shape ${shapeStr(grad.shape)} does not match tensor shape ${shapeStr(root.shape)}`,
      );
    }
    seed = grad;
  }
  // A non-leaf root keeps its .grad only if retained; its GradFn knows (retainGrad sets `retained`).
  const rootNode: GradNode = root.gradFn ?? root;

  // Reverse topological order by iterative post-order DFS over the graph edges.
  const order: GradNode[] = [];
  const seen = new Set<GradNode>([rootNode]);
  const stack: { n: GradNode; next: number }[] = [{ n: rootNode, next: 0 }];
  while (stack.length) {
    const top = stack[stack.length - 1];
    const edges = top.n instanceof Tensor ? [] : top.n.next;
    if (top.next < edges.length) {
      const child = edges[top.next++];
      if (live(child) && !seen.has(child)) {
        seen.add(child);
        stack.push({ n: child, next: 0 });
      }
    } else {
      order.push(top.n);
      stack.pop();
    }
  }

  const grads = new Map<GradNode, Tensor>([[rootNode, seed]]);
  const partGrads = new Map<GradFn, PartGrads>();
  noGrad(() => {
    for (let i = order.length - 1; i >= 0; i--) {
      const n = order[i];
      let ins: readonly (Tensor | null)[];
      if (!(n instanceof Tensor) && n.backwardParts) {
        const pg = partGrads.get(n);
        if (!pg) continue;
        partGrads.delete(n);
        ins = n.backwardParts(pg.parts);
      } else {
        const g = grads.get(n);
        if (!g) continue;
        grads.delete(n);
        if (n instanceof Tensor) {
          n.grad = leafGrad(n, g); // a leaf
          continue;
        }
        if (n.retained) n.retained.grad = accumulate(n.retained.grad, g);
        if (n.partOf) {
          // One output of a several-output op: its gradient waits for the op's shared node, which comes later in
          // this order (every output's node points to it).
          const { node, index, count } = n.partOf;
          let pg = partGrads.get(node);
          if (!pg) partGrads.set(node, (pg = new PartGrads(new Array<Tensor | null>(count).fill(null))));
          pg.parts[index] = g;
          continue;
        }
        ins = n.backward(g);
      }
      for (let j = 0; j < n.next.length; j++) {
        const child = n.next[j];
        const gi = ins[j];
        if (!gi || !live(child)) continue;
        if (!sameShape(gi.shape, n.inputShapes[j])) {
          throw new Error(
            `backward of ${n.op}: gradient for input ${j} has shape ${shapeStr(gi.shape)}, expected ${shapeStr(n.inputShapes[j])}`,
          );
        }
        grads.set(child, accumulate(grads.get(child), gi));
      }
    }
  });
}
