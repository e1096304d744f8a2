/**
 * Parity of the native backend (native/, src/backend/native) with the TypeScript reference backend, on random
 * float32 inputs (seeded) with sizes 1, 7, 129 and 1000, every transpose combination and broadcast batches, under
 * every instruction set this CPU runs (AVX-512, AVX2, portable). Also: delegation of other dtypes, the AdamW step
 * kernel (and the op's argument check), backend selection, and that RSS stays flat over 10k native ops.
 *
 * Tolerances (|native - ref| <= atol + rtol * |ref| per element; u = 2^-24 ~ 6e-8 is float32's unit roundoff; the
 * reference accumulates in double and rounds once):
 * - layout kernels (permute, broadcastTo, concat, slice, sliceScatter), every dtype, and AdamW: bit for bit.
 * - elementwise + - * /, comparisons, sqrt, abs, neg, sign, clamp, max, indexSelect/indexAdd: exact (IEEE
 *   float ops; double-then-float rounding of one op is innocuous since 53 >= 2*24 + 2).
 * - exp, log, tanh, sigmoid, silu, erf, gelu, pow: rtol 6e-7 (~10 u; the algorithms are 1-3 ulp).
 * - sgemm: max |d| <= 2e-6 * sqrt(K) * max(1, max|ref|). A K-term float32 dot product with blocked/lane-split
 *   accumulation has rounding error ~ u * sqrt(K) * sqrt(sum_p (a_p b_p)^2) for random signs (worst case u*K*sum|ab|);
 *   with |entries| <= 1, sqrt(sum (ab)^2) <= sqrt(K) * max|a b| and max|ref| grows like sqrt(K), so the error relative
 *   to max|ref| is ~ u * sqrt(K); 2e-6 ~ 32 u leaves a wide margin (observed: about 10x below).
 * - row kernels (softmax, cross-entropy, RMSNorm, rope, sums in float lanes): 1e-6..1e-5 relative to the row's
 *   magnitude; attention: 1e-5 (forward) and 3e-5 (backward, sums over up to 1000 keys/queries) times max|ref|.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import '../../src/tensor/index.js';
import type { KernelName, Kernels, TensorData } from '../../src/backend/kernels.js';
import { getKernel } from '../../src/backend/registry.js';
import {
  nativeAvailable,
  nativeInfo,
  nativeKernels,
  nativeLoadError,
  setNativeIsa,
  setNativeThreads,
} from '../../src/backend/native/index.js';
import { addon } from '../../src/backend/native/addon.js';
import { adamwStep } from '../../src/optim/adamw.js';
import { mulberry32 } from '../helpers/util.js';

const SKIP = nativeAvailable()
  ? false
  : `native addon not built (${nativeLoadError()}); run npm ci or npx node-gyp rebuild`;
const INFO = nativeInfo();
const ISAS = INFO?.isas ?? [];

// ---- helpers -----------------------------------------------------------------------------------------------------

const rng = mulberry32;

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function f32(shape: number[], r: () => number, lo = -1, hi = 1): TensorData {
  const d = new Float32Array(numel(shape));
  for (let i = 0; i < d.length; i++) d[i] = lo + (hi - lo) * r();
  return { data: d, shape, dtype: 'float32' };
}

/** Random (B, H, T, D) attention operands and an output gradient for dims [B, H, Hk, Tq, Tk, Dk, Dv]. */
function attentionInputs(dims: readonly number[], r: () => number) {
  const [B, H, Hk, Tq, Tk, Dk, Dv] = dims;
  const q = f32([B, H, Tq, Dk], r);
  const k = f32([B, Hk, Tk, Dk], r);
  const v = f32([B, Hk, Tk, Dv], r);
  return { q, k, v, dout: f32([B, H, Tq, Dv], r) };
}

function i32(shape: number[], r: () => number, n: number): TensorData {
  const d = new Int32Array(numel(shape));
  for (let i = 0; i < d.length; i++) d[i] = Math.floor(r() * n);
  return { data: d, shape, dtype: 'int32' };
}

function nat<K extends KernelName>(name: K): Kernels[K] {
  const k = nativeKernels?.[name];
  if (!k) throw new Error(`native backend has no '${name}'`);
  return k as Kernels[K];
}

function ref<K extends KernelName>(name: K): Kernels[K] {
  return getKernel('ts', name)!;
}

function maxAbs(x: TensorData | ArrayLike<number>): number {
  const d = 'data' in x ? x.data : x;
  let m = 0;
  for (let i = 0; i < d.length; i++) if (Number.isFinite(d[i])) m = Math.max(m, Math.abs(d[i]));
  return m;
}

/** Elementwise |a - e| <= atol + rtol |e|; NaN must match NaN, infinities must match exactly. */
function check(what: string, actual: TensorData, expected: TensorData, atol: number, rtol: number): void {
  assert.deepEqual([...actual.shape], [...expected.shape], `${what}: shape`);
  assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  assert.equal(actual.data.length, expected.data.length, `${what}: length`);
  let worst = -1;
  let worstExcess = 0;
  let maxD = 0;
  for (let i = 0; i < expected.data.length; i++) {
    const a = actual.data[i];
    const e = expected.data[i];
    if (Number.isNaN(e) || Number.isNaN(a)) {
      if (!(Number.isNaN(e) && Number.isNaN(a))) {
        worst = i;
        worstExcess = Infinity;
      }
      continue;
    }
    if (a === e) continue;
    const d = Math.abs(a - e);
    maxD = Math.max(maxD, d);
    const excess = d - (atol + rtol * Math.abs(e));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess)) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    assert.fail(
      `${what}: element ${worst} is ${actual.data[worst]}, reference ${expected.data[worst]} ` +
        `(max |d| ${maxD.toExponential(2)}, atol ${atol.toExponential(2)}, rtol ${rtol.toExponential(2)})`,
    );
  }
}

/** Same shape, dtype and elements (Object.is: -0 differs from 0, NaN equals NaN). */
function exact(what: string, actual: TensorData, expected: TensorData): void {
  assert.deepEqual([...actual.shape], [...expected.shape], `${what}: shape`);
  assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  assert.equal(actual.data.constructor, expected.data.constructor, `${what}: array type`);
  assert.equal(actual.data.length, expected.data.length, `${what}: length`);
  for (let i = 0; i < expected.data.length; i++) {
    if (!Object.is(actual.data[i], expected.data[i]))
      assert.fail(`${what}: element ${i} is ${actual.data[i]}, reference ${expected.data[i]}`);
  }
}

/** Runs fn once per instruction set the CPU supports, restoring the default afterwards. */
function eachIsa(fn: (isa: string) => void): void {
  const initial = nativeInfo()!.isa;
  try {
    for (const isa of ISAS) {
      assert.ok(setNativeIsa(isa), `setNativeIsa(${isa})`);
      fn(isa);
    }
  } finally {
    setNativeIsa(initial);
  }
}

// ---- tests -------------------------------------------------------------------------------------------------------

