/**
 * A small pipeline model for tests and demos: an MLP classifier cut into PP stages of residual blocks
 * h + W2 silu(W1 rmsnorm(h)); stage 0 adds an input projection, the last stage a final norm and a class head, and the
 * loss is cross-entropy. It exists so the pipeline engine can be checked before the DeepSeek-V3 stages plug in.
 *
 * float32 stages are built from src/nn's Linear and RMSNorm. Those layers are float32-only, so float64 stages (used to
 * compare pipeline and single-process gradients to ~1e-15) use the same ops (`linear`, `rmsNorm`) over float64
 * weights, with the same parameter names.
 */
import { Module } from '../nn/module.js';
import { Linear, RMSNorm } from '../nn/layers.js';
import { Tensor } from '../tensor/tensor.js';
import { Generator } from '../tensor/random.js';
import { ones, randn } from '../tensor/creation.js';
import { add, mul, silu } from '../tensor/ops/elementwise.js';
import { linear } from '../tensor/ops/linalg.js';
import { crossEntropy, rmsNorm } from '../tensor/ops/nn.js';
import type { FloatDType } from '../tensor/dtype.js';
import type { PipelineModel, PipelineModelSpec, StageModule } from './stage.js';

export interface ToyOptions {
  /** Input features. */
  inputDim: number;
  /** Hidden width of the residual stream. */
  dim: number;
  /** Inner width of each block. */
  hidden: number;
  classes: number;
  blocksPerStage: number;
  dtype: FloatDType;
  seed: number;
}

export const TOY_DEFAULTS: ToyOptions = {
  inputDim: 8,
  dim: 16,
  hidden: 32,
  classes: 5,
  blocksPerStage: 1,
  dtype: 'float64',
  seed: 0,
};

interface Layer extends Module {
  forward(x: Tensor): Tensor;
}

class Linear64 extends Module {
  readonly weight: Tensor;
  constructor(inF: number, outF: number, g: Generator) {
    super();
    const w = randn([outF, inF], { dtype: 'float64', generator: g });
    const s = 1 / Math.sqrt(inF);
    for (let i = 0; i < w.size; i++) w.data[i] *= s;
    this.weight = this.param('weight', w);
  }
  forward(x: Tensor): Tensor {
    return linear(x, this.weight);
  }
}

class RMSNorm64 extends Module {
  readonly weight: Tensor;
  constructor(dim: number) {
    super();
    this.weight = this.param('weight', ones([dim], { dtype: 'float64' }));
  }
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, 1e-6);
  }
}

function makeLinear(o: ToyOptions, inF: number, outF: number, g: Generator): Layer {
  return o.dtype === 'float64'
    ? new Linear64(inF, outF, g)
    : new Linear(inF, outF, { std: 1 / Math.sqrt(inF), generator: g });
}

function makeNorm(o: ToyOptions): Layer {
  return o.dtype === 'float64' ? new RMSNorm64(o.dim) : new RMSNorm(o.dim);
}

/** h + W2 silu(W1 rmsnorm(h)), with W2 scaled down so deep stacks stay tame. */
class Block extends Module {
  readonly norm: Layer;
  readonly w1: Layer;
  readonly w2: Layer;
  constructor(o: ToyOptions, g: Generator) {
    super();
    this.norm = this.child('norm', makeNorm(o));
    this.w1 = this.child('w1', makeLinear(o, o.dim, o.hidden, g));
    this.w2 = this.child('w2', makeLinear(o, o.hidden, o.dim, g));
  }
  forward(h: Tensor): Tensor {
    return add(h, mul(this.w2.forward(silu(this.w1.forward(this.norm.forward(h)))), 0.5));
  }
}

/** One pipeline stage of the toy model: [input projection] blocks [final norm + head]. */
export class ToyStage extends Module implements StageModule {
  readonly inProj: Layer | null;
  readonly blocks: Block[];
  readonly norm: Layer | null;
  readonly head: Layer | null;
  constructor(o: ToyOptions, stage: number, numStages: number) {
    super();
    // One generator per stage, so a stage's weights do not depend on how many stages exist before it.
    const g = new Generator(o.seed * 1000 + stage + 1);
    this.inProj = stage === 0 ? this.child('in_proj', makeLinear(o, o.inputDim, o.dim, g)) : null;
    this.blocks = this.childList(
      'blocks',
      Array.from({ length: o.blocksPerStage }, () => new Block(o, g)),
    );
    const last = stage === numStages - 1;
    this.norm = last ? this.child('norm', makeNorm(o)) : null;
    this.head = last ? this.child('head', makeLinear(o, o.dim, o.classes, g)) : null;
  }
  /** x (B, inputDim) on stage 0, else (B, dim) -> (B, dim), or logits (B, classes) on the last stage. */
  forward(x: Tensor): Tensor {
    let h = this.inProj ? this.inProj.forward(x) : x;
    for (const b of this.blocks) h = b.forward(h);
    return this.head && this.norm ? this.head.forward(this.norm.forward(h)) : h;
  }
}

/** The factory a worker imports (see PipelineModelSpec). */
export function pipelineModel(options: unknown): PipelineModel {
  const o: ToyOptions = { ...TOY_DEFAULTS, ...(options as Partial<ToyOptions>) };
  return {
    buildStage: (s, n) => new ToyStage(o, s, n),
    loss: (out, target) => crossEntropy(out, target),
  };
}

/** The spec that points workers at this module. */
export function toyModelSpec(options: Partial<ToyOptions> = {}): PipelineModelSpec {
  return { module: import.meta.url, exportName: 'pipelineModel', options: { ...TOY_DEFAULTS, ...options } };
}

/** A random batch for the toy model: x (B, inputDim) and int32 class targets (B). */
export function toyBatch(o: Partial<ToyOptions>, batch: number, seed: number): { x: Tensor; target: Tensor } {
  const opts = { ...TOY_DEFAULTS, ...o };
  const g = new Generator(seed);
  const x = randn([batch, opts.inputDim], { dtype: opts.dtype, generator: g });
  const ids = g.integers(batch, 0, opts.classes);
  return { x, target: new Tensor(ids, [batch], 'int32') };
}
