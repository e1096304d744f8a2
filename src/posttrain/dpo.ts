/**
 * Direct Preference Optimization (Rafailov et al. 2023) as a library function: `r1ts dpo`. The policy starts as the
 * model of `--model`; a frozen copy of it is the reference. Each pair is rendered twice with the model's chat
 * template (prompt + chosen, prompt + rejected), and the sequence log-probability log pi(y | x) is the sum over the
 * response tokens: those `tokenizeChat` marks as the assistant's (./chat_data.ts: the turn's text and its
 * end-of-sequence token; the role header and a forced `<think>\n` are prompt). The loss and the implicit rewards
 * beta * (log pi - log pi_ref) are in ./pair_losses.ts; the loop (epochs, micro-batches, schedule, evaluation,
 * checkpoints, resume) is ./pair_trainer.ts's.
 *
 * The reference: a checkpoint holds the policy only. The reference is the initial model, reloaded from the run's
 * `--model` directory on resume; run.json records a fingerprint of its weights, and a resume whose `--model` no longer
 * holds the same weights is refused (the reference would have changed under the run). Reference log-probs are computed
 * once per pair (no gradient) and cached for the run.
 *
 * Reported per step: the loss, the implicit rewards of chosen and rejected, their margin and the accuracy (the share of
 * pairs whose chosen reward is higher); the same on held-out pairs before training, at evaluation steps and at the end.
 * The final policy is written in Hugging Face layout (with its tokenizer) to OUT/model.
 *
 * Not here: the command line (src/cli/commands/dpo.ts); sampling the policy and judging it with a reward model
 * (./judge.ts).
 */
import { createHash } from 'node:crypto';
import type { CausalLM } from '../models/index.js';
import { Tensor, noGrad } from '../tensor/tensor.js';
import { mul, narrow } from '../tensor/ops/index.js';
import type { Module } from '../nn/module.js';
import { loadModelAndTokenizer } from '../io/load.js';
import { saveModelDir } from '../io/model_dir.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { copyModel } from '../rl/trainer.js';
import { type PairStats, dpoLoss, meanNegLogSigmoid, pairStats, sequenceLogProbs } from './pair_losses.js';
import type { PairObjective, PairTrainConfig, PairTrainResult } from './pair_trainer.js';
import { type PairMethod, type PairRunOptions, type PairRunSettings, runPairMethod } from './pair_run.js';
import { type TokenizedChat, tokenizeChat } from './chat_data.js';

/** Defaults of a DPO run, sized for the tiny preset on a CPU (beta 0.1 as the paper and TRL). */
export const DEFAULT_DPO_TRAIN: PairTrainConfig = {
  epochs: 1,
  batchSize: 32,
  microBatch: 8,
  lr: 1e-4,
  warmup: 0.05,
  weightDecay: 0,
  maxGradNorm: 1,
  seed: 0,
  evalEvery: 0,
  checkpointEvery: 50,
  keepCheckpoints: 2,
};

export const DEFAULT_DPO_BETA = 0.1;

/** Options of a DPO run: `model` is the initial policy and the reference (a model directory with its tokenizer). */
export interface DpoOptions extends PairRunOptions {
  /** DPO's beta, the strength of the tie to the reference (default 0.1). */
  beta?: number;
}

/** run.json of a DPO run. */
export interface DpoSettings extends PairRunSettings {
  /** sha256 (16 hex digits) of the initial weights: the reference's identity. */
  reference: string;
  beta: number;
}

export interface DpoResult extends PairTrainResult {
  settings: DpoSettings;
}