describe('native backend: sgemm', { skip: SKIP }, () => {
  const mmCheck = (tag: string, a: TensorData, b: TensorData, transA: boolean, transB: boolean) => {
    const attrs = { transA, transB };
    const e = ref('matmul')(a, b, attrs);
    const K = transA ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1];
    const atol = 2e-6 * Math.sqrt(Math.max(K, 1)) * Math.max(1, maxAbs(e));
    eachIsa((isa) => check(`matmul ${tag} tA=${transA} tB=${transB} [${isa}]`, nat('matmul')(a, b, attrs), e, atol, 0));
  };
  const operand = (rows: number, cols: number, trans: boolean, r: () => number, batch: number[] = []) =>
    f32([...batch, ...(trans ? [cols, rows] : [rows, cols])], r);

  it('all transpose combinations over sizes 1, 7, 129', () => {
    const r = rng(1);
    const sizes = [1, 7, 129];
    for (const M of sizes)
      for (const K of sizes)
        for (const N of sizes) {
          for (const tA of [false, true])
            for (const tB of [false, true]) {
              mmCheck(`${M}x${K}x${N}`, operand(M, K, tA, r), operand(K, N, tB, r), tA, tB);
            }
        }
  });

  it('sizes 1000 and blocking edges (K > KC, M > MC, N > NC)', () => {
    const r = rng(2);
    const shapes = [
      [1000, 7, 129],
      [129, 1000, 7],
      [7, 129, 1000],
      [1000, 1, 1],
      [1, 1000, 1],
      [600, 300, 50],
      [20, 300, 3100],
      [253, 257, 65],
    ];
    for (const [M, K, N] of shapes) {
      for (const tA of [false, true])
        for (const tB of [false, true]) {
          mmCheck(`${M}x${K}x${N}`, operand(M, K, tA, r), operand(K, N, tB, r), tA, tB);
        }
    }
  });

  it('broadcast and many-small batches, with transposes', () => {
    const r = rng(3);
    for (const tA of [false, true])
      for (const tB of [false, true]) {
        mmCheck('[2,1] x [3]', operand(7, 33, tA, r, [2, 1]), operand(33, 129, tB, r, [3]), tA, tB);
        mmCheck('[] x [4]', operand(65, 17, tA, r), operand(17, 9, tB, r, [4]), tA, tB);
        mmCheck('[5] x []', operand(9, 130, tA, r, [5]), operand(130, 31, tB, r), tA, tB);
        mmCheck('[64] x [64]', operand(8, 16, tA, r, [64]), operand(16, 8, tB, r, [64]), tA, tB);
      }
  });

  it('empty dims', () => {
    const r = rng(4);
    mmCheck('K=0', f32([3, 0], r), f32([0, 4], r), false, false);
    mmCheck('M=0', f32([0, 5], r), f32([5, 4], r), false, false);
    mmCheck('batch 0', f32([0, 3, 5], r), f32([5, 4], r), false, false);
  });

  it("linearInto writes matmul(x, w, transB)'s bits into the caller's buffer, and nothing past M * N", () => {
    const r = rng(6);
    for (const [M, K, N] of [
      [1, 96, 64],
      [2, 96, 64],
      [7, 33, 129],
      [128, 96, 512],
      [0, 5, 4],
    ]) {
      const x = f32([M, K], r);
      const w = f32([N, K], r);
      for (const [name, k] of [
        ['ts', ref],
        ['native', nat],
      ] as const) {
        const check1 = (isa: string) => {
          const want = k('matmul')(x, w, { transA: false, transB: true }); // under this instruction set
          const out = new Float32Array(M * N + 3).fill(7);
          k('linearInto')(x, w, out);
          exact(`linearInto ${name} ${M}x${K}x${N} [${isa}]`, { ...want, data: out.subarray(0, M * N) }, want);
          assert.deepEqual([...out.subarray(M * N)], [7, 7, 7], 'past M * N untouched');
        };
        if (name === 'native') eachIsa(check1);
        else check1('ts');
      }
    }
    for (const k of [ref, nat]) {
      assert.throws(() => k('linearInto')(f32([2, 3], r), f32([4, 5], r), new Float32Array(8)), /inner dims 3 != 5/);
      assert.throws(() => k('linearInto')(f32([2, 3], r), f32([4, 3], r), new Float32Array(7)), /needs 8/);
    }
  });

  it('1, 2 and 3 threads agree with the reference', () => {
    const r = rng(5);
    const a = f32([300, 200], r);
    const b = f32([129, 200], r);
    const e = ref('matmul')(a, b, { transA: false, transB: true });
    const atol = 2e-6 * Math.sqrt(200) * maxAbs(e);
    const threads = INFO!.threads;
    try {
      for (const t of [1, 2, 3]) {
        setNativeThreads(t);
        check(`matmul with ${t} threads`, nat('matmul')(a, b, { transA: false, transB: true }), e, atol, 0);
      }
    } finally {
      setNativeThreads(threads);
    }
  });
});

