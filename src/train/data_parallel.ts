/**
 * Data-parallel gradient computation over worker threads, bit-identical to sequential gradient accumulation.
 *
 * A step's micro-batches are cut into contiguous runs, one per rank, the longest first. Rank 0 is the main thread: it
 * runs the first run on the model itself, so the parameters' `.grad` accumulate exactly as in the sequential loop.
 * Ranks 1..N-1 are worker threads (./data_parallel_worker.ts), each with a replica of the model (same config and
 * precision). Once per step the main thread writes the current parameters and buffers (the router bias included) into
 * one SharedArrayBuffer that every replica copies in; a worker computes each of its micro-batches' gradients on its own
 * (`.grad` cleared before each) and sends each back packed in one transferred buffer. The main thread adds them to
 * `.grad` in micro-batch order with `accumulateGrad` (what `backward` does between micro-batches), so the sum is
 * ((g1 + g2) + g3) + ... as in sequential accumulation, and `workers: N` trains the same bits as `workers: 1`. Losses
 * come back per micro-batch (the caller sums them in order); the model's step counters (`takeStepCounters`: MoE expert
 * loads, integer counts, so their sum does not depend on the order) are added to the main model, where `afterStep`
 * reads them.
 *
 * Threads: the native kernels' thread pool is one per process, shared by all worker threads, so while a DataParallel
 * is open the pool has one thread: each rank computes on its own core with one-thread kernels (kernel results do not
 * depend on the thread count: test/backend/determinism.test.ts); `close()` restores the previous size.
 *
 * Not here: splitting a micro-batch (that would change the numbers), the optimizer, clipping, data loading and
 * validation (all in the main thread: ./trainer.ts).
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { Tensor, accumulateGrad } from '../tensor/tensor.js';
import type { DType } from '../tensor/dtype.js';
import { mul } from '../tensor/ops/elementwise.js';
import { withMicroBatchPool } from '../tensor/pool.js';
import { type Slot, layoutOf, viewOf } from '../tensor/shared.js';
import { getBackend } from '../backend/registry.js';
import { nativeAvailable, nativeInfo, setNativeThreads } from '../backend/native/index.js';
import { MLP, type CausalLM, type ModelConfig } from '../models/index.js';
import { Linear } from '../nn/layers.js';
import type { Precision } from '../fp8/precision.js';
import { type TensorPayload, toPayload } from '../parallel/wire.js';
import { startWorkerScript } from '../util/spawn.js';

/** One micro-batch of a step. */
export interface MicroBatch {
  inputs: Tensor;
  targets: Tensor;
  /** Loss weight: the micro-batch's share of the step's sequences (the loss is scaled by it before backward). */
  weight: number;
}

/** Loss settings of a step (DeepSeek-V3 only; ignored for dense models). */
export interface LossSettings {
  balanceAlpha: number;
  mtpLambda: number;
}

/** The unscaled losses of one micro-batch. */
export interface MicroResult {
  /** The total loss (main + MTP + balance; dense models: the main loss). */
  loss: number;
  mainLoss: number;
  balanceLoss: number;
  /** The first MTP depth's loss, or null without MTP. */
  mtpLoss: number | null;
}

/**
 * Forward and backward of one micro-batch on `model`: the loss scaled by `b.weight` is back-propagated, so the
 * parameters' `.grad` accumulate. The same code runs in the sequential loop, in rank 0 and in the workers.
 */
export function runMicroBatch(model: CausalLM, b: MicroBatch, s: LossSettings): MicroResult {
  return withMicroBatchPool(model.parameters(), () => {
    const r = model.computeLoss(b.inputs, b.targets, { balanceAlpha: s.balanceAlpha, mtpLambda: s.mtpLambda });
    mul(r.loss, b.weight).backward();
    return {
      loss: r.loss.item(),
      mainLoss: r.mainLoss,
      balanceLoss: r.balanceLoss,
      mtpLoss: r.mtpLosses.length ? r.mtpLosses[0] : null,
    };
  });
}

/** Micro-batches per rank: contiguous runs as equal as possible, the longer ones first (rank 0 = the main thread). */
export function splitMicroBatches(n: number, ranks: number): number[] {
  return Array.from({ length: ranks }, (_, r) => Math.floor(n / ranks) + (r < n % ranks ? 1 : 0));
}