/** sha256 (first 16 hex digits) of a module's tensors, by name: the identity of a set of weights. */
export function weightsFingerprint(m: Module): string {
  const h = createHash('sha256');
  for (const [name, t] of [...m.stateDict()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    h.update(name);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest('hex').slice(0, 16);
}

/** The DPO method of a pairwise run. */
const dpoMethod = (o: DpoOptions): PairMethod<EncodedPair> => ({
  command: 'dpo',
  defaults: DEFAULT_DPO_TRAIN,
  open(model, train, recorded) {
    const beta = o.beta ?? (recorded?.beta as number | undefined) ?? DEFAULT_DPO_BETA;
    if (!(beta > 0) || !Number.isFinite(beta)) throw new Error(`dpo: --beta must be a number > 0, got ${beta}`);
    const { model: policy, tok, warnings } = loadModelAndTokenizer(model);
    for (const w of warnings) o.warn?.(w);
    const reference = copyModel(policy);
    const fingerprint = weightsFingerprint(reference);
    return {
      context: policy.config.max_position_embeddings,
      settings: { reference: fingerprint, beta },
      flags: { reference: '--model (its weights)', beta: '--beta' },
      encode: (p) => ({
        chosen: tokenizeChat(tok, [...p.prompt, ...p.chosen], p.where),
        rejected: tokenizeChat(tok, [...p.prompt, ...p.rejected], p.where),
      }),
      length: (e) => Math.max(e.chosen.ids.length, e.rejected.ids.length),
      objective: (tr, va) => dpoObjective(policy, reference, tok, beta, tr, va, train.microBatch),
      describe: (n) =>
        `dpo: policy and reference ${model} (weights ${fingerprint}), beta ${beta}; ${n.train} training pairs, ${n.val} held-out (${n.from})`,
    };
  },
});

/** Trains (or resumes) a DPO run in `o.outDir`. */
export async function trainDpo(o: DpoOptions): Promise<DpoResult> {
  const r = await runPairMethod(o, dpoMethod(o));
  return { ...r, settings: r.settings as DpoSettings };
}

/** A pair as DPO reads it: both conversations with their assistant-only loss masks. */
export interface EncodedPair {
  chosen: TokenizedChat;
  rejected: TokenizedChat;
}

/** Right-padded rows (B, T) of conversations and their loss masks. */
function padChats(
  rows: readonly TokenizedChat[],
  pad: number,
): { ids: Int32Array; mask: Uint8Array; B: number; T: number } {
  const B = rows.length;
  const T = Math.max(...rows.map((r) => r.ids.length));
  const ids = new Int32Array(B * T).fill(pad);
  const mask = new Uint8Array(B * T);
  rows.forEach((r, b) => {
    ids.set(r.ids, b * T);
    mask.set(r.loss, b * T);
  });
  return { ids, mask, B, T };
}

/**
 * Summed response log-probs of conversations under `model` (differentiable unless run inside noGrad): (B,) for the
 * rows in order.
 */
export function chatLogProbs(model: CausalLM, rows: readonly TokenizedChat[], pad: number): Tensor {
  const { ids, mask, B, T } = padChats(rows, pad);
  const inputs = new Int32Array(B * (T - 1));
  for (let b = 0; b < B; b++) inputs.set(ids.subarray(b * T, b * T + T - 1), b * (T - 1));
  const { logits } = model.forward(new Tensor(inputs, [B, T - 1], 'int32'));
  return sequenceLogProbs(logits, ids, mask, B, T);
}

/** The DPO objective: the policy trains, the reference's log-probs are computed once per pair and cached. */
function dpoObjective(
  policy: CausalLM,
  reference: CausalLM,
  tok: Tokenizer,
  beta: number,
  train: readonly EncodedPair[],
  val: readonly EncodedPair[],
  micro: number,
): PairObjective {
  const pad = tok.padId ?? 0;
  policy.eval();
  const refCache = new Map<EncodedPair, [number, number]>();
  /** The reference's (chosen, rejected) log-probs of pairs, computing the missing ones in batches. */
  const refOf = (pairs: readonly EncodedPair[]): [Float64Array, Float64Array] => {
    const missing = [...new Set(pairs.filter((p) => !refCache.has(p)))];
    for (let s = 0; s < missing.length; s += micro) {
      const part = missing.slice(s, s + micro);
      const lp = noGrad(() =>
        chatLogProbs(reference, [...part.map((p) => p.chosen), ...part.map((p) => p.rejected)], pad),
      );
      part.forEach((p, j) => refCache.set(p, [lp.data[j], lp.data[part.length + j]]));
    }
    return [Float64Array.from(pairs, (p) => refCache.get(p)![0]), Float64Array.from(pairs, (p) => refCache.get(p)![1])];
  };
  return {
    module: policy as Module,
    params: policy.namedParameters(),
    name: 'dpo',
    valueName: 'reward',
    trainMicro(idx: readonly number[], weight: number): PairStats {
      const pairs = idx.map((i) => train[i]);
      const m = pairs.length;
      const [refC, refR] = refOf(pairs);
      const lp = chatLogProbs(policy, [...pairs.map((p) => p.chosen), ...pairs.map((p) => p.rejected)], pad);
      const r = dpoLoss(narrow(lp, 0, 0, m), narrow(lp, 0, m, m), refC, refR, beta);
      mul(r.loss, weight).backward();
      return pairStats(r.loss.item(), r.chosenRewards, r.rejectedRewards);
    },
    evaluate(): PairStats | null {
      if (!val.length) return null;
      const [refC, refR] = refOf(val);
      const c = new Float64Array(val.length);
      const rj = new Float64Array(val.length);
      noGrad(() => {
        for (let s = 0; s < val.length; s += micro) {
          const part = val.slice(s, s + micro);
          const lp = chatLogProbs(policy, [...part.map((p) => p.chosen), ...part.map((p) => p.rejected)], pad).data;
          part.forEach((_, j) => {
            c[s + j] = beta * (lp[j] - refC[s + j]);
            rj[s + j] = beta * (lp[part.length + j] - refR[s + j]);
          });
        }
      });
      return pairStats(meanNegLogSigmoid(c, rj), c, rj);
    },
    save(dir: string) {
      saveModelDir(dir, policy);
      tok.saveDir(dir);
    },
  };
}
