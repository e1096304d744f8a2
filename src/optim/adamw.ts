/**
 * AdamW with decoupled weight decay (DeepSeek-V3: beta1 0.9, beta2 0.95, weight decay 0.1, gradient clipping 1.0),
 * and global-norm gradient clipping. Norm weights and biases (tensors with fewer than 2 dims) get no weight decay.
 * Master weights and gradients are float32. Moments are float32, or BF16 (`moments: 'bf16'`, as DeepSeek-V3 stores
 * them: half the optimizer memory): each step widens them to float32, updates, and rounds back to nearest even.
 * State is exportable for checkpoints (exact resume; BF16 moments export as the float32 values they hold).
 * The update is the `adamwStep` kernel, run through the kernel registry on the active backend: the reference is
 * src/backend/ts/optim.ts, and every backend gives its bits (so resuming a run on another backend is exact).
 */
import '../backend/ts/index.js'; // the reference kernels register before any step can run
import type { AdamWHyper } from '../backend/kernels.js';
import { runKernel } from '../backend/registry.js';
import type { Tensor } from '../tensor/tensor.js';
import { BF16, decodeFloatArray, encodeFloatArray } from '../tensor/formats.js';

export type { AdamWHyper } from '../backend/kernels.js';

/**
 * One AdamW step in place over float32 buffers of one length (param, m and v are updated; grad is read), on the
 * active backend. Throws a RangeError naming the mismatch for buffers of different lengths or a step below 1.
 */
export function adamwStep(
  param: Float32Array,
  grad: Float32Array,
  m: Float32Array,
  v: Float32Array,
  h: AdamWHyper,
): void {
  const n = param.length;
  if (grad.length !== n || m.length !== n || v.length !== n) {
    throw new RangeError(`adamwStep: param has ${n} elements, grad ${grad.length}, m ${m.length}, v ${v.length}`);
  }
  if (!Number.isInteger(h.step) || h.step < 1)
    throw new RangeError(`adamwStep: step must be an integer >= 1, got ${h.step}`);
  runKernel('adamwStep', param, grad, m, v, h);
}

export interface AdamWOptions {
  /** Learning rate (overridden per step by `step(lr)`). */
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Which parameters skip weight decay; default: fewer than 2 dims (norm weights, biases, router bias). */
  noDecay?: (name: string, p: Tensor) => boolean;
  /** Storage of the first and second moments: 'fp32' (default) or 'bf16' (DeepSeek-V3). */
  moments?: 'fp32' | 'bf16';
}

/** One moment buffer: float32 values, or BF16 codes. */
type MomentBuffer = Float32Array | Uint16Array;

export interface AdamWState {
  step: number;
  /** First and second moments per parameter name. */
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

export class AdamW {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Moment storage. */
  readonly moments: 'fp32' | 'bf16';
  private readonly params: { name: string; p: Tensor; decay: boolean; m: MomentBuffer; v: MomentBuffer }[];
  /** Optimizer steps taken. */
  stepCount = 0;

  constructor(named: [string, Tensor][], opts: AdamWOptions) {
    this.lr = opts.lr;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.95;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.1;
    const noDecay = opts.noDecay ?? ((_n: string, p: Tensor) => p.ndim < 2);
    this.moments = opts.moments ?? 'fp32';
    if (this.moments !== 'fp32' && this.moments !== 'bf16')
      throw new RangeError(`AdamW: moments must be 'fp32' or 'bf16' (got '${String(this.moments)}')`);
    const alloc = (n: number): MomentBuffer => (this.moments === 'bf16' ? new Uint16Array(n) : new Float32Array(n));
    this.params = named.map(([name, p]) => {
      if (p.dtype !== 'float32')
        throw new TypeError(`AdamW: parameter ${name} is ${p.dtype}; master weights must be float32`);
      return { name, p, decay: !noDecay(name, p), m: alloc(p.size), v: alloc(p.size) };
    });
  }

  /** Bytes held by the moments (4 per element and moment in fp32, 2 in bf16). */
  get momentBytes(): number {
    return this.params.reduce((s, q) => s + q.m.byteLength + q.v.byteLength, 0);
  }

  /** One update of every parameter that has a gradient, at learning rate `lr` (default: the constructor's). */
  step(lr = this.lr): void {
    this.stepCount++;
    for (const s of this.params) {
      const g = s.p.grad;
      if (!g) continue;
      const hyper = {
        lr,
        beta1: this.beta1,
        beta2: this.beta2,
        eps: this.eps,
        weightDecay: s.decay ? this.weightDecay : 0,
        step: this.stepCount,
      };
      if (s.m instanceof Float32Array && s.v instanceof Float32Array) {
        adamwStep(s.p.data as Float32Array, g.data as Float32Array, s.m, s.v, hyper);
      } else {
        // BF16 storage: widen (exact), update in float32, round back to nearest even
        const m = decodeFloatArray(s.m as Uint16Array, BF16);
        const v = decodeFloatArray(s.v as Uint16Array, BF16);
        adamwStep(s.p.data as Float32Array, g.data as Float32Array, m, v, hyper);
        encodeFloatArray(m, BF16, { out: s.m as Uint16Array });
        encodeFloatArray(v, BF16, { out: s.v as Uint16Array });
      }
    }
  }

  zeroGrad(): void {
    for (const s of this.params) s.p.grad = null;
  }

  /** Copies of the moments (as float32 values) and the step count. */
  stateDict(): AdamWState {
    const f32 = (b: MomentBuffer): Float32Array =>
      b instanceof Float32Array ? Float32Array.from(b) : decodeFloatArray(b, BF16);
    return {
      step: this.stepCount,
      m: new Map(this.params.map((s) => [s.name, f32(s.m)])),
      v: new Map(this.params.map((s) => [s.name, f32(s.v)])),
    };
  }

  loadStateDict(state: AdamWState): void {
    for (const s of this.params) {
      const m = state.m.get(s.name);
      const v = state.v.get(s.name);
      if (!m || !v) throw new Error(`AdamW.loadStateDict: no moments for ${s.name}`);
      if (m.length !== s.m.length || v.length !== s.v.length)
        throw new RangeError(`AdamW.loadStateDict: moments of ${s.name} have the wrong size`);
      if (s.m instanceof Float32Array && s.v instanceof Float32Array) {
        s.m.set(m);
        s.v.set(v);
      } else {
        encodeFloatArray(m, BF16, { out: s.m as Uint16Array });
        encodeFloatArray(v, BF16, { out: s.v as Uint16Array });
      }
    }
    this.stepCount = state.step;
  }
}

/**
 * Scales all gradients so that their global L2 norm is at most `maxNorm` (like torch.nn.utils.clip_grad_norm_).
 * Returns the norm before clipping (NaN or Infinity if any gradient is not finite; gradients are then left as they are).
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  let ss = 0;
  for (const p of params) {
    const g = p.grad?.data;
    if (!g) continue;
    for (let i = 0; i < g.length; i++) ss += g[i] * g[i];
  }
  const norm = Math.sqrt(ss);
  if (!Number.isFinite(norm)) return norm;
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) {
    for (const p of params) {
      const g = p.grad?.data;
      if (!g) continue;
      for (let i = 0; i < g.length; i++) g[i] *= coef;
    }
  }
  return norm;
}
