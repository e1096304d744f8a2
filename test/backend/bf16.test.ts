/**
 * The bfloat16 weight kernels: `matmulBf16` (float32 rows times bf16 weights) and `bf16Rows` (bf16 row gather).
 * The reference must equal `matmul` of the decoded weights bit for bit (same sum order, in double); the native kernel
 * must match the reference under every instruction set this CPU runs, on decode shapes (M = 1..8, the streaming
 * kernel) and prefill shapes (M > 8, the packed sgemm with widening B packing), odd sizes included. Other kernels
 * refuse bf16 operands with one line.
 *
 * Tolerance (native vs reference): the native kernel sums in float32 lanes, like the native sgemm, so the sgemm bound
 * of test/backend/native.test.ts applies: max |d| <= 2e-6 * sqrt(K) * max(1, max|ref|).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import '../../src/tensor/index.js';
import type { TensorData } from '../../src/backend/kernels.js';
import { getKernel, runKernel } from '../../src/backend/registry.js';
import { nativeAvailable, nativeInfo, nativeLoadError, setNativeIsa } from '../../src/backend/native/index.js';
import { BF16, decodeFloatArray, encodeFloatArray } from '../../src/tensor/formats.js';
import { mulberry32 } from '../helpers/util.js';

const SKIP = nativeAvailable() ? false : `native addon not built (${nativeLoadError()})`;

const rng = mulberry32;

function f32(shape: number[], r: () => number): TensorData & { data: Float32Array } {
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: Float32Array.from({ length: n }, () => 2 * r() - 1), shape, dtype: 'float32' };
}

function bf16(shape: number[], r: () => number): TensorData & { data: Uint16Array } {
  return { data: encodeFloatArray(f32(shape, r).data, BF16), shape, dtype: 'bfloat16' };
}

const ref = getKernel('ts', 'matmulBf16')!;

describe('matmulBf16 reference', () => {
  it('equals matmul of the decoded weights bit for bit', () => {
    const r = rng(1);
    for (const [M, K, N] of [
      [1, 1, 1],
      [3, 17, 5],
      [9, 64, 33],
    ]) {
      const x = f32([M, K], r);
      const w = bf16([N, K], r);
      const wf = { data: decodeFloatArray(w.data, BF16), shape: [N, K], dtype: 'float32' as const };
      const want = getKernel('ts', 'matmul')!(x, wf, { transA: false, transB: true });
      assert.deepEqual(ref(x, w).data, want.data, `${M}x${K}x${N}`);
    }
  });

  it('refuses wrong dtypes and shapes with one line', () => {
    const r = rng(2);
    assert.throws(() => ref(f32([2, 3], r), f32([4, 3], r)), /matmulBf16: expected x \(M, K\) float32 and w/);
    assert.throws(() => ref(f32([2, 3], r), bf16([4, 5], r)), /inner dims 3 != 5/);
  });

  it('bf16Rows decodes the rows it is asked for; out-of-range ids are refused', () => {
    const r = rng(3);
    const w = bf16([6, 5], r);
    const ids = { data: Int32Array.from([4, 0, 4]), shape: [3], dtype: 'int32' as const };
    const got = runKernel('bf16Rows', w, ids).data;
    const all = decodeFloatArray(w.data, BF16);
    assert.deepEqual(got, Float32Array.from([...all.subarray(20, 25), ...all.subarray(0, 5), ...all.subarray(20, 25)]));
    assert.throws(
      () => runKernel('bf16Rows', w, { data: Int32Array.from([6]), shape: [1], dtype: 'int32' }),
      /index 6 out of range \[0, 6\)/,
    );
  });

  it('other kernels refuse bfloat16 operands', () => {
    const r = rng(4);
    const w = bf16([2, 3], r);
    assert.throws(() => runKernel('add', w, w), /kernel 'add' does not take bfloat16 tensors/);
    assert.throws(
      () => runKernel('matmul', f32([2, 3], r), w, { transA: false, transB: true }),
      /kernel 'matmul' does not take bfloat16/,
    );
  });
});

describe('matmulBf16 native vs reference', { skip: SKIP }, () => {
  const isas = nativeInfo()?.isas ?? [];
  for (const isa of isas) {
    it(`matches the reference on decode and prefill shapes (${isa})`, () => {
      const nat = getKernel('native', 'matmulBf16')!;
      assert.ok(setNativeIsa(isa));
      try {
        const r = rng(5);
        for (const M of [1, 2, 3, 4, 5, 8, 9, 31]) {
          for (const [K, N] of [
            [1, 1],
            [7, 129],
            [129, 7],
            [1000, 67],
            [70, 300],
          ]) {
            const x = f32([M, K], r);
            const w = bf16([N, K], r);
            const want = ref(x, w).data;
            const got = nat(x, w).data;
            assert.equal(got.length, want.length);
            let maxRef = 0;
            let maxD = 0;
            for (let i = 0; i < want.length; i++) {
              maxRef = Math.max(maxRef, Math.abs(want[i]));
              maxD = Math.max(maxD, Math.abs(got[i] - want[i]));
            }
            const tol = 2e-6 * Math.sqrt(K) * Math.max(1, maxRef);
            assert.ok(maxD <= tol, `${isa} M=${M} K=${K} N=${N}: max |d| ${maxD} > ${tol}`);
          }
        }
      } finally {
        setNativeIsa(isas[0]);
      }
    });
  }

  it('delegates a non-bf16 weight to the reference (same error)', () => {
    const r = rng(6);
    const nat = getKernel('native', 'matmulBf16')!;
    assert.throws(() => nat(f32([2, 3], r), f32([4, 3], r)), /matmulBf16: expected x \(M, K\) float32/);
  });
});
