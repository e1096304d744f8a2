/**
 * Measuring what a computation keeps alive: a forced full garbage collection and the bytes of ArrayBuffers (the
 * backing stores of typed arrays, i.e. tensor data) still held after it. Used to measure the memory an autograd graph
 * holds between the forward and the backward pass (`r1ts experiment fp8`, test/tensor/graph_memory.test.ts).
 *
 * What it is not: a heap profiler. `process.memoryUsage().arrayBuffers` counts every live ArrayBuffer of the process,
 * so a measurement is the difference of two readings with nothing else allocating in between. Typed arrays of 64 bytes
 * or less live on the V8 heap and are not counted (scalars, tiny index arrays).
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

let gcFn: (() => void) | null = null;

/**
 * Runs a full, synchronous garbage collection. Without `node --expose-gc` it turns the flag on and takes `gc` from a
 * fresh context (the flag applies to contexts created afterwards).
 */
export function forceGc(): void {
  if (!gcFn) {
    const g = (globalThis as { gc?: () => void }).gc;
    if (typeof g === 'function') gcFn = g;
    else {
      v8.setFlagsFromString('--expose_gc');
      gcFn = vm.runInNewContext('gc') as () => void;
    }
  }
  // Twice: the first collection may only queue finalisation of some backing stores.
  gcFn();
  gcFn();
}

/** Bytes of live ArrayBuffers after a full collection. */
export function liveArrayBufferBytes(): number {
  forceGc();
  return process.memoryUsage().arrayBuffers;
}

/**
 * Runs `build` and returns its result with the ArrayBuffer bytes that stay alive because of it: live bytes after it
 * (with its result still referenced) minus live bytes before. `build` must not keep anything elsewhere (caches,
 * globals) that it would not hold through its result; run it once before measuring to fill one-time caches.
 */
export function heldArrayBufferBytes<T>(build: () => T): { result: T; bytes: number } {
  const before = liveArrayBufferBytes();
  const result = build();
  const after = liveArrayBufferBytes();
  return { result, bytes: after - before };
}
