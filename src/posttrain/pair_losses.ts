/**
 * The two pairwise preference losses, written with ops (so autograd gives their gradients) and checked against an
 * independent PyTorch float64 computation (test/fixtures/posttrain/make_golden.py):
 *
 * - Bradley-Terry (reward models; InstructGPT, Llama 2): L = mean_i -log sigmoid(r_chosen_i - r_rejected_i), the
 *   negative log-likelihood of the preference under P(chosen > rejected) = sigmoid(r_c - r_r).
 * - DPO (Rafailov et al. 2023): with the sequence log-probabilities log pi(y | x) summed over the response tokens, and
 *   the implicit rewards r = beta * (log pi(y|x) - log pi_ref(y|x)),
 *   L = mean_i -log sigmoid(r_chosen_i - r_rejected_i).
 *
 * -log sigmoid(z) = log(1 + e^-z) is computed as logsumexp([0, -z]), which is exact for large |z| in both directions.
 *
 * Also here: the summed log-probability of the loss-carrying tokens of padded rows (`sequenceLogProbs`), and the
 * per-pair statistics both trainers report (accuracy: the share of pairs with r_chosen > r_rejected, ties counting one
 * half, so that DPO's first step, where policy = reference and every margin is 0, reads 50%; margin: the mean of
 * r_chosen - r_rejected).
 *
 * Not here: the models that produce the scores, the training loop.
 */
import { Tensor } from '../tensor/tensor.js';
import { crossEntropy, logsumexp, mean, mul, neg, stack, sub, sum } from '../tensor/ops/index.js';
import { zeros } from '../tensor/creation.js';

/** -log sigmoid(z), elementwise, stable for any z (logsumexp of [0, -z]). */
export function negLogSigmoid(z: Tensor): Tensor {
  return logsumexp(stack([zeros(z.shape, { dtype: z.dtype }), neg(z)], -1), -1);
}

/** Bradley-Terry loss of scores (n,) of the chosen and (n,) of the rejected responses: mean -log sigmoid(r_c - r_r). */
export function bradleyTerryLoss(chosen: Tensor, rejected: Tensor): Tensor {
  return mean(negLogSigmoid(sub(chosen, rejected)));
}

/** Mean of -log sigmoid(c - r) over pairs, in float64 numbers (held-out evaluation, no autograd). */
export function meanNegLogSigmoid(chosen: ArrayLike<number>, rejected: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < chosen.length; i++) {
    const z = chosen[i] - rejected[i];
    s += z > 0 ? Math.log1p(Math.exp(-z)) : -z + Math.log1p(Math.exp(z));
  }
  return chosen.length ? s / chosen.length : 0;
}

/** DPO's pieces for one batch of pairs: the loss and the implicit rewards beta * (log pi - log pi_ref). */
export interface DpoLossResult {
  loss: Tensor;
  /** beta * (log pi(chosen) - log pi_ref(chosen)), per pair. */
  chosenRewards: Float64Array;
  rejectedRewards: Float64Array;
}

/**
 * The DPO loss from sequence log-probs (n,) of the policy (differentiable) and of the frozen reference (numbers), for
 * the chosen and the rejected responses.
 */
export function dpoLoss(
  policyChosen: Tensor,
  policyRejected: Tensor,
  refChosen: ArrayLike<number>,
  refRejected: ArrayLike<number>,
  beta: number,
): DpoLossResult {
  const n = policyChosen.size;
  const f64 = policyChosen.dtype === 'float64';
  const asTensor = (x: ArrayLike<number>) =>
    new Tensor(f64 ? Float64Array.from(x) : Float32Array.from(x), [n], policyChosen.dtype);
  const refC = asTensor(refChosen);
  const refR = asTensor(refRejected);
  const chosen = mul(sub(policyChosen, refC), beta); // (n,)
  const rejected = mul(sub(policyRejected, refR), beta);
  return {
    loss: mean(negLogSigmoid(sub(chosen, rejected))),
    chosenRewards: Float64Array.from(chosen.data),
    rejectedRewards: Float64Array.from(rejected.data),
  };
}

/**
 * Summed log-probabilities of the loss-carrying tokens of right-padded rows: `ids` (B, T) int32 and `mask` (B, T)
 * (1 where token t is scored as predicted from tokens < t; position 0 is never scored). `logits` are the model's
 * (B, T - 1, V) over ids[:, :-1]. Returns (B,), differentiable.
 */
export function sequenceLogProbs(logits: Tensor, ids: Int32Array, mask: Uint8Array, B: number, T: number): Tensor {
  const targets = new Int32Array(B * (T - 1)).fill(-100);
  for (let b = 0; b < B; b++)
    for (let t = 1; t < T; t++) if (mask[b * T + t]) targets[b * (T - 1) + t - 1] = ids[b * T + t];
  const nll = crossEntropy(logits, new Tensor(targets, [B, T - 1], 'int32'), { reduction: 'none' }); // (B, T-1), 0 where ignored
  return neg(sum(nll, 1));
}

/** Sums over pairs that the trainers turn into means: pairs, loss x pairs, correct pairs, and the reward sums. */
export interface PairStats {
  pairs: number;
  lossSum: number;
  /** Pairs with r_chosen > r_rejected. */
  correct: number;
  /** Pairs with r_chosen = r_rejected. */
  ties: number;
  /** Sum over pairs of r_chosen - r_rejected. */
  marginSum: number;
  chosenSum: number;
  rejectedSum: number;
}

/** Empty statistics. */
export const noStats = (): PairStats => ({
  pairs: 0,
  lossSum: 0,
  correct: 0,
  ties: 0,
  marginSum: 0,
  chosenSum: 0,
  rejectedSum: 0,
});

/** The statistics of one batch: its mean loss and the per-pair rewards (or scores) of both sides. */
export function pairStats(loss: number, chosen: ArrayLike<number>, rejected: ArrayLike<number>): PairStats {
  const s = noStats();
  s.pairs = chosen.length;
  s.lossSum = loss * chosen.length;
  for (let i = 0; i < chosen.length; i++) {
    if (chosen[i] > rejected[i]) s.correct++;
    else if (chosen[i] === rejected[i]) s.ties++;
    s.marginSum += chosen[i] - rejected[i];
    s.chosenSum += chosen[i];
    s.rejectedSum += rejected[i];
  }
  return s;
}

/** a + b. */
export function addStats(a: PairStats, b: PairStats): PairStats {
  return {
    pairs: a.pairs + b.pairs,
    lossSum: a.lossSum + b.lossSum,
    correct: a.correct + b.correct,
    ties: a.ties + b.ties,
    marginSum: a.marginSum + b.marginSum,
    chosenSum: a.chosenSum + b.chosenSum,
    rejectedSum: a.rejectedSum + b.rejectedSum,
  };
}

/** Means of statistics, as metrics.jsonl and the logs show them. */
export interface PairMetrics {
  loss: number;
  /** Share of pairs with r_chosen > r_rejected, ties counting one half. */
  accuracy: number;
  margin: number;
  chosen: number;
  rejected: number;
  pairs: number;
}

/** The means of `s` (zeros for no pairs). */
export function pairMetrics(s: PairStats): PairMetrics {
  const n = Math.max(1, s.pairs);
  return {
    loss: s.lossSum / n,
    accuracy: (s.correct + s.ties / 2) / n,
    margin: s.marginSum / n,
    chosen: s.chosenSum / n,
    rejected: s.rejectedSum / n,
    pairs: s.pairs,
  };
}
