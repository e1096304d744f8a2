/**
 * The pipeline stage contract and the compute of one chunk: forward, full backward, and the backward split into an
 * input-gradient half (BI) and a weight-gradient half (W) that zero-bubble schedules and DualPipe defer.
 *
 * A stage is any r1ts `Module` with `forward(x) -> y`; a `PipelineModel` cuts a model into PP such stages and supplies
 * the loss. Workers build their stages from a `PipelineModelSpec` (a module URL + JSON options), because modules
 * cannot cross threads; parameters are then copied in from the main thread so every copy starts identical.
 *
 * How the backward is split, with the unmodified r1ts autograd (one rule per op, rules check `requiresGrad` of their
 * inputs when they run, and the graph stays alive after `backward()`):
 * - BI: the stage's parameters are switched to `requiresGrad = false`, then `backward` runs from the chunk's output with
 *   its output gradient. The engine does not descend into the parameters and matmul skips their products, so this
 *   computes the activation gradients down to the stage input x (a leaf) and nothing for the weights.
 * - W: parameters back on, x switched off, and `backward` runs again from the same output with the same gradient. This
 *   accumulates exactly the weight gradients a full backward would (same kernels, same order), so BI + W equals B.
 * Cost: W walks the activation-gradient chain a second time (W here costs about B_input + W_true), because the engine
 * has no way to keep per-op output gradients for a later weight-only pass. The schedules and the numbers are exact;
 * only the CPU time of a deferred W is inflated. The first stage has no input gradient to send, so its BI does nothing
 * and its W is one full backward.
 */
import type { Module } from '../nn/module.js';
import { Tensor } from '../tensor/tensor.js';
import { isFloat } from '../tensor/dtype.js';
import { mul } from '../tensor/ops/elementwise.js';

/** A pipeline stage: a module mapping one tensor to one tensor. */
export interface StageModule extends Module {
  forward(x: Tensor): Tensor;
}

/** A model cut into pipeline stages. */
export interface PipelineModel {
  /** Builds stage `s` of `numStages` (0 = takes the batch input, numStages-1 = produces what `loss` reads). */
  buildStage(s: number, numStages: number): StageModule;
  /** Loss of one micro-batch: a scalar tensor, a mean over the micro-batch's rows (so micro-batches average). */
  loss(output: Tensor, target: Tensor): Tensor;
}

/**
 * Where a worker finds the model: `module` is a URL (file:) of an ES module whose export `exportName` (default
 * `pipelineModel`) is a function `(options) => PipelineModel`; `options` must survive structured clone (JSON-like).
 */
export interface PipelineModelSpec {
  module: string;
  exportName?: string;
  options?: unknown;
}

export type PipelineModelFactory = (options: unknown) => PipelineModel;

/** Imports the spec's module and builds the model. */
export async function loadPipelineModel(spec: PipelineModelSpec): Promise<PipelineModel> {
  const mod = (await import(spec.module)) as Record<string, unknown>;
  const name = spec.exportName ?? 'pipelineModel';
  const factory = mod[name];
  if (typeof factory !== 'function') throw new Error(`pipeline: ${spec.module} has no function export '${name}'`);
  return (factory as PipelineModelFactory)(spec.options);
}

/** What one chunk keeps between its forward and its backward steps. */
export interface SavedChunk {
  /** The stage input as a leaf (requires grad when it is a float and the stage is not the first). */
  readonly x: Tensor;
  /** The backward root: the stage output, or the loss scaled by 1/N on the last stage. */
  readonly root: Tensor;
  /** Gradient of `root` (null for the scaled loss, which seeds with 1). Set by the backward step. */
  gy: Tensor | null;
}

export interface ForwardResult {
  saved: SavedChunk;
  /** Stage output to send on (not on the last stage). */
  output: Tensor | null;
  /** The micro-batch loss before scaling (last stage only). */
  loss: number | null;
}

/**
 * Forward of one chunk. `x` is the received input (any dtype); on the last stage `target` is required and the root is
 * loss * lossScale (lossScale = 1/N so that N micro-batches average).
 */
export function forwardChunk(
  stage: StageModule,
  x: Tensor,
  opts: { first: boolean; last: boolean; model: PipelineModel; target?: Tensor; lossScale: number },
): ForwardResult {
  const leaf = new Tensor(x.data, x.shape, x.dtype);
  if (!opts.first && isFloat(leaf.dtype)) leaf.requiresGrad = true;
  const y = stage.forward(leaf);
  if (!opts.last) return { saved: { x: leaf, root: y, gy: null }, output: y, loss: null };
  if (!opts.target) throw new Error('pipeline: the last stage needs a target');
  const l = opts.model.loss(y, opts.target);
  if (l.size !== 1) throw new Error(`pipeline: loss must be a scalar, got shape [${l.shape.join(', ')}]`);
  return { saved: { x: leaf, root: mul(l, opts.lossScale), gy: null }, output: null, loss: l.item() };
}

function runRoot(saved: SavedChunk): void {
  if (!saved.root.requiresGrad) return; // nothing trainable upstream of this output
  if (saved.gy) saved.root.backward(saved.gy);
  else saved.root.backward();
}

function setParams(stage: Module, on: boolean): void {
  for (const p of stage.parameters()) p.requiresGrad = on;
}

/** Full backward (B): input gradient (returned, null on the first stage) and weight gradients (accumulated). */
export function backwardFull(saved: SavedChunk, gy: Tensor | null): Tensor | null {
  saved.gy = gy;
  runRoot(saved);
  return takeInputGrad(saved);
}

/** Backward for the input only (BI): returns the input gradient; weight gradients are left for `backwardWeight`. */
export function backwardInput(stage: Module, saved: SavedChunk, gy: Tensor | null): Tensor | null {
  saved.gy = gy;
  if (!saved.x.requiresGrad) return null; // first stage: no input gradient to compute
  setParams(stage, false);
  try {
    runRoot(saved);
  } finally {
    setParams(stage, true);
  }
  return takeInputGrad(saved);
}

/** The weight-gradient half (W) of a chunk whose `backwardInput` ran: accumulates the parameters' `.grad`. */
export function backwardWeight(saved: SavedChunk): void {
  const had = saved.x.requiresGrad;
  if (had) saved.x.requiresGrad = false;
  try {
    runRoot(saved);
  } finally {
    if (had) saved.x.requiresGrad = true;
  }
}

function takeInputGrad(saved: SavedChunk): Tensor | null {
  if (!saved.x.requiresGrad) return null;
  const g = saved.x.grad;
  if (!g) throw new Error('pipeline: the stage output does not depend on its input (no input gradient)');
  saved.x.grad = null;
  return g;
}
