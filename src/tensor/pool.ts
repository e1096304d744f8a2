/**
 * Recycling the float32 arrays of a training step.
 *
 * A training micro-batch allocates hundreds of megabytes of activations and gradients as fresh typed arrays, and drops
 * them all when it ends. Fresh arrays cost twice: the memory is zero-filled (or page-faulted in) on allocation, and the
 * growing external memory makes V8 run full mark-compact collections (BENCHMARKS.md measured 12% and 15% of a `tiny`
 * training step). Inside `withBufferPool(fn, keep)` every float32 array of at least `POOL_MIN` elements that the
 * kernels allocate (through `allocF32`, which `allocArray` / `allocFloat` and the native kernels' outputs use) is
 * recorded; when `fn` returns, each of them that `keep` does not name goes back to a free list by capacity (lengths are
 * rounded up to one of four sizes per power of two, `poolCapacity`, and a request takes a free array of its capacity
 * or else of one of the next capacities up to twice it, so the per-expert arrays of an MoE layer, whose lengths change
 * with the routing, still find one; the caller gets a view of its own length), and the next scope's
 * allocations take it from there, zero-filled again (so a kernel sees exactly what a fresh array would give it: the
 * numbers are bit-identical with and without the pool), or not filled at all for the outputs of kernels that write
 * every element (the native matmul, elementwise, layout, RMSNorm, RoPE, row-gather, cross-entropy-gradient and
 * attention kernels), which saves the fill. The parameters' gradients are not pool arrays: inside a scope they sum
 * into each parameter's own `gradBuffer` (./tensor.ts), kept from step to step.
 *
 * The contract: when `fn` returns, nothing allocated inside it is referenced any more except the arrays `keep` returns
 * (a training step's parameter gradients). `fn` returns plain values (numbers), not tensors. Lazily created state that
 * outlives a step must not be allocated through `allocF32` inside a scope (the optimizer's moments and the models'
 * RoPE tables are plain `new Float32Array`s, made outside any scope).
 *
 * Memory: a scope records at most `POOL_MAX_BYTES` of arrays (1 GiB; past it, arrays are plain ones the garbage
 * collector frees as before), and the pool holds what the last scope released and nothing more; the trainers empty it with `drainBufferPool` when a phase ends, and GRPO after each
 * update (its rollouts come next, and its lengths change from step to step).
 *
 * If `fn` throws, nothing is recycled (the arrays are left to the garbage collector). Scopes do not nest: a scope
 * opened inside another runs as part of the outer one. Each worker thread has its own pool.
 *
 * `R1TS_BUFFER_POOL=off` turns recycling off; `R1TS_BUFFER_POOL=check` fills every array a scope releases with NaN and
 * never hands it out again, so any use after release shows up as NaN; the outputs of kernels that claim to write every
 * element start as NaN, so an element they miss shows up too; it records arrays of every length, the smallest too (the
 * test suite passes in this mode, and test/tensor/pool.test.ts trains with it).
 */

/** Arrays shorter than this are not pooled (small arrays are cheap to allocate and live on the V8 heap). */
export const POOL_MIN = 256;

/**
 * The most bytes of arrays one scope records by default (1 GiB; `R1TS_BUFFER_POOL_MB` sets another bound in MiB).
 * A recorded array is held until the scope ends, even when the
 * computation dropped it halfway (a temporary of the forward pass), so without a bound the pool would turn a
 * micro-batch's peak of live memory into the sum of everything it allocates (a reward model on the `small` preset,
 * 16 pairs of up to 320 tokens a micro-batch: 20 GB resident after 150 steps, against a 1.5 GB peak without the pool;
 * 2.4 GB with this bound). Past the bound, arrays are plain ones the collector frees as before; the pool itself then
 * holds at most this much between scopes. A smaller bound trades speed for memory: the `tiny` model, micro-batches
 * of 8 x 256 tokens, one thread: 560 ms a step and a 682 MB peak at 1 GiB, 740 ms and 513 MB at 256 MiB, 993 ms and
 * 326 MB without the pool (BENCHMARKS.md).
 */
export const POOL_MAX_BYTES = 2 ** 30;
let maxBytes: number | null = null;

/** The bound from R1TS_BUFFER_POOL_MB (MiB), read when the first scope opens; POOL_MAX_BYTES without it. */
function envMaxBytes(): number {
  const v = process.env.R1TS_BUFFER_POOL_MB;
  if (v === undefined || v === '') return POOL_MAX_BYTES;
  const mb = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v.trim()) || !Number.isFinite(mb))
    throw new Error(`R1TS_BUFFER_POOL_MB: expected a number of MiB >= 0 (got '${v}')`);
  return mb * 2 ** 20;
}

/** Sets the bound on the bytes one scope records (tests); returns the previous one. */
export function setPoolMaxBytes(bytes: number): number {
  const prev = maxBytes ?? envMaxBytes();
  maxBytes = bytes;
  return prev;
}

export type PoolMode = 'on' | 'off' | 'check';

/** The mode from R1TS_BUFFER_POOL, read when the first scope opens (so a bad value fails training, not every command). */
function envMode(): PoolMode {
  const v = process.env.R1TS_BUFFER_POOL;
  if (v === undefined || v === '' || v === 'on') return 'on';
  if (v === 'off' || v === 'check') return v;
  throw new Error(`R1TS_BUFFER_POOL: expected on, off or check (got '${v}')`);
}

let mode: PoolMode | null = null;

/** What a scope handed out: the array the caller got (a view when shorter than its capacity) and its full array. */
interface Lent {
  view: Float32Array;
  full: Float32Array;
}

