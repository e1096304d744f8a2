/**
 * DeepSeek-V3's fast decoder (see ./decode.ts for the shared machinery): MLA in its absorbed form over the latent cache
 * (per token and layer kv_lora_rank normed latents plus qk_rope_head_dim post-RoPE key values, exactly what
 * `MLACache` holds), the dense MLP or DeepSeekMoE. Routing calls the model's own Gate, so the selection rules (sigmoid
 * scores, bias for selection only, group limits) cannot drift. The first MTP module, run the same way over its own
 * latent cache, is the draft decoder of speculative decoding (`MtpDraftDecoder`).
 *
 * It reads the model through the structural types below (not the classes of ./deepseek_v3.ts, which imports this
 * file), so the two files do not import each other.
 */
import type { Linear, RMSNorm } from '../nn/layers.js';
import { Tensor, noGrad } from '../tensor/tensor.js';
import { runKernel } from '../backend/registry.js';
import { selectExperts } from './routing.js';
import type { DeepseekConfig } from './config.js';
import type { BatchDecoder, DecodeStepOptions } from './causal_lm.js';
import {
  type DecodableModel,
  FastDecoder,
  type MlpWeights,
  type NormPair,
  type Pool,
  type StepLayout,
  bmm,
  copyFloats,
  linearRows,
  mlpRows,
  rmsRows,
  ropeAt,
  swapBlocks,
} from './decode.js';

/** The MLA weights and sizes the decoder reads (`MLA` of ./deepseek_v3.ts). */
export interface MlaWeights {
  readonly wq: Linear | null;
  readonly wq_a: Linear | null;
  readonly q_norm: RMSNorm | null;
  readonly wq_b: Linear | null;
  readonly wkv_a: Linear;
  readonly kv_norm: RMSNorm;
  readonly wkv_b: Linear;
  readonly wo: Linear;
  readonly H: number;
  readonly nope: number;
  readonly rope: number;
  readonly vDim: number;
  readonly kvRank: number;
  readonly softmaxScale: number;
}

/** The DeepSeekMoE parts the decoder reads (`MoE` of ./deepseek_v3.ts). */
export interface MoEWeights {
  readonly c: DeepseekConfig;
  readonly gate: {
    readonly weight: Tensor;
    readonly bias: Tensor | null;
    forward(x: Tensor): { indices: Int32Array; weights: Tensor };
  };
  readonly experts: readonly MlpWeights[];
  readonly shared_experts: MlpWeights | null;
}

/** A decoder block: the two norms, MLA and the dense MLP or DeepSeekMoE. */
export type DecodableBlock = NormPair & { readonly attn: MlaWeights; readonly ffn: MlpWeights | MoEWeights };

/** One MTP depth (`MTPModule` of ./deepseek_v3.ts): h' = eh_proj([enorm(Emb(t)) ; hnorm(h)]), a block, a norm. */
export interface MtpWeights {
  readonly enorm: RMSNorm;
  readonly hnorm: RMSNorm;
  readonly eh_proj: Linear;
  readonly block: DecodableBlock;
  readonly norm: RMSNorm;
}

export interface DecodableDeepseek extends DecodableModel {
  readonly config: DeepseekConfig;
  readonly layers: readonly DecodableBlock[];
  readonly mtp: readonly MtpWeights[];
}

/**
 * The router's choice for N rows: the experts and gate values `Gate.forward` gives (the same kernels in the same
 * order: the logits' product, sigmoid, the shared selection, the sum of the chosen affinities; the float32 divide and
 * scale done here round as the elementwise kernels do), without building tensors. Softmax routers and bfloat16 gate
 * weights take `Gate.forward` itself.
 */
export function routeRows(moe: MoEWeights, x: Float32Array, N: number): { indices: Int32Array; weights: Float32Array } {
  const c = moe.c;
  const D = c.hidden_size;
  const E = c.n_routed_experts;
  const K = c.num_experts_per_tok;
  const W = moe.gate.weight;
  if (c.scoring_func !== 'sigmoid' || W.dtype !== 'float32') {
    const r = noGrad(() => moe.gate.forward(new Tensor(x.subarray(0, N * D), [N, D])));
    return { indices: r.indices, weights: r.weights.data as Float32Array };
  }
  const logits = new Float32Array(N * E);
  runKernel('linearInto', { data: x.subarray(0, N * D), shape: [N, D], dtype: 'float32' }, W, logits);
  const s = runKernel('sigmoid', { data: logits, shape: [N, E], dtype: 'float32' }).data as Float32Array;
  const indices = selectExperts(c, s, moe.gate.bias?.data, N);
  const w = new Float32Array(N * K);
  for (let i = 0; i < N * K; i++) w[i] = s[Math.floor(i / K) * E + indices[i]];
  if (c.norm_topk_prob) {
    const sums = runKernel('sum', { data: w, shape: [N, K], dtype: 'float32' }, { axes: [1], keepdim: true }).data;
    const eps = Math.fround(1e-20);
    for (let i = 0; i < N * K; i++) w[i] = w[i] / Math.fround(sums[Math.floor(i / K)] + eps);
  }
  const scale = Math.fround(c.routed_scaling_factor);
  for (let i = 0; i < N * K; i++) w[i] *= scale;
  return { indices, weights: w };
}

