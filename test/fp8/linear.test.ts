/**
 * FP8 and BF16 Linear ops: Fprop/Dgrad/Wgrad against dequantise-then-float64 computations on the very quantised
 * operands V3 uses (1x128 x, 128x128 W, 1x128 dy for Dgrad, 128x1 dy and re-tiled x for Wgrad); a finite-difference
 * check against the float32 function; the backward never reading the float32 input; saved-activation bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, Tensor, randn, sum, mul, linear } from '../../src/index.js';
import { EXACT, assertClose, leaf, refNT, transpose } from './helpers.js';
import { BF16, roundToFormat } from '../../src/tensor/formats.js';
import { type Fp8Saved, bf16Linear, fp32Linear, fp8Linear, savedActivations } from '../../src/fp8/linear.js';
import {
  QuantizedMatrix,
  TILE_ACT,
  TILE_ACT_T,
  dequantize,
  dequantizeE5M6,
  quantize,
  retile,
} from '../../src/fp8/quant.js';

test('fp8Linear Fprop, Dgrad, Wgrad and bias grad equal dequantise-then-float64 GEMMs of the V3 operands', () => {
  const g = new Generator(1);
  const [B, T, In, Out] = [2, 70, 200, 150]; // M = 140 tokens: two 128-token groups for Wgrad, edge tiles everywhere
  const M = B * T;
  const x = leaf([B, T, In], g);
  const w = leaf([Out, In], g, 0.05);
  const b = leaf([Out], g);
  const dy = randn([B, T, Out], { generator: g });
  let saved: Fp8Saved | null = null;
  const y = fp8Linear(x, w, b, EXACT, 'test', (s) => (saved = s));
  assert.deepEqual(y.shape, [B, T, Out]);
  sum(mul(y, dy)).backward();
  const s = saved as unknown as Fp8Saved;
  assert.ok(s.x instanceof QuantizedMatrix && s.x.tileCols === 128 && s.x.tileRows === 1, 'x saved in 1x128 tiles');
  assert.deepEqual([s.weight.tileRows, s.weight.tileCols], [128, 128]);

  const xq = dequantize(s.x);
  const wq = dequantize(s.weight);
  const yRef = refNT(xq, wq, M, Out, In);
  for (let i = 0; i < yRef.length; i++) yRef[i] += b.data[i % Out];
  assertClose(y.data, yRef, 1e-6, 'Fprop');

  const gy = dy.data as Float32Array;
  const gq = dequantize(quantize(gy, M, Out, { tile: TILE_ACT })); // Dgrad: dy per token per 128 outputs
  assertClose(x.grad!.data, refNT(gq, transpose(wq, Out, In), M, In, Out), 1e-6, 'Dgrad');

  const gqT = transpose(dequantize(quantize(gy, M, Out, { tile: TILE_ACT_T })), M, Out); // Wgrad: 128 tokens x 1
  const xqT = transpose(dequantize(retile(s.x, TILE_ACT_T)), M, In);
  assertClose(w.grad!.data, refNT(gqT, xqT, Out, In, M), 1e-6, 'Wgrad');

  const db = new Float64Array(Out);
  for (let i = 0; i < gy.length; i++) db[i % Out] += gy[i];
  assertClose(b.grad!.data, db, 1e-6, 'bias grad');
});

test('fp8Linear gradients match finite differences of the float32 function to FP8 accuracy', () => {
  const g = new Generator(2);
  const x = leaf([48, 160], g);
  const w = leaf([96, 160], g, 0.1);
  const r = randn([48, 96], { generator: g });
  sum(mul(fp8Linear(x, w), r)).backward(); // default accumulator and promotion
  const g8 = [Float32Array.from(x.grad!.data), Float32Array.from(w.grad!.data)];
  x.grad = w.grad = null;
  sum(mul(linear(x, w), r)).backward();
  const g32 = [x.grad!.data, w.grad!.data];
  const f = (xx: Tensor, ww: Tensor): number => sum(mul(linear(xx, ww), r)).item();
  [x, w].forEach((p, k) => {
    const name = k === 0 ? 'x' : 'weight';
    // directional derivative along the float32 gradient, by central differences (the function is linear in p)
    const v = g32[k];
    const eps = 1e-3;
    const plus = new Tensor(
      Float32Array.from(p.data, (a, i) => a + eps * v[i]),
      p.shape,
    );
    const minus = new Tensor(
      Float32Array.from(p.data, (a, i) => a - eps * v[i]),
      p.shape,
    );
    const fd = k === 0 ? (f(plus, w) - f(minus, w)) / (2 * eps) : (f(x, plus) - f(x, minus)) / (2 * eps);
    let an = 0;
    let err = 0;
    let ref = 0;
    for (let i = 0; i < p.size; i++) {
      an += g8[k][i] * v[i];
      err += (g8[k][i] - v[i]) ** 2;
      ref += v[i] ** 2;
    }
    assert.ok(
      Math.abs(an - fd) / Math.abs(fd) < 0.01,
      `d/d${name} along the gradient: FP8 ${an} vs finite difference ${fd}`,
    );
    const rel = Math.sqrt(err / ref);
    assert.ok(rel < 0.06, `d/d${name}: relative L2 error of the FP8 gradient ${rel} (E4M3 noise is ~4%)`);
    assert.ok(rel > 0.005, `d/d${name}: FP8 gradient suspiciously exact (${rel})`);
  });
});

test('the backward reads only the FP8 copy of x: overwriting the float32 input changes nothing', () => {
  const run = (clobber: boolean): [Float32Array, Float32Array] => {
    const g = new Generator(3);
    const x = leaf([20, 130], g);
    const w = leaf([40, 130], g, 0.1);
    const y = fp8Linear(x, w);
    if (clobber) x.data.fill(NaN);
    sum(mul(y, y)).backward();
    return [x.grad!.data as Float32Array, w.grad!.data as Float32Array];
  };
  const [dx0, dw0] = run(false);
  const [dx1, dw1] = run(true);
  assert.deepEqual(dx1, dx0);
  assert.deepEqual(dw1, dw0);
  assert.ok(dw1.every(Number.isFinite));
});

test('saved activation bytes: FP8 codes + scales are >= 3.5x smaller than float32, BF16 2x', () => {
  const g = new Generator(4);
  const x = leaf([64, 256], g);
  const w = leaf([32, 256], g, 0.1);
  const measure = (fn: () => Tensor): number => {
    savedActivations.reset();
    fn();
    const s = savedActivations.get();
    assert.equal(s.calls, 1);
    assert.equal(s.elements, 64 * 256);
    return s.bytes;
  };
  const fp32 = measure(() => fp32Linear(x, w));
  const fp8 = measure(() => fp8Linear(x, w));
  const bf16 = measure(() => bf16Linear(x, w));
  assert.equal(fp32, 64 * 256 * 4);
  assert.equal(fp8, 64 * 256 + 64 * 2 * 4, 'one byte per element + one float32 scale per 1x128 tile');
  assert.equal(bf16, 64 * 256 * 2);
  assert.ok(fp32 / fp8 >= 3.5, `ratio ${fp32 / fp8}`);
  savedActivations.reset();
  x.requiresGrad = false;
  w.requiresGrad = false;
  fp8Linear(x, w); // nothing recorded: nothing saved
  assert.equal(savedActivations.get().calls, 0);
});

test('bf16Linear: BF16 outputs, gradients within BF16 accuracy of float32', () => {
  const g = new Generator(5);
  const x = leaf([10, 40], g);
  const w = leaf([12, 40], g, 0.2);
  const b = leaf([12], g);
  const y = bf16Linear(x, w, b);
  const yd = y.data as Float32Array;
  assert.deepEqual(roundToFormat(yd, BF16), yd, 'y is BF16-representable');
  sum(mul(y, y)).backward();
  const [dx, dw, db] = [x.grad!, w.grad!, b.grad!];
  x.grad = w.grad = b.grad = null;
  sum(mul(linear(x, w, b), linear(x, w, b))).backward();
  assertClose(dx.data, x.grad!.data, 2e-2, 'dx');
  assertClose(dw.data, w.grad!.data, 2e-2, 'dW');
  assertClose(db.data, b.grad!.data, 2e-2, 'db');
});

test('reduced-precision linears reject float64 and mismatched shapes with clear errors', () => {
  const g = new Generator(6);
  const x = randn([2, 4], { dtype: 'float64', generator: g });
  assert.throws(() => fp8Linear(x, randn([3, 4])), /fp8Linear: only float32 tensors are supported/);
  assert.throws(
    () => bf16Linear(randn([2, 5]), randn([3, 4])),
    /bf16Linear: input \[2,5\] x weight \[3,4\]ᵀ: inner dims 5 != 4/,
  );
});

test("fp8Linear cacheInput 'e5m6': same Fprop/Dgrad, Wgrad from the E5M6 copy re-tiled to 128x1 E4M3, 1.5 B/element cached", () => {
  const g = new Generator(7);
  const [M, In, Out] = [140, 200, 96];
  const x = leaf([M, In], g);
  const w = leaf([Out, In], g, 0.05);
  const dy = randn([M, Out], { generator: g });
  const run = (
    cacheInput: 'e4m3' | 'e5m6',
  ): { y: Float32Array; dx: Float32Array; dw: Float32Array; saved: Fp8Saved; bytes: number } => {
    x.grad = w.grad = null;
    let saved: Fp8Saved | null = null;
    savedActivations.reset();
    const y = fp8Linear(x, w, null, { ...EXACT, cacheInput }, 'wo', (s) => (saved = s));
    const bytes = savedActivations.get().bytes;
    sum(mul(y, dy)).backward();
    return {
      y: y.data as Float32Array,
      dx: x.grad!.data as Float32Array,
      dw: w.grad!.data as Float32Array,
      saved: saved!,
      bytes,
    };
  };
  const a = run('e4m3');
  const b = run('e5m6');
  assert.deepEqual(b.y, a.y, 'Fprop uses the same E4M3 operand');
  assert.deepEqual(b.dx, a.dx, 'Dgrad does not read x');
  assert.equal(a.saved.xE5M6, null);
  const c = b.saved.xE5M6!;
  assert.deepEqual([c.tileRows, c.tileCols], [1, 128]);
  for (const s of c.scales) assert.equal(2 ** Math.round(Math.log2(s)), s, 'power-of-2 scales');
  assert.equal(
    b.bytes,
    Math.ceil((M * In * 3) / 2) + M * 2,
    '12-bit codes packed 2 in 3 bytes + one UE8M0 byte per 1x128 tile',
  );
  assert.equal(a.bytes, M * In + M * 2 * 4);
  // Wgrad: dy in 128x1 tiles, x = E5M6 values re-quantised to E4M3 in 128x1 tiles
  const gqT = transpose(dequantize(quantize(dy.data as Float32Array, M, Out, { tile: TILE_ACT_T })), M, Out);
  const xqT = transpose(dequantize(quantize(dequantizeE5M6(c), M, In, { tile: TILE_ACT_T })), M, In);
  assertClose(b.dw, refNT(gqT, xqT, Out, In, M), 1e-6, 'Wgrad from E5M6');
  assert.notDeepEqual(b.dw, a.dw);
  // both are FP8-accurate weight gradients
  const ref = refNT(transpose(dy.data as Float32Array, M, Out), transpose(x.data as Float32Array, M, In), Out, In, M);
  assertClose(b.dw, ref, 0.1, 'Wgrad (E5M6 cache) vs float64');
});