/**
 * `--workers auto`: 2 on a machine with at least 2 cores when the model is small (hidden size <= 256) and a full batch
 * has at least 2 micro-batches, else 1. Small models' matrices are too small for the kernels' threads (the tiny preset
 * trains faster with one kernel thread than with two), while two data-parallel ranks each keep a core busy; see
 * BENCHMARKS.md.
 */
export function autoWorkers(
  model: ModelConfig,
  run: { batchEnd: number; microBatch: number },
  cores = availableParallelism(),
): number {
  return cores >= 2 && model.hidden_size <= 256 && run.batchEnd > run.microBatch ? 2 : 1;
}

/** What a data-parallel worker receives at start (workerData). */
export interface DpWorkerInit {
  rank: number;
  config: ModelConfig;
  precision: Precision | null;
  /** The main thread's compute backend. */
  backend: string;
  /** Parameters and buffers, written by the main thread before each step. */
  state: SharedArrayBuffer;
  stateSlots: Slot[];
  /** The layout of one micro-batch's packed gradients (the parameters, in `namedParameters()` order). */
  gradSlots: Slot[];
}

export type DpRequest = {
  id: number;
  type: 'step';
  micro: { inputs: TensorPayload; targets: TensorPayload; weight: number }[];
  settings: LossSettings;
};

/** Per micro-batch: the losses, the packed gradients and which parameters have one (1) or none (0: unused). */
export interface DpMicroReply {
  result: MicroResult;
  grads: ArrayBuffer;
  has: Uint8Array;
}

export type DpReply =
  | { id: number; type: 'ready' }
  | { id: number; type: 'ok'; micro: DpMicroReply[]; counters: Float64Array[] }
  | { id: number; type: 'error'; message: string };

interface Pending {
  resolve: (m: DpReply & { type: 'ok' }) => void;
  reject: (e: Error) => void;
}

export interface DataParallelOptions {
  /** The model of the main thread (rank 0); the replicas are built from its config. */
  model: CausalLM;
  /** Ranks in all: the main thread and workers - 1 worker threads. */
  workers: number;
  /** The precision the model's Linears were switched to with `setModelPrecision` (applied to every replica). */
  precision?: Precision;
}

/** The main-thread side: start with `create`, run steps with `run`, always `close` (in a finally). */
export class DataParallel {
  private nextId = 1;
  private readonly pending: Map<number, Pending>[];
  private readonly dead: (string | null)[];
  private closed = false;

  private constructor(
    private readonly model: CausalLM,
    private readonly workers: Worker[],
    private readonly state: [Tensor, Float32Array | Float64Array][],
    private readonly gradSlots: Slot[],
    private readonly threadsBefore: number | null,
  ) {
    this.pending = workers.map(() => new Map());
    this.dead = workers.map(() => null);
    workers.forEach((w, i) => this.listen(w, i + 1));
  }

  /** Ranks in all (the main thread included). */
  get ranks(): number {
    return this.workers.length + 1;
  }

  /** Starts `workers - 1` worker threads with replicas of `o.model` and sets the native kernels to one thread. */
  static async create(o: DataParallelOptions): Promise<DataParallel> {
    if (!Number.isInteger(o.workers) || o.workers < 1)
      throw new Error(`data-parallel: workers must be a positive integer, got ${o.workers}`);
    const model = o.model;
    if (!o.precision) {
      const custom = model
        .namedModules()
        .find(([, m]) => (m instanceof Linear && m.gemm !== null) || (m instanceof MLP && m.fused !== null));
      if (custom) {
        throw new Error(
          `data-parallel: ${custom[0] || 'the model'} runs a switched GEMM but no precision was given; set TrainConfig.precision so the replicas use the same numerics`,
        );
      }
    }
    const named = [...model.stateDict()];
    const { slots: stateSlots, bytes } = layoutOf(named);
    const sab = new SharedArrayBuffer(bytes);
    const state = named.map(([, t], i): [Tensor, Float32Array | Float64Array] => [t, viewOf(sab, stateSlots[i])]);
    const gradSlots = layoutOf(model.namedParameters()).slots;
    const threadsBefore = nativeAvailable() ? nativeInfo()!.threads : null;
    if (threadsBefore !== null && o.workers > 1) setNativeThreads(1);
    const workers: Worker[] = [];
    try {
      const ready: Promise<void>[] = [];
      for (let rank = 1; rank < o.workers; rank++) {
        const init: DpWorkerInit = {
          rank,
          config: model.config,
          precision: o.precision ?? null,
          backend: getBackend(),
          state: sab,
          stateSlots,
          gradSlots,
        };
        const w = startWorkerScript(import.meta.url, 'data_parallel_worker', { workerData: init });
        workers.push(w);
        ready.push(
          new Promise((resolve, reject) => {
            const onExit = (code: number) =>
              reject(new Error(`data-parallel: worker ${rank} exited with code ${code} while starting`));
            w.once('message', (m: DpReply) => {
              w.off('exit', onExit);
              if (m.type === 'ready') resolve();
              else
                reject(
                  new Error(
                    `data-parallel: worker ${rank} failed to start: ${m.type === 'error' ? m.message : m.type}`,
                  ),
                );
            });
            w.once('error', (e) => reject(new Error(`data-parallel: worker ${rank} failed to start: ${e.message}`)));
            w.once('exit', onExit);
          }),
        );
      }
      await Promise.all(ready);
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      if (threadsBefore !== null && o.workers > 1) setNativeThreads(threadsBefore);
      throw e;
    }
    return new DataParallel(model, workers, state, gradSlots, o.workers > 1 ? threadsBefore : null);
  }

