/**
 * E5M6 (12 bits: 1 sign, 5 exponent with bias 15, 6 mantissa; subnormals; IEEE inf/NaN; saturating at 65024 by
 * default): known values, all 4096 codes round-tripping, the fast float32 path against the exact encoder, both against
 * an independent brute-force oracle (nearest of all finite codes, ties to the even code) on a sweep of every midpoint
 * and its float32 neighbours; 2-in-3-bytes packing; tile quantisation with power-of-2 scales and exact re-tiling.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  E5M6,
  decodeFloat,
  encodeFloat,
  encodeFloatArray,
  decodeFloatArray,
  packCodes12,
  unpackCodes12,
  packedBytes12,
} from '../../src/tensor/formats.js';
import { E5M6Matrix, dequantizeE5M6, quantizeE5M6 } from '../../src/fp8/quant.js';
import { Generator } from '../../src/index.js';

const hex = (c: number): string => '0x' + c.toString(16);
const MAXC = E5M6.maxCode; // 0x7bf

/** Both encoders on one value; they must agree on float32-representable inputs. */
function enc(x: number, saturate?: boolean): number {
  const exact = encodeFloat(x, E5M6, { saturate });
  const fast = encodeFloatArray(new Float32Array([x]), E5M6, { saturate })[0];
  if (Math.fround(x) === x || Number.isNaN(x))
    assert.equal(fast, exact, `e5m6(${x}): fast ${hex(fast)} != exact ${hex(exact)}`);
  return exact;
}

/** The independent oracle: the nearest finite code by exhaustive search, ties to the even code; overflow per IEEE RNE. */
const VALUES = Array.from({ length: MAXC + 1 }, (_, c) => decodeFloat(c, E5M6));
function oracle(x: number, saturate = true): number {
  if (Number.isNaN(x)) return E5M6.nanCode;
  const sign = x < 0 || Object.is(x, -0) ? 0x800 : 0;
  const a = Math.abs(x);
  const top = E5M6.maxFinite + 2 ** (15 - 6) / 2; // max + half an ulp: the tie rounds to 2^16 (even), i.e. overflows
  if (a >= top) return sign | (saturate ? MAXC : E5M6.infCode);
  let best = 0;
  for (let c = 1; c <= MAXC; c++) {
    const d = Math.abs(VALUES[c] - a);
    const db = Math.abs(VALUES[best] - a);
    if (d < db || (d === db && c % 2 === 0)) best = c;
  }
  return sign | best;
}

test('E5M6 known values, checked by hand', () => {
  const cases: [number, number][] = [
    [1, 0x3c0],
    [1 + 1 / 64, 0x3c1],
    [-2, 0xc00],
    [65024, 0x7bf],
    [2 ** -14, 0x040],
    [2 ** -20, 0x001],
    [0, 0],
    [-0, 0x800],
    [1.5, 0x3e0],
    [0.1, 0x2e6] /* 1.59375 x 2^-4 */,
    [65280, 0x7bf] /* saturates */,
    [65279, 0x7bf],
    [2 ** -21, 0] /* tie to even: 0 */,
    [3 * 2 ** -21, 0x002] /* tie between 1 and 2 ulps: even */,
  ];
  for (const [x, code] of cases) assert.equal(hex(enc(x)), hex(code), `e5m6(${x})`);
  assert.equal(hex(enc(Infinity)), hex(0x7bf), 'saturates by default');
  assert.equal(hex(enc(Infinity, false)), hex(0x7c0));
  assert.equal(hex(enc(70000, false)), hex(0x7c0));
  assert.equal(hex(enc(-Infinity, false)), hex(0xfc0));
  assert.ok(Number.isNaN(decodeFloat(enc(NaN), E5M6)));
  assert.equal(decodeFloat(0x7bf, E5M6), 65024);
  assert.equal(decodeFloat(0x001, E5M6), 2 ** -20);
  assert.equal(decodeFloat(0x7c0, E5M6), Infinity);
  assert.equal(decodeFloat(0xfc0, E5M6), -Infinity);
});

test('every one of the 4096 codes: decode then encode gives the code back (both encoders); values increase with the code', () => {
  const all = new Uint16Array(4096).map((_, c) => c);
  const dec = decodeFloatArray(all, E5M6);
  for (let c = 0; c < 4096; c++) {
    const v = decodeFloat(c, E5M6);
    const isNan = Number.isNaN(v);
    assert.equal(Number.isNaN(dec[c]), isNan, `code ${hex(c)} table vs formula`);
    if (isNan) {
      assert.ok((c & 0x7c0) === 0x7c0 && (c & 0x3f) !== 0, `${hex(c)} decodes to NaN but is not a NaN code`);
      continue;
    }
    assert.equal(dec[c], v, `code ${hex(c)}: table ${dec[c]} vs formula ${v}`);
    assert.equal(enc(v, false), c, `code ${hex(c)} (${v})`);
    if ((c & 0x7ff) > 0 && (c & 0x7ff) <= 0x7c0)
      assert.ok(Math.abs(v) > Math.abs(decodeFloat(c - 1, E5M6)), `not increasing at ${hex(c)}`);
  }
});