describe('native backend: elementwise', { skip: SKIP }, () => {
  const binNames = [
    'add',
    'sub',
    'mul',
    'div',
    'pow',
    'maximum',
    'minimum',
    'eq',
    'ne',
    'lt',
    'le',
    'gt',
    'ge',
  ] as const;
  const pairs: [number[], number[]][] = [
    [[1], [1]],
    [[7], [7]],
    [[1000], [1]],
    [[1], [1000]],
    [
      [129, 7],
      [129, 7],
    ], // same, scalar
    [[4, 7, 129], [129]],
    [
      [7, 129],
      [4, 7, 129],
    ],
    [
      [3, 1, 7],
      [5, 7],
    ], // suffix (a or b)
    [
      [129, 7],
      [129, 1],
    ],
    [
      [2, 3, 1],
      [2, 3, 1000],
    ],
    [
      [2, 3, 1000],
      [2, 1, 1],
    ], // per-row (column)
    [
      [7, 1],
      [1, 129],
    ],
    [
      [1, 7, 1],
      [3, 1, 5],
    ], // general broadcast: reference path
  ];

  it('binary ops on same, scalar, suffix, per-row and general broadcasts', () => {
    const r = rng(10);
    for (const [sa, sb] of pairs) {
      const a = f32(sa, r, -2, 2);
      const b = f32(sb, r, -2, 2);
      // A few exact ties and a NaN, so comparisons and maximum/minimum see them.
      if (a.data.length > 3 && b.data.length === a.data.length) {
        a.data[1] = b.data[1];
        a.data[2] = NaN;
      }
      for (const name of binNames) {
        const e = ref(name)(a, b);
        const rtol = name === 'pow' ? 6e-7 : 0;
        eachIsa((isa) =>
          check(`${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)} [${isa}]`, nat(name)(a, b), e, 0, rtol),
        );
      }
    }
  });

  const specials = [
    0,
    -0,
    1,
    -1,
    0.5,
    88.7,
    88.8,
    -87,
    -103.5,
    -110,
    1e-30,
    -1e-30,
    1e-40,
    20,
    -20,
    9.5,
    -9.5,
    0.625,
    -0.625,
    1e6,
    Infinity,
    -Infinity,
    NaN,
  ];
  const withSpecials = (x: TensorData) => {
    const d = new Float32Array(x.data.length + specials.length);
    d.set(x.data as Float32Array);
    d.set(specials, x.data.length);
    return { data: d, shape: [d.length], dtype: 'float32' as const };
  };

  it('unary ops and activations (1, 7, 129, 1000 elements and special values)', () => {
    const r = rng(11);
    const tol: Record<string, [number, number]> = {
      neg: [0, 0],
      abs: [0, 0],
      sign: [0, 0],
      sqrt: [0, 0],
      rsqrt: [0, 1.2e-7],
      exp: [1e-37, 6e-7],
      log: [0, 6e-7],
      tanh: [0, 6e-7],
      sigmoid: [1e-37, 6e-7],
      silu: [1e-37, 6e-7],
      erf: [0, 6e-7],
    };
    for (const n of [1, 7, 129, 1000]) {
      for (const [lo, hi] of [
        [-1, 1],
        [-30, 30],
        [0, 100],
      ]) {
        const x = withSpecials(f32([n], r, lo, hi));
        for (const [name, [atol, rtol]] of Object.entries(tol)) {
          const k = name as 'exp';
          const e = ref(k)(x);
          eachIsa((isa) => check(`${name} n=${n} [${isa}]`, nat(k)(x), e, atol, rtol));
        }
        const clampE = ref('clamp')(x, { min: -0.3, max: 0.7 });
        eachIsa((isa) => check(`clamp [${isa}]`, nat('clamp')(x, { min: -0.3, max: 0.7 }), clampE, 0, 0));
        for (const approximate of ['none', 'tanh'] as const) {
          const e = ref('gelu')(x, { approximate });
          eachIsa((isa) => check(`gelu ${approximate} [${isa}]`, nat('gelu')(x, { approximate }), e, 1e-7, 1e-6));
        }
      }
    }
  });

  it('gelu and swiglu backward, swiglu', () => {
    const r = rng(12);
    for (const n of [1, 7, 129, 1000]) {
      const x = f32([n], r, -6, 6);
      const b = f32([n], r, -3, 3);
      const dy = f32([n], r);
      for (const approximate of ['none', 'tanh'] as const) {
        const e = ref('geluBackward')(x, dy, { approximate });
        eachIsa((isa) =>
          check(
            `geluBackward ${approximate} [${isa}]`,
            nat('geluBackward')(x, dy, { approximate }),
            e,
            1e-6 * maxAbs(e),
            1e-6,
          ),
        );
      }
      const e = ref('swiglu')(x, b);
      eachIsa((isa) => check(`swiglu [${isa}]`, nat('swiglu')(x, b), e, 1e-7, 1e-6));
      const eb = ref('swigluBackward')(x, b, dy);
      eachIsa((isa) => {
        const g = nat('swigluBackward')(x, b, dy);
        check(`swigluBackward da [${isa}]`, g.da, eb.da, 1e-6 * maxAbs(eb.da), 1e-6);
        check(`swigluBackward db [${isa}]`, g.db, eb.db, 1e-6 * maxAbs(eb.db), 1e-6);
      });
    }
  });

  it('sum and max over contiguous axes (and the reference for others)', () => {
    const r = rng(13);
    const cases: [number[], number[]][] = [
      [[1000], [0]],
      [[1], [0]],
      [[7, 129], [0]],
      [[7, 129], [1]],
      [
        [7, 129],
        [0, 1],
      ],
      [[3, 7, 129], [1]],
      [
        [3, 7, 129],
        [0, 1],
      ],
      [
        [3, 7, 129],
        [1, 2],
      ],
      [
        [3, 7, 129],
        [0, 2],
      ],
      [[2, 50, 300], [1]],
      [[129, 1000], [1]],
    ];
    for (const [shape, axes] of cases) {
      const x = f32(shape, r, -3, 3);
      x.data[Math.floor(x.data.length / 2)] = shape[0] === 129 ? NaN : x.data[0];
      for (const keepdim of [false, true]) {
        for (const name of ['sum', 'max'] as const) {
          const e = ref(name)(x, { axes, keepdim });
          const n = axes.reduce((p, a) => p * shape[a], 1);
          eachIsa((isa) =>
            check(
              `${name} ${JSON.stringify(shape)} axes ${axes} [${isa}]`,
              nat(name)(x, { axes, keepdim }),
              e,
              name === 'sum' ? 1e-6 * n : 0,
              1e-6,
            ),
          );
        }
      }
    }
  });

  it('other dtypes and mixed dtypes run the reference', () => {
    const r = rng(15);
    const a64: TensorData = { data: Float64Array.from(f32([7, 9], r).data), shape: [7, 9], dtype: 'float64' };
    const b64: TensorData = { data: Float64Array.from(f32([9, 4], r).data), shape: [9, 4], dtype: 'float64' };
    assert.deepEqual(
      nat('matmul')(a64, b64, { transA: false, transB: false }),
      ref('matmul')(a64, b64, { transA: false, transB: false }),
    );
    assert.deepEqual(nat('exp')(a64), ref('exp')(a64));
    const ia = i32([5], r, 10);
    const fa = f32([5], r);
    assert.deepEqual(nat('add')(ia, ia), ref('add')(ia, ia));
    assert.deepEqual(nat('mul')(fa, ia), ref('mul')(fa, ia));
    assert.deepEqual(nat('neg')(ia), ref('neg')(ia));
  });
});

