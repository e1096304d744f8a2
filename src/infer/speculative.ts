/**
 * The accept/reject rule of speculative sampling (Leviathan et al. 2023; docs/spec.md §7): a draft token x drawn from
 * the draft distribution q is accepted with probability min(1, p(x) / q(x)), where p is the target model's
 * distribution at the same position; on a rejection the token is drawn from normalize(max(0, p - q)). The token that
 * comes out is distributed exactly as a draw from p, whatever q is. Greedy decoding (temperature 0) is the limit
 * where p and q are one-hot: the draft is accepted exactly when it equals the target's argmax, so the output equals
 * plain greedy decoding token for token.
 *
 * p and q are the filtered distributions of `filteredProbs` (temperature, top-k, top-p applied to each model's
 * logits), so speculative sampling reproduces the filtered target that plain sampling draws from.
 *
 * Not here: the decoding loop that drafts and verifies (./batcher.ts).
 */
import { sampleProbs } from './sampling.js';

/** The token a verification emits, and whether it is the draft. */
export interface Verdict {
  accepted: boolean;
  token: number;
}

/**
 * Checks `draft` (drawn from q) against the target p, both distributions over [0, V): accepted when
 * uAccept * q(draft) < p(draft), i.e. with probability min(1, p/q); otherwise the token is drawn at `uResample` from
 * normalize(max(0, p - q)) (`residual` is scratch of length >= V). uAccept and uResample are uniform in [0, 1).
 */
export function verifyDraft(
  p: Float64Array,
  q: Float64Array,
  V: number,
  draft: number,
  uAccept: number,
  uResample: number,
  residual: Float64Array,
): Verdict {
  if (uAccept * q[draft] < p[draft]) return { accepted: true, token: draft };
  let z = 0;
  for (let i = 0; i < V; i++) {
    const r = p[i] > q[i] ? p[i] - q[i] : 0;
    residual[i] = r;
    z += r;
  }
  // z > 0 whenever a rejection can happen (p(draft) < q(draft) and both sum to 1); rounding aside, fall back to p
  if (!(z > 0)) return { accepted: false, token: sampleProbs(p, V, uResample) };
  for (let i = 0; i < V; i++) residual[i] /= z;
  return { accepted: false, token: sampleProbs(residual, V, uResample) };
}
