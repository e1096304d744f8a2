/**
 * Fine-grained quantisation (SPEC §2 checks): tile round-trip error and amax -> +-448, edge tiles, the amax floor,
 * outlier isolation (1x128 tiles vs a per-tensor scale), UE8M0 scales, exact re-tiling 1x128 <-> 128x1 with power-of-2
 * scales (and not with float32 scales), exact transposes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator } from '../../src/index.js';
import { FP8_E4M3, decodeFloat, decodeUE8M0, encodeUE8M0 } from '../../src/tensor/formats.js';
import {
  AMAX_FLOOR,
  type QuantizedMatrix,
  TILE_ACT,
  TILE_ACT_T,
  TILE_WEIGHT,
  dequantize,
  quantize,
  retile,
  transposeQuantized,
} from '../../src/fp8/quant.js';

/** Normal values whose magnitude varies by orders of magnitude between tiles and inside them. */
function wideData(rows: number, cols: number, seed: number): Float32Array {
  const g = new Generator(seed);
  const n = g.normal(rows * cols, 'float64');
  const e = g.normal(rows * cols, 'float64');
  return Float32Array.from(n, (v, i) => v * Math.exp(2 * e[i]));
}

/** Max-abs of every tile of a (rows, cols) matrix. */
function tileAmax(x: Float32Array, rows: number, cols: number, tr: number, tc: number): Map<number, number> {
  const m = new Map<number, number>();
  const sc = Math.ceil(cols / tc);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const t = Math.floor(r / tr) * sc + Math.floor(c / tc);
      m.set(t, Math.max(m.get(t) ?? 0, Math.abs(x[r * cols + c])));
    }
  }
  return m;
}

function checkRoundTrip(x: Float32Array, rows: number, cols: number, tile: readonly [number, number]): void {
  const q = quantize(x, rows, cols, { tile });
  assert.equal(
    q.scales.length,
    Math.ceil(rows / tile[0]) * Math.ceil(cols / tile[1]),
    'one scale per tile, edge tiles included',
  );
  const y = dequantize(q);
  const amax = tileAmax(x, rows, cols, tile[0], tile[1]);
  let checked = 0;
  let worst = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      const t = Math.floor(r / tile[0]) * q.scaleCols + Math.floor(c / tile[1]);
      const a = amax.get(t)!;
      const code = q.codes[i];
      assert.ok(Math.abs(decodeFloat(code, FP8_E4M3)) <= 448, 'codes stay within +-448');
      if (Math.abs(x[i]) === a) {
        // the tile's amax maps exactly to +-448
        assert.equal(
          decodeFloat(code, FP8_E4M3),
          Math.sign(x[i]) * 448,
          `amax of tile ${t} -> ${decodeFloat(code, FP8_E4M3)}`,
        );
      }
      if ((Math.abs(x[i]) * 448) / a >= 2 ** -6) {
        worst = Math.max(worst, Math.abs(y[i] - x[i]) / Math.abs(x[i]));
        checked++;
      }
    }
  }
  assert.ok(checked > rows * cols * 0.5, `most elements are in the normal range (${checked})`);
  assert.ok(worst <= 2 ** -4 * (1 + 1e-6), `max relative error ${worst} > 2^-4`);
  assert.ok(worst > 2 ** -6, `the error is that of a 3-bit mantissa, not zero (${worst})`);
}

test('1x128 activation tiles: relative error <= 2^-4 in the normal range, amax -> +-448, edge tiles', () => {
  checkRoundTrip(wideData(5, 300, 1), 5, 300, TILE_ACT); // 300 = 2 full tiles + one of 44
});

test('128x128 weight blocks: the same bounds, partial edge blocks', () => {
  checkRoundTrip(wideData(200, 150, 2), 200, 150, TILE_WEIGHT); // 2 x 2 blocks, three of them partial
});

test('128x1 tiles and one-tile-per-matrix shapes work too', () => {
  checkRoundTrip(wideData(260, 3, 3), 260, 3, TILE_ACT_T);
  const q = quantize(wideData(3, 7, 4), 3, 7, { tile: [1000, 1000] });
  assert.equal(q.scales.length, 1);
  assert.deepEqual([q.tileRows, q.tileCols], [3, 7]);
});

test('the scale is float32(amax / 448) with amax floored at 1e-4 (all-zero tiles give zeros, not NaN)', () => {
  const x = new Float32Array(256);
  x[5] = -3.5;
  const q = quantize(x, 1, 256, { tile: TILE_ACT });
  assert.equal(q.scales[0], Math.fround(3.5 / 448));
  assert.equal(q.scales[1], Math.fround(Math.fround(AMAX_FLOOR) / 448));
  assert.ok(
    dequantize(q).every((v, i) => v === x[i]),
    'zeros and the single value come back exactly',
  );
});

