/**
 * Rotary-embedding tables: plain RoPE and YaRN (SPEC 1.2; HF `_compute_yarn_parameters`, DeepSeek `precompute_freqs_cis`).
 *
 * YaRN, per pair i of a D-wide rope slice: f_i = theta^(-2i/D); the correction range [low, high] comes from beta_fast /
 * beta_slow (floor / ceil of the dims where the wavelength makes that many rotations over the original context);
 * r_i = clamp((i - low) / (high - low), 0, 1); f'_i = f_i (1 - r_i) + (f_i / factor) r_i.
 * Attention scale: cos/sin are multiplied by mscale(factor, mscale) / mscale(factor, mscale_all_dim) and the softmax
 * scale by mscale(factor, mscale_all_dim)^2, where mscale(s, m) = 0.1 m ln s + 1 (1 for s <= 1).
 *
 * Llama 3.1 (`rope_type: "llama3"`, HF `_compute_llama3_parameters`), per pair: wavelength w_i = 2 pi / f_i; with the
 * original context L, w_i > L / low_freq_factor gives f_i / factor, w_i < L / high_freq_factor keeps f_i, and in between
 * s = (L / w_i - low) / (high - low) blends f'_i = (1 - s) f_i / factor + s f_i. No attention or softmax scale.
 *
 * Deviation from DeepSeek's inference code: like Hugging Face, YaRN applies whenever rope_scaling is set (DeepSeek's
 * reference applies it only when its max_seq_len exceeds the original context). Same numbers for long contexts.
 */
import type { Llama3Scaling, RopeScaling } from './config.js';
import { Tensor } from '../tensor/tensor.js';

export function yarnMscale(scale: number, mscale = 1): number {
  return scale <= 1 ? 1 : 0.1 * mscale * Math.log(scale) + 1;
}

/** The dim index at which a wavelength makes `rotations` turns over `maxPos` positions. */
function correctionDim(rotations: number, dim: number, base: number, maxPos: number): number {
  return (dim * Math.log(maxPos / (rotations * 2 * Math.PI))) / (2 * Math.log(base));
}

export interface RopeTables {
  /** Inverse frequency per pair (D/2 entries). */
  invFreq: Float64Array;
  /** Multiplier applied to cos and sin. */
  attentionFactor: number;
  /** Multiplier applied to the softmax scale. */
  scaleMultiplier: number;
  /** YaRN correction range, when scaling is on. */
  correction: { low: number; high: number } | null;
}

export function ropeTables(dim: number, theta: number, scaling: RopeScaling | null): RopeTables {
  const half = dim / 2;
  const invFreq = new Float64Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = 1 / theta ** ((2 * i) / dim);
  if (!scaling) return { invFreq, attentionFactor: 1, scaleMultiplier: 1, correction: null };
  if (scaling.type === 'llama3')
    return { invFreq: llama3Freqs(invFreq, scaling), attentionFactor: 1, scaleMultiplier: 1, correction: null };
  const { factor, beta_fast, beta_slow, original_max_position_embeddings: orig } = scaling;
  let low = Math.floor(correctionDim(beta_fast, dim, theta, orig));
  let high = Math.ceil(correctionDim(beta_slow, dim, theta, orig));
  low = Math.max(low, 0);
  high = Math.min(high, dim - 1);
  const span = high === low ? 0.001 : high - low;
  for (let i = 0; i < half; i++) {
    const r = Math.min(1, Math.max(0, (i - low) / span));
    invFreq[i] = invFreq[i] * (1 - r) + (invFreq[i] / factor) * r;
  }
  const attentionFactor = scaling.mscale_all_dim
    ? yarnMscale(factor, scaling.mscale) / yarnMscale(factor, scaling.mscale_all_dim)
    : yarnMscale(factor);
  const scaleMultiplier = scaling.mscale_all_dim ? yarnMscale(factor, scaling.mscale_all_dim) ** 2 : 1;
  return { invFreq, attentionFactor, scaleMultiplier, correction: { low, high } };
}

function llama3Freqs(invFreq: Float64Array, s: Llama3Scaling): Float64Array {
  const L = s.original_max_position_embeddings;
  const lowWavelen = L / s.low_freq_factor; // longer wavelengths: divided by factor
  const highWavelen = L / s.high_freq_factor; // shorter ones: kept
  return invFreq.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) return f;
    if (wavelen > lowWavelen) return f / s.factor;
    const smooth = (L / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
    return ((1 - smooth) * f) / s.factor + smooth * f;
  });
}

/** cos and sin of angle (pos * invFreq_i), times the attention factor: two float32 (T, D/2) tensors. */
export function ropeCosSin(t: RopeTables, start: number, length: number): { cos: Tensor; sin: Tensor } {
  const half = t.invFreq.length;
  const cos = new Float32Array(length * half);
  const sin = new Float32Array(length * half);
  for (let p = 0; p < length; p++) {
    for (let i = 0; i < half; i++) {
      // angle computed in float32 like the reference implementations (positions x float32 frequencies)
      const ang = Math.fround((start + p) * Math.fround(t.invFreq[i]));
      cos[p * half + i] = Math.cos(ang) * t.attentionFactor;
      sin[p * half + i] = Math.sin(ang) * t.attentionFactor;
    }
  }
  return { cos: new Tensor(cos, [length, half]), sin: new Tensor(sin, [length, half]) };
}

/** cos and sin (as `ropeCosSin`) at arbitrary positions: two float32 (N, D/2) tensors, row n for positions[n]. */
export function ropeCosSinAt(t: RopeTables, positions: Int32Array): { cos: Tensor; sin: Tensor } {
  const half = t.invFreq.length;
  const cos = new Float32Array(positions.length * half);
  const sin = new Float32Array(positions.length * half);
  for (let n = 0; n < positions.length; n++) {
    for (let i = 0; i < half; i++) {
      const ang = Math.fround(positions[n] * Math.fround(t.invFreq[i]));
      cos[n * half + i] = Math.cos(ang) * t.attentionFactor;
      sin[n * half + i] = Math.sin(ang) * t.attentionFactor;
    }
  }
  return { cos: new Tensor(cos, [positions.length, half]), sin: new Tensor(sin, [positions.length, half]) };
}