let scope: Lent[] | null = null;
let scopeMode: PoolMode = 'on';
/** Bytes the open scope has recorded, and the most it may. */
let scopeBytes = 0;
let scopeMaxBytes = POOL_MAX_BYTES;
/** Free arrays by capacity: what the last scope released, no more (see `withBufferPool`). */
const free = new Map<number, Float32Array[]>();

/** Counters, for tests and benchmarks. */
export const poolStats = { scopes: 0, reused: 0, fresh: 0, released: 0 };

/** Sets the mode (tests); returns the previous one. Empties the pool. */
export function setPoolMode(m: PoolMode): PoolMode {
  const prev = mode ?? envMode();
  mode = m;
  free.clear();
  return prev;
}

/**
 * The capacity an array of `n` elements is taken from: the smallest m * 2^k >= n with m in 4..7 (at most 25% more).
 * Lengths that change from one micro-batch to the next (the tokens routed to each MoE expert) then still find a free
 * array; the caller gets a view of its first `n` elements.
 */
export function poolCapacity(n: number): number {
  if (n <= 8) return n;
  const k = Math.floor(Math.log2(n)) - 2;
  const unit = 2 ** k;
  return Math.ceil(n / unit) * unit;
}

/**
 * A float32 array of `n` elements: a recycled one inside a `withBufferPool` scope when one is free. Zero-filled unless
 * `zero` is false, which only a kernel that writes every element before anything reads it may pass (a recycled array
 * then keeps its old values until the kernel overwrites them; in `check` mode such an array starts as NaN, so an
 * element the kernel does not write shows up).
 */
export function allocF32(n: number, zero = true): Float32Array {
  if (scope === null || !Number.isInteger(n) || (n < POOL_MIN && scopeMode !== 'check')) return new Float32Array(n);
  const cap = poolCapacity(n);
  // A free array of this capacity, else of the next few (up to twice as long): the routed experts' arrays change
  // length from one micro-batch to the next, so the exact capacity is often gone while a slightly longer one is free.
  let full: Float32Array | undefined;
  for (let c = cap; full === undefined && c <= 2 * cap; c = poolCapacity(c + 1)) full = free.get(c)?.pop();
  const bytes = (full?.length ?? cap) * 4;
  if (scopeBytes + bytes > scopeMaxBytes) {
    if (full) free.get(full.length)!.push(full); // not taken after all
    return new Float32Array(n);
  }
  scopeBytes += bytes;
  const recycled = full !== undefined;
  if (full) poolStats.reused++;
  else {
    full = new Float32Array(cap);
    poolStats.fresh++;
  }
  const view = full.length === n ? full : full.subarray(0, n);
  if (!zero && scopeMode === 'check') view.fill(Number.NaN);
  else if (zero && recycled) view.fill(0);
  scope.push({ view, full });
  return view;
}

/** Whether a scope is open (the caller's allocations are recycled when it ends). */
export function inBufferPool(): boolean {
  return scope !== null;
}

/**
 * Runs `fn` with its float32 allocations recorded and recycles them when it returns, except those in `keep()` (read
 * after `fn` returns). See the file header for the contract. `fn` must be synchronous.
 *
 * The pool then holds what this scope released and nothing else: arrays of capacities it did not ask for, and more
 * arrays of a capacity than it used, go back to the garbage collector. So the pool never holds more than one scope
 * recorded (at most `POOL_MAX_BYTES`), and `drainBufferPool` empties it.
 */
export function withBufferPool<T>(fn: () => T, keep: () => Iterable<ArrayBufferView | null | undefined>): T {
  mode ??= envMode();
  maxBytes ??= envMaxBytes();
  if (scope !== null || mode === 'off') return fn();
  const made: Lent[] = [];
  scope = made;
  scopeMode = mode;
  scopeBytes = 0;
  scopeMaxBytes = maxBytes;
  let result: T;
  try {
    result = fn();
  } finally {
    scope = null;
  }
  // only reached when fn returned
  if (typeof (result as { then?: unknown } | null)?.then === 'function')
    throw new TypeError('withBufferPool: fn returned a promise; a scope must be synchronous');
  const kept = new Set<unknown>();
  for (const k of keep()) if (k) kept.add(k);
  poolStats.scopes++;
  free.clear();
  for (const { view, full } of made) {
    if (kept.has(view)) continue;
    poolStats.released++;
    if (scopeMode === 'check') {
      full.fill(Number.NaN);
      continue;
    }
    let list = free.get(full.length);
    if (!list) free.set(full.length, (list = []));
    list.push(full);
  }
  return result;
}

/** Empties the pool (its arrays go to the garbage collector): call when a training phase ends. */
export function drainBufferPool(): void {
  free.clear();
}

/** The gradient arrays of `params` (what a training micro-batch's scope keeps: `withBufferPool(fn, () => gradsOf(ps))`). */
export function gradsOf(
  params: Iterable<{ grad: { data: ArrayBufferView } | null | undefined }>,
): (ArrayBufferView | undefined)[] {
  const out: (ArrayBufferView | undefined)[] = [];
  for (const p of params) out.push(p.grad?.data);
  return out;
}

/**
 * One training micro-batch (forward and backward, `fn`) in a scope that keeps only the gradients of `params`: what every
 * trainer runs its micro-batches in, so the activations are recycled for the next one.
 */
export function withMicroBatchPool<T>(
  params: readonly { grad: { data: ArrayBufferView } | null | undefined }[],
  fn: () => T,
): T {
  return withBufferPool(fn, () => gradsOf(params));
}

/** Bytes held in the free lists. */
export function pooledBytes(): number {
  let s = 0;
  for (const l of free.values()) for (const a of l) s += a.byteLength;
  return s;
}
