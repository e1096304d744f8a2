/**
 * Messages between the pipeline's main thread and its workers, and between workers. Tensors travel as a copied typed
 * array whose ArrayBuffer is transferred (moved, not cloned) with `postMessage`.
 */
import type { MessagePort } from 'node:worker_threads';
import { Tensor } from '../tensor/tensor.js';
import type { DType, TypedArray } from '../tensor/dtype.js';
import type { Method } from './schedule.js';
import type { PipelineModelSpec } from './stage.js';

export interface TensorPayload {
  data: TypedArray;
  shape: number[];
  dtype: DType;
}

/** A fresh copy of `t`'s data (so the sender's graph keeps its own buffer) ready to transfer. */
export function toPayload(t: Tensor): TensorPayload {
  return { data: t.data.slice(), shape: [...t.shape], dtype: t.dtype };
}

export function fromPayload(p: TensorPayload): Tensor {
  return new Tensor(p.data, p.shape, p.dtype);
}

/** The buffers to transfer for a list of payloads. */
export function transfers(ps: Iterable<TensorPayload>): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const p of ps) out.push(p.data.buffer as ArrayBuffer);
  return out;
}

/** Named tensors of one stage (parameters or gradients). */
export type NamedPayloads = [string, TensorPayload][];

/** What a worker receives at start (workerData). Ports: one per other rank, null at its own index. */
export interface WorkerInit {
  rank: number;
  method: Method;
  pp: number;
  microBatches: number;
  model: PipelineModelSpec;
  /** The main thread's active compute backend, used by the worker too. */
  backend: string;
  ports: (MessagePort | null)[];
}

/** `dir/stage/mb` of the chunk that consumes a value. */
export type ChunkKey = string;

export type MainToWorker =
  | { id: number; type: 'load'; params: NamedPayloads[] }
  | {
      id: number;
      type: 'step';
      /** Micro-batch inputs of the chunks this rank runs as stage 0, and targets for its last-stage chunks. */
      inputs: [ChunkKey, TensorPayload][];
      targets: [ChunkKey, TensorPayload][];
      lr: number;
      /** performance.timeOrigin + performance.now() in the main thread when the step started. */
      origin: number;
    }
  | { id: number; type: 'grads' }
  | { id: number; type: 'params' };

export interface StepTiming {
  /** Index into the rank's program. */
  step: number;
  /** Milliseconds since the main thread started the step: when the rank began waiting for inputs, computing, done. */
  waitStart: number;
  start: number;
  end: number;
}

export interface StepReport {
  losses: [ChunkKey, number][];
  computeMs: number;
  waitMs: number;
  /** Time spent summing mirrored gradients and applying the update. */
  tailMs: number;
  timeline: StepTiming[];
}

export type WorkerToMain =
  | { id: number; type: 'ok'; report?: StepReport; tensors?: NamedPayloads[] }
  | { id: number; type: 'error'; message: string };

/** Worker-to-worker: an activation (kind 'act') or an input gradient ('grad') for chunk `key`, or mirrored grads. */
export type PeerMessage =
  | { kind: 'act' | 'grad'; key: ChunkKey; t: TensorPayload }
  | { kind: 'mirror'; grads: NamedPayloads[] };
