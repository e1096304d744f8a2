/**
 * `r1ts rm train` as a library function: trains a reward model on preference pairs with the Bradley-Terry loss
 * (./pair_losses.ts) in a run directory (./pair_trainer.ts's loop), starting from a language model directory (a new
 * head) or from a reward model directory (training it further), and writes the reward model in Hugging Face layout to
 * OUT/model (./reward_model.ts). Reports the held-out pair accuracy (the share of held-out pairs whose chosen response
 * scores higher) before training, at evaluation steps and at the end.
 *
 * Each pair is two rows, prompt + chosen and prompt + rejected, rendered with the reward model's own chat template;
 * a micro-batch scores both sides of its pairs in one forward pass.
 *
 * Not here: the command line (src/cli/commands/rm.ts), scoring files (./rm_score.ts).
 */
import { mul, narrow } from '../tensor/ops/index.js';
import { type PairStats, bradleyTerryLoss, meanNegLogSigmoid, pairStats } from './pair_losses.js';
import type { PairObjective, PairTrainConfig, PairTrainResult } from './pair_trainer.js';
import { type PairMethod, type PairRunOptions, type PairRunSettings, runPairMethod } from './pair_run.js';
import { type RewardModel, openRewardModel, padRows, saveRewardModel } from './reward_model.js';

/** Defaults of a reward-model run, sized for the tiny preset on a CPU. */
export const DEFAULT_RM_TRAIN: PairTrainConfig = {
  epochs: 1,
  batchSize: 32,
  microBatch: 16,
  lr: 3e-4,
  warmup: 0.05,
  weightDecay: 0,
  maxGradNorm: 1,
  seed: 0,
  evalEvery: 0,
  checkpointEvery: 50,
  keepCheckpoints: 2,
};

/**
 * Options of a reward-model run: `model` is a language model directory (a new head, initialised from `train.seed`)
 * or a reward model directory (trained further).
 */
export type RmTrainOptions = PairRunOptions;

/** run.json of a reward-model run. */
export interface RmTrainSettings extends PairRunSettings {
  /** Whether the run started from a language model (a new head) or a reward model. */
  modelFrom: 'lm' | 'rm';
}

export interface RmTrainResult extends PairTrainResult {
  settings: RmTrainSettings;
}

/** The reward-model method of a pairwise run (warnings of loading go to `warn`). */
const rmMethod = (warn?: (line: string) => void): PairMethod<EncodedPair> => ({
  command: 'rm train',
  defaults: DEFAULT_RM_TRAIN,
  open(model, train, recorded) {
    const { rm, from } = openRewardModel(model, { seed: train.seed, warn });
    return {
      context: rm.config.max_position_embeddings,
      settings: { modelFrom: (recorded?.modelFrom as 'lm' | 'rm' | undefined) ?? from },
      encode: (p) => ({
        chosen: rm.encode(p.prompt, p.chosen, p.where),
        rejected: rm.encode(p.prompt, p.rejected, p.where),
      }),
      length: (e) => Math.max(e.chosen.length, e.rejected.length),
      objective: (tr, va) => rmObjective(rm, tr, va),
      describe: (n) =>
        `rm train: ${from === 'lm' ? `a new reward head on ${model}` : `the reward model ${model}`}; ${n.train} training pairs, ${n.val} held-out (${n.from})`,
    };
  },
});

/** Trains (or resumes training) a reward model in `o.outDir`. */
export async function trainRewardModel(o: RmTrainOptions): Promise<RmTrainResult> {
  const r = await runPairMethod(o, rmMethod(o.warn));
  return { ...r, settings: r.settings as RmTrainSettings };
}

interface EncodedPair {
  chosen: number[];
  rejected: number[];
}

/** The Bradley-Terry objective of a reward model over encoded pairs. */
function rmObjective(rm: RewardModel, train: readonly EncodedPair[], val: readonly EncodedPair[]): PairObjective {
  const pad = rm.tokenizer.padId ?? 0;
  return {
    module: rm,
    params: rm.trainableParameters(),
    name: 'rm train',
    valueName: 'score',
    trainMicro(idx: readonly number[], weight: number): PairStats {
      const m = idx.length;
      const { ids, last } = padRows([...idx.map((i) => train[i].chosen), ...idx.map((i) => train[i].rejected)], pad);
      const scores = rm.forward(ids, last); // (2m,): the chosen rows, then the rejected ones
      const chosen = narrow(scores, 0, 0, m);
      const rejected = narrow(scores, 0, m, m);
      const loss = bradleyTerryLoss(chosen, rejected);
      mul(loss, weight).backward();
      return pairStats(loss.item(), chosen.data, rejected.data);
    },
    evaluate(): PairStats | null {
      if (!val.length) return null;
      const s = rm.scoreIds([...val.map((p) => p.chosen), ...val.map((p) => p.rejected)]);
      const c = s.subarray(0, val.length);
      const r = s.subarray(val.length);
      return pairStats(meanNegLogSigmoid(c, r), c, r);
    },
    save: (dir: string) => saveRewardModel(dir, rm),
  };
}
