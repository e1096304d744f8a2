/**
 * Generation split across threads by rows: the main thread and `ranks - 1` worker threads (./generate_worker.ts),
 * each with a replica of the model, decode contiguous parts of the prompts at the same time, each with one native
 * kernel thread. A row samples from its own stream (seed, firstRow + row) and its numbers do not depend on the rows
 * beside it (./generate.ts), so the generations are exactly those of `generate` on all the prompts at once, whatever
 * the split: only the wall time changes. This is how generation uses two cores at GRPO's batch sizes, where one
 * decoding step's products are too small to share out within a kernel.
 *
 * The replicas get the main model's parameters and buffers through a shared buffer that `generate` refreshes at each
 * call (a policy that trains between calls is seen as it is now). Stop strings and `text` need the tokenizer in every
 * thread: give the codec at `create` (an r1ts `Tokenizer` or a `CharCodec`); the workers decode with it, so the
 * `decode` option must be that codec's. Calls that cannot be split (speculative decoding, the 'model' engine, one
 * rank, fewer prompts than ranks, a codec the workers cannot rebuild) run `generate` on the main thread alone.
 */
import type { Worker } from 'node:worker_threads';
import type { CausalLM, ModelConfig } from '../models/index.js';
import { Tokenizer, type TokenizerConfig } from '../data/tokenizer.js';
import { getBackend } from '../backend/registry.js';
import { nativeAvailable, nativeInfo, setNativeThreads } from '../backend/native/index.js';
import { type Slot, layoutOf, viewOf } from '../tensor/shared.js';
import { startWorkerScript } from '../util/spawn.js';
import { CharCodec, type TextCodec } from './codec.js';
import { type GenerateOptions, type Generation, checkGeneration, generate } from './generate.js';

/** A codec as plain data a worker can rebuild, or null (none). */
export type CodecSpec =
  | { kind: 'tokenizer'; json: Record<string, unknown>; config: TokenizerConfig }
  | { kind: 'char'; alphabet: string; eos: boolean };

/** The codec as plain data, or undefined when it is of a kind the workers cannot rebuild. */
export function codecSpec(codec: TextCodec): CodecSpec | undefined {
  if (codec instanceof Tokenizer) return { kind: 'tokenizer', json: codec.toJSON(), config: codec.config };
  if (codec instanceof CharCodec) return { kind: 'char', alphabet: codec.chars.join(''), eos: codec.eosId !== null };
  return undefined;
}

/** The codec a spec describes. */
export function codecFromSpec(spec: CodecSpec): TextCodec {
  return spec.kind === 'tokenizer'
    ? Tokenizer.fromJSON(spec.json, spec.config)
    : new CharCodec(spec.alphabet, { eos: spec.eos });
}

/** What a generation worker receives at start (workerData). */
export interface GenWorkerInit {
  config: ModelConfig;
  backend: string;
  /** Parameters and buffers, written by the main thread before each call. */
  state: SharedArrayBuffer;
  slots: Slot[];
  codec: CodecSpec | null;
}

/** The options a worker gets: `generate`'s, less the functions (it decodes with its own codec). */
export type SentOptions = Omit<GenerateOptions, 'decode' | 'onBatch'> & { decode: boolean };

export type GenRequest = { id: number; prompts: number[][]; opts: SentOptions };
export type GenReply =
  | { id: number; type: 'ready' }
  | { id: number; type: 'ok'; gens: Generation[] }
  | { id: number; type: 'error'; message: string };

/** Row ranges [start, end) of `n` rows cut into `parts` contiguous parts whose sizes differ by at most one. */
export function splitRows(n: number, parts: number): [number, number][] {
  return Array.from({ length: parts }, (_, i): [number, number] => [
    Math.floor((i * n) / parts),
    Math.floor(((i + 1) * n) / parts),
  ]);
}

export interface GenerationWorkersOptions {
  /** Threads that generate, the main one included (default 2). */
  ranks?: number;
  /** The tokenizer, for stop strings and decoded text (default none). */
  codec?: TextCodec | null;
}