describe('native backend: layout kernels', { skip: SKIP }, () => {
  const DTYPES = ['float32', 'float64', 'int32', 'bool'] as const;
  /** Random values of any dtype; floats include -0, NaN and infinities, which a copy must keep bit for bit. */
  const rand = (dtype: (typeof DTYPES)[number], shape: number[], r: () => number): TensorData => {
    const n = numel(shape);
    const d =
      dtype === 'float32'
        ? new Float32Array(n)
        : dtype === 'float64'
          ? new Float64Array(n)
          : dtype === 'int32'
            ? new Int32Array(n)
            : new Uint8Array(n);
    const specials = [-0, NaN, Infinity, -Infinity];
    for (let i = 0; i < n; i++) {
      if (dtype === 'bool') d[i] = r() < 0.5 ? 1 : 0;
      else if (dtype === 'int32') d[i] = Math.floor((r() - 0.5) * 2 ** 31);
      else d[i] = i % 11 === 3 ? specials[i % specials.length] : r() * 2 - 1;
    }
    return { data: d, shape, dtype };
  };
  /** Every ISA, with 1, 2 and 3 threads (copies above 32K elements are split across the pool). */
  const agree = (what: string, run: (k: Kernels) => TensorData, expected = run(REF)) => {
    const threads = INFO!.threads;
    try {
      for (const t of [1, 2, 3]) {
        setNativeThreads(t);
        eachIsa((isa) => exact(`${what} [${isa}, ${t} threads]`, run(NAT), expected));
      }
    } finally {
      setNativeThreads(threads);
    }
  };
  const REF = new Proxy({} as Kernels, { get: (_t, name) => ref(name as KernelName) });
  const NAT = new Proxy({} as Kernels, { get: (_t, name) => nat(name as KernelName) });
  const permutations = (n: number): number[][] =>
    n === 0
      ? [[]]
      : permutations(n - 1).flatMap((p) =>
          Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]),
        );
  /** Odd shapes of rank 1-4, one with more than 32K elements, and shapes with an empty dim. */
  const SHAPES = [
    [1],
    [129],
    [1000],
    [7, 1],
    [1000, 7],
    [3, 5, 7],
    [1, 7, 1],
    [129, 2, 3],
    [2, 3, 4, 5],
    [4, 129, 7, 11],
    [3, 1, 257, 17],
    [0],
    [3, 0, 5],
    [2, 0],
  ];

  it('permute: every permutation of ranks 1-4, odd and empty shapes, every dtype', () => {
    const r = rng(14);
    for (const shape of SHAPES) {
      for (const dtype of DTYPES) {
        const x = rand(dtype, shape, r);
        const perms = permutations(shape.length);
        for (const perm of dtype === 'float32' ? perms : perms.slice(-2))
          agree(`permute ${dtype} ${JSON.stringify(shape)} ${perm}`, (k) => k.permute(x, { perm }));
      }
    }
  });

  it('broadcastTo: leading, inner and trailing size-1 dims, empty targets', () => {
    const r = rng(16);
    const cases: [number[], number[]][] = [
      [[1], [1000]],
      [[129], [2, 3, 129]],
      [
        [7, 1],
        [3, 7, 129],
      ],
      [
        [1, 1, 1],
        [2, 3, 4],
      ],
      [
        [3, 1, 5],
        [4, 3, 7, 5],
      ],
      [
        [1, 7],
        [129, 7],
      ],
      [
        [2, 1, 1, 3],
        [2, 129, 17, 3],
      ],
      [
        [0, 1],
        [0, 4],
      ],
      [
        [1, 3],
        [0, 3],
      ],
      [[5], [5]],
      [[], [3, 129]],
    ];
    for (const [from, to] of cases) {
      for (const dtype of DTYPES) {
        const x = rand(dtype, from, r);
        agree(`broadcastTo ${dtype} ${JSON.stringify(from)} -> ${JSON.stringify(to)}`, (k) =>
          k.broadcastTo(x, { shape: to }),
        );
      }
    }
  });

  it('concat: every axis of ranks 1-4, uneven and empty parts, every dtype', () => {
    const r = rng(17);
    for (const shape of SHAPES) {
      for (let axis = 0; axis < shape.length; axis++) {
        for (const dtype of DTYPES) {
          const parts = [1, 0, 5, 2].map((m) => {
            const s = [...shape];
            s[axis] = shape[axis] === 0 ? 0 : Math.max(0, shape[axis] * m - (m > 1 ? 1 : 0));
            return rand(dtype, s, r);
          });
          agree(`concat ${dtype} ${JSON.stringify(parts.map((p) => p.shape))} axis ${axis}`, (k) =>
            k.concat(parts, { axis }),
          );
          agree(`concat one part ${dtype} ${JSON.stringify(shape)} axis ${axis}`, (k) =>
            k.concat([parts[0]], { axis }),
          );
        }
      }
    }
  });

  it('slice and sliceScatter: random regions of ranks 1-4 (empty and whole ones included), every dtype', () => {
    const r = rng(18);
    const int = (n: number) => Math.floor(r() * (n + 1)); // 0..n
    for (const shape of SHAPES) {
      for (const dtype of DTYPES) {
        const x = rand(dtype, shape, r);
        for (let trial = 0; trial < (dtype === 'float32' ? 6 : 2); trial++) {
          const starts = shape.map((n) => (trial === 0 ? 0 : int(n)));
          const ends = starts.map((s, i) => (trial === 0 ? shape[i] : s + int(shape[i] - s)));
          const src = rand(
            dtype,
            starts.map((s, i) => ends[i] - s),
            r,
          );
          const tag = `${dtype} ${JSON.stringify(shape)} [${starts}]..[${ends}]`;
          agree(`slice ${tag}`, (k) => k.slice(x, { starts, ends }));
          agree(`sliceScatter ${tag}`, (k) => k.sliceScatter(x, src, { starts, ends }));
        }
      }
    }
  });

  it('arguments outside the fast path give the reference results and errors', () => {
    const r = rng(19);
    const scalar = rand('float32', [], r);
    agree('slice of a rank-0 tensor', (k) => k.slice(scalar, { starts: [], ends: [] }));
    agree('permute of a rank-0 tensor', (k) => k.permute(scalar, { perm: [] }));
    const x = rand('float32', [2, 1, 2, 1, 2, 1, 2, 1, 3], r);
    agree('permute of 9 dims', (k) => k.permute(x, { perm: [8, 7, 6, 5, 4, 3, 2, 1, 0] }));
    const base = rand('float32', [4, 5], r);
    const msg = /sliceScatter: source \[2,2\] does not fill region \[2,3\]/;
    assert.throws(() => ref('sliceScatter')(base, rand('float32', [2, 2], r), { starts: [0, 0], ends: [2, 3] }), msg);
    assert.throws(() => nat('sliceScatter')(base, rand('float32', [2, 2], r), { starts: [0, 0], ends: [2, 3] }), msg);
  });
});

