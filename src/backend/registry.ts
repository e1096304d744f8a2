/**
 * The kernel registry: backends register implementations by kernel name; ops run them through `runKernel`.
 * Lookup: the active backend's implementation if it has one, else the reference backend's ('ts').
 */
import type { KernelName, Kernels } from './kernels.js';

export type BackendKernels = Partial<Kernels>;

export interface BackendInfo {
  name: string;
  /** Kernel names this backend implements itself (the rest fall back to the reference). */
  kernels: KernelName[];
}

const backends = new Map<string, BackendKernels>();
let activeName = 'ts';
let active: BackendKernels = {};
let reference: BackendKernels = {};

/** Registers (or replaces) a backend under `name`. The reference backend registers itself as 'ts'. */
export function registerBackend(name: string, kernels: BackendKernels): void {
  backends.set(name, kernels);
  if (name === 'ts') reference = kernels;
  if (name === activeName) active = kernels;
}

/** Makes `name` the backend that ops run on. */
export function setBackend(name: string): void {
  const k = backends.get(name);
  if (!k) {
    throw new Error(`backend '${name}' is not available (registered: ${[...backends.keys()].join(', ') || 'none'})`);
  }
  activeName = name;
  active = k;
}

export function getBackend(): string {
  return activeName;
}

export function listBackends(): BackendInfo[] {
  return [...backends.entries()].map(([name, k]) => ({ name, kernels: Object.keys(k) as KernelName[] }));
}

/** The implementation of `name` on a specific backend, if it has one. */
export function getKernel<K extends KernelName>(backend: string, name: K): Kernels[K] | undefined {
  return backends.get(backend)?.[name];
}

/** The kernels that take bfloat16 storage; every other kernel refuses it (it would read the codes as numbers). */
const BF16_KERNELS: ReadonlySet<string> = new Set(['matmulBf16', 'bf16Rows']);

/** Throws when a bfloat16 operand reaches a kernel that does not take it (bf16 weights are inference-only). */
function refuseBf16(name: string, args: readonly unknown[]): void {
  for (const a of args)
    if ((a as { dtype?: unknown } | null)?.dtype === 'bfloat16')
      throw new TypeError(
        `kernel '${name}' does not take bfloat16 tensors: bf16 weights are for inference (load the model with ` +
          'float32 weights to train or to run other ops on them)',
      );
}

/** Runs kernel `name` on the active backend (falling back to the reference implementation). */
export function runKernel<K extends KernelName>(name: K, ...args: Parameters<Kernels[K]>): ReturnType<Kernels[K]> {
  if (!BF16_KERNELS.has(name)) refuseBf16(name, args);
  const impl = (active[name] ?? reference[name]) as
    | ((...a: Parameters<Kernels[K]>) => ReturnType<Kernels[K]>)
    | undefined;
  if (!impl) throw new Error(`kernel '${name}' has no implementation (backend '${activeName}')`);
  return impl(...args);
}

/**
 * The active backend's own implementation of `name`, or undefined when the active backend is the reference or falls
 * back to it. For code that has a hand-written loop equal to the reference (src/models' decoders over flat buffers)
 * and should switch to a faster kernel only when one is active.
 */
export function acceleratedKernel<K extends KernelName>(name: K): Kernels[K] | undefined {
  return active === reference ? undefined : active[name];
}
