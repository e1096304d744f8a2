/**
 * The fast decoders' row kernels (rmsRows, addInto, gatherRows, scatterAddScaled): the reference does what its
 * documentation says (checked against loops written here), and the native backend gives the reference's bits, down
 * to the sign of zero, with large and small magnitudes so that any reordering, fused multiply-add or float32 sum of
 * squares would show. Both backends refuse operands that do not fit.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import '../../src/tensor/index.js';
import type { KernelName, Kernels } from '../../src/backend/kernels.js';
import { getKernel } from '../../src/backend/registry.js';
import { nativeAvailable, nativeKernels, nativeLoadError } from '../../src/backend/native/index.js';
import { addon } from '../../src/backend/native/addon.js';
import { mulberry32 } from '../helpers/util.js';

const SKIP = nativeAvailable() ? false : `native addon not built (${nativeLoadError()})`;

const ref = <K extends KernelName>(name: K): Kernels[K] => getKernel('ts', name)!;
const nat = <K extends KernelName>(name: K): Kernels[K] => nativeKernels![name] as Kernels[K];

/** Values spread over many binades (1e-4 to 1e4, both signs, some exact zeros), so rounding differences show. */
function values(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => {
    const u = r();
    if (u < 0.03) return u < 0.015 ? 0 : -0;
    return (r() < 0.5 ? -1 : 1) * 10 ** (8 * r() - 4) * (1 + r());
  });
}

function sameBits(what: string, got: Float32Array, want: Float32Array): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++)
    if (!Object.is(got[i], want[i])) assert.fail(`${what}: element ${i} is ${got[i]}, reference ${want[i]}`);
}

describe('decoder row kernels: the reference', () => {
  it('rmsRows normalises strided rows with its sums in double', () => {
    const x = values(5 * 13 + 3, 1);
    const w = values(7, 2);
    const out = new Float32Array(5 * 7);
    ref('rmsRows')(x, w, out, { rows: 5, dim: 7, stride: 13, offset: 3, eps: 1e-6 });
    for (let n = 0; n < 5; n++) {
      const row = Array.from(x.subarray(3 + 13 * n, 3 + 13 * n + 7));
      const ms = row.reduce((s, v) => s + v * v, 0) / 7;
      // the definition, up to float32 rounding (the kernel multiplies by the root's inverse instead of dividing)
      for (let j = 0; j < 7; j++) {
        const e = (row[j] / Math.sqrt(ms + 1e-6)) * w[j];
        assert.ok(Math.abs(out[n * 7 + j] - e) <= 1e-6 * Math.abs(e) + 1e-30, `row ${n} col ${j}`);
      }
    }
  });

  it('gatherRows copies rows by index and scatterAddScaled adds them back scaled, in order', () => {
    const src = values(4 * 3, 3);
    const out = new Float32Array(3 * 3).fill(7);
    ref('gatherRows')(src, Int32Array.from([2, 0, 2]), 3, out);
    assert.deepEqual([...out], [...src.subarray(6, 9), ...src.subarray(0, 3), ...src.subarray(6, 9)]);
    const acc = Float32Array.from([1, 2, 3, 4, 5, 6]);
    ref('scatterAddScaled')(
      acc,
      Int32Array.from([1, 1]),
      Float32Array.from([1, 1, 1, 2, 2, 2]),
      Float32Array.from([3, 0.5]),
      3,
    );
    assert.deepEqual([...acc], [1, 2, 3, 4 + 3 + 1, 5 + 3 + 1, 6 + 3 + 1]);
    const x = Float32Array.from([1, 2, 3]);
    ref('addInto')(x, Float32Array.from([10, 20, 30]), 2);
    assert.deepEqual([...x], [11, 22, 3]);
  });
});

