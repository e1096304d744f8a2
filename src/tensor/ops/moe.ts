/**
 * The routed experts of an MoE layer as one op (src/models/deepseek_v3.ts `MoE`): one kernel call forward and one
 * backward for all experts, where the unfused layer runs three Linears, a SwiGLU and a scale per expert, each with its
 * own graph node. Same numbers as the unfused ops (the kernels do their steps: src/backend/ts/moe.ts).
 */
import type { MoeAttrs, TensorData } from '../../backend/kernels.js';
import { runKernel } from '../../backend/registry.js';
import { type Tensor, record } from '../tensor.js';
import { wrap } from './util.js';

/** One routed expert's weights: w1 (I, D) gate, w3 (I, D) up, w2 (D, I) down (`MLP`'s Linears). */
export interface ExpertParams {
  readonly w1: Tensor;
  readonly w3: Tensor;
  readonly w2: Tensor;
}

/**
 * y (nTokens, D) = sum over the rows r of xs (M, D), sorted by expert (sizes[e] rows for experts[e]), of
 * weights[slots[r]] * w2 (silu(w1 xs_r) * (w3 xs_r)) added at row tokens[r] of y. `weights` is the router's gate
 * weights (any shape; read flat). Gradients flow to xs, weights and every expert's three matrices.
 */
export function moeExperts(xs: Tensor, weights: Tensor, experts: readonly ExpertParams[], attrs: MoeAttrs): Tensor {
  const r = runKernel('moeExperts', xs, weights, experts, attrs);
  const y = wrap(r.y);
  const saved = { h1: r.h1, h3: r.h3, act: r.act, o: r.o };
  const inputs = [xs, weights, ...experts.flatMap((e) => [e.w1, e.w3, e.w2])];
  return record(y, 'moeExperts', inputs, (g) => {
    // what needs a gradient is read when the backward runs, as matmul's rule does (a pipeline's input-only pass
    // switches the weights off for it)
    const need = {
      xs: xs.requiresGrad,
      experts: experts.map((e) => e.w1.requiresGrad || e.w3.requiresGrad || e.w2.requiresGrad),
    };
    const b = runKernel('moeExpertsBackward', g, xs, weights, experts, saved, attrs, need);
    const opt = (t: TensorData | null) => (t ? wrap(t) : null);
    return [opt(b.dxs), wrap(b.dweights), ...experts.flatMap((_, e) => [opt(b.dw1[e]), opt(b.dw3[e]), opt(b.dw2[e])])];
  });
}
