/**
 * Native FP8 kernels (native/fp8.cc) against the TypeScript references, bit for bit: quantise (every code and scale,
 * E4M3 and E5M2, float32 and UE8M0 scales, all tile shapes, edge tiles, zero tiles, extreme magnitudes), dequantise,
 * and the FP8 GEMM under every accumulator model and promotion interval; then an fp8Linear forward + backward run on
 * both backends. The references are the same ops run on the 'ts' backend (the kernels of src/backend/ts/fp8.ts).
 * Skipped when the addon is not built.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, randn, sum, mul, getKernel } from '../../src/index.js';
import { onBackend } from '../helpers/util.js';
import { FP8_E4M3, FP8_E5M2, decodeFloat } from '../../src/tensor/formats.js';
import { type AccumulatorModel, HOPPER_ACCUMULATOR, fp8Gemm } from '../../src/fp8/gemm.js';
import { fp8Linear } from '../../src/fp8/linear.js';
import { type QuantizedMatrix, dequantize, quantize, transposeQuantized } from '../../src/fp8/quant.js';

const skip = getKernel('native', 'fp8Gemm') === undefined ? 'native addon without FP8 kernels (not built)' : false;

/** The references: the same ops on the reference backend. */
const quantizeTs = (...a: Parameters<typeof quantize>): QuantizedMatrix => onBackend('ts', () => quantize(...a));
const dequantizeTs = (q: QuantizedMatrix): Float32Array => onBackend('ts', () => dequantize(q));
const fp8GemmTs = (...a: Parameters<typeof fp8Gemm>): Float32Array => onBackend('ts', () => fp8Gemm(...a));

/** Values over many binades, with zeros, a zero tile and subnormal-range elements. */
function data(n: number, g: Generator): Float32Array {
  const a = g.normal(n, 'float64');
  const e = g.normal(n, 'float64');
  const x = Float32Array.from(a, (v, i) => v * Math.exp(4 * e[i]));
  for (let i = 0; i < n; i += 17) x[i] = 0;
  for (let i = 0; i < Math.min(n, 130); i++) x[i] = 0; // the first tile(s) all zero
  return x;
}

function sameBits(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++)
    assert.ok(Object.is(a[i], b[i]), `${what}[${i}]: native ${a[i]} vs reference ${b[i]}`);
}

/** Same quantised matrix; NaN codes match any NaN code (the sign of a NaN is not specified by either side). */
function sameQ(n: QuantizedMatrix, r: QuantizedMatrix, what: string): void {
  assert.deepEqual([n.rows, n.cols, n.tileRows, n.tileCols], [r.rows, r.cols, r.tileRows, r.tileCols], what);
  for (let i = 0; i < r.codes.length; i++) {
    const [a, b] = [n.codes[i], r.codes[i]];
    const bothNaN = Number.isNaN(decodeFloat(a, r.format)) && Number.isNaN(decodeFloat(b, r.format));
    assert.ok(a === b || bothNaN, `${what} codes[${i}]: native ${a} vs reference ${b}`);
  }
  sameBits(n.scales, r.scales, `${what} scales`);
}

test('native quantize / dequantize are bit-exact with the references', { skip }, () => {
  const g = new Generator(1);
  const shapes: [number, number, [number, number]][] = [
    [3, 300, [1, 128]],
    [200, 150, [128, 128]],
    [260, 7, [128, 1]],
    [5, 9, [1, 1000]],
    [1, 1, [1, 128]],
    [130, 129, [128, 128]],
  ];
  for (const [rows, cols, tile] of shapes) {
    const x = data(rows * cols, g);
    for (const format of [FP8_E4M3, FP8_E5M2]) {
      for (const scaleFmt of ['fp32', 'ue8m0'] as const) {
        const what = `${rows}x${cols} tile ${tile} ${format.name} ${scaleFmt}`;
        const ref = quantizeTs(x, rows, cols, { tile, format, scaleFmt });
        const nat = onBackend('native', () => quantize(x, rows, cols, { tile, format, scaleFmt }));
        sameQ(nat, ref, what);
        sameBits(
          onBackend('native', () => dequantize(ref)),
          dequantizeTs(ref),
          `${what} dequantize`,
        );
      }
    }
  }
  // non-finite input: NaN poisons its tile the same way
  const x = data(2 * 256, g);
  x[300] = NaN;
  x[10] = Infinity;
  sameQ(
    onBackend('native', () => quantize(x, 2, 256, { tile: [1, 128] })),
    quantizeTs(x, 2, 256, { tile: [1, 128] }),
    'non-finite',
  );
  // every code, every midpoint between neighbours (ties: to even) and the floats either side of it, both signs, in a
  // row whose max is the largest finite value, so that the scale is exactly 1 and x / s lands on them
  for (const format of [FP8_E4M3, FP8_E5M2]) {
    const vals: number[] = [format.maxFinite];
    const below = (v: number): number => v - Math.abs(v) * 2 ** -23;
    for (let c = 0; c < format.maxCode; c++) {
      const [v, next] = [decodeFloat(c, format), decodeFloat(c + 1, format)];
      const mid = (v + next) / 2;
      vals.push(v, mid, Math.fround(below(mid)), Math.fround(mid + mid * 2 ** -23));
    }
    vals.push(decodeFloat(1, format) / 4, decodeFloat(1, format) / 2); // below and at half the smallest subnormal
    const x = Float32Array.from([...vals, ...vals.map((v) => -v)]);
    const q = quantizeTs(x, 1, x.length, { tile: [1, x.length], format });
    assert.equal(q.scales[0], 1, 'scale exactly 1');
    sameQ(
      onBackend('native', () => quantize(x, 1, x.length, { tile: [1, x.length], format })),
      q,
      `${format.name} codes and midpoints`,
    );
  }
});