  private fail(rank: number, why: string): void {
    this.dead[rank - 1] ??= why;
    for (const p of this.pending[rank - 1].values()) p.reject(new Error(why));
    this.pending[rank - 1].clear();
  }

  private listen(w: Worker, rank: number): void {
    w.on('message', (m: DpReply) => {
      const p = this.pending[rank - 1].get(m.id);
      if (!p) return;
      this.pending[rank - 1].delete(m.id);
      if (m.type === 'ok') p.resolve(m);
      else
        p.reject(
          new Error(`data-parallel: worker ${rank}: ${m.type === 'error' ? m.message : `unexpected '${m.type}'`}`),
        );
    });
    w.on('error', (e) => this.fail(rank, `data-parallel: worker ${rank} crashed: ${e.message}`));
    w.on('exit', (code) => {
      if (!this.closed) this.fail(rank, `data-parallel: worker ${rank} exited (code ${code})`);
    });
  }

  private request(rank: number, msg: Omit<DpRequest, 'id'>): Promise<DpReply & { type: 'ok' }> {
    const why = this.dead[rank - 1];
    if (why) return Promise.reject(new Error(why));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending[rank - 1].set(id, { resolve, reject });
      this.workers[rank - 1].postMessage({ ...msg, id } satisfies DpRequest);
    });
  }

  /**
   * Forward and backward of every micro-batch, in micro-batch order as far as the numbers go: afterwards the model's
   * `.grad` and its step counters are what running `runMicroBatch` on each micro-batch in turn leaves. The gradients
   * must be cleared (`zeroGrad`) before. Returns the per-micro-batch losses in order.
   */
  async run(micro: MicroBatch[], settings: LossSettings): Promise<MicroResult[]> {
    if (this.closed) throw new Error('data-parallel: run after close');
    const sizes = splitMicroBatches(micro.length, this.ranks);
    if (sizes.length > 1 && sizes[1] > 0) for (const [t, v] of this.state) v.set(t.data);
    const replies: Promise<DpReply & { type: 'ok' }>[] = [];
    let at = sizes[0];
    for (let rank = 1; rank < this.ranks && sizes[rank] > 0; rank++) {
      const mine = micro.slice(at, at + sizes[rank]);
      at += sizes[rank];
      const p = this.request(rank, {
        type: 'step',
        micro: mine.map((m) => ({ inputs: toPayload(m.inputs), targets: toPayload(m.targets), weight: m.weight })),
        settings,
      });
      p.catch(() => {}); // handled below; never an unhandled rejection if rank 0 throws first
      replies.push(p);
    }
    const results = micro.slice(0, sizes[0]).map((m) => runMicroBatch(this.model, m, settings));
    const params = this.model.parameters();
    for (const p of replies) {
      const r = await p;
      for (const m of r.micro) {
        params.forEach((param, i) => {
          if (m.has[i])
            accumulateGrad(
              param,
              new Tensor(viewOf(m.grads, this.gradSlots[i]), this.gradSlots[i].shape, this.gradSlots[i].dtype as DType),
            );
        });
        results.push(m.result);
      }
      this.model.addStepCounters(r.counters);
    }
    return results;
  }

  /** Stops the workers (at once, even mid-step) and restores the native thread pool's size. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const m of this.pending) m.clear();
    await Promise.all(this.workers.map((w) => w.terminate()));
    if (this.threadsBefore !== null) setNativeThreads(this.threadsBefore);
  }
}