describe('native backend: fused NN kernels', { skip: SKIP }, () => {
  it('softmax and log-softmax, forward and backward, over last and inner axes', () => {
    const r = rng(20);
    const cases: [number[], number][] = [
      [[1, 1], 1],
      [[7, 129], 1],
      [[1000], 0],
      [[3, 129, 7], 1],
      [[5, 1000], 1],
      [[129, 3, 1], 0],
      [[2, 7, 20], 1],
    ];
    for (const [shape, axis] of cases) {
      const x = f32(shape, r, -10, 10);
      const dy = f32(shape, r);
      for (const log of [false, true]) {
        const fwd = log ? 'logSoftmax' : 'softmax';
        const bwd = log ? 'logSoftmaxBackward' : 'softmaxBackward';
        const y = ref(fwd)(x, { axis });
        const g = ref(bwd)(y, dy, { axis });
        eachIsa((isa) => {
          check(`${fwd} ${JSON.stringify(shape)} [${isa}]`, nat(fwd)(x, { axis }), y, log ? 4e-6 : 1e-9, 2e-6);
          check(
            `${bwd} ${JSON.stringify(shape)} [${isa}]`,
            nat(bwd)(y, dy, { axis }),
            g,
            2e-6 * Math.max(1, maxAbs(g)),
            1e-5,
          );
        });
      }
    }
  });

  it('cross-entropy forward and backward (ignored rows, range errors)', () => {
    const r = rng(21);
    for (const N of [1, 7, 129]) {
      for (const C of [1, 7, 129, 1000]) {
        const logits = f32([N, C], r, -8, 8);
        const targets = i32([N], r, C);
        if (N > 2) targets.data[1] = -100;
        const attrs = { ignoreIndex: -100 };
        const e = ref('crossEntropy')(logits, targets, attrs);
        const dloss = f32([N], r);
        const g = ref('crossEntropyBackward')(logits, targets, e.lse, dloss, attrs);
        eachIsa((isa) => {
          const a = nat('crossEntropy')(logits, targets, attrs);
          check(`crossEntropy loss ${N}x${C} [${isa}]`, a.loss, e.loss, 4e-6, 1e-6);
          check(`crossEntropy lse ${N}x${C} [${isa}]`, a.lse, e.lse, 4e-6, 1e-6);
          check(
            `crossEntropyBackward ${N}x${C} [${isa}]`,
            nat('crossEntropyBackward')(logits, targets, e.lse, dloss, attrs),
            g,
            1e-7,
            4e-6,
          );
        });
      }
    }
    const bad: TensorData = { data: Int32Array.from([0, 5]), shape: [2], dtype: 'int32' };
    const logits = f32([2, 5], r);
    assert.throws(
      () => nat('crossEntropy')(logits, bad, { ignoreIndex: -1 }),
      /target 5 at row 1 is out of range \[0, 5\)/,
    );
  });

  it('RMSNorm forward and backward, with and without weight', () => {
    const r = rng(22);
    for (const shape of [
      [1, 7],
      [129, 1000],
      [3, 7, 129],
      [1000, 1],
    ]) {
      const D = shape[shape.length - 1];
      const x = f32(shape, r, -3, 3);
      const dy = f32(shape, r);
      for (const weight of [null, f32([D], r, 0.5, 1.5)]) {
        const e = ref('rmsNorm')(x, weight, { eps: 1e-6 });
        const g = ref('rmsNormBackward')(x, weight, e.rstd, dy);
        eachIsa((isa) => {
          const a = nat('rmsNorm')(x, weight, { eps: 1e-6 });
          check(`rmsNorm y ${JSON.stringify(shape)} [${isa}]`, a.y, e.y, 1e-6, 2e-6);
          check(`rmsNorm rstd [${isa}]`, a.rstd, e.rstd, 0, 2e-6);
          const b = nat('rmsNormBackward')(x, weight, e.rstd, dy);
          check(`rmsNormBackward dx ${JSON.stringify(shape)} [${isa}]`, b.dx, g.dx, 2e-6 * maxAbs(g.dx), 1e-5);
          if (weight)
            check(`rmsNormBackward dweight [${isa}]`, b.dweight!, g.dweight!, 4e-6 * maxAbs(g.dweight!), 1e-5);
          else assert.equal(b.dweight, null);
        });
      }
    }
  });

  it('rotary embedding (half-split and interleaved, inverse, broadcast cos/sin)', () => {
    const r = rng(23);
    const cases: [number[], number[]][] = [
      [
        [2, 3, 7, 8],
        [7, 4],
      ],
      [
        [1, 129, 4, 64],
        [129, 1, 32],
      ],
      [
        [1000, 2],
        [1000, 1],
      ],
      [
        [7, 130],
        [1, 65],
      ],
    ];
    for (const [xs, cs] of cases) {
      const x = f32(xs, r, -2, 2);
      const cos = f32(cs, r);
      const sin = f32(cs, r);
      for (const interleaved of [false, true])
        for (const inverse of [false, true]) {
          const attrs = { interleaved, inverse };
          const e = ref('rope')(x, cos, sin, attrs);
          eachIsa((isa) =>
            check(
              `rope ${JSON.stringify(xs)} ${interleaved} ${inverse} [${isa}]`,
              nat('rope')(x, cos, sin, attrs),
              e,
              1e-6,
              1e-6,
            ),
          );
        }
    }
  });

  it('rope with pass-through features: the rotated part has the bits of rope on it alone, the rest is copied', () => {
    const r = rng(29);
    // [x shape, cos shape, pass]: MLA's query heads (B, T, H, nope + R), an odd pass, rows of one feature pair
    const cases: [number[], number[], number][] = [
      [[2, 33, 4, 24], [33, 1, 4], 16],
      [[3, 129, 40], [129, 16], 8],
      [[5, 7], [1, 1], 5],
      [[4, 6], [1, 3], 0],
    ];
    for (const [xs, cs, pass] of cases) {
      const x = f32(xs, r, -2, 2);
      const cos = f32(cs, r);
      const sin = f32(cs, r);
      const W = xs[xs.length - 1];
      const rows = x.data.length / W;
      const tail: TensorData = {
        data: new Float32Array(rows * (W - pass)),
        shape: [...xs.slice(0, -1), W - pass],
        dtype: 'float32',
      };
      for (let i = 0; i < rows; i++) tail.data.set(x.data.subarray(i * W + pass, (i + 1) * W), i * (W - pass));
      for (const interleaved of [false, true])
        for (const inverse of [false, true]) {
          const tag = `rope pass ${pass} ${JSON.stringify(xs)} ${interleaved} ${inverse}`;
          const alone = (k: typeof ref) => k('rope')(tail, cos, sin, { interleaved, inverse });
          const both = (k: typeof ref, got: TensorData, isa: string) => {
            const want = alone(k);
            for (let i = 0; i < rows; i++) {
              for (let j = 0; j < W; j++) {
                const a = got.data[i * W + j];
                const b = j < pass ? x.data[i * W + j] : want.data[i * (W - pass) + j - pass];
                assert.ok(Object.is(a, b), `${tag} [${isa}] row ${i} feature ${j}: ${a} != ${b}`);
              }
            }
          };
          both(ref, ref('rope')(x, cos, sin, { interleaved, inverse, pass }), 'ts');
          eachIsa((isa) => both(nat, nat('rope')(x, cos, sin, { interleaved, inverse, pass }), isa));
        }
    }
    const x = f32([2, 6], r);
    const cs = f32([1, 2], r);
    for (const k of [ref, nat]) {
      assert.throws(
        () => k('rope')(x, cs, cs, { interleaved: false, inverse: false, pass: 7 }),
        /pass 7 must be an integer in \[0, 6\]/,
      );
      assert.throws(() => k('rope')(x, cs, cs, { interleaved: false, inverse: false, pass: 1 }), /must be even/);
    }
  });

  it('attention forward and backward (GQA, MQA, MLA dims, causal alignment, empty rows)', () => {
    const r = rng(24);
    // [B, H, Hk, Tq, Tk, Dk, Dv, causal]
    const cases: [number, number, number, number, number, number, number, boolean][] = [
      [1, 1, 1, 1, 1, 8, 8, true],
      [2, 4, 2, 7, 7, 16, 8, true],
      [1, 2, 1, 129, 129, 32, 16, true],
      [1, 2, 2, 5, 9, 8, 8, true],
      [1, 1, 1, 9, 5, 8, 8, true],
      [2, 2, 1, 33, 20, 24, 40, false],
      [1, 2, 2, 129, 129, 192, 128, true],
      [1, 1, 1, 1000, 1000, 16, 16, true],
      [1, 3, 3, 200, 300, 7, 5, false],
      [1, 1, 1, 3, 0, 4, 4, false],
    ];
    for (const [B, H, Hk, Tq, Tk, Dk, Dv, causal] of cases) {
      const { q, k, v, dout } = attentionInputs([B, H, Hk, Tq, Tk, Dk, Dv], r);
      const attrs = { causal, scale: 1 / Math.sqrt(Dk) };
      const e = ref('attention')(q, k, v, attrs);
      const g = ref('attentionBackward')(q, k, v, e.out, e.lse, dout, attrs);
      const tag = `${JSON.stringify([B, H, Hk, Tq, Tk, Dk, Dv])} causal=${causal}`;
      eachIsa((isa) => {
        const a = nat('attention')(q, k, v, attrs);
        check(`attention out ${tag} [${isa}]`, a.out, e.out, 1e-5 * Math.max(1, maxAbs(e.out)), 1e-5);
        check(`attention lse ${tag} [${isa}]`, a.lse, e.lse, 1e-5, 1e-5);
        const b = nat('attentionBackward')(q, k, v, e.out, e.lse, dout, attrs);
        for (const n of ['dq', 'dk', 'dv'] as const)
          check(`attention ${n} ${tag} [${isa}]`, b[n], g[n], 3e-5 * Math.max(1e-3, maxAbs(g[n])), 1e-5);
      });
    }
  });

  it('attention with packed samples (keyStart): forward and backward against the reference', () => {
    const r = rng(25);
    // [B, H, Hk, Tq, Tk, Dk, Dv]: queries at the end of the keys; sample boundaries at random, across key blocks
    const cases: [number, number, number, number, number, number, number][] = [
      [2, 2, 1, 9, 9, 8, 8],
      [1, 2, 2, 300, 300, 16, 8],
      [2, 1, 1, 5, 12, 8, 4],
      [1, 3, 1, 130, 130, 24, 40],
    ];
    for (const [B, H, Hk, Tq, Tk, Dk, Dv] of cases) {
      const { q, k, v, dout } = attentionInputs([B, H, Hk, Tq, Tk, Dk, Dv], r);
      const ks = new Int32Array(B * Tq);
      for (let b = 0; b < B; b++) {
        let start = 0;
        for (let i = 0; i < Tq; i++) {
          if (r() < 0.05) start = i + Tk - Tq; // a new sample begins at this query's own key
          ks[b * Tq + i] = start;
        }
      }
      ks[B * Tq - 1] = Tk; // a query that sees no key at all
      const attrs = {
        causal: true,
        scale: 1 / Math.sqrt(Dk),
        keyStart: { data: ks, shape: [B, Tq], dtype: 'int32' as const },
      };
      const e = ref('attention')(q, k, v, attrs);
      const g = ref('attentionBackward')(q, k, v, e.out, e.lse, dout, attrs);
      assert.equal(e.lse.data[B * H * Tq - 1], -Infinity);
      const tag = JSON.stringify([B, H, Hk, Tq, Tk, Dk, Dv]);
      eachIsa((isa) => {
        const a = nat('attention')(q, k, v, attrs);
        check(`packed attention out ${tag} [${isa}]`, a.out, e.out, 1e-5 * Math.max(1, maxAbs(e.out)), 1e-5);
        check(`packed attention lse ${tag} [${isa}]`, a.lse, e.lse, 1e-5, 1e-5);
        const b = nat('attentionBackward')(q, k, v, e.out, e.lse, dout, attrs);
        for (const n of ['dq', 'dk', 'dv'] as const)
          check(`packed attention ${n} ${tag} [${isa}]`, b[n], g[n], 3e-5 * Math.max(1e-3, maxAbs(g[n])), 1e-5);
      });
    }
  });

  it("attention's (B, T, H, D) layout: the (B, H, T, D) results transposed, bit for bit, on both backends", () => {
    const r = rng(27);
    /** A (B, X, Y, D) float32 array as (B, Y, X, D). */
    const swap = (t: TensorData): TensorData => {
      const [B, X, Y, D] = t.shape;
      const o = new Float32Array(t.data.length);
      for (let b = 0; b < B; b++)
        for (let x = 0; x < X; x++)
          for (let y = 0; y < Y; y++)
            for (let d = 0; d < D; d++) o[((b * Y + y) * X + x) * D + d] = t.data[((b * X + x) * Y + y) * D + d];
      return { data: o, shape: [B, Y, X, D], dtype: 'float32' };
    };
    // [B, H, Hk, Tq, Tk, Dk, Dv, packed]: MLA's head dims, GQA, decoding alignment, several key and query blocks
    const cases: [number, number, number, number, number, number, number, boolean][] = [
      [2, 4, 4, 33, 33, 48, 32, true],
      [1, 4, 2, 150, 150, 24, 16, false],
      [2, 3, 1, 5, 12, 8, 4, false],
      [1, 2, 2, 129, 129, 192, 128, true],
    ];
    for (const [B, H, Hk, Tq, Tk, Dk, Dv, packed] of cases) {
      const { q, k, v, dout } = attentionInputs([B, H, Hk, Tq, Tk, Dk, Dv], r);
      const ks = new Int32Array(B * Tq);
      if (packed) for (let i = 0; i < ks.length; i++) ks[i] = Math.max(0, (i % Tq) - (i % 7));
      const base = {
        causal: true,
        scale: 1 / Math.sqrt(Dk),
        keyStart: packed ? { data: ks, shape: [B, Tq], dtype: 'int32' as const } : null,
      };
      const swapped = { ...base, layout: 'bthd' as const };
      const tag = JSON.stringify([B, H, Hk, Tq, Tk, Dk, Dv, packed]);
      for (const [name, kernels] of [
        ['reference', ref],
        ['native', nat],
      ] as const) {
        (name === 'native' ? eachIsa : (f: (isa: string) => void) => f('ts'))((isa) => {
          const e = kernels('attention')(q, k, v, base);
          const g = kernels('attentionBackward')(q, k, v, e.out, e.lse, dout, base);
          const a = kernels('attention')(swap(q), swap(k), swap(v), swapped);
          assert.deepEqual(a.out.shape, [B, Tq, H, Dv]);
          check(`${name} bthd out ${tag} [${isa}]`, a.out, swap(e.out), 0, 0);
          check(`${name} bthd lse ${tag} [${isa}]`, a.lse, e.lse, 0, 0);
          const b = kernels('attentionBackward')(swap(q), swap(k), swap(v), a.out, a.lse, swap(dout), swapped);
          for (const n of ['dq', 'dk', 'dv'] as const)
            check(`${name} bthd ${n} ${tag} [${isa}]`, b[n], swap(g[n]), 0, 0);
        });
      }
    }
    const z = (...shape: number[]) => f32(shape, r);
    assert.throws(
      () => nat('attention')(z(1, 3, 2, 4), z(1, 3, 2, 4), z(1, 3, 1, 4), { causal: true, scale: 1, layout: 'bthd' }),
      /heads 2 must be a multiple of key\/value heads 2 \(= 1\)/,
    );
  });

  it('attention and its backward write every element of their outputs (contents on entry do not matter)', () => {
    const r = rng(31);
    // [B, H, Hk, T, Dk, Dv]: many (batch, head) pairs (each task zeroes its dQ rows); one pair over three key blocks
    // (dQ summed from parts); grouped heads; and key starts that leave the first rows of a sequence without keys.
    const cases: [number, number, number, number, number, number, boolean][] = [
      [4, 4, 4, 150, 24, 16, false],
      [1, 2, 1, 300, 32, 16, false],
      [2, 4, 2, 70, 16, 8, false],
      [2, 2, 2, 40, 8, 8, true],
    ];
    for (const [B, H, Hk, T, Dk, Dv, starts] of cases) {
      const q = f32([B, H, T, Dk], r).data as Float32Array;
      const k = f32([B, Hk, T, Dk], r).data as Float32Array;
      const v = f32([B, Hk, T, Dv], r).data as Float32Array;
      const dout = f32([B, H, T, Dv], r).data as Float32Array;
      const dims = Int32Array.from([B, H, Hk, T, T, Dk, Dv, 0]);
      const ks = starts ? Int32Array.from({ length: B * T }, (_, i) => (i % T < 3 ? (i % T) + 1 : 2)) : null;
      const run = (fill: number) => {
        const out = new Float32Array(B * H * T * Dv).fill(fill);
        const lse = new Float32Array(B * H * T).fill(fill);
        addon!.attention(q, k, v, dims, true, 0.3, out, lse, ks);
        const dq = new Float32Array(q.length).fill(fill);
        const dk = new Float32Array(k.length).fill(fill);
        const dv = new Float32Array(v.length).fill(fill);
        addon!.attentionBackward(q, k, v, dims, true, 0.3, out, lse, dout, dq, dk, dv, ks);
        return [out, lse, dq, dk, dv].map((a) => Buffer.from(a.buffer).toString('base64'));
      };
      assert.deepEqual(run(Number.NaN), run(0), `B ${B} H ${H} Hk ${Hk} T ${T}`);
    }
  });

  it('attention backward and sgemm give the same bits with 1, 2, 3 and 4 threads', () => {
    const r = rng(26);
    // One (batch, kv-head) pair and three key blocks: the backward splits key blocks across tasks and sums dQ parts.
    const q = f32([1, 2, 300, 32], r);
    const k = f32([1, 1, 300, 32], r);
    const v = f32([1, 1, 300, 16], r);
    const dout = f32([1, 2, 300, 16], r);
    const attrs = { causal: true, scale: 0.2 };
    const a = f32([301, 257], r);
    const b = f32([129, 257], r);
    // A weight gradient's shape (few rows, long K: threads take columns) and one that AVX-512 cuts 2 x 2 at 4 threads.
    const x = f32([600, 40], r);
    const dy = f32([600, 230], r);
    const w = f32([190, 300], r);
    const u = f32([300, 250], r);
    const run = () => {
      const f = nat('attention')(q, k, v, attrs);
      const g = nat('attentionBackward')(q, k, v, f.out, f.lse, dout, attrs);
      const c = nat('matmul')(a, b, { transA: false, transB: true });
      const dw = nat('matmul')(x, dy, { transA: true, transB: false });
      const wu = nat('matmul')(w, u, { transA: false, transB: false });
      return [f.out, f.lse, g.dq, g.dk, g.dv, c, dw, wu].map((t) => Array.from(t.data));
    };
    const threads = INFO!.threads;
    try {
      setNativeThreads(1);
      const one = run();
      for (const t of [2, 3, 4]) {
        setNativeThreads(t);
        assert.deepEqual(run(), one, `${t} threads`);
      }
    } finally {
      setNativeThreads(threads);
    }
  });

  it('indexAddParts: indexAdd over the joined parts, bit for bit (parts of any size, inner dims, errors)', () => {
    const r = rng(28);
    const cases: [number[], number, number[]][] = [
      [[300, 96], 0, [120, 0, 300, 7, 1]],
      [[7, 129, 3], 1, [500, 500]],
      [[2, 40, 129], 1, [3, 0, 60]],
      [[5, 4], 0, []],
    ];
    for (const [shape, axis, sizes] of cases) {
      const x = f32(shape, r);
      const m = sizes.reduce((a, b) => a + b, 0);
      const index = i32([m], r, shape[axis]);
      const parts = sizes.map((n) =>
        f32(
          shape.map((d, i) => (i === axis ? n : d)),
          r,
        ),
      );
      const joined =
        parts.length > 0
          ? ref('concat')(parts, { axis })
          : f32(
              shape.map((d, i) => (i === axis ? 0 : d)),
              r,
            );
      const want = ref('indexAdd')(x, index, joined, { axis });
      const tag = JSON.stringify([shape, axis, sizes]);
      check(`indexAddParts ${tag} [ts]`, ref('indexAddParts')(x, index, parts, { axis }), want, 0, 0);
      eachIsa((isa) => {
        check(
          `indexAddParts ${tag} [${isa}]`,
          nat('indexAddParts')(x, index, parts, { axis }),
          nat('indexAdd')(x, index, joined, { axis }),
          0,
          0,
        );
        check(
          `indexAddParts ${tag} vs reference [${isa}]`,
          nat('indexAddParts')(x, index, parts, { axis }),
          want,
          0,
          0,
        );
      });
    }
    const x = f32([4, 2], r);
    const bad: TensorData = { data: Int32Array.from([1, 4]), shape: [2], dtype: 'int32' };
    const two = [f32([1, 2], r), f32([1, 2], r)];
    for (const k of [ref, nat]) {
      assert.throws(
        () => k('indexAddParts')(x, bad, two, { axis: 0 }),
        /indexAddParts: index 4 is out of range for dim 0/,
      );
      assert.throws(
        () => k('indexAddParts')(x, bad, [f32([1, 2], r)], { axis: 0 }),
        /the parts have 1 rows on axis 0, the index 2/,
      );
      assert.throws(
        () => k('indexAddParts')(x, bad, [f32([2, 3], r)], { axis: 0 }),
        /part \[2,3\] float32 does not fit \[4,2\]/,
      );
    }
  });

  it('indexSelect and indexAdd (duplicates, inner dims, empty index, range errors)', () => {
    const r = rng(25);
    const cases: [number[], number, number][] = [
      [[1000, 7], 0, 129],
      [[7, 129, 3], 1, 1000],
      [[129], 0, 7],
      [[2, 1000, 129], 1, 7],
      [[3, 4], 1, 0],
      [[1, 1], 0, 1],
    ];
    for (const [shape, axis, m] of cases) {
      const x = f32(shape, r);
      const index = i32([m], r, shape[axis]);
      const srcShape = [...shape];
      srcShape[axis] = m;
      const src = f32(srcShape, r);
      const es = ref('indexSelect')(x, index, { axis });
      const ea = ref('indexAdd')(x, index, src, { axis });
      eachIsa((isa) => {
        check(`indexSelect ${JSON.stringify(shape)} [${isa}]`, nat('indexSelect')(x, index, { axis }), es, 0, 0);
        check(`indexAdd ${JSON.stringify(shape)} [${isa}]`, nat('indexAdd')(x, index, src, { axis }), ea, 0, 0);
      });
    }
    const x = f32([4, 2], r);
    const bad: TensorData = { data: Int32Array.from([1, 4]), shape: [2], dtype: 'int32' };
    assert.throws(() => nat('indexSelect')(x, bad, { axis: 0 }), /index 4 is out of range for dim 0 of size 4/);
    assert.throws(() => nat('indexAdd')(x, bad, f32([2, 2], r), { axis: 0 }), /index 4 is out of range/);
  });
});

