/**
 * Tensors laid out one after another in one flat buffer, a SharedArrayBuffer that worker threads read: the parameters
 * and buffers of a model sent to data-parallel ranks (src/train/data_parallel.ts) or to generation workers
 * (src/infer/workers.ts), which copy them into their own replica.
 */
import type { Tensor } from './tensor.js';

/** Where one tensor lives in a flat buffer. */
export interface Slot {
  name: string;
  dtype: 'float32' | 'float64';
  shape: number[];
  /** Byte offset (a multiple of 8). */
  offset: number;
}

/** Lays `tensors` out one after another in a flat buffer (8-byte aligned); only float32 and float64 are supported. */
export function layoutOf(tensors: [string, Tensor][]): { slots: Slot[]; bytes: number } {
  let bytes = 0;
  const slots = tensors.map(([name, t]): Slot => {
    if (t.dtype !== 'float32' && t.dtype !== 'float64')
      throw new Error(`${name} is ${t.dtype}; only float32 and float64 tensors can be shared with worker threads`);
    const s: Slot = { name, dtype: t.dtype, shape: [...t.shape], offset: bytes };
    bytes += Math.ceil((t.size * (t.dtype === 'float32' ? 4 : 8)) / 8) * 8;
    return s;
  });
  return { slots, bytes };
}

const sizeOf = (s: Slot): number => s.shape.reduce((a, b) => a * b, 1);

/** A typed-array view of slot `s` in `buf`. */
export function viewOf(buf: ArrayBufferLike, s: Slot): Float32Array | Float64Array {
  return s.dtype === 'float32'
    ? new Float32Array(buf, s.offset, sizeOf(s))
    : new Float64Array(buf, s.offset, sizeOf(s));
}

/**
 * A replica's tensors (its state dict) paired with their slots in `buf`, checked to be the same names, dtypes and
 * shapes; `copyIn` copies the buffer's current values into the replica.
 */
export function replicaState(
  own: Map<string, Tensor>,
  slots: Slot[],
  buf: ArrayBufferLike,
): { copyIn(): void; size: number } {
  const pairs = slots.map((s) => {
    const t = own.get(s.name);
    if (!t) throw new Error(`the replica has no tensor ${s.name}`);
    if (t.dtype !== s.dtype || t.shape.join(',') !== s.shape.join(','))
      throw new Error(`the replica's ${s.name} is ${t.dtype} [${t.shape}], the main model's ${s.dtype} [${s.shape}]`);
    return { t, v: viewOf(buf, s) };
  });
  if (own.size !== pairs.length) throw new Error(`the replica has ${own.size} tensors, the main model ${pairs.length}`);
  return {
    copyIn: () => {
      for (const { t, v } of pairs) t.data.set(v);
    },
    size: pairs.length,
  };
}
