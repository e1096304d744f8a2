/**
 * The native CPU backend: C++ kernels (native/, built by `npm ci` into build/Release/r1ts_native.node) with runtime
 * dispatch to AVX-512, AVX2+FMA or portable code and a persistent thread pool (R1TS_THREADS sets its size).
 * Registered as 'native' when the addon loads; which backend is active is decided in ../select.ts.
 *
 * Implements, for float32: matmul (and float32 rows times bfloat16 weights, matmulBf16), the elementwise binary ops (same-shape, scalar and row broadcasts), unary ops and
 * activations, swiglu, geluBackward, sum / max over contiguous axes, softmax and log-softmax, cross-entropy, RMSNorm,
 * RoPE and attention (each with its backward), indexSelect and indexAdd, the AdamW step; for every dtype, the strided
 * copy and the layout kernels on it (permute, broadcastTo, concat, slice, sliceScatter); the FP8 quantise, dequantise
 * and GEMM for E4M3 and E5M2; an MoE layer's routed experts in one call each way (`moeExperts`). Every other kernel, dtype, format or layout runs the TypeScript reference.
 * Nothing outside src/backend calls the addon's kernels directly: they are reached through the registry.
 */
import type { Kernels } from '../kernels.js';
import { registerBackend } from '../registry.js';
import { addon, addonError } from './addon.js';
import { elementwiseKernels } from './elementwise.js';
import { fp8Kernels } from './fp8.js';
import { layoutKernels } from './layout.js';
import { moeKernels } from './moe.js';
import { nnKernels } from './nn.js';
import { optimKernels } from './optim.js';
import { rowKernels } from './rows.js';

export type { NativeAddon } from './addon.js';

/** The native kernels, or null when the addon is not available. */
export const nativeKernels: Partial<Kernels> | null = addon
  ? {
      ...elementwiseKernels(addon),
      ...layoutKernels(addon),
      ...nnKernels(addon),
      ...optimKernels(addon),
      ...rowKernels(addon),
      ...moeKernels(addon),
      ...fp8Kernels(addon),
    }
  : null;

if (nativeKernels) registerBackend('native', nativeKernels);

/** Whether the addon loaded (the 'native' backend is registered). */
export function nativeAvailable(): boolean {
  return addon !== null;
}

/** Why the addon is unavailable (one line), or null. */
export function nativeLoadError(): string | null {
  return addonError;
}

export interface NativeInfo {
  /** The instruction set the kernels run with: 'avx512', 'avx2' or 'generic'. */
  isa: string;
  /** Instruction sets this CPU can run, best first. */
  isas: string[];
  threads: number;
  /** Floats per vector register in the active ISA. */
  vectorFloats: number;
}

/** ISA and thread count of the native backend, or null without the addon. */
export function nativeInfo(): NativeInfo | null {
  return addon ? addon.info() : null;
}

/** Selects the kernels of a lower instruction set (tests, benchmarks); false if this CPU cannot run `isa`. */
export function setNativeIsa(isa: string): boolean {
  return addon ? addon.setIsa(isa) : false;
}

/** Resizes the native thread pool (the calling thread counts as one). */
export function setNativeThreads(n: number): void {
  if (!addon) throw new Error(`native backend is not available (${addonError})`);
  addon.setThreads(n);
}

/** The raw addon (benchmarks and tests only), or null. */
export function nativeAddon() {
  return addon;
}