describe('decoding attention over per-row caches (attendRows)', () => {
  /** Caches of `rows` rows at random offsets with a stride wider than the vectors, and one query per row. */
  const problem = (seed: number, rows: number, H: number, Dk: number, Dv: number, maxLen: number) => {
    const r = rng(seed);
    const kStride = Dk + 3;
    const vStride = Dv + 5;
    const len = Int32Array.from({ length: rows }, (_, i) => (i === 1 ? 0 : 1 + Math.floor(r() * maxLen)));
    const kOff = new Int32Array(rows);
    const vOff = new Int32Array(rows);
    let kAt = 7;
    let vAt = 2;
    for (let i = 0; i < rows; i++) {
      kOff[i] = kAt;
      vOff[i] = vAt;
      kAt += Math.max(1, len[i]) * kStride + 1;
      vAt += Math.max(1, len[i]) * vStride + 4;
    }
    const k = f32([kAt + kStride], r, -2, 2).data as Float32Array;
    const v = f32([vAt + vStride], r).data as Float32Array;
    const q = f32([rows, H, Dk], r, -2, 2).data as Float32Array;
    return { q, k, v, kOff, vOff, len, rows, H, Dk, Dv, kStride, vStride, scale: 1 / Math.sqrt(Dk) };
  };

  it("the reference is the attention kernel's reference, query by query, row by row", () => {
    const a = problem(1, 5, 4, 40, 32, 30);
    const out = new Float32Array(a.rows * a.H * a.Dv).fill(9);
    ref('attendRows')(a, out);
    for (let i = 0; i < a.rows; i++) {
      const n = a.len[i];
      const o = out.subarray(i * a.H * a.Dv, (i + 1) * a.H * a.Dv);
      if (n === 0) {
        assert.ok(
          o.every((x) => x === 0),
          'a row without keys gets zeros',
        );
        continue;
      }
      const keys = new Float32Array(n * a.Dk);
      const vals = new Float32Array(n * a.Dv);
      for (let t = 0; t < n; t++) {
        keys.set(a.k.subarray(a.kOff[i] + t * a.kStride, a.kOff[i] + t * a.kStride + a.Dk), t * a.Dk);
        vals.set(a.v.subarray(a.vOff[i] + t * a.vStride, a.vOff[i] + t * a.vStride + a.Dv), t * a.Dv);
      }
      const td = (data: Float32Array, shape: number[]) => ({ data, shape, dtype: 'float32' as const });
      const want = ref('attention')(
        td(a.q.subarray(i * a.H * a.Dk, (i + 1) * a.H * a.Dk), [1, a.H, 1, a.Dk]),
        td(keys, [1, 1, n, a.Dk]),
        td(vals, [1, 1, n, a.Dv]),
        { causal: false, scale: a.scale },
      ).out;
      check(`row ${i}`, { data: o, shape: want.shape, dtype: 'float32' }, want, 1e-6, 1e-6);
    }
  });

  it('native gives the reference to float32 rounding under every instruction set, 1 and 2 threads', {
    skip: SKIP,
  }, () => {
    for (const [seed, rows, H, Dk, Dv, maxLen] of [
      [2, 1, 4, 40, 32, 1],
      [3, 9, 4, 40, 32, 200],
      [4, 17, 3, 7, 5, 33],
      [5, 4, 16, 72, 64, 500],
    ]) {
      const a = problem(seed, rows, H, Dk, Dv, maxLen);
      const want = new Float32Array(rows * H * Dv);
      ref('attendRows')(a, want);
      const wantT = { data: want, shape: [rows, H, Dv], dtype: 'float32' as const };
      const threads = INFO!.threads;
      try {
        for (const t of [1, 2]) {
          setNativeThreads(t);
          eachIsa((isa) => {
            const got = new Float32Array(rows * H * Dv).fill(Number.NaN);
            nat('attendRows')(a, got);
            check(
              `attendRows ${rows}x${H}x${Dk}x${Dv} ${t} threads [${isa}]`,
              { ...wantT, data: got },
              wantT,
              2e-6,
              2e-5,
            );
          });
        }
      } finally {
        setNativeThreads(threads);
      }
    }
  });

  it('refuses keys or values outside their arrays, on both backends', () => {
    const a = problem(6, 3, 2, 8, 8, 10);
    const out = new Float32Array(3 * 2 * 8);
    const kernels = SKIP ? [ref] : [ref, nat];
    for (const k of kernels) {
      assert.throws(
        () => k('attendRows')({ ...a, len: Int32Array.from([a.len[0], 0, 1e6]) }, out),
        /keys past the end/,
      );
      assert.throws(
        () => k('attendRows')({ ...a, vOff: Int32Array.from([0, 0, a.v.length]) }, out),
        /values past the end/,
      );
      assert.throws(() => k('attendRows')(a, new Float32Array(5)), /out holds 5 floats/);
    }
  });

  it("the addon checks the bounds itself (a direct call past the kernel's checks), huge strides included", {
    skip: SKIP,
  }, () => {
    const a = problem(7, 3, 2, 8, 8, 10);
    const out = new Float32Array(3 * 2 * 8);
    const call = (over: Partial<typeof a>) => {
      const b = { ...a, ...over };
      addon!.attendRows(
        b.q,
        b.k,
        b.v,
        b.kOff,
        b.vOff,
        b.len,
        b.rows,
        b.H,
        b.Dk,
        b.Dv,
        b.kStride,
        b.vStride,
        b.scale,
        out,
      );
    };
    call({}); // in bounds
    // the last key of row 2 one float past the end of k
    const last = a.kOff[2] + (a.len[2] - 1) * a.kStride + a.Dk;
    assert.throws(() => call({ k: a.k.subarray(0, last - 1) }), /keys inside k/);
    assert.throws(
      () => call({ v: a.v.subarray(0, a.vOff[2] + (a.len[2] - 1) * a.vStride + a.Dv - 1) }),
      /values inside v/,
    );
    assert.throws(() => call({ kStride: 9e15, len: Int32Array.from([2 ** 21, 0, 1]) }), /keys inside k/); // wraps in 64-bit integers
  });
});

