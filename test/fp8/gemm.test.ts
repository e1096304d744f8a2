/**
 * FP8 GEMM emulation: the accumulator's rounding primitives, agreement with the dequantise-then-float64 reference on
 * odd shapes and edge tiles, the SPEC §2 K = 4096 check (about 2% without promotion, >= 10x better with N_C = 128),
 * and the rules tying N_C to the scale tiles.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator } from '../../src/index.js';
import {
  HOPPER_ACCUMULATOR,
  accumulationError,
  fp8Gemm,
  referenceGemm,
  roundMantissa,
  truncateMantissa,
} from '../../src/fp8/gemm.js';
import { TILE_ACT, TILE_WEIGHT, quantize } from '../../src/fp8/quant.js';

test('truncateMantissa rounds toward zero, roundMantissa to nearest even, at the given fraction bits', () => {
  const u = 2 ** -13;
  assert.equal(truncateMantissa(1 + u + u / 2, 13), 1 + u);
  assert.equal(truncateMantissa(-(1 + u + u / 2), 13), -(1 + u));
  assert.equal(truncateMantissa(3 * 2 ** 40 + 1, 13), 3 * 2 ** 40);
  assert.equal(truncateMantissa(1 + 2 ** -30, 25), 1); // the low-word path
  assert.equal(truncateMantissa(1 + 2 ** -25, 25), 1 + 2 ** -25);
  assert.equal(roundMantissa(1 + u / 2, 13), 1); // tie -> even
  assert.equal(roundMantissa(1 + u + u / 2, 13), 1 + 2 * u); // tie -> even (up)
  assert.equal(roundMantissa(-(1 + 0.75 * u), 13), -(1 + u));
});

test('fp8Gemm agrees with the dequantised float64 product (1x128 x 128x128 tiles, odd shapes, edge tiles)', () => {
  const g = new Generator(1);
  const M = 5;
  const N = 130;
  const K = 300;
  const qa = quantize(g.normal(M * K, 'float32') as Float32Array, M, K, { tile: TILE_ACT });
  const qb = quantize(g.normal(N * K, 'float32') as Float32Array, N, K, { tile: TILE_WEIGHT });
  const ref = referenceGemm(qa, qb);
  let scale = 0;
  for (const v of ref) scale = Math.max(scale, Math.abs(v));
  for (const [accumulator, tol] of [
    [{ kind: 'exact' } as const, 1e-6],
    [{ kind: 'fp32', groupSize: 4 } as const, 1e-6],
    [HOPPER_ACCUMULATOR, 2e-3],
  ] as const) {
    const c = fp8Gemm(qa, qb, { accumulator });
    let worst = 0;
    for (let i = 0; i < c.length; i++) worst = Math.max(worst, Math.abs(c[i] - ref[i]));
    assert.ok(worst / scale < tol, `${accumulator.kind}: max |dC| / max |C| = ${worst / scale}`);
    if (accumulator.kind === 'limited') assert.ok(worst > 0, 'the limited accumulator does lose bits');
  }
});

test('K = 4096: ~2% max relative error without promotion, >= 10x less with promotion every 128 (SPEC §2)', () => {
  for (const dist of ['normal', 'uniform'] as const) {
    const r = accumulationError({ K: 4096, M: 16, N: 16, dist, seed: 3 });
    assert.ok(r.noPromotion > 0.01 && r.noPromotion < 0.04, `${dist}: no promotion ${r.noPromotion} is not about 2%`);
    assert.ok(r.improvement >= 10, `${dist}: promotion every 128 improves only ${r.improvement}x (${r.promoted})`);
  }
  // the error comes from the accumulator model: an FP32 accumulator has none of it
  const fp32 = accumulationError({ K: 4096, M: 8, N: 8, accumulator: { kind: 'fp32', groupSize: 4 } });
  assert.ok(fp32.noPromotion < 1e-4, `fp32 accumulator: ${fp32.noPromotion}`);
  // more mantissa bits, less error: 2 more bits cut it about 4x
  const wider = accumulationError({
    K: 4096,
    M: 8,
    N: 8,
    accumulator: { kind: 'limited', mantissaBits: 15, groupSize: 4, rounding: 'truncate' },
  });
  const base = accumulationError({ K: 4096, M: 8, N: 8 });
  assert.ok(wider.noPromotion < base.noPromotion / 2.5, `15 bits ${wider.noPromotion} vs 13 bits ${base.noPromotion}`);
});

test('N_C must divide the scale tiles along K; no promotion needs one scale along K', () => {
  const g = new Generator(2);
  const qa = quantize(g.normal(2 * 256, 'float32') as Float32Array, 2, 256, { tile: TILE_ACT });
  const qb = quantize(g.normal(3 * 256, 'float32') as Float32Array, 3, 256, { tile: TILE_WEIGHT });
  assert.throws(() => fp8Gemm(qa, qb, { promoteEvery: null }), /no promotion needs one scale along K/);
  assert.throws(() => fp8Gemm(qa, qb, { promoteEvery: 96 }), /N_C = 96 must divide the scale tiles/);
  assert.throws(() => fp8Gemm(qa, qb, { promoteEvery: 0 }), /positive integer or null/);
  const a64 = fp8Gemm(qa, qb, { promoteEvery: 64, accumulator: { kind: 'exact' } });
  const a128 = fp8Gemm(qa, qb, { promoteEvery: 128, accumulator: { kind: 'exact' } });
  for (let i = 0; i < a64.length; i++) assert.ok(Math.abs(a64[i] - a128[i]) <= 1e-5 * Math.abs(a128[i]) + 1e-6);
  const qc = quantize(g.normal(3 * 100, 'float32') as Float32Array, 3, 100, { tile: TILE_WEIGHT });
  assert.throws(() => fp8Gemm(qa, qc), /A is 2x256 but B is 3x100/);
});
