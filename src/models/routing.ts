/**
 * DeepSeekMoE's expert selection, shared by the model's router (`Gate` in ./deepseek_v3.ts) and the fast decoder's
 * (./deepseek_v3_decode.ts): group-limited top-k over the affinities plus the load-balancing bias (SPEC 2.3), ties to
 * the lower index.
 *
 * Not here: the affinities themselves and the gate values (the callers'), the bias update (Gate.updateBias).
 */
import type { DeepseekConfig } from './config.js';

/**
 * Sorts `order` (indices into v) by value, largest first, equal values by lower index, in place by insertion. When v
 * has no NaN that order is total, so this is exactly what any sort with that comparator gives, without a comparator
 * call per pair. Returns false and leaves `order` alone when v has a NaN (the caller then sorts as before).
 */
export function sortByValueDesc(order: number[], v: Float64Array): boolean {
  for (let i = 0; i < v.length; i++) if (Number.isNaN(v[i])) return false;
  for (let i = 1; i < order.length; i++) {
    const x = order[i];
    let j = i - 1;
    while (j >= 0 && (v[x] > v[order[j]] || (v[x] === v[order[j]] && x < order[j]))) {
      order[j + 1] = order[j];
      j--;
    }
    order[j + 1] = x;
  }
  return true;
}

/**
 * The K experts of each of N tokens (N * K indices, row-major, best first) from their affinities `s` (N, E) and the
 * selection-only bias `b` (E; absent for topk_method 'greedy'): the top `topk_group` groups by the sum of their two best
 * (noaux_tc) or by their best, then the top K experts of those groups.
 */
export function selectExperts(
  c: DeepseekConfig,
  s: ArrayLike<number>,
  b: ArrayLike<number> | undefined,
  N: number,
): Int32Array {
  const E = c.n_routed_experts;
  const K = c.num_experts_per_tok;
  const indices = new Int32Array(N * K);
  const G = c.topk_method === 'greedy' ? 1 : c.n_group;
  const per = E / G;
  const choice = new Float64Array(E);
  const order = Array.from({ length: E }, (_, i) => i);
  const groupScore = new Float64Array(G);
  const gorder = Array.from({ length: G }, (_, i) => i);
  for (let t = 0; t < N; t++) {
    for (let e = 0; e < E; e++) choice[e] = s[t * E + e] + (b ? b[e] : 0);
    if (G > 1) {
      for (let g = 0; g < G; g++) {
        if (c.topk_method === 'noaux_tc') {
          let m1 = -Infinity;
          let m2 = -Infinity;
          for (let e = g * per; e < (g + 1) * per; e++) {
            const v = choice[e];
            if (v > m1) {
              m2 = m1;
              m1 = v;
            } else if (v > m2) m2 = v;
          }
          groupScore[g] = m1 + m2;
        } else {
          let m = -Infinity;
          for (let e = g * per; e < (g + 1) * per; e++) m = Math.max(m, choice[e]);
          groupScore[g] = m;
        }
      }
      if (!sortByValueDesc(gorder, groupScore)) gorder.sort((p, q) => groupScore[q] - groupScore[p] || p - q);
      for (let j = c.topk_group; j < G; j++) {
        const g = gorder[j];
        for (let e = g * per; e < (g + 1) * per; e++) choice[e] = -Infinity;
      }
    }
    if (!sortByValueDesc(order, choice))
      order.sort((p, q) => (choice[q] === choice[p] ? p - q : choice[q] > choice[p] ? 1 : -1));
    for (let j = 0; j < K; j++) indices[t * K + j] = order[j];
  }
  return indices;
}