describe('native backend: the AdamW step', { skip: SKIP }, () => {
  it('adamwStep gives the bits of src/backend/ts/optim.ts over several steps (special values included)', () => {
    const r = rng(31);
    const specials = [0, -0, 1e-40, -1e-45, 1e30, -3e38, NaN, Infinity];
    for (const n of [1, 7, 129, 1000, 100003]) {
      const init = f32([n], r).data as Float32Array;
      const p = [new Float32Array(init), new Float32Array(init)];
      const m = [new Float32Array(n), new Float32Array(n)];
      const v = [new Float32Array(n), new Float32Array(n)];
      for (let step = 1; step <= 5; step++) {
        const grad = f32([n], r).data as Float32Array;
        if (n > 100) grad.set(specials.slice(0, step + 2), (37 * step) % (n - 8));
        const h = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: step === 3 ? 0 : 0.1, step };
        nat('adamwStep')(p[0], grad, m[0], v[0], h);
        ref('adamwStep')(p[1], grad, m[1], v[1], h);
        const t = (d: Float32Array): TensorData => ({ data: d, shape: [n], dtype: 'float32' });
        exact(`adamw p n=${n} step ${step}`, t(p[0]), t(p[1]));
        exact(`adamw m n=${n} step ${step}`, t(m[0]), t(m[1]));
        exact(`adamw v n=${n} step ${step}`, t(v[0]), t(v[1]));
      }
    }
    assert.throws(
      () =>
        adamwStep(new Float32Array(2), new Float32Array(3), new Float32Array(2), new Float32Array(2), {
          lr: 1,
          beta1: 0.9,
          beta2: 0.9,
          eps: 1e-8,
          weightDecay: 0,
          step: 1,
        }),
      /grad 3/,
    );
  });
});

