/** Model families and the factory that builds one from a config. */
import { type ModelConfig, isDeepseek } from './config.js';
import { DeepseekV3, type DeepseekOptions } from './deepseek_v3.js';
import { DenseLM } from './dense.js';

export * from './config.js';
export * from './deepseek_v3.js';
export * from './dense.js';
export * from './params.js';
export { ropeTables, ropeCosSin, yarnMscale, type RopeTables } from './rope.js';

/** Any causal language model r1ts builds. */
export type CausalLM = DeepseekV3 | DenseLM;

/** Builds a randomly initialised model for `config` (DeepSeek-V3 init: normal with std 0.006 unless initStd says otherwise). */
export function createModel(config: ModelConfig, opts: DeepseekOptions = {}): CausalLM {
  return isDeepseek(config)
    ? new DeepseekV3(config, opts)
    : new DenseLM(config, { initStd: opts.initStd ?? 0.006, seed: opts.seed });
}