test('both encoders equal the brute-force oracle at every midpoint, its float32 neighbours, and random values', () => {
  const xs: number[] = [];
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  const neighbours = (v: number): number[] => {
    f32[0] = v;
    const b = u32[0];
    const out = [f32[0]];
    u32[0] = b + 1;
    out.push(f32[0]);
    u32[0] = b - 1;
    out.push(f32[0]);
    return out;
  };
  for (let c = 0; c < MAXC; c++) {
    const mid = (VALUES[c] + VALUES[c + 1]) / 2; // exact in float32 (E5M6 values have 7 significant bits)
    xs.push(...neighbours(mid), ...neighbours(VALUES[c]));
  }
  xs.push(...neighbours(E5M6.maxFinite + 256), ...neighbours(E5M6.maxFinite), 1e30, 2 ** -30, 2 ** -126);
  const g = new Generator(5);
  const u = g.uniform(4000, 'float64');
  for (let i = 0; i < 2000; i++) xs.push(Math.fround((u[2 * i] * 2 - 1) * 2 ** (Math.floor(u[2 * i + 1] * 50) - 25)));
  const fast = encodeFloatArray(Float32Array.from(xs.flatMap((x) => [x, -x])), E5M6);
  let k = 0;
  for (const x of xs) {
    for (const s of [x, -x]) {
      const want = oracle(s);
      assert.equal(hex(encodeFloat(s, E5M6)), hex(want), `exact encoder at ${s}`);
      assert.equal(hex(fast[k++]), hex(want), `fast encoder at ${s}`);
    }
  }
  assert.ok(xs.length > 12000);
});

test('12-bit packing: two codes in three bytes, odd lengths, round trip', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(packedBytes12), [0, 2, 3, 5, 6, 8]);
  assert.deepEqual(Array.from(packCodes12(Uint16Array.from([0xabc, 0x123]))), [0xbc, 0x3a, 0x12]);
  const g = new Generator(6);
  for (const n of [0, 1, 2, 3, 7, 128, 129]) {
    const codes = Uint16Array.from(g.uniform(n, 'float64'), (v) => Math.floor(v * 4096));
    const packed = packCodes12(codes);
    assert.equal(packed.length, packedBytes12(n));
    assert.deepEqual(unpackCodes12(packed, n), codes);
  }
  assert.throws(() => unpackCodes12(new Uint8Array(4), 3), /4 bytes do not hold 3 codes/);
});

test('quantizeE5M6: 1x128 tiles, power-of-2 scales, error <= 2^-7 relative, 1.5 B/element + 1 B/scale; re-tiling is exact', () => {
  const g = new Generator(7);
  const [rows, cols] = [130, 300]; // edge tiles both ways
  const x = g.normal(rows * cols, 'float32') as Float32Array;
  for (let i = 0; i < cols; i++) x[5 * cols + i] *= 1000; // an outlier row
  const q = quantizeE5M6(x, rows, cols);
  assert.ok(q instanceof E5M6Matrix);
  assert.deepEqual([q.tileRows, q.tileCols], [1, 128]);
  assert.equal(q.scales.length, rows * 3);
  for (const s of q.scales) assert.equal(2 ** Math.round(Math.log2(s)), s, `scale ${s} is not a power of 2`);
  assert.equal(q.byteSize, Math.ceil((rows * cols * 3) / 2) + rows * 3);
  const v = dequantizeE5M6(q);
  for (let i = 0; i < x.length; i++) {
    const s = q.scales[Math.floor(i / cols) * 3 + Math.floor((i % cols) / 128)];
    if (Math.abs(x[i]) / s >= 2 ** -14)
      assert.ok(Math.abs(v[i] - x[i]) <= Math.abs(x[i]) * 2 ** -7, `element ${i}: ${x[i]} -> ${v[i]}`);
  }
  // the tile amax lands in the top binade: [2^15, 65024] after scaling
  for (let r = 0; r < rows; r++) {
    let amax = 0;
    for (let c = 0; c < 128; c++) amax = Math.max(amax, Math.abs(v[r * cols + c]));
    const scaled = amax / q.scales[r * 3];
    assert.ok(scaled >= 2 ** 14 && scaled <= 65024, `row ${r}: amax / scale = ${scaled}`);
  }
  // re-tiling 1x128 -> 128x1 with power-of-2 scales adds no error (values stay in E5M6's normal range here)
  const rt = dequantizeE5M6(quantizeE5M6(v, rows, cols, [128, 1]));
  assert.deepEqual(rt, v);
});