describe('native backend: selection and memory', { skip: SKIP }, () => {
  const probe = (env: Record<string, string | undefined>) => {
    const code =
      "import('./src/index.ts').then(async () => { const r = await import('./src/backend/registry.ts'); console.log(r.getBackend()); })";
    const childEnv: Record<string, string | undefined> = {
      ...process.env,
      R1TS_BACKEND: undefined,
      R1TS_NATIVE_PATH: undefined,
      ...env,
    };
    for (const key of Object.keys(childEnv)) if (childEnv[key] === undefined) delete childEnv[key];
    const p = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      env: childEnv as NodeJS.ProcessEnv,
      encoding: 'utf8',
    });
    return { status: p.status, stdout: p.stdout.trim(), stderr: p.stderr.trim() };
  };

  it('native is the default; R1TS_BACKEND selects; a missing addon warns once or fails in one line', () => {
    assert.deepEqual(probe({}), { status: 0, stdout: 'native', stderr: '' });
    assert.deepEqual(probe({ R1TS_BACKEND: 'ts' }), { status: 0, stdout: 'ts', stderr: '' });
    const missing = { R1TS_NATIVE_PATH: '/nonexistent/r1ts_native.node' };
    const fallback = probe(missing);
    assert.equal(fallback.stdout, 'ts');
    assert.match(
      fallback.stderr,
      /^r1ts: warning: native backend unavailable \(.*is not built\); using the slower TypeScript backend$/,
    );
    const forced = probe({ ...missing, R1TS_BACKEND: 'native' });
    assert.equal(forced.status, 1);
    assert.match(forced.stderr, /^r1ts: R1TS_BACKEND=native but the native backend is not available: [^\n]*$/);
    const bogus = probe({ R1TS_BACKEND: 'cuda' });
    assert.equal(bogus.status, 1);
    assert.equal(bogus.stderr, "r1ts: R1TS_BACKEND must be 'ts' or 'native', got 'cuda'");
  });

  it('RSS stays flat over 10k native ops (outputs are garbage-collected typed arrays)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const r = rng(40);
    const a = f32([64, 64], r);
    const b = f32([64, 64], r);
    const big = f32([256, 256], r);
    const q = f32([1, 2, 32, 16], r);
    const ops = [
      () => nat('matmul')(a, b, { transA: false, transB: true }),
      () => nat('softmax')(big, { axis: 1 }),
      () => nat('add')(big, big),
      () => nat('exp')(big),
      () => nat('attention')(q, q, q, { causal: true, scale: 0.25 }),
    ];
    const run = (n: number) => {
      for (let i = 0; i < n; i++) ops[i % ops.length]();
    };
    // V8 frees ArrayBuffer backing stores on a background thread after a GC, which lags on a loaded machine: settle
    // (GC, yield, repeat) and take the lowest RSS seen, so a late sweep is not counted as growth.
    const settledRss = async (): Promise<number> => {
      let low = Infinity;
      for (let i = 0; i < 8; i++) {
        gc();
        await new Promise((res) => setTimeout(res, 25));
        low = Math.min(low, process.memoryUsage().rss);
      }
      return low;
    };
    run(2000);
    const before = await settledRss();
    run(10000);
    const after = await settledRss();
    const growthMb = (after - before) / 2 ** 20;
    // 10k ops allocate about 1.3 GB of outputs in total; a leak of even one output per op would show as hundreds of MB.
    assert.ok(growthMb < 32, `RSS grew by ${growthMb.toFixed(1)} MB over 10k native ops`);
  });
});
