/**
 * DeepSeek-V3 cut into pipeline stages for ./engine.ts (1F1B, ZB1P, DualPipe, DualPipeV over worker threads).
 *
 * Every stage builds the whole `DeepseekV3` from the config and seed in `options` (so every worker, the main thread and a
 * single-process reference start from the same weights; the engine also copies the main thread's parameters into the
 * workers) and keeps its share:
 * - stage 0: the embedding + its blocks; its input is int32 token ids (B, T), so it has no input gradient;
 * - middle stages: blocks, hidden (B, T, D) in and out;
 * - the last stage: blocks + final norm + output head, giving logits (B, T, V).
 * Layers are split contiguously and as evenly as possible: stage s holds layers [floor(s·L/PP), floor((s+1)·L/PP)).
 * With PP > L some middle stages hold no block and pass the hidden state through unchanged (x·1, so the engine still
 * gets a graph node to send the gradient back through). Parameter names are the full model's (`embed.weight`,
 * `layers.2.attn.wq.weight`, `norm.weight`, `head.weight`), so a stage's state loads into a `DeepseekV3` as it is.
 *
 * Left out: the loss is the main next-token cross-entropy only (`computeLoss`'s mainLoss): no MTP modules are built
 * (config.num_nextn_predict_layers is ignored), the sequence-wise balance loss is off, and the aux-loss-free router
 * bias is never updated (the gates' `bias` buffers stay at their initial values; expert loads are counted but unused).
 * Tied embeddings (head = embedding, on different stages) are rejected. float32 only (src/nn layers).
 */
import { Module } from '../nn/module.js';
import type { Embedding, Linear, RMSNorm } from '../nn/layers.js';
import type { Tensor } from '../tensor/tensor.js';
import { mul } from '../tensor/ops/elementwise.js';
import { crossEntropy } from '../tensor/ops/nn.js';
import { parseConfig, isDeepseek, type DeepseekConfig } from '../models/config.js';
import { DeepseekV3, type Block } from '../models/deepseek_v3.js';
import type { PipelineModel, PipelineModelSpec, StageModule } from './stage.js';

export interface DeepseekStageOptions {
  /** A Hugging Face style config object (model_type deepseek_v3 or deepseek_v2), parsed with `parseConfig`. */
  config: Record<string, unknown>;
  /** Init seed (default 0) and std (default 0.006), as `DeepseekV3`'s options. */
  seed?: number;
  initStd?: number;
  /** Attention implementation (default 'naive', the training path). */
  attnImpl?: 'naive' | 'absorb';
  /** Targets equal to this are ignored by the loss (default -100). */
  ignoreIndex?: number;
}

/** The layers stage s of numStages holds: [floor(s·L/PP), floor((s+1)·L/PP)). */
export function stageLayers(numLayers: number, s: number, numStages: number): number[] {
  const a = Math.floor((s * numLayers) / numStages);
  const b = Math.floor(((s + 1) * numLayers) / numStages);
  return Array.from({ length: b - a }, (_, i) => a + i);
}

function parse(o: DeepseekStageOptions): DeepseekConfig {
  if (!o || typeof o.config !== 'object')
    throw new Error('deepseek stages: options.config (a model config object) is required');
  const c = parseConfig(o.config, 'deepseek stages').config;
  if (!isDeepseek(c))
    throw new Error(`deepseek stages: model_type must be deepseek_v3 or deepseek_v2, got ${c.model_type}`);
  if (c.tie_word_embeddings)
    throw new Error(
      'deepseek stages: tie_word_embeddings is not supported (the head and the embedding would sit on different stages)',
    );
  return c;
}

/** One pipeline stage of DeepSeek-V3: [embedding] blocks [final norm + head]. */
export class DeepseekStage extends Module implements StageModule {
  readonly embed: Embedding | null;
  readonly blocks: Block[];
  readonly norm: RMSNorm | null;
  readonly head: Linear | null;
  readonly layerIds: number[];
  private readonly model: DeepseekV3;
  private readonly attnImpl: 'naive' | 'absorb';

  constructor(o: DeepseekStageOptions, stage: number, numStages: number) {
    super();
    if (!Number.isInteger(numStages) || numStages < 1 || !Number.isInteger(stage) || stage < 0 || stage >= numStages) {
      throw new RangeError(`deepseek stages: stage ${stage} of ${numStages} does not exist`);
    }
    const c = parse(o);
    this.model = new DeepseekV3(c, { seed: o.seed ?? 0, initStd: o.initStd });
    this.attnImpl = o.attnImpl ?? 'naive';
    this.layerIds = stageLayers(c.num_hidden_layers, stage, numStages);
    this.embed = stage === 0 ? this.child('embed', this.model.embed) : null;
    this.blocks = this.layerIds.map((i) => this.child(`layers.${i}`, this.model.layers[i]));
    const last = stage === numStages - 1;
    this.norm = last ? this.child('norm', this.model.norm) : null;
    this.head = last ? this.child('head', this.model.head!) : null;
  }

  /**
   * The engine copies parameters only; buffers not in `state` (the gates' router bias, never updated here, so equal to
   * the seeded value everywhere) keep their own values. Missing or unexpected parameters are still errors.
   */
  override loadStateDict(
    state: Map<string, Tensor>,
    opts: { strict?: boolean } = {},
  ): { missing: string[]; unexpected: string[] } {
    return super.loadStateDict(new Map([...this.namedBuffers(), ...state]), opts);
  }

  /** Stage 0: ids (B, T) int32; others: hidden (B, T, D). -> hidden (B, T, D), or logits (B, T, V) on the last stage. */
  forward(x: Tensor): Tensor {
    let h: Tensor;
    if (this.embed) {
      if (x.ndim !== 2 || x.dtype !== 'int32')
        throw new TypeError(`deepseek stage 0: input must be int32 ids (B, T), got ${x.dtype} [${x.shape}]`);
      h = this.embed.forward(x);
    } else {
      if (x.ndim !== 3) throw new TypeError(`deepseek stage: input must be a hidden state (B, T, D), got [${x.shape}]`);
      h = this.blocks.length === 0 && !this.head ? mul(x, 1) : x;
    }
    if (this.blocks.length > 0) {
      const ctx = this.model.ropeContext(0, h.shape[1], this.attnImpl);
      for (const b of this.blocks) h = b.forward(h, ctx, null);
    }
    return this.head && this.norm ? this.head.forward(this.norm.forward(h)) : h;
  }
}

/** The factory a worker imports (see PipelineModelSpec): options are `DeepseekStageOptions`. */
export function pipelineModel(options: unknown): PipelineModel {
  const o = options as DeepseekStageOptions;
  parse(o); // fail early, in the main thread, on a bad config
  const ignoreIndex = o.ignoreIndex ?? -100;
  return {
    buildStage: (s, n) => new DeepseekStage(o, s, n),
    // Mean next-token cross-entropy of the micro-batch (computeLoss's main loss); targets (B, T) int32.
    loss: (logits, targets) => crossEntropy(logits, targets, { ignoreIndex }),
  };
}

/** The spec that points workers at this module. */
export function deepseekModelSpec(options: DeepseekStageOptions): PipelineModelSpec {
  return { module: import.meta.url, exportName: 'pipelineModel', options };
}
