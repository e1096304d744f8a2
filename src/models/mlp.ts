/**
 * The SwiGLU feed-forward block shared by every family (DeepSeek-V3's dense layers, routed and shared experts; the
 * dense students' MLP): w2(silu(w1 x) * w3 x), names as DeepSeek's reference code (src/io/hf.ts maps them to
 * gate_proj / down_proj / up_proj).
 */
import { Module } from '../nn/module.js';
import { Linear, type InitOptions } from '../nn/layers.js';
import type { Tensor } from '../tensor/tensor.js';
import { swiglu } from '../tensor/ops/index.js';

export class MLP extends Module {
  readonly w1: Linear;
  readonly w2: Linear;
  readonly w3: Linear;
  /**
   * A fused replacement of forward, (x, this) -> y, or null for three Linears and `swiglu`. `setModelPrecision` sets it
   * for fp8 (src/fp8/swiglu.ts: FP8 SwiGLU inputs, recomputed output, FP8 dispatch for routed experts).
   */
  fused: ((x: Tensor, mlp: MLP) => Tensor) | null = null;
  constructor(dim: number, inter: number, init: InitOptions) {
    super();
    this.w1 = this.child('w1', new Linear(dim, inter, init));
    this.w2 = this.child('w2', new Linear(inter, dim, init));
    this.w3 = this.child('w3', new Linear(dim, inter, init));
  }
  /** SwiGLU: w2(silu(w1 x) * w3 x). */
  forward(x: Tensor): Tensor {
    if (this.fused) return this.fused(x, this);
    return this.w2.forward(swiglu(this.w1.forward(x), this.w3.forward(x)));
  }
}
