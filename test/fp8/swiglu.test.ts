/**
 * The fused FP8 SwiGLU MLP (SwiGLU recompute, one FP8 x for w1/w3, FP8 dispatch numerics): every stage of the forward
 * and backward pass against float64 computations on the very quantised operands the op uses (with the exact
 * accumulator), the Fprop against three fp8Linears bit for bit, the gradients against the float32 MLP within FP8
 * accuracy and against finite differences along a direction, dispatch scales, and what the op keeps alive.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, Tensor, indexSelect, linear, mul, randn, sum, swiglu } from '../../src/index.js';
import { fp8Linear, savedActivations } from '../../src/fp8/linear.js';
import {
  type Fp8SwigluBackwardTrace,
  type Fp8SwigluForwardTrace,
  type Fp8SwigluSaved,
  fp8SwigluMlp,
} from '../../src/fp8/swiglu.js';
import { TILE_ACT, TILE_ACT_T, dequantize, quantize, retile } from '../../src/fp8/quant.js';
import { heldArrayBufferBytes } from '../../src/tensor/memory.js';
import { EXACT, assertClose, leaf, refNT, relL2, transpose } from './helpers.js';

const [M, D, I] = [140, 160, 136]; // two 128-token groups for Wgrad, edge tiles along every dim

function setup(seed: number): { x: Tensor; w1: Tensor; w2: Tensor; w3: Tensor; dy: Tensor } {
  const g = new Generator(seed);
  return {
    x: leaf([M, D], g),
    w1: leaf([I, D], g, 0.08),
    w2: leaf([D, I], g, 0.08),
    w3: leaf([I, D], g, 0.08),
    dy: randn([M, D], { generator: g }),
  };
}

const silu64 = (a: number): number => a / (1 + Math.exp(-a));

for (const dispatch of [false, true]) {
  test(`fp8SwigluMlp${dispatch ? ' (dispatch)' : ''}: every stage equals float64 on the op's own quantised operands`, () => {
    const { x, w1, w2, w3, dy } = setup(dispatch ? 2 : 1);
    let fw: Fp8SwigluForwardTrace | null = null;
    let sv: Fp8SwigluSaved | null = null;
    let bw: Fp8SwigluBackwardTrace | null = null;
    const y = fp8SwigluMlp(x, w1, w2, w3, { ...EXACT, dispatch }, 'e', {
      onForward: (t) => (fw = t),
      onSave: (s) => (sv = s),
      onBackward: (t) => (bw = t),
    });
    sum(mul(y, dy)).backward();
    const f = fw as unknown as Fp8SwigluForwardTrace;
    const s = sv as unknown as Fp8SwigluSaved;
    const b = bw as unknown as Fp8SwigluBackwardTrace;
    const ioScale = dispatch ? 'ue8m0' : 'fp32';
    // forward: one FP8 x (power-of-2 scales when dispatched) for both w1 and w3
    assert.deepEqual(s.x.codes, quantize(x.data as Float32Array, M, D, { tile: TILE_ACT, scaleFmt: ioScale }).codes);
    assert.equal(s.x.scaleFmt, ioScale);
    if (dispatch) for (const v of s.x.scales) assert.equal(2 ** Math.round(Math.log2(v)), v);
    const xq = dequantize(s.x);
    assertClose(f.h1, refNT(xq, dequantize(s.w1), M, I, D), 1e-6, 'h1 = w1 x');
    assertClose(f.h3, refNT(xq, dequantize(s.w3), M, I, D), 1e-6, 'h3 = w3 x');
    const sRef = f.h1.map((a, i) => silu64(a) * f.h3[i]);
    assertClose(f.s, sRef, 1e-6, 's = silu(h1) h3');
    assertClose(
      y.data,
      refNT(dequantize(quantize(f.s, M, I, { tile: TILE_ACT })), dequantize(s.w2), M, D, I),
      1e-6,
      'y = w2 s',
    );
    // cached: the SwiGLU inputs in FP8, 1x128
    assert.deepEqual(s.h1.codes, quantize(f.h1, M, I, { tile: TILE_ACT }).codes);
    assert.deepEqual(s.h3.scales, quantize(f.h3, M, I, { tile: TILE_ACT }).scales);
    // backward: dy's FP8 operand, ds = dy w2
    const gy = dy.data as Float32Array;
    assert.deepEqual(b.dy.codes, quantize(gy, M, D, { tile: TILE_ACT, scaleFmt: ioScale }).codes);
    assertClose(b.ds, refNT(dequantize(b.dy), transpose(dequantize(s.w2), D, I), M, I, D), 1e-6, 'ds = dy w2');
    // the SwiGLU recomputed from the dequantised cache, and its backward on the same values
    assert.deepEqual(b.h1, dequantize(s.h1));
    assert.deepEqual(b.h3, dequantize(s.h3));
    assertClose(
      b.s,
      b.h1.map((a, i) => silu64(a) * b.h3[i]),
      1e-6,
      'recomputed s',
    );
    const sig = (a: number): number => 1 / (1 + Math.exp(-a));
    assertClose(
      b.dh1,
      b.h1.map((a, i) => b.ds[i] * b.h3[i] * sig(a) * (1 + a * (1 - sig(a)))),
      1e-6,
      'dh1',
    );
    assertClose(
      b.dh3,
      b.h1.map((a, i) => b.ds[i] * silu64(a)),
      1e-6,
      'dh3',
    );
    // Dgrad: dx = dh1 w1 + dh3 w3, each dh in 1x128 tiles
    const dgrad = (dh: Float32Array, w: Float32Array): Float64Array =>
      refNT(dequantize(quantize(dh, M, I, { tile: TILE_ACT })), transpose(w, I, D), M, D, I);
    const d1 = dgrad(b.dh1, dequantize(s.w1));
    const d3 = dgrad(b.dh3, dequantize(s.w3));
    assertClose(
      x.grad!.data,
      d1.map((v, i) => v + d3[i]),
      1e-6,
      'dx',
    );
    // Wgrad: 128x1 operands; x re-tiled from the one cache; dy re-tiled from its FP8 operand when dispatched
    const xT = transpose(dequantize(retile(s.x, TILE_ACT_T, ioScale)), M, D);
    const wg = (dh: Float32Array): Float64Array =>
      refNT(transpose(dequantize(quantize(dh, M, I, { tile: TILE_ACT_T })), M, I), xT, I, D, M);
    assertClose(w1.grad!.data, wg(b.dh1), 1e-6, 'dW1');
    assertClose(w3.grad!.data, wg(b.dh3), 1e-6, 'dW3');
    const gT = dispatch ? retile(b.dy, TILE_ACT_T, 'ue8m0') : quantize(gy, M, D, { tile: TILE_ACT_T });
    const sT = transpose(dequantize(quantize(b.s, M, I, { tile: TILE_ACT_T })), M, I);
    assertClose(w2.grad!.data, refNT(transpose(dequantize(gT), M, D), sT, D, I, M), 1e-6, 'dW2 from the recomputed s');
  });
}

test('fp8SwigluMlp Fprop equals fp8Linear -> swiglu -> fp8Linear bit for bit (no dispatch)', () => {
  const { x, w1, w2, w3 } = setup(3);
  const fused = fp8SwigluMlp(x, w1, w2, w3);
  const plain = fp8Linear(swiglu(fp8Linear(x, w1), fp8Linear(x, w3)), w2);
  assert.deepEqual(fused.data, plain.data);
});

test('fp8SwigluMlp gradients: within FP8 accuracy of the float32 MLP, and finite differences along the gradient', () => {
  const { x, w1, w2, w3, dy } = setup(4);
  const params = [x, w1, w2, w3];
  const f32 = (xx: Tensor, a: Tensor, b: Tensor, c: Tensor): Tensor => linear(swiglu(linear(xx, a), linear(xx, c)), b);
  const loss = (t: Tensor): Tensor => sum(mul(t, dy));
  for (const dispatch of [false, true]) {
    for (const p of params) p.grad = null;
    loss(fp8SwigluMlp(x, w1, w2, w3, { dispatch })).backward(); // default accumulator, N_C = 128
    const g8 = params.map((p) => Float32Array.from(p.grad!.data));
    for (const p of params) p.grad = null;
    loss(f32(x, w1, w2, w3)).backward();
    const g32 = params.map((p) => p.grad!.data as Float32Array);
    params.forEach((_p, k) => {
      const rel = relL2(g8[k], g32[k]);
      assert.ok(
        rel < 0.12 && rel > 0.003,
        `${['x', 'w1', 'w2', 'w3'][k]}${dispatch ? ' (dispatch)' : ''}: relative L2 error ${rel} vs float32`,
      );
      // the directional derivative along the float32 gradient, by central differences of the float32 function
      const v = g32[k];
      const eps = 1e-3;
      const moved = (sgn: number): Tensor[] =>
        params.map((q, j) =>
          j === k
            ? new Tensor(
                Float32Array.from(q.data, (a, i) => a + sgn * eps * v[i]),
                q.shape,
              )
            : q,
        );
      const [a, b] = [moved(1), moved(-1)];
      const fd = (loss(f32(a[0], a[1], a[2], a[3])).item() - loss(f32(b[0], b[1], b[2], b[3])).item()) / (2 * eps);
      let an = 0;
      for (let i = 0; i < v.length; i++) an += g8[k][i] * v[i];
      assert.ok(
        Math.abs(an - fd) / Math.abs(fd) < 0.03,
        `param ${k}${dispatch ? ' (dispatch)' : ''}: FP8 ${an} vs finite difference ${fd}`,
      );
    });
  }
});

test('dispatch: per-token 1x128 quantisation commutes with the row gather (quantise once before dispatch = per expert)', () => {
  const g = new Generator(5);
  const flat = randn([50, 300], { generator: g });
  const rows = new Tensor(Int32Array.from([7, 3, 3, 49, 0, 21]), [6], 'int32');
  const once = quantize(flat.data as Float32Array, 50, 300, { tile: TILE_ACT, scaleFmt: 'ue8m0' });
  const gathered = quantize(indexSelect(flat, 0, rows).data as Float32Array, 6, 300, {
    tile: TILE_ACT,
    scaleFmt: 'ue8m0',
  });
  rows.data.forEach((r, i) => {
    assert.deepEqual(gathered.codes.subarray(i * 300, (i + 1) * 300), once.codes.subarray(r * 300, (r + 1) * 300));
    assert.deepEqual(gathered.scales.subarray(i * 3, (i + 1) * 3), once.scales.subarray(r * 3, (r + 1) * 3));
  });
});

test('fp8SwigluMlp keeps FP8 x, h1, h3 and weights only: accounted and measured bytes', () => {
  const { x, w1, w2, w3 } = setup(6);
  let sv: Fp8SwigluSaved | null = null;
  fp8SwigluMlp(x, w1, w2, w3); // warm-up: one-time caches
  savedActivations.reset();
  const { bytes } = heldArrayBufferBytes(() => fp8SwigluMlp(x, w1, w2, w3, {}, 'e', { onSave: (s) => (sv = s) }));
  const s = sv as unknown as Fp8SwigluSaved;
  const st = savedActivations.get();
  assert.equal(st.calls, 3);
  assert.equal(st.elements, 2 * M * D + M * I);
  assert.equal(st.bytes, s.x.byteSize, 'Linear inputs: x once; w2 input recomputed');
  assert.equal(s.x.byteSize, M * D + M * 2 * 4);
  // held: the cached FP8 tensors (sv is alive too, it holds nothing else), the FP8 weights and the output y
  const expected =
    s.x.byteSize + s.h1.byteSize + s.h3.byteSize + s.w1.byteSize + s.w2.byteSize + s.w3.byteSize + M * D * 4;
  assert.ok(Math.abs(bytes - expected) < 1024, `held ${bytes} B, expected ${expected} B`);
  // the float32 MLP keeps x, h1, h3 and s: 4 B each
  const f32 = heldArrayBufferBytes(() => linear(swiglu(linear(x, w1), linear(x, w3)), w2)).bytes;
  assert.ok(Math.abs(f32 - (3 * M * I * 4 + M * D * 4)) < 1024, `float32 MLP held ${f32} B`);
});

test('fp8SwigluMlp rejects mismatched weights with errors that name them', () => {
  const { x, w1, w2, w3 } = setup(7);
  assert.throws(
    () => fp8SwigluMlp(x, w1, w1, w3),
    /fp8SwigluMlp: w2 must be \(160, 136\) for w1 \[136,160\], got \[136,160\]/,
  );
  assert.throws(() => fp8SwigluMlp(x, w1, w2, randn([10, D])), /fp8SwigluMlp: w1 \[136,160\] and w3 \[10,160\] differ/);
});