describe('decoder row kernels: native against the reference', () => {
  it('rmsRows: the same bits, contiguous and strided rows, widths of the decoders and odd ones', { skip: SKIP }, () => {
    for (const [seed, rows, dim, stride, offset] of [
      [1, 128, 96, 96, 0],
      [2, 128, 32, 40, 0],
      [3, 7, 48, 48, 0],
      [4, 33, 17, 29, 5],
      [5, 1, 1, 1, 0],
      [6, 0, 8, 8, 0],
    ]) {
      const x = values(offset + rows * stride + dim, seed);
      const w = values(dim, seed + 100);
      const a = { rows, dim, stride, offset, eps: 1e-6 };
      const want = new Float32Array(rows * dim);
      const got = new Float32Array(rows * dim).fill(Number.NaN);
      ref('rmsRows')(x, w, want, a);
      nat('rmsRows')(x, w, got, a);
      sameBits(`rmsRows ${rows}x${dim} stride ${stride}`, got, want);
    }
  });

  it('addInto, gatherRows and scatterAddScaled: the same bits', { skip: SKIP }, () => {
    for (const [seed, rows, dim, n] of [
      [1, 128, 96, 64],
      [2, 5, 7, 9],
      [3, 300, 33, 1],
    ]) {
      const r = mulberry32(seed);
      const idx = Int32Array.from({ length: n }, () => Math.floor(r() * rows));
      const src = values(rows * dim, seed);
      const [a, b] = [values(rows * dim, seed + 1), values(rows * dim, seed + 1)];
      const y = values(rows * dim, seed + 2);
      ref('addInto')(a, y, rows * dim - 1);
      nat('addInto')(b, y, rows * dim - 1);
      sameBits('addInto', b, a);
      const [ga, gb] = [new Float32Array(n * dim), new Float32Array(n * dim).fill(Number.NaN)];
      ref('gatherRows')(src, idx, dim, ga);
      nat('gatherRows')(src, idx, dim, gb);
      sameBits('gatherRows', gb, ga);
      const g = values(n, seed + 3);
      const rows2 = values(n * dim, seed + 4);
      const [sa, sb] = [values(rows * dim, seed + 5), values(rows * dim, seed + 5)];
      ref('scatterAddScaled')(sa, idx, rows2, g, dim);
      nat('scatterAddScaled')(sb, idx, rows2, g, dim);
      sameBits('scatterAddScaled', sb, sa);
    }
  });

  it('the addon checks the rows it reads itself, in double: a huge stride cannot wrap the bound', {
    skip: SKIP,
  }, () => {
    const [x, w, out] = [new Float32Array(1), new Float32Array(1), new Float32Array(4097)];
    assert.throws(
      () => addon!.rmsRows(x, w, out, 4097, 1, 2 ** 52, 0, 1e-6),
      /argument 0 must be a Float32Array holding every row/,
    );
    assert.throws(() => addon!.rmsRows(x, w, out, 2, 1, 1, 0, 1e-6), /argument 0/);
    addon!.rmsRows(x, w, out, 1, 1, 1, 0, 1e-6); // one row fits
  });

  it('both backends refuse operands that do not fit', () => {
    const kernels = SKIP ? [ref] : [ref, nat];
    for (const k of kernels) {
      const x = new Float32Array(20);
      const w = new Float32Array(4);
      assert.throws(
        () => k('rmsRows')(x, w, new Float32Array(20), { rows: 5, dim: 4, stride: 5, offset: 0, eps: 1e-6 }),
        /x holds 20 floats, needs 24/,
      );
      assert.throws(
        () => k('rmsRows')(x, w, new Float32Array(3), { rows: 1, dim: 4, stride: 4, offset: 0, eps: 1e-6 }),
        /out holds 3 floats/,
      );
      assert.throws(
        () => k('rmsRows')(x, w, new Float32Array(8), { rows: 2, dim: 4, stride: 3, offset: 0, eps: 1e-6 }),
        /stride 3 is less than dim 4/,
      );
      assert.throws(() => k('addInto')(x, new Float32Array(3), 4), /holds 3|argument 1/);
      assert.throws(
        () => k('gatherRows')(x, Int32Array.from([5]), 4, new Float32Array(4)),
        /row index 5|indices in range/,
      );
      assert.throws(() => k('gatherRows')(x, Int32Array.from([1]), 4, new Float32Array(3)), /out holds 3|argument 4/);
      assert.throws(
        () => k('scatterAddScaled')(x, Int32Array.from([-1]), new Float32Array(4), new Float32Array(1), 4),
        /row index -1|indices in range/,
      );
      assert.throws(
        () => k('scatterAddScaled')(x, Int32Array.from([0, 1]), new Float32Array(8), new Float32Array(1), 4),
        /g holds 1|argument 3/,
      );
    }
  });
});
