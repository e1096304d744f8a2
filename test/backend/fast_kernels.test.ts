/**
 * The kernels beyond the tensor primitives (the strided copy, the AdamW step, FP8 quantise / dequantise / GEMM) are
 * registry kernels like the rest: each has a TypeScript reference; the native one (when the addon is built) gives
 * the reference's bits on random odd shapes under every instruction set; their callers (AdamW, quantize, dequantize,
 * fp8Gemm, transposeQuantized) reach them only through the registry; and no code outside src/backend switches on the
 * backend's name.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Generator, getBackend, getKernel, registerBackend, setBackend, tensor } from '../../src/index.js';
import { KERNEL_NAMES, type KernelName, type Kernels, type AccumulatorModel } from '../../src/backend/kernels.js';
import { nativeAvailable, nativeInfo, setNativeIsa } from '../../src/backend/native/index.js';
import type { TypedArray } from '../../src/tensor/dtype.js';
import { FP8_E4M3, FP8_E5M2 } from '../../src/tensor/formats.js';
import { AdamW } from '../../src/optim/adamw.js';
import { HOPPER_ACCUMULATOR, fp8Gemm } from '../../src/fp8/gemm.js';
import { QuantizedMatrix, dequantize, quantize, transposeQuantized } from '../../src/fp8/quant.js';

const FAST = ['stridedCopy', 'adamwStep', 'fp8Quantize', 'fp8Dequantize', 'fp8Gemm'] as const;
const SKIP = nativeAvailable() ? false : 'native addon not built';

function ref<K extends KernelName>(name: K): Kernels[K] {
  const k = getKernel('ts', name);
  if (!k) throw new Error(`no reference '${name}'`);
  return k;
}

function nat<K extends KernelName>(name: K): Kernels[K] {
  const k = getKernel('native', name);
  if (!k) throw new Error(`the native backend has no '${name}'`);
  return k;
}

/** Runs fn under every instruction set this CPU runs, restoring the default. */
function eachIsa(fn: (isa: string) => void): void {
  const info = nativeInfo()!;
  try {
    for (const isa of info.isas) {
      assert.ok(setNativeIsa(isa), isa);
      fn(isa);
    }
  } finally {
    setNativeIsa(info.isa);
  }
}

/** Same array type and the same bits, element by element (Object.is: -0 is not 0, NaN is NaN). */
function sameBits(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.constructor, expected.constructor, `${what}: array type`);
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) assert.fail(`${what}[${i}]: native ${actual[i]}, reference ${expected[i]}`);
  }
}

/** An integer in [0, n) from the generator. */
function below(g: Generator, n: number): number {
  return Math.min(n - 1, Math.floor((g.uniform(1, 'float64')[0] as number) * n));
}

/** Values over many binades with exact zeros: what activations and gradients look like to a quantiser. */
function spread(g: Generator, n: number): Float32Array {
  const a = g.normal(n, 'float64');
  const e = g.normal(n, 'float64');
  const x = Float32Array.from(a, (v, i) => v * Math.exp(3 * e[i]));
  for (let i = 0; i < n; i += 13) x[i] = 0;
  return x;
}

describe('fast-path kernels are in the contract', () => {
  it('each is a kernel name with a TypeScript reference', () => {
    for (const name of FAST) {
      assert.ok((KERNEL_NAMES as readonly string[]).includes(name), `${name} is in KERNEL_NAMES`);
      assert.equal(typeof getKernel('ts', name), 'function', `${name} has a reference`);
    }
  });

  it('the native backend implements each when the addon is built', { skip: SKIP }, () => {
    for (const name of FAST) assert.equal(typeof getKernel('native', name), 'function', name);
  });
});