test('transposeQuantized: the native byte transpose gives the reference codes and scales', { skip }, () => {
  const g = new Generator(4);
  for (const [rows, cols, tile] of [
    [1536, 96, [1, 128]],
    [7, 300, [128, 128]],
    [1, 5, [1, 128]],
    [5, 1, [128, 1]],
  ] as [number, number, [number, number]][]) {
    const q = quantizeTs(data(rows * cols, g), rows, cols, { tile });
    const ref = onBackend('ts', () => transposeQuantized(q));
    const nat = onBackend('native', () => transposeQuantized(q));
    assert.deepEqual(
      [nat.rows, nat.cols, nat.tileRows, nat.tileCols],
      [ref.rows, ref.cols, ref.tileRows, ref.tileCols],
    );
    assert.deepEqual(nat.codes, ref.codes, `${rows}x${cols} codes`);
    sameBits(nat.scales, ref.scales, `${rows}x${cols} scales`);
    for (let i = 0; i < 50; i++) {
      const [r, c] = [Math.floor(g.uniform(1, 'float64')[0] * rows), Math.floor(g.uniform(1, 'float64')[0] * cols)];
      assert.equal(nat.codes[c * rows + r], q.codes[r * cols + c], `(${r}, ${c}) moved to (${c}, ${r})`);
    }
  }
});

test('native fp8Gemm is bit-exact with the reference for every accumulator model and interval', { skip }, () => {
  const g = new Generator(2);
  const models: AccumulatorModel[] = [
    HOPPER_ACCUMULATOR,
    { kind: 'limited', mantissaBits: 13, groupSize: 4, rounding: 'nearest' },
    { kind: 'limited', mantissaBits: 25, groupSize: 3, rounding: 'truncate' },
    { kind: 'limited', mantissaBits: 7, groupSize: 1, rounding: 'truncate' },
    { kind: 'fp32', groupSize: 4 },
    { kind: 'exact' },
  ];
  const cases: {
    M: number;
    N: number;
    K: number;
    ta: [number, number];
    tb: [number, number];
    nc: (number | null)[];
  }[] = [
    { M: 7, N: 130, K: 300, ta: [1, 128], tb: [128, 128], nc: [128, 64, 32] },
    { M: 3, N: 5, K: 384, ta: [1, 1000], tb: [1, 1000], nc: [null, 128, 1] },
    { M: 4, N: 3, K: 513, ta: [1, 1000], tb: [1, 1000], nc: [null] },
    { M: 40, N: 33, K: 140, ta: [1, 128], tb: [1, 128], nc: [128] }, // Wgrad-like: K = tokens, re-tiled operands
  ];
  for (const c of cases) {
    const qa = quantizeTs(data(c.M * c.K, g), c.M, c.K, { tile: c.ta });
    const qb = quantizeTs(data(c.N * c.K, g), c.N, c.K, { tile: c.tb });
    for (const accumulator of models) {
      for (const promoteEvery of c.nc) {
        const what = `${c.M}x${c.N}x${c.K} ${JSON.stringify(accumulator)} N_C=${promoteEvery}`;
        const ref = fp8GemmTs(qa, qb, { accumulator, promoteEvery });
        const nat = onBackend('native', () => fp8Gemm(qa, qb, { accumulator, promoteEvery }));
        sameBits(nat, ref, what);
      }
    }
  }
  // Non-finite B values (a NaN code, E5M2's infinity) facing zeros of A: the reference skips zero products, so 0 x inf
  // adds nothing there; the native kernel must agree (it takes its row path, not the 4-row blocked one).
  for (const [format, bad] of [
    [FP8_E4M3, 0x7f],
    [FP8_E5M2, 0x7c],
    [FP8_E5M2, 0x7e],
  ] as const) {
    const qa = quantizeTs(data(6 * 256, g), 6, 256, { tile: [1, 128], format });
    const qb = quantizeTs(data(9 * 256, g), 9, 256, { tile: [128, 128], format });
    qb.codes[3 * 256 + 200] = bad;
    qa.codes[1 * 256 + 200] = 0; // row 1 meets it with a zero, the others with nonzero values
    qa.codes[2 * 256 + 200] = 0x30;
    for (const accumulator of [HOPPER_ACCUMULATOR, { kind: 'fp32', groupSize: 4 } as const]) {
      const ref = fp8GemmTs(qa, qb, { accumulator });
      const nat = onBackend('native', () => fp8Gemm(qa, qb, { accumulator }));
      assert.ok(!Number.isFinite(ref[2 * 9 + 3]) && Number.isFinite(ref[1 * 9 + 3]), 'the case is what it claims');
      sameBits(nat, ref, `${format.name} code ${bad} ${accumulator.kind}`);
    }
  }
});

test('fp8Linear forward and backward agree bit for bit on the ts and native backends', { skip }, () => {
  const run = (backend: string): Float32Array[] =>
    onBackend(backend, () => {
      const g = new Generator(3);
      const x = randn([3, 50, 200], { generator: g }).requiresGrad_();
      const w = randn([70, 200], { generator: g }).requiresGrad_();
      const r = randn([3, 50, 70], { generator: g });
      const y = fp8Linear(x, w);
      sum(mul(y, r)).backward();
      return [y.data as Float32Array, x.grad!.data as Float32Array, w.grad!.data as Float32Array];
    });
  const ts = run('ts');
  const nat = run('native');
  ['y', 'dx', 'dW'].forEach((n, i) => sameBits(nat[i], ts[i], n));
});