/** DeepSeekMoE over N rows: the router picks experts (`routeRows`); tokens are grouped per expert as in MoE.forward. */
function moeRows(out: Float32Array, x: Float32Array, N: number, moe: MoEWeights, pool: Pool): void {
  const D = moe.c.hidden_size;
  const K = moe.c.num_experts_per_tok;
  const E = moe.c.n_routed_experts;
  const { indices, weights: w } = routeRows(moe, x, N);
  out.fill(0, 0, N * D);
  const rows = pool.get('moe.in', N * D);
  const res = pool.get('moe.out', N * D);
  // Per expert: its tokens in order (token t's k-th choice is entry t K + k), their rows and gate values.
  const tok = new Int32Array(N * K);
  const gate = new Float32Array(N * K);
  const count = new Int32Array(E + 1);
  for (let i = 0; i < N * K; i++) count[indices[i] + 1]++;
  for (let e = 0; e < E; e++) count[e + 1] += count[e];
  const fill = count.slice(0, E);
  for (let i = 0; i < N * K; i++) {
    const at = fill[indices[i]]++;
    tok[at] = Math.floor(i / K);
    gate[at] = w[i];
  }
  for (let e = 0; e < E; e++) {
    const n = count[e + 1] - count[e];
    if (n === 0) continue;
    const idx = tok.subarray(count[e], count[e + 1]);
    runKernel('gatherRows', x, idx, D, rows);
    mlpRows(res, rows, n, moe.experts[e], pool);
    runKernel('scatterAddScaled', out, idx, res, gate.subarray(count[e], count[e + 1]), D);
  }
  if (moe.shared_experts) {
    const sh = pool.get('moe.shared', N * D);
    mlpRows(sh, x, N, moe.shared_experts, pool);
    runKernel('addInto', out, sh, N * D);
  }
}

/**
 * DeepSeek-V3: absorbed MLA over the latent cache, dense MLP or DeepSeekMoE. Layer l keeps its keys [c ; k_pe] in cache
 * l; the values are the latents c, read in place as the first kvRank floats of each key (the cache is read once).
 */
export class DeepseekDecoder extends FastDecoder {
  /** Per layer W_UK (H, nope, kvRank) and W_UV (H, vDim, kvRank), contiguous copies of wkv_b's blocks. */
  private readonly absorbed: { uk: Float32Array; uv: Float32Array }[];
  /** The main model's blocks, or an MTP module's one block (with its own final norm). */
  constructor(
    protected readonly m: DecodableDeepseek,
    private readonly blockList: readonly DecodableBlock[] = m.layers,
    finalNorm: RMSNorm = m.norm,
  ) {
    super(m, blockList, finalNorm);
    this.absorbed = blockList.map(({ attn: a }) => {
      const w = a.wkv_b.weight.data as Float32Array; // (H * (nope + vDim), kvRank)
      const per = (a.nope + a.vDim) * a.kvRank;
      const uk = new Float32Array(a.H * a.nope * a.kvRank);
      const uv = new Float32Array(a.H * a.vDim * a.kvRank);
      for (let h = 0; h < a.H; h++) {
        uk.set(w.subarray(h * per, h * per + a.nope * a.kvRank), h * a.nope * a.kvRank);
        uv.set(w.subarray(h * per + a.nope * a.kvRank, (h + 1) * per), h * a.vDim * a.kvRank);
      }
      return { uk, uv };
    });
  }
  protected cacheShapes(): [number, number][] {
    return this.blockList.map((l): [number, number] => [1, l.attn.kvRank + l.attn.rope]);
  }

  protected feedForward(li: number, n: Float32Array, out: Float32Array, N: number): void {
    const ffn = this.blockList[li].ffn;
    if ('gate' in ffn) moeRows(out, n, N, ffn, this.pool);
    else mlpRows(out, n, N, ffn, this.pool);
  }

