/**
 * Recycling the float32 arrays of a training step.
 *
 * A training micro-batch allocates hundreds of megabytes of activations and gradients as fresh typed arrays, and drops
 * them all when it ends. Fresh arrays cost twice: the memory is zero-filled (or page-faulted in) on allocation, and the
 * growing external memory makes V8 run full mark-compact collections (BENCHMARKS.md measured 12% and 15% of a `tiny`
 * training step). Inside `withBufferPool(fn, keep)` every float32 array of at least `POOL_MIN` elements that the
 * kernels allocate (through `allocF32`, which `allocArray` / `allocFloat` and the native kernels' outputs use) is
 * recorded; when `fn` returns, each of them that `keep` does not name goes back to a free list by capacity (lengths are
 * rounded up to one of four sizes per power of two, `poolCapacity`, so the per-expert arrays of an MoE layer, whose
 * lengths change with the routing, still find one; the caller gets a view of its own length), and the next scope's
 * allocations take it from there, zero-filled again (so a kernel sees exactly what a fresh array would give it: the
 * numbers are bit-identical with and without the pool), or not filled at all for the outputs of kernels that write
 * every element (the native matmul, elementwise, layout, RMSNorm, RoPE, row-gather and cross-entropy-gradient
 * kernels), which saves the fill.
 *
 * The contract: when `fn` returns, nothing allocated inside it is referenced any more except the arrays `keep` returns
 * (a training step's parameter gradients). `fn` returns plain values (numbers), not tensors. Lazily created state that
 * outlives a step must not be allocated through `allocF32` inside a scope (the optimizer's moments and the models'
 * RoPE tables are plain `new Float32Array`s, made outside any scope).
 *
 * If `fn` throws, nothing is recycled (the arrays are left to the garbage collector). Scopes do not nest: a scope
 * opened inside another runs as part of the outer one. Each worker thread has its own pool.
 *
 * `R1TS_BUFFER_POOL=off` turns recycling off; `R1TS_BUFFER_POOL=check` fills every array a scope releases with NaN and
 * never hands it out again, so any use after release shows up as NaN; it records arrays of every length, the smallest
 * too (the test suite passes in this mode, and test/tensor/pool.test.ts trains with it).
 */

/** Arrays shorter than this are not pooled (small arrays are cheap to allocate and live on the V8 heap). */
export const POOL_MIN = 256;

export type PoolMode = 'on' | 'off' | 'check';

function envMode(): PoolMode {
  const v = process.env.R1TS_BUFFER_POOL;
  if (v === undefined || v === '' || v === 'on') return 'on';
  if (v === 'off' || v === 'check') return v;
  throw new Error(`R1TS_BUFFER_POOL: expected on, off or check (got '${v}')`);
}

let mode: PoolMode = envMode();

interface FreeList {
  arrays: Float32Array[];
  /** The scope that last took an array of this capacity. */
  lastUse: number;
}

/** What a scope handed out: the array the caller got (a view when shorter than its capacity) and its full array. */
interface Lent {
  view: Float32Array;
  full: Float32Array;
}

let scope: Lent[] | null = null;
let scopeId = 0;
/** Free arrays by capacity. */
const free = new Map<number, FreeList>();

/** Counters, for tests and benchmarks. */
export const poolStats = { scopes: 0, reused: 0, fresh: 0, released: 0 };

/** Sets the mode (tests); returns the previous one. */
export function setPoolMode(m: PoolMode): PoolMode {
  const prev = mode;
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
 * then keeps its old values until the kernel overwrites them).
 */
export function allocF32(n: number, zero = true): Float32Array {
  if (scope === null || (n < POOL_MIN && mode !== 'check')) return new Float32Array(n);
  const cap = poolCapacity(n);
  const list = free.get(cap);
  let full = list?.arrays.pop();
  const recycled = full !== undefined;
  if (full) {
    list!.lastUse = scopeId;
    poolStats.reused++;
  } else {
    full = new Float32Array(cap);
    poolStats.fresh++;
  }
  const view = cap === n ? full : full.subarray(0, n);
  if (zero && recycled) view.fill(0);
  scope.push({ view, full });
  return view;
}

/** Whether a scope is open (the caller's allocations are recycled when it ends). */
export function inBufferPool(): boolean {
  return scope !== null;
}

/**
 * Runs `fn` with its float32 allocations recorded and recycles them when it returns, except those in `keep()` (read
 * after `fn` returns). See the file header for the contract.
 */
export function withBufferPool<T>(fn: () => T, keep: () => Iterable<ArrayBufferView | null | undefined>): T {
  if (scope !== null || mode === 'off') return fn();
  const made: Lent[] = [];
  scope = made;
  scopeId++;
  let result: T;
  try {
    result = fn();
  } finally {
    scope = null;
  }
  // only reached when fn returned
  const kept = new Set<unknown>();
  for (const k of keep()) if (k) kept.add(k);
  poolStats.scopes++;
  for (const { view, full } of made) {
    if (kept.has(view)) continue;
    poolStats.released++;
    if (mode === 'check') {
      full.fill(Number.NaN);
      continue;
    }
    let list = free.get(full.length);
    if (!list) free.set(full.length, (list = { arrays: [], lastUse: scopeId }));
    list.arrays.push(full);
  }
  // capacities no scope has asked for in the last two go back to the garbage collector (sequence lengths change)
  for (const [n, list] of free) if (list.lastUse < scopeId - 1) free.delete(n);
  return result;
}

/** The gradient arrays of `params` (what a training micro-batch's scope keeps: `withBufferPool(fn, () => gradsOf(ps))`). */
export function gradsOf(
  params: Iterable<{ grad: { data: ArrayBufferView } | null | undefined }>,
): (ArrayBufferView | undefined)[] {
  const out: (ArrayBufferView | undefined)[] = [];
  for (const p of params) out.push(p.grad?.data);
  return out;
}

/** Bytes held in the free lists. */
export function pooledBytes(): number {
  let s = 0;
  for (const l of free.values()) for (const a of l.arrays) s += a.byteLength;
  return s;
}