test('a 1e3x outlier in one tile leaves every other tile unchanged; a per-tensor scale fails that', () => {
  const rows = 4;
  const cols = 512;
  const g = new Generator(5);
  const x = g.normal(rows * cols, 'float32') as Float32Array;
  const at = 1 * cols + 200; // row 1, tile 1
  const tileOf = (i: number): number => Math.floor(i / cols) * 4 + Math.floor((i % cols) / 128);
  const relErr = (a: Float32Array, ref: Float32Array, skipTile: number): number => {
    let s = 0;
    let n = 0;
    for (let i = 0; i < ref.length; i++) {
      if (tileOf(i) === skipTile) continue;
      s += Math.abs(a[i] - ref[i]) / Math.abs(ref[i]);
      n++;
    }
    return s / n;
  };
  const y = Float32Array.from(x);
  let amax = 0;
  for (const v of x) amax = Math.max(amax, Math.abs(v));
  y[at] = 1e3 * amax;

  const tiled0 = dequantize(quantize(x, rows, cols, { tile: TILE_ACT }));
  const tiled1 = dequantize(quantize(y, rows, cols, { tile: TILE_ACT }));
  for (let i = 0; i < x.length; i++) {
    if (tileOf(i) !== tileOf(at)) assert.equal(tiled1[i], tiled0[i], `element ${i} outside the outlier's tile changed`);
  }
  const fine = relErr(tiled1, x, tileOf(at));

  const tensor0 = dequantize(quantize(x, rows, cols, { tile: [rows, cols] }));
  const tensor1 = dequantize(quantize(y, rows, cols, { tile: [rows, cols] }));
  const before = relErr(tensor0, x, tileOf(at));
  const after = relErr(tensor1, x, tileOf(at));
  assert.ok(Math.abs(before - fine) < 0.01, `without the outlier both are plain E4M3 rounding (${before} vs ${fine})`);
  // per-tensor: the outlier pushes every other value 2^10 down the E4M3 range, into fewer mantissa bits
  let moved = 0;
  for (let i = 0; i < x.length; i++) if (tileOf(i) !== tileOf(at) && tensor1[i] !== tensor0[i]) moved++;
  assert.ok(moved > 0.3 * x.length, `per-tensor scaling changed only ${moved} of the other elements`);
  assert.ok(
    after > 1.3 * fine,
    `per-tensor scaling: other tiles' mean error ${after} should grow well above the tiled ${fine}`,
  );
});

test('UE8M0 scales are powers of two and still bound the error', () => {
  const x = wideData(6, 260, 6);
  const q = quantize(x, 6, 260, { tile: TILE_ACT, scaleFmt: 'ue8m0' });
  const f = quantize(x, 6, 260, { tile: TILE_ACT });
  for (let t = 0; t < q.scales.length; t++) {
    const s = q.scales[t];
    assert.ok(Number.isInteger(Math.log2(s)), `scale ${s} is not a power of two`);
    assert.equal(decodeUE8M0(encodeUE8M0(s)), s);
    assert.ok(s >= f.scales[t] && s < 2 * f.scales[t], 'rounded up from amax/448');
  }
  const y = dequantize(q);
  for (let i = 0; i < x.length; i++) {
    const s = q.scaleAt(Math.floor(i / 260), i % 260);
    if (Math.abs(x[i]) / s >= 2 ** -6) assert.ok(Math.abs(y[i] - x[i]) <= 2 ** -4 * Math.abs(x[i]) * (1 + 1e-6));
  }
  assert.equal(q.byteSize, x.length + q.scales.length, 'UE8M0 scales are one byte each');
});

/** Elements of `q` whose value is in the normal E4M3 range of its tile. */
function normalInTile(q: QuantizedMatrix, v: Float32Array, i: number): boolean {
  return Math.abs(v[i]) / q.scaleAt(Math.floor(i / q.cols), i % q.cols) >= 2 ** -6;
}

test('re-tiling 1x128 <-> 128x1 adds no error with UE8M0 scales (normal range), but does with float32 scales', () => {
  const T = 300;
  const C = 260;
  const g = new Generator(7);
  const x = g.normal(T * C, 'float32') as Float32Array;
  for (const scaleFmt of ['ue8m0', 'fp32'] as const) {
    const rowwise = quantize(x, T, C, { tile: TILE_ACT, scaleFmt });
    const v0 = dequantize(rowwise);
    const colwise = retile(rowwise, TILE_ACT_T);
    assert.deepEqual([colwise.tileRows, colwise.tileCols], [128, 1]);
    const v1 = dequantize(colwise);
    const back = dequantize(retile(colwise, TILE_ACT));
    let changed = 0;
    let checked = 0;
    for (let i = 0; i < x.length; i++) {
      if (!normalInTile(colwise, v0, i)) continue;
      checked++;
      if (v1[i] !== v0[i] || back[i] !== v0[i]) changed++;
    }
    assert.ok(checked > 0.9 * x.length, `${checked} of ${x.length} elements checked`);
    if (scaleFmt === 'ue8m0')
      assert.equal(changed, 0, `${changed} elements changed by re-tiling with power-of-2 scales`);
    else
      assert.ok(changed > 0.1 * checked, `float32 scales round again when re-tiled (${changed} of ${checked} changed)`);
  }
});

test('transposeQuantized is exact: the transpose of the values, tiles transposed', () => {
  const x = wideData(130, 70, 8);
  const q = quantize(x, 130, 70, { tile: TILE_ACT_T });
  const t = transposeQuantized(q);
  assert.deepEqual([t.rows, t.cols, t.tileRows, t.tileCols], [70, 130, 1, 128]);
  const v = dequantize(q);
  const vt = dequantize(t);
  for (let r = 0; r < 130; r++) for (let c = 0; c < 70; c++) assert.equal(vt[c * 130 + r], v[r * 70 + c]);
});

test('errors name the problem', () => {
  assert.throws(
    () => quantize(new Float32Array(4), 2, 2, { tile: [0, 128] }),
    /quantize: tile must be two positive integers/,
  );
  assert.throws(() => quantize(new Float32Array(5), 2, 2, { tile: TILE_ACT }), /5 values do not fill 2x2/);
});