  /** Absorbed MLA: q~ = W_UK^T q_nope, scores over [c ; k_pe], values c, then W_UV and wo. */
  protected attention(
    li: number,
    n: Float32Array,
    out: Float32Array,
    s: StepLayout,
    cos: Float32Array,
    sin: Float32Array,
  ): void {
    const at = this.blockList[li].attn;
    const kc = this.caches[li];
    const { H, nope, rope: R, vDim, kvRank } = at;
    const N = s.N;
    const qk = nope + R;
    const interleaved = this.m.config.rope_interleave;
    // Queries (N, H, qk).
    const q = this.pool.get('q', N * H * qk);
    if (at.wq) linearRows(q, n, N, at.wq);
    else {
      const qa = this.pool.get('qa', N * at.wq_a!.outFeatures);
      linearRows(qa, n, N, at.wq_a!);
      const qn = this.pool.get('qn', N * at.wq_a!.outFeatures);
      rmsRows(qn, qa, N, at.wq_a!.outFeatures, at.q_norm!);
      linearRows(q, qn, N, at.wq_b!);
    }
    // Latents: c = kv_norm(first kvRank), k_pe = rope(rest); appended to each row's cache after its past tokens.
    const kva = this.pool.get('kva', N * (kvRank + R));
    linearRows(kva, n, N, at.wkv_a);
    const W = kvRank + R;
    const cn = this.pool.get('cn', N * kvRank);
    rmsRows(cn, kva, N, kvRank, at.kv_norm, W, 0);
    for (let b = 0; b < s.B; b++) {
      for (let t = 0; t < s.counts[b]; t++) {
        const row = s.starts[b] + t;
        const o = kc.at(b, 0, s.past[b] + t);
        copyFloats(kc.data, o, cn, row * kvRank, kvRank);
        copyFloats(kc.data, o + kvRank, kva, row * W + kvRank, R);
        ropeAt(kc.data, o + kvRank, R, cos, sin, row, interleaved);
        for (let h = 0; h < H; h++) ropeAt(q, (row * H + h) * qk + nope, R, cos, sin, row, interleaved);
      }
    }
    // Absorb W_UK into the query: q~ = [W_UK^T q_nope ; q_pe] per head; attend over the latents; expand with W_UV.
    const { uk, uv } = this.absorbed[li];
    const qNope = this.pool.get('qnope', H * N * nope);
    swapBlocks(q, qNope, N, H, nope, qk, 0); // (N, H, qk) -> (H, N, nope)
    const qLat = bmm(qNope, uk, H, N, nope, kvRank, false); // (H, N, kvRank)
    const qAbs = this.pool.get('qabs', N * H * W); // (N, H, kvRank + R)
    for (let i = 0; i < N; i++) {
      for (let h = 0; h < H; h++) {
        const o = (i * H + h) * W;
        copyFloats(qAbs, o, qLat, (h * N + i) * kvRank, kvRank);
        copyFloats(qAbs, o + kvRank, q, (i * H + h) * qk + nope, R);
      }
    }
    const oLat = this.pool.get('olat', N * H * kvRank);
    this.attend(qAbs, oLat, s, H, { k: kc, v: null, vDim: kvRank }, at.softmaxScale);
    const oT = this.pool.get('olatT', H * N * kvRank);
    swapBlocks(oLat, oT, N, H, kvRank); // -> (H, N, kvRank)
    const o = bmm(oT, uv, H, N, kvRank, vDim, true); // (H, N, vDim)
    const ctx = this.pool.get('ctx', N * H * vDim);
    swapBlocks(o, ctx, H, N, vDim); // -> (N, H, vDim)
    linearRows(out, ctx, N, at.wo);
  }

  /** The first MTP module as a draft decoder (null without one). */
  createDraftDecoder(): BatchDecoder | null {
    return this.m.mtp.length > 0 ? new MtpDraftDecoder(this.m, this.m.mtp[0]) : null;
  }
}

/**
 * DeepSeek-V3's first MTP module as a decoder (speculative decoding's drafter): fed token t_{i+1} with the main
 * model's hidden state h_i before its final norm (`prevHidden`), its input is eh_proj([enorm(Emb(t_{i+1})) ;
 * hnorm(h_i)]) at position i (as in training, ./deepseek_v3.ts computeLoss), then its block over its own latent cache,
 * its norm and the shared head: logits for t_{i+2}.
 */
export class MtpDraftDecoder extends DeepseekDecoder {
  constructor(
    m: DecodableDeepseek,
    private readonly mtp: MtpWeights,
  ) {
    super(m, [mtp.block], mtp.norm);
  }

  protected override inputRows(x: Float32Array, ids: Int32Array, N: number, opts: DecodeStepOptions): void {
    const h = opts.prevHidden;
    if (!h) throw new RangeError('MTP draft decoder: every token needs the main model hidden state (prevHidden)');
    const D = this.m.config.hidden_size;
    const V = this.vocabSize;
    const emb = this.m.embed.weight.data as Float32Array;
    const e = this.pool.get('mtp.e', N * D);
    for (let n = 0; n < N; n++) {
      const id = ids[n];
      if (!(id >= 0 && id < V))
        throw new RangeError(`MTP draft decoder: token id ${id} outside the vocabulary [0, ${V})`);
      e.set(emb.subarray(id * D, (id + 1) * D), n * D);
    }
    const en = this.pool.get('mtp.en', N * D);
    const hn = this.pool.get('mtp.hn', N * D);
    rmsRows(en, e, N, D, this.mtp.enorm);
    rmsRows(hn, h, N, D, this.mtp.hnorm);
    const cat = this.pool.get('mtp.cat', N * 2 * D); // (N, 2D): [enorm(e) ; hnorm(h)]
    for (let n = 0; n < N; n++) {
      cat.set(en.subarray(n * D, (n + 1) * D), n * 2 * D);
      cat.set(hn.subarray(n * D, (n + 1) * D), n * 2 * D + D);
    }
    linearRows(x, cat, N, this.mtp.eh_proj);
  }

  /** An MTP module drafts for the main model; it has no draft of its own. */
  override createDraftDecoder(): BatchDecoder | null {
    return null;
  }
}