describe('native fast-path kernels give the reference bits on random odd shapes', { skip: SKIP }, () => {
  it('stridedCopy: every array type, ranks 1 to 4, permuted, broadcast (stride 0) and offset views', () => {
    const g = new Generator(11);
    const makers: ((n: number) => TypedArray)[] = [
      (n) => g.normal(n, 'float32') as Float32Array,
      (n) => g.normal(n, 'float64') as Float64Array,
      (n) => Int32Array.from(g.normal(n, 'float64'), (v) => Math.round(v * 1e6)),
      (n) => Uint8Array.from(g.uniform(n, 'float64'), (v) => Math.floor(v * 256)),
    ];
    for (let t = 0; t < 40; t++) {
      const rank = 1 + (t % 4);
      const big = rank === 2 && t % 3 === 0 ? 120 : 0; // some rows long enough for the vector and memcpy paths
      const shape = Array.from({ length: rank }, () => 1 + below(g, 9) + big);
      // a source big enough for a view with gaps: each dim's stride is the product of the later dims' (size + pad)
      const pad = shape.map(() => below(g, 3));
      const contiguous: number[] = new Array(rank);
      let size = 1;
      for (let d = rank - 1; d >= 0; d--) {
        contiguous[d] = size;
        size *= shape[d] + pad[d];
      }
      const order = [...shape.keys()]; // a random permutation of the dims (Fisher-Yates)
      for (let i = rank - 1; i > 0; i--) {
        const j = below(g, i + 1);
        [order[i], order[j]] = [order[j], order[i]];
      }
      const strides = order.map((d) => contiguous[d]).map((s, i) => (below(g, 5) === 0 && i > 0 ? 0 : s));
      const viewShape = order.map((d) => shape[d]);
      const offset = below(g, 7);
      const src = makers[t % makers.length](size + offset);
      const attrs = { shape: viewShape, strides, offset };
      const want = ref('stridedCopy')(src, attrs);
      eachIsa((isa) => {
        const got = nat('stridedCopy')(src, attrs);
        assert.notEqual(got, src, 'a fresh array');
        sameBits(got, want, `stridedCopy ${src.constructor.name} ${JSON.stringify(attrs)} [${isa}]`);
      });
    }
    // the empty view and the FP8 transpose of codes (what transposeQuantized asks for)
    assert.equal(nat('stridedCopy')(new Uint8Array(5), { shape: [0, 5], strides: [1, 0], offset: 0 }).length, 0);
    const codes = makers[3](37 * 129);
    const tAttrs = { shape: [129, 37], strides: [1, 129], offset: 0 };
    sameBits(nat('stridedCopy')(codes, tAttrs), ref('stridedCopy')(codes, tAttrs), 'transpose 37x129 codes');
  });

  it('adamwStep: odd lengths, several steps, with and without weight decay', () => {
    const g = new Generator(12);
    for (const n of [1, 3, 17, 129, 16385, 40001]) {
      const init = g.normal(n, 'float32') as Float32Array;
      const [pN, pR] = [new Float32Array(init), new Float32Array(init)];
      const [mN, mR, vN, vR] = [new Float32Array(n), new Float32Array(n), new Float32Array(n), new Float32Array(n)];
      for (let step = 1; step <= 4; step++) {
        const grad = g.normal(n, 'float32') as Float32Array;
        const h = { lr: 3e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: step % 2 ? 0.1 : 0, step };
        nat('adamwStep')(pN, grad, mN, vN, h);
        ref('adamwStep')(pR, grad, mR, vR, h);
        sameBits(pN, pR, `adamw param n=${n} step ${step}`);
        sameBits(mN, mR, `adamw m n=${n} step ${step}`);
        sameBits(vN, vR, `adamw v n=${n} step ${step}`);
      }
    }
  });

  it('fp8Quantize and fp8Dequantize: odd shapes and tiles, both formats and scale formats, float32 and float64', () => {
    const g = new Generator(13);
    const cases: [number, number, number, number][] = [
      [1, 1, 1, 1],
      [3, 131, 1, 128],
      [131, 3, 128, 1],
      [129, 257, 128, 128],
      [7, 45, 7, 45],
      [67, 9, 5, 3],
    ];
    for (const [rows, cols, tileRows, tileCols] of cases) {
      const x32 = spread(g, rows * cols);
      const x64 = Float64Array.from(g.normal(rows * cols, 'float64'));
      for (const format of [FP8_E4M3, FP8_E5M2]) {
        for (const scaleFmt of ['fp32', 'ue8m0'] as const) {
          for (const x of [x32, x64]) {
            const what = `${rows}x${cols} tile ${tileRows}x${tileCols} ${format.name} ${scaleFmt} ${x.constructor.name}`;
            const xd = {
              data: x,
              shape: [rows, cols],
              dtype: x instanceof Float64Array ? 'float64' : 'float32',
            } as const;
            const attrs = { tileRows, tileCols, format, scaleFmt };
            const want = ref('fp8Quantize')(xd, attrs);
            const q = { ...want, rows, cols, tileRows, tileCols, format };
            const deq = ref('fp8Dequantize')(q);
            eachIsa((isa) => {
              const got = nat('fp8Quantize')(xd, attrs);
              sameBits(got.codes, want.codes, `${what} codes [${isa}]`);
              sameBits(got.scales, want.scales, `${what} scales [${isa}]`);
              const d = nat('fp8Dequantize')(q);
              assert.deepEqual([...d.shape, d.dtype], [rows, cols, 'float32']);
              sameBits(d.data, deq.data, `${what} dequantize [${isa}]`);
            });
          }
        }
      }
    }
  });

  it('fp8Gemm: odd M, N, K under every accumulator model and valid promotion interval', () => {
    const g = new Generator(14);
    const models: AccumulatorModel[] = [
      HOPPER_ACCUMULATOR,
      { kind: 'limited', mantissaBits: 10, groupSize: 3, rounding: 'nearest' },
      { kind: 'limited', mantissaBits: 23, groupSize: 5, rounding: 'truncate' },
      { kind: 'fp32', groupSize: 2 },
      { kind: 'exact' },
    ];
    const cases = [
      { M: 1, N: 1, K: 1, ta: [1, 1], tb: [1, 1], intervals: [1] },
      { M: 5, N: 3, K: 131, ta: [1, 128], tb: [128, 128], intervals: [128, 64, 131] },
      { M: 33, N: 17, K: 255, ta: [1, 256], tb: [1, 256], intervals: [255, 5] },
      { M: 9, N: 131, K: 97, ta: [3, 97], tb: [7, 97], intervals: [97, 1] },
    ];
    for (const c of cases) {
      for (const format of [FP8_E4M3, FP8_E5M2]) {
        const operand = (rows: number, tile: number[]) => {
          const [tileRows, tileCols] = [Math.min(tile[0], rows), Math.min(tile[1], c.K)];
          const x = { data: spread(g, rows * c.K), shape: [rows, c.K], dtype: 'float32' } as const;
          const { codes, scales } = ref('fp8Quantize')(x, { tileRows, tileCols, format, scaleFmt: 'fp32' });
          return { codes, scales, rows, cols: c.K, tileRows, tileCols, format };
        };
        const [a, b] = [operand(c.M, c.ta), operand(c.N, c.tb)];
        for (const accumulator of models) {
          for (const interval of c.intervals) {
            const what = `${c.M}x${c.N}x${c.K} ${format.name} ${JSON.stringify(accumulator)} N_C=${interval}`;
            const want = ref('fp8Gemm')(a, b, { accumulator, interval });
            eachIsa((isa) => {
              const got = nat('fp8Gemm')(a, b, { accumulator, interval });
              assert.deepEqual([...got.shape, got.dtype], [c.M, c.N, 'float32']);
              sameBits(got.data, want.data, `${what} [${isa}]`);
            });
          }
        }
      }
    }
  });
});