/** The main-thread side: `create`, then `generate` as often as needed, and always `close` (in a finally). */
export class GenerationWorkers {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (g: Generation[]) => void; reject: (e: Error) => void }>();
  private dead: string | null = null;
  private closed = false;

  private constructor(
    private readonly model: CausalLM,
    private readonly workers: Worker[],
    private readonly state: [Float32Array | Float64Array, Float32Array | Float64Array][],
    private readonly codec: TextCodec | null,
    private readonly shareable: boolean,
  ) {
    for (const w of workers) {
      w.on('message', (m: GenReply) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.type === 'ok') p.resolve(m.gens);
        else if (m.type === 'error') p.reject(new Error(`generation worker: ${m.message}`));
      });
      const fail = (why: string) => {
        this.dead = why;
        for (const p of this.pending.values()) p.reject(new Error(`generation worker: ${why}`));
        this.pending.clear();
      };
      w.on('error', (e) => fail(e.message));
      w.on('exit', (code) => {
        if (!this.closed) fail(`exited with code ${code}`);
      });
    }
  }

  /** Threads that generate, the main one included. */
  get ranks(): number {
    return this.workers.length + 1;
  }

  /** Starts `ranks - 1` worker threads, each with a replica of `model` (its config, the current parameters). */
  static async create(model: CausalLM, o: GenerationWorkersOptions = {}): Promise<GenerationWorkers> {
    const ranks = o.ranks ?? 2;
    if (!Number.isInteger(ranks) || ranks < 1)
      throw new Error(`generation workers: ranks must be a positive integer, got ${ranks}`);
    const codec = o.codec ?? null;
    const spec = codec ? codecSpec(codec) : null;
    const named = [...model.stateDict()];
    const { slots, bytes } = layoutOf(named);
    const sab = new SharedArrayBuffer(bytes);
    const state = named.map(([, t], i): [Float32Array | Float64Array, Float32Array | Float64Array] => [
      t.data as Float32Array | Float64Array,
      viewOf(sab, slots[i]),
    ]);
    const workers: Worker[] = [];
    let pool: GenerationWorkers | null = null;
    try {
      const ready: Promise<void>[] = [];
      for (let r = 1; r < ranks; r++) {
        const init: GenWorkerInit = {
          config: model.config,
          backend: getBackend(),
          state: sab,
          slots,
          codec: spec ?? null,
        };
        const w = startWorkerScript(import.meta.url, 'generate_worker', { workerData: init });
        workers.push(w);
        ready.push(
          new Promise((resolve, reject) => {
            const onExit = (code: number) =>
              reject(new Error(`generation worker ${r} exited with code ${code} while starting`));
            w.once('error', reject);
            w.once('exit', onExit);
            w.once('message', (m: GenReply) => {
              w.off('exit', onExit);
              w.off('error', reject);
              if (m.type === 'ready') resolve();
              else reject(new Error(`generation worker ${r}: ${m.type === 'error' ? m.message : 'no ready message'}`));
            });
          }),
        );
      }
      // the pool's own listeners from here on, so that a worker failing after its start is noticed
      pool = new GenerationWorkers(model, workers, state, codec, spec !== undefined);
      await Promise.all(ready);
    } catch (e) {
      if (pool) pool.closed = true;
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
    return pool;
  }

  /**
   * `generate(model, prompts, opts)` with the prompts split across the threads: the same generations, in order.
   * `onBatch` hears the main thread's part as it goes and the whole at the end.
   */
  async generate(prompts: readonly (readonly number[])[], opts: GenerateOptions = {}): Promise<Generation[]> {
    if (this.closed) throw new Error('generation workers: closed');
    if (this.dead) throw new Error(`generation workers: a worker failed (${this.dead})`);
    checkGeneration(this.model, prompts, opts);
    const needsCodec = opts.decode !== undefined || (opts.stop?.length ?? 0) > 0;
    const split =
      this.workers.length > 0 &&
      prompts.length >= this.ranks &&
      (opts.speculative ?? 'none') === 'none' &&
      (opts.engine ?? 'fast') === 'fast' &&
      (!needsCodec || (this.codec !== null && this.shareable));
    if (!split) return generate(this.model, prompts, opts);
    for (const [own, shared] of this.state) shared.set(own);
    const parts = splitRows(prompts.length, this.ranks);
    const first = opts.firstRow ?? 0;
    const { decode: _d, onBatch, ...rest } = opts;
    const replies = this.workers.map((w, i) => {
      const [s, e] = parts[i + 1];
      const id = this.nextId++;
      const req: GenRequest = {
        id,
        prompts: prompts.slice(s, e).map((p) => [...p]),
        opts: { ...rest, firstRow: first + s, decode: opts.decode !== undefined },
      };
      return new Promise<Generation[]>((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        try {
          w.postMessage(req);
        } catch (e) {
          this.pending.delete(id);
          reject(e);
        }
      });
    });
    // the workers' results are awaited even when the main thread's part throws, so none is left pending
    const settled = Promise.allSettled(replies);
    const threads = nativeAvailable() ? nativeInfo()!.threads : null;
    if (threads !== null && threads > 1) setNativeThreads(1);
    try {
      const [s, e] = parts[0];
      let mine: Generation[] = [];
      let failed: unknown = null;
      try {
        mine = generate(this.model, prompts.slice(s, e), {
          ...opts,
          firstRow: first + s,
          onBatch: onBatch ? (done) => onBatch(done, prompts.length) : undefined,
        });
      } catch (err) {
        failed = err;
      }
      const theirs = await settled;
      if (failed !== null) throw failed;
      const out = [...mine];
      for (const r of theirs) {
        if (r.status === 'rejected') throw r.reason;
        out.push(...r.value);
      }
      onBatch?.(prompts.length, prompts.length);
      return out;
    } finally {
      if (threads !== null && threads > 1) setNativeThreads(threads);
    }
  }

  /** Stops the workers; a call still waiting for them fails with 'closed'. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new Error('generation workers: closed while generating'));
    this.pending.clear();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
