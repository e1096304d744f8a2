/**
 * Model families and the factory that builds one from a config. Each family is one row of `FAMILIES`: the Hugging
 * Face `model_type`s it builds and its constructor. Everything outside src/models talks to the `CausalLM` interface
 * (./causal_lm.ts); adding a family means a config parser case (./config.ts), a model file, a row here, and its names in
 * src/io/hf.ts.
 */
import type { ModelConfig } from './config.js';
import type { CausalLM } from './causal_lm.js';
import { DeepseekV3 } from './deepseek_v3.js';
import { DenseLM } from './dense.js';

export * from './causal_lm.js';
export * from './config.js';
export * from './deepseek_v3.js';
export * from './dense.js';
export * from './mlp.js';
export * from './params.js';
export { ropeTables, ropeCosSin, yarnMscale, type RopeTables } from './rope.js';

/** How a new model is initialised. */
export interface ModelInitOptions {
  /** Std of the normal init (default 0.006, DeepSeek-V3's). */
  initStd?: number;
  /** Seed for the init (default 0). */
  seed?: number;
  /**
   * 'bfloat16': the weight matrices (linear layers, embedding, head) are allocated as bf16 zeros for a checkpoint to be
   * loaded into, for inference only; the dense families (qwen2, llama) support it, others refuse it.
   */
  weightDtype?: 'float32' | 'bfloat16';
}

/** One model family: which configs it builds, and how. */
export interface ModelFamily {
  readonly name: string;
  /** Whether this family builds `config` (the built-in ones look at model_type). */
  matches(config: ModelConfig): boolean;
  create(config: ModelConfig, opts: ModelInitOptions): CausalLM;
}

const BUILTIN_FAMILIES: readonly ModelFamily[] = [
  {
    name: 'deepseek',
    matches: (c) => c.model_type === 'deepseek_v3' || c.model_type === 'deepseek_v2',
    create: (c, o) => {
      if (o.weightDtype === 'bfloat16')
        throw new Error(
          `models: bf16 weights in memory are supported for the dense families (qwen2, llama), not ${c.model_type}: load it with float32 weights`,
        );
      return new DeepseekV3(c as DeepseekV3['config'], o);
    },
  },
  {
    name: 'dense',
    matches: (c) => c.model_type === 'qwen2' || c.model_type === 'llama',
    create: (c, o) =>
      new DenseLM(c as DenseLM['config'], { initStd: o.initStd ?? 0.006, seed: o.seed, weightDtype: o.weightDtype }),
  },
];

const registered: ModelFamily[] = [];

/**
 * Adds a model family, consulted before the built-in ones (the latest registered first): library users plug in their
 * own `CausalLM` implementation, and `createModel` (used by GRPO's reference copy and data-parallel replicas) builds it.
 */
export function registerModelFamily(family: ModelFamily): void {
  registered.unshift(family);
}

/** The families `createModel` consults, in order. */
export function modelFamilies(): readonly ModelFamily[] {
  return [...registered, ...BUILTIN_FAMILIES];
}

/** The family that builds `config` (an error names the model_type when none does). */
export function familyOf(config: ModelConfig): ModelFamily {
  const f = modelFamilies().find((x) => x.matches(config));
  if (!f) throw new Error(`models: no model family builds model_type '${config.model_type}'`);
  return f;
}

/** Builds a randomly initialised model for `config` (normal init with std 0.006 unless initStd says otherwise). */
export function createModel(config: ModelConfig, opts: ModelInitOptions = {}): CausalLM {
  return familyOf(config).create(config, opts);
}
