/**
 * The serving loop: one continuous batcher (src/infer/batcher.ts) stepped on Node's event loop. Each step is
 * synchronous work (one forward pass over the batch); between steps the loop yields (`setImmediate`), so new requests
 * are read, joined at the next step, and finished tokens are written to their sockets while the batch runs. The loop
 * sleeps when nothing runs (the batcher then holds no rows and no caches) and wakes on the next request.
 *
 * Admission is bounded: at most `maxBatch` sequences decode together and at most `maxQueue` wait; a request that
 * would overflow the queue is refused whole (HTTP 429). Draining (graceful shutdown) refuses new work (503), lets the
 * running sequences finish until a deadline, then cancels what is left.
 *
 * Not here: HTTP and OpenAI's shapes (./server.ts, ./exchange.ts).
 */
import type { CausalLM } from '../models/causal_lm.js';
import { Batcher, type BatcherStats, type Sequence, type SequenceRequest } from '../infer/batcher.js';
import { ApiError } from './protocol.js';

export interface EngineOptions {
  /** Sequences decoded together at most (default 32). */
  maxBatch?: number;
  /** Sequences waiting at most (default 256); more are refused with 429. */
  maxQueue?: number;
  /** 'mtp': speculative decoding with the model's MTP module. */
  speculative?: 'none' | 'mtp';
}

/** What the engine is doing, for /health. */
export interface EngineStatus {
  running: number;
  waiting: number;
  /** Rows the decoder holds (0 when idle). */
  rows: number;
  draining: boolean;
  stats: BatcherStats;
}

/** See the file header. */
export class Engine {
  readonly batcher: Batcher;
  readonly maxQueue: number;
  private looping = false;
  private draining = false;
  private idleWaiters: (() => void)[] = [];
  /** Called with an error a step threw (its sequences were cancelled). */
  onError: (e: unknown) => void = () => {};

  constructor(model: CausalLM, opts: EngineOptions = {}) {
    this.batcher = new Batcher(model, { maxBatch: opts.maxBatch ?? 32, speculative: opts.speculative ?? 'none' });
    this.maxQueue = opts.maxQueue ?? 256;
  }

  /** Queues the sequences of one request, all or none: 429 when the queue would overflow, 503 when draining. */
  submit(reqs: readonly SequenceRequest[]): Sequence[] {
    if (this.draining) throw new ApiError(503, 'The server is shutting down', null, 'shutting_down');
    const waiting = this.batcher.waiting;
    if (waiting + reqs.length > this.maxQueue)
      throw new ApiError(
        429,
        `The server is busy: ${waiting} sequences are waiting and the queue holds ${this.maxQueue}; retry later`,
        null,
        'queue_full',
      );
    const seqs = reqs.map((r) => this.batcher.add(r));
    this.wake();
    return seqs;
  }

  /** Cancels sequences (a client went away); their rows are freed at the next step. */
  cancel(seqs: readonly Sequence[]): void {
    for (const s of seqs) this.batcher.cancel(s);
    this.wake();
  }

  status(): EngineStatus {
    const b = this.batcher;
    return { running: b.running, waiting: b.waiting, rows: b.rows, draining: this.draining, stats: { ...b.stats } };
  }

  /** Resolves when nothing runs or waits and the decoder is released. */
  idle(): Promise<void> {
    if (!this.looping && !this.batcher.busy && this.batcher.rows === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops taking work and lets running and waiting sequences finish for `timeoutMs`, then cancels the rest. Resolves
   * when the engine is idle.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const why = await Promise.race([this.idle().then(() => 'idle' as const), deadline]);
    clearTimeout(timer);
    if (why === 'timeout') {
      this.cancelAll();
      await this.idle();
    }
  }

  /** Cancels every running and waiting sequence. */
  cancelAll(): void {
    this.batcher.cancelAll();
    this.wake();
  }

  private wake(): void {
    if (this.looping) return;
    this.looping = true;
    setImmediate(() => this.loop());
  }

  private loop(): void {
    let more: boolean;
    try {
      more = this.batcher.step();
    } catch (e) {
      // a step that throws leaves its sequences undefined: cancel them all, report, carry on with a fresh batch
      this.batcher.reset();
      this.onError(e);
      more = false;
    }
    if (more || this.batcher.rows > 0) {
      setImmediate(() => this.loop());
      return;
    }
    this.looping = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
