// Settings of the R1 recipe small enough for tests of seconds (the micro preset, a step or two per stage).
import { type RecipeSettings, defaultRecipeSettings } from '../../src/recipe/r1.js';

/** Settings small enough for seconds: the micro preset, a step or two per stage, a handful of problems. */
export function microSettings(): RecipeSettings {
  const s = defaultRecipeSettings(true);
  const g = { steps: 1, lr: 1e-4, promptsPerStep: 2, groupSize: 2, maxTokens: 24 };
  const sf = { lr: 1e-3, epochs: 1, batch: 4, microBatch: 4, seqLen: 128, truncate: true };
  return {
    ...s,
    pretrain: { preset: 'micro', steps: 2, workers: 1 },
    zero: g,
    cold: { worked: 8, zeroPrompts: 2, zeroK: 2, maxTokens: 24 },
    sft1: sf,
    rl2: { ...g, languageWeight: 1 },
    data3: { prompts: 2, k: 2, sftPerTask: 2, harmless: 2, maxTokens: 24 },
    sft3: sf,
    rm: {
      helpful: { pairs: 16, lr: 3e-4, epochs: 1, batch: 8 },
      harmless: { pairs: 16, lr: 5e-4, epochs: 1, batch: 8 },
    },
    rl4: { ...g, languageWeight: 1, temperature: 0.7, generalShare: 0.5 },
    eval: { n: 2, k: 2, sftN: 2, generalN: 2, maxTokens: 16 },
  };
}