describe('callers reach the fast-path kernels only through the registry', () => {
  it('AdamW.step, quantize, dequantize, fp8Gemm and transposeQuantized run the active backend', () => {
    const calls = new Map<string, number>();
    const spy: Partial<Kernels> = {};
    for (const name of FAST) {
      const impl = ref(name) as (...a: unknown[]) => unknown;
      (spy as Record<string, unknown>)[name] = (...a: unknown[]) => {
        calls.set(name, (calls.get(name) ?? 0) + 1);
        return impl(...a);
      };
    }
    registerBackend('test-fast-spy', spy);
    const prev = getBackend();
    try {
      setBackend('test-fast-spy');
      const w = tensor([
        [1, -2, 3],
        [0.5, 0.25, -1],
      ]);
      w.grad = tensor([
        [0.1, 0.2, -0.3],
        [1, -1, 0],
      ]);
      new AdamW([['w', w]], { lr: 1e-2 }).step();
      new AdamW([['w', w]], { lr: 1e-2, moments: 'bf16' }).step();
      const g = new Generator(15);
      const qa = quantize(spread(g, 6 * 130), 6, 130, { tile: [1, 128] });
      const qb = quantize(spread(g, 5 * 130), 5, 130, { tile: [128, 128] });
      dequantize(qa);
      fp8Gemm(qa, qb);
      const t = transposeQuantized(qa);
      assert.ok(t instanceof QuantizedMatrix && t.rows === 130 && t.cols === 6);
      assert.deepEqual(Object.fromEntries(calls), {
        adamwStep: 2,
        fp8Quantize: 2,
        fp8Dequantize: 1,
        fp8Gemm: 1,
        stridedCopy: 2, // codes and scales
      });
    } finally {
      setBackend(prev);
    }
  });

  it('no code outside src/backend switches on the backend name', () => {
    const root = new URL('../../src/', import.meta.url).pathname;
    const allowed = new Set(['backend']);
    // a comparison of the active backend (or a variable holding it) with a backend's name; handing the name on to a
    // worker (`getBackend() !== init.backend`) is not a switch
    const switchOn =
      /(getBackend\(\)|\bbackend)\s*[!=]==?\s*['"`]|['"`]\w*['"`]\s*[!=]==?\s*(getBackend\(\)|backend\b)/;
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, e.name);
        const rel = path.relative(root, full);
        if (allowed.has(rel)) continue;
        if (e.isDirectory()) walk(full);
        else if (e.name.endsWith('.ts')) {
          fs.readFileSync(full, 'utf8')
            .split('\n')
            .forEach((line, i) => {
              if (switchOn.test(line)) offenders.push(`src/${rel}:${i + 1}: ${line.trim()}`);
            });
        }
      }
    };
    walk(root);
    assert.deepEqual(offenders, [], 'use runKernel / getKernel instead of a branch on the backend name');
  });

  it('src/backend imports nothing from the folders above it', () => {
    const root = new URL('../../src/backend/', import.meta.url).pathname;
    const upward =
      /(from|import)\s*'(\.\.\/)+(nn|optim|models|fp8|io|data|infer|parallel|train|rl|eval|experiments|cli)\//;
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) walk(full);
        else if (e.name.endsWith('.ts') && upward.test(fs.readFileSync(full, 'utf8')))
          offenders.push(path.relative(root, full));
      }
    };
    walk(root);
    assert.deepEqual(offenders, []);
  });
});
