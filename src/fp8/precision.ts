/**
 * The precision switch (`--precision fp32|bf16|fp8`): which GEMMs a model's Linear layers run.
 *
 * `setModelPrecision(model, p)` sets the `gemm` of every `Linear` in the model except the output head (any layer whose
 * last name component is `head`): fp8 -> `fp8Linear` (FP8 Fprop/Dgrad/Wgrad, FP8-saved inputs), bf16 -> `bf16Linear`,
 * fp32 -> the plain op (instrumented for the saved-activation counter). What stays in high precision, as DeepSeek-V3
 * keeps it: the embedding, the output head, the MoE gate (it calls `linear` itself, it is not a Linear), every RMSNorm,
 * the attention core (softmax(QKᵀ)V), RoPE, the SwiGLU and the losses. Master weights and gradients stay float32; for
 * BF16 optimizer moments see `AdamW`'s `moments` option.
 */
import { Linear, type LinearGemm } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import { type Fp8LinearOptions, bf16Linear, fp32Linear, fp8Linear } from './linear.js';

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
  const switched: string[] = [];
  for (const [name, m] of model.namedModules()) {
    if (!(m instanceof Linear)) continue;
    if (keep(name, m)) {
      m.gemm = null;
      continue;
    }
    m.gemm = gemmFor(precision, name, opts.fp8);
    switched.push(name);
  }
  return switched;
}
