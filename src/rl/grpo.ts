/**
 * GRPO (SPEC 5.1; [R1v1] eqs 1-3): group-normalised advantages, the clipped surrogate with the old-policy ratio, the
 * unbiased k3 KL to a frozen reference, and the three loss aggregations.
 *
 * Per response token t of sample i (mask m_it = 1 on tokens that train):
 *   rho_it = exp(logp_it - logp_old_it)
 *   surr_it = min(rho_it A_i, clip(rho_it, 1 - eps_low, 1 + eps_high) A_i)
 *   kl_it = exp(logp_ref_it - logp_it) - (logp_ref_it - logp_it) - 1            (>= 0, 0 when equal)
 *   l_it = -(surr_it - beta kl_it)
 *   loss = sum_it w_it l_it, with the aggregation weights w_it (tokenWeights):
 *     'grpo'    w_it = m_it / (|o_i| N)          per-sequence token mean, then mean over sequences (DeepSeekMath)
 *     'dapo'    w_it = m_it / sum_jt m_jt        one token mean over the whole batch (DAPO)
 *     'dr-grpo' w_it = m_it / (N L_max)          a constant denominator: no length bias (Dr. GRPO)
 *
 * Conventions and choices (SPEC "Unconfirmed"):
 * - Advantages use the population std (ddof 0): rewards {1,0,0,0} give {+1.732, -0.577 x3}. A group whose rewards are
 *   all equal (max - min <= 1e-9 |scale|) has zero advantage, never NaN. 'dr-grpo' does not divide by the std.
 * - Ratios are per token (the usual implementation); the paper writes them per sequence.
 * - The KL goes into the loss, not into the reward ([R1rev]).
 * - With one optimizer step per rollout (mu = 1, one mini-batch) rho = 1 and the loss VALUE is -mean(A) + beta KL,
 *   which is ~0 because advantages have zero mean per group: the loss value is not a progress signal, its gradient
 *   is. Watch reward, accuracy and the gradient norm instead.
 */
import { Tensor } from '../tensor/tensor.js';
import { clamp, exp, minimum, mul, neg, sub, sum } from '../tensor/ops/index.js';

/** How per-token losses are combined. */
export type LossType = 'grpo' | 'dr-grpo' | 'dapo';
export const LOSS_TYPES: readonly LossType[] = ['grpo', 'dr-grpo', 'dapo'];

/**
 * Group-normalised advantages for rewards laid out group by group (G consecutive samples per prompt):
 * A_i = (r_i - mean) / std (population std), or r_i - mean when `scale` is false; 0 for a group with equal rewards.
 */
export function groupAdvantages(rewards: ArrayLike<number>, G: number, opts: { scale?: boolean } = {}): Float64Array {
  const n = rewards.length;
  if (!(Number.isInteger(G) && G >= 1) || n % G !== 0)
    throw new RangeError(`groupAdvantages: ${n} rewards do not split into groups of ${G}`);
  const scale = opts.scale ?? true;
  const out = new Float64Array(n);
  for (let g = 0; g < n; g += G) {
    let mean = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = g; i < g + G; i++) {
      const r = rewards[i];
      if (!Number.isFinite(r)) throw new RangeError(`groupAdvantages: reward ${i} is ${r}`);
      mean += r;
      lo = Math.min(lo, r);
      hi = Math.max(hi, r);
    }
    mean /= G;
    if (hi - lo <= 1e-9 * Math.max(1, Math.abs(hi), Math.abs(lo))) continue; // zero-variance group: no signal
    let v = 0;
    for (let i = g; i < g + G; i++) v += (rewards[i] - mean) ** 2;
    const std = Math.sqrt(v / G);
    for (let i = g; i < g + G; i++) out[i] = scale ? (rewards[i] - mean) / std : rewards[i] - mean;
  }
  return out;
}

/**
 * Aggregation weights w (N, T) for `loss` given the token mask (N, T) (see the file header). `maxLen` is Dr. GRPO's
 * constant L_max (the generation budget).
 */
