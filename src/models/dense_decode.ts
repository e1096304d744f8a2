/**
 * The dense students' fast decoder (Qwen2 / Llama; see ./decode.ts for the shared machinery): grouped-query attention
 * over a K/V cache (caches 2l and 2l+1 of layer l), SwiGLU MLP. Reads the model through the structural types below.
 */
import type { Linear } from '../nn/layers.js';
import type { DenseConfig } from './config.js';
import type { BatchDecoder } from './causal_lm.js';
import {
  type DecodableModel,
  FastDecoder,
  type MlpWeights,
  type NormPair,
  type StepLayout,
  linearRows,
  mlpRows,
  ropeAt,
} from './decode.js';

/** The attention weights and sizes the decoder reads (`GQAttention` of ./dense.ts). */
export interface GqaWeights {
  readonly wq: Linear;
  readonly wk: Linear;
  readonly wv: Linear;
  readonly wo: Linear;
  readonly H: number;
  readonly Hkv: number;
  readonly Dh: number;
}

export interface DecodableDense extends DecodableModel {
  readonly config: DenseConfig;
  readonly layers: readonly (NormPair & { readonly attn: GqaWeights; readonly ffn: MlpWeights })[];
}

/** Dense (Qwen2 / Llama): grouped-query attention over a K/V cache (caches 2l and 2l+1 of layer l), SwiGLU MLP. */
export class DenseDecoder extends FastDecoder {
  constructor(private readonly m: DecodableDense) {
    super(m, m.layers);
  }
  protected cacheShapes(): [number, number][] {
    const { num_key_value_heads: h, head_dim: d } = this.m.config;
    return this.m.layers.flatMap((): [number, number][] => [
      [h, d],
      [h, d],
    ]);
  }

  protected feedForward(li: number, n: Float32Array, out: Float32Array, N: number): void {
    mlpRows(out, n, N, this.m.layers[li].ffn, this.pool);
  }

  protected attention(
    li: number,
    n: Float32Array,
    out: Float32Array,
    s: StepLayout,
    cos: Float32Array,
    sin: Float32Array,
  ): void {
    const at = this.m.layers[li].attn;
    const kc = this.caches[2 * li];
    const vc = this.caches[2 * li + 1];
    const { H, Hkv, Dh } = at;
    const N = s.N;
    const q = this.pool.get('q', N * H * Dh);
    const k = this.pool.get('k', N * Hkv * Dh);
    const v = this.pool.get('v', N * Hkv * Dh);
    linearRows(q, n, N, at.wq);
    linearRows(k, n, N, at.wk);
    linearRows(v, n, N, at.wv);
    for (let b = 0; b < s.B; b++) {
      for (let t = 0; t < s.counts[b]; t++) {
        const row = s.starts[b] + t;
        for (let h = 0; h < H; h++) ropeAt(q, (row * H + h) * Dh, Dh, cos, sin, row, false);
        for (let h = 0; h < Hkv; h++) ropeAt(k, (row * Hkv + h) * Dh, Dh, cos, sin, row, false);
        for (let h = 0; h < Hkv; h++) {
          kc.data.set(k.subarray((row * Hkv + h) * Dh, (row * Hkv + h + 1) * Dh), kc.at(b, h, s.past[b] + t));
          vc.data.set(v.subarray((row * Hkv + h) * Dh, (row * Hkv + h + 1) * Dh), vc.at(b, h, s.past[b] + t));
        }
      }
    }
    const ctx = this.pool.get('ctx', N * H * Dh);
    this.attend(q, ctx, s, H, { k: kc, v: vc }, Dh ** -0.5);
    linearRows(out, ctx, N, at.wo);
  }

  /** Dense students have no MTP module to draft with. */
  createDraftDecoder(): BatchDecoder | null {
    return null;
  }
}
