/**
 * The precision switch (`--precision fp32|bf16|fp8`): which GEMMs a model's Linear layers run.
 *
 * `setModelPrecision(model, p)` sets the `gemm` of every `Linear` in the model except the output head (any layer whose
 * last name component is `head`): fp8 -> `fp8Linear` (FP8 Fprop/Dgrad/Wgrad, FP8-saved inputs), bf16 -> `bf16Linear`,
 * fp32 -> the plain op (instrumented for the saved-activation counter). What stays in high precision, as DeepSeek-V3
 * keeps it: the embedding, the output head, the MoE gate (it calls `linear` itself, it is not a Linear), every RMSNorm,
 * the attention core (softmax(QKᵀ)V), RoPE, the SwiGLU arithmetic and the losses. Master weights and gradients stay
 * float32; for BF16 optimizer moments see `AdamW`'s `moments` option.
 *
 * fp8 also switches on V3's special cases (SPEC §2; `v3SpecialCases: false` leaves plain `fp8Linear`s everywhere):
 * - the Linear after attention (MLA's `attn.wo`) caches its input in E5M6 with power-of-2 scales (./linear.ts);
 * - every SwiGLU MLP (routed experts, the shared expert, the dense layers' MLP: one code path, `MLP` in
 *   src/models/deepseek_v3.ts) runs the fused `fp8SwigluMlp` (./swiglu.ts): SwiGLU inputs cached in FP8, the SwiGLU
 *   output recomputed in backward, one FP8 x for w1 and w3;
 * - routed experts (`...experts.N`) in addition take their input and their output gradient as FP8 with power-of-2
 *   scales, the numerics of V3's FP8 dispatch (the combine stays high precision).
 */
import { Linear, type LinearGemm } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import { MLP } from '../models/mlp.js';
import { type Fp8LinearOptions, bf16Linear, fp32Linear, fp8Linear } from './linear.js';
import { fp8SwigluMlp } from './swiglu.js';

export type { LinearGemm };

/** Numerics of the Linear GEMMs. */
export type Precision = 'fp32' | 'bf16' | 'fp8';

export const PRECISIONS: readonly Precision[] = ['fp32', 'bf16', 'fp8'];

/** Parses a `--precision` value; the error names the flag and the choices. */
export function parsePrecision(s: string, flag = '--precision'): Precision {
  if ((PRECISIONS as readonly string[]).includes(s)) return s as Precision;
  throw new Error(`${flag}: expected one of ${PRECISIONS.join(', ')}, got '${s}'`);
}

export interface PrecisionOptions {
  /** FP8 GEMM options (scales, accumulator, N_C) for 'fp8'. */
  fp8?: Fp8LinearOptions;
  /** Layers to keep in float32 (default: those whose last name component is `head`). */
  keepHighPrecision?: (name: string, layer: Linear) => boolean;
  /** fp8: E5M6 attention-output cache, fused SwiGLU recompute, FP8 dispatch (default true; see the file header). */
  v3SpecialCases?: boolean;
}

/** MLA's output projection (`...attn.wo`): the Linear after attention, whose input V3 caches in E5M6. */
export function isAttentionOutput(name: string): boolean {
  return name === 'attn.wo' || name.endsWith('.attn.wo');
}

/** A routed expert of an MoE layer (`...experts.N`), whose input and output gradient go through the dispatch. */
export function isRoutedExpert(name: string): boolean {
  return /(^|\.)experts\.\d+$/.test(name);
}

/** Default exclusion: the output head (`head`, `mtp.0.head`, ...). */
export function isOutputHead(name: string): boolean {
  return name === 'head' || name.endsWith('.head');
}

/** The GEMM of one layer for a precision. */
export function gemmFor(precision: Precision, name: string, fp8?: Fp8LinearOptions): LinearGemm {
  switch (precision) {
    case 'fp32':
      return fp32Linear;
    case 'bf16':
      return bf16Linear;
    case 'fp8':
      return (x, w, b) => fp8Linear(x, w, b, fp8, name);
  }
}

/**
 * Switches every Linear of `model` (except the output head) to `precision`; excluded layers are reset to float32.
 * Returns the names of the switched layers.
 */
export function setModelPrecision(model: Module, precision: Precision, opts: PrecisionOptions = {}): string[] {
  parsePrecision(precision, 'setModelPrecision');
  const keep = opts.keepHighPrecision ?? ((n: string) => isOutputHead(n));
  const special = precision === 'fp8' && (opts.v3SpecialCases ?? true);
  const switched: string[] = [];
  const modules = model.namedModules();
  for (const [name, m] of modules) {
    if (!(m instanceof Linear)) continue;
    if (keep(name, m)) {
      m.gemm = null;
      continue;
    }
    const e5m6 = special && isAttentionOutput(name);
    m.gemm = gemmFor(precision, name, e5m6 ? { ...opts.fp8, cacheInput: 'e5m6' } : opts.fp8);
    switched.push(name);
  }
  for (const [name, m] of modules) {
    if (!(m instanceof MLP)) continue;
    const all = ['w1', 'w2', 'w3'].every((k) => switched.includes(`${name}.${k}`));
    const fp8 = { ...opts.fp8, dispatch: isRoutedExpert(name) };
    m.fused =
      special && all ? (x, mlp) => fp8SwigluMlp(x, mlp.w1.weight, mlp.w2.weight, mlp.w3.weight, fp8, name) : null;
  }
  return switched;
}