export function tokenWeights(
  mask: ArrayLike<number>,
  N: number,
  T: number,
  loss: LossType,
  maxLen: number,
): Float64Array {
  const w = new Float64Array(N * T);
  let total = 0;
  for (let i = 0; i < N * T; i++) total += mask[i];
  for (let i = 0; i < N; i++) {
    let len = 0;
    for (let t = 0; t < T; t++) len += mask[i * T + t];
    if (len === 0) continue;
    const denom = loss === 'grpo' ? len * N : loss === 'dapo' ? total : N * maxLen;
    for (let t = 0; t < T; t++) w[i * T + t] = mask[i * T + t] / denom;
  }
  return w;
}

export interface PolicyLossArgs {
  /** log pi_theta of each taken token, (N, T), differentiable. */
  logp: Tensor;
  /** log pi_old of the same tokens, (N*T) (rollout-time policy). */
  oldLogp: ArrayLike<number>;
  /** log pi_ref, (N*T); null when beta is 0. */
  refLogp: ArrayLike<number> | null;
  /** One advantage per sequence (N). */
  advantages: ArrayLike<number>;
  /** Aggregation weights (N*T) from tokenWeights (0 on tokens that do not train). */
  weights: ArrayLike<number>;
  epsLow: number;
  epsHigh: number;
  beta: number;
}

/** Token statistics of one loss evaluation (means over tokens with weight > 0). */
export interface PolicyLossStats {
  /** Tokens whose ratio was clipped (the clipped branch was the minimum and outside the range). */
  clipFrac: number;
  /** Mean k3 KL to the reference (0 without one). */
  kl: number;
  /** Mean ratio rho. */
  ratio: number;
  tokens: number;
}

/** The GRPO loss of one (micro-)batch: a scalar tensor, and token statistics. */
export function policyLoss(a: PolicyLossArgs): { loss: Tensor; stats: PolicyLossStats } {
  const { logp } = a;
  const [N, T] = logp.shape;
  const dt = logp.dtype === 'float64' ? 'float64' : 'float32';
  const arr = (src: ArrayLike<number>, shape: number[]) =>
    new Tensor(dt === 'float64' ? Float64Array.from(src) : Float32Array.from(src), shape, dt);
  if (
    a.oldLogp.length !== N * T ||
    a.weights.length !== N * T ||
    a.advantages.length !== N ||
    (a.refLogp && a.refLogp.length !== N * T)
  ) {
    throw new RangeError(
      `policyLoss: logp is [${N}, ${T}] but old/ref/weights/advantages have ${a.oldLogp.length}/${a.refLogp?.length ?? '-'}/${a.weights.length}/${a.advantages.length} entries`,
    );
  }
  const A = arr(a.advantages, [N, 1]);
  const ratio = exp(sub(logp, arr(a.oldLogp, [N, T])));
  const surr = minimum(mul(ratio, A), mul(clamp(ratio, 1 - a.epsLow, 1 + a.epsHigh), A));
  let perTok = neg(surr);
  let klSum = 0;
  if (a.beta !== 0 && a.refLogp) {
    const d = sub(arr(a.refLogp, [N, T]), logp); // log(pi_ref / pi_theta)
    const kl = sub(sub(exp(d), d), 1);
    perTok = sub(perTok, mul(kl, -a.beta));
    for (let i = 0; i < N * T; i++) if (a.weights[i] > 0) klSum += kl.data[i];
  } else if (a.beta !== 0) throw new Error('policyLoss: beta > 0 needs reference log-probs');
  const loss = sum(mul(perTok, arr(a.weights, [N, T])));
  let n = 0;
  let clipped = 0;
  let rsum = 0;
  for (let i = 0; i < N * T; i++) {
    if (!(a.weights[i] > 0)) continue;
    n++;
    const r = ratio.data[i];
    const adv = a.advantages[Math.floor(i / T)];
    rsum += r;
    if ((adv > 0 && r > 1 + a.epsHigh) || (adv < 0 && r < 1 - a.epsLow)) clipped++;
  }
  return { loss, stats: { clipFrac: n ? clipped / n : 0, kl: n ? klSum / n : 0, ratio: n ? rsum / n : 1, tokens: n } };
}

/** The k3 KL estimate per token, exp(ref - logp) - (ref - logp) - 1, on plain numbers (for logging). */
export function k3(logp: number, refLogp: number): number {
  const d = refLogp - logp;
  return Math.exp(d) - d - 1;
}
