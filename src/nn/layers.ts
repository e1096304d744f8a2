/** Basic layers: Linear (weight stored (out, in) as in PyTorch/HF), Embedding, RMSNorm. */
import { Module } from './module.js';
import { ones, randn, zeros } from '../tensor/creation.js';
import { embedding, linear, rmsNorm } from '../tensor/ops/index.js';
import { mul } from '../tensor/ops/elementwise.js';
import type { Generator } from '../tensor/random.js';
import { Tensor, noGrad } from '../tensor/tensor.js';
import { numel } from '../tensor/shape.js';

export interface InitOptions {
  /** Standard deviation of the normal init (DeepSeek-V3 uses 0.006). */
  std: number;
  generator?: Generator;
  /**
   * Storage of Linear and Embedding weights (default float32). 'bfloat16' allocates them as bf16 zeros to load a
   * checkpoint into, for inference only (no random init, no gradient); norms and biases stay float32.
   */
  weightDtype?: 'float32' | 'bfloat16';
}

/** A normal(0, std) float32 tensor (bf16 zeros to be loaded into with `weightDtype: 'bfloat16'`). */
export function normalInit(shape: number[], init: InitOptions): Tensor {
  if (init.weightDtype === 'bfloat16') return new Tensor(new Uint16Array(numel(shape)), shape, 'bfloat16');
  const t = randn(shape, { generator: init.generator });
  return noGrad(() => mul(t, init.std)).detach();
}

/** A replacement GEMM for a Linear layer: (x, weight, bias) -> y, as `linear` (used for bf16 / fp8 training). */
export type LinearGemm = (x: Tensor, weight: Tensor, bias: Tensor | null) => Tensor;

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  /** The GEMM used by forward; null = float32 `linear`. Set by `setModelPrecision` (src/fp8/precision.ts). */
  gemm: LinearGemm | null = null;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    init: InitOptions,
    bias = false,
  ) {
    super();
    this.weight = this.param('weight', normalInit([outFeatures, inFeatures], init));
    this.bias = bias ? this.param('bias', zeros([outFeatures])) : null;
  }

  /** x (..., in) -> (..., out) */
  forward(x: Tensor): Tensor {
    return this.gemm ? this.gemm(x, this.weight, this.bias) : linear(x, this.weight, this.bias);
  }
}

export class Embedding extends Module {
  readonly weight: Tensor;
  constructor(
    readonly numEmbeddings: number,
    readonly dim: number,
    init: InitOptions,
  ) {
    super();
    this.weight = this.param('weight', normalInit([numEmbeddings, dim], init));
  }

  /** ids (...) int32 -> (..., dim) */
  forward(ids: Tensor): Tensor {
    return embedding(this.weight, ids);
  }
}

export class RMSNorm extends Module {
  readonly weight: Tensor;
  constructor(
    readonly dim: number,
    readonly eps = 1e-6,
  ) {
    super();
    this.weight = this.param('weight', ones([dim]));
  }

  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }
}
