/**
 * FP8 E4M3 / E5M2, BF16 and FP16 encode/decode: known values, every code of each format, ties to even at every
 * midpoint, subnormals, saturation, NaN; the fast float32 path against the exact reference; and an independent
 * oracle (ml_dtypes / numpy / torch, test/fixtures/fp8/make_oracle.py).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BF16,
  FP16,
  FP8_E4M3,
  FP8_E5M2,
  type FloatFormat,
  decodeFloat,
  decodeFloatArray,
  decodeUE8M0,
  encodeFloat,
  encodeFloatArray,
  encodeUE8M0,
  float32Bits,
  float32FromBits,
  roundToFormat,
  ue8m0Scale,
} from '../../src/tensor/formats.js';
import { loadSafetensors } from '../../src/io/safetensors.js';

const FORMATS: FloatFormat[] = [FP8_E4M3, FP8_E5M2, BF16, FP16];
const hex = (c: number): string => '0x' + c.toString(16);

function isNaNCode(c: number, f: FloatFormat): boolean {
  return Number.isNaN(decodeFloat(c, f));
}

/** Encodes with both paths (exact scalar, fast array on float32) and checks they agree. */
function enc(x: number, f: FloatFormat, saturate?: boolean): number {
  const exact = encodeFloat(x, f, { saturate });
  const fast = encodeFloatArray(new Float32Array([x]), f, { saturate })[0];
  if (Math.fround(x) === x || Number.isNaN(x))
    assert.equal(fast, exact, `${f.name}(${x}): fast ${hex(fast)} != exact ${hex(exact)}`);
  return exact;
}

test('known values, checked by hand against the format definitions', () => {
  const cases: [FloatFormat, number, number][] = [
    [FP8_E4M3, 448, 0x7e],
    [FP8_E4M3, -448, 0xfe],
    [FP8_E4M3, 2 ** -9, 0x01],
    [FP8_E4M3, 2 ** -6, 0x08],
    [FP8_E4M3, 1, 0x38],
    [FP8_E4M3, 1.125, 0x39],
    [FP8_E4M3, 0, 0x00],
    [FP8_E4M3, -0, 0x80],
    [FP8_E4M3, 240, 0x77],
    [FP8_E5M2, 57344, 0x7b],
    [FP8_E5M2, 2 ** -16, 0x01],
    [FP8_E5M2, 2 ** -14, 0x04],
    [FP8_E5M2, 1, 0x3c],
    [FP8_E5M2, -1.5, 0xbe],
    [FP8_E5M2, Infinity, 0x7c],
    [FP8_E5M2, -Infinity, 0xfc],
    [BF16, 1 / 3, 0x3eab],
    [BF16, 1, 0x3f80],
    [BF16, -2, 0xc000],
    [BF16, Infinity, 0x7f80],
    [FP16, 1 / 3, 0x3555],
    [FP16, 65504, 0x7bff],
    [FP16, 2 ** -24, 0x0001],
    [FP16, 1, 0x3c00],
    [FP16, -0, 0x8000],
    [FP16, 0.1, 0x2e66],
  ];
  for (const [f, x, code] of cases) assert.equal(hex(enc(x, f)), hex(code), `${f.name}(${x})`);
  assert.ok(Number.isNaN(decodeFloat(0x7f, FP8_E4M3)) && Number.isNaN(decodeFloat(0xff, FP8_E4M3)));
  assert.equal(decodeFloat(0x7e, FP8_E4M3), 448);
  assert.equal(decodeFloat(0x7c, FP8_E5M2), Infinity);
  assert.equal(decodeFloat(0x3eab, BF16), 0.333984375);
});

test('every FP8 code: decode then encode gives the same code (NaNs give a NaN code)', () => {
  for (const f of [FP8_E4M3, FP8_E5M2]) {
    const codes = new Uint8Array(256).map((_, i) => i);
    const values = decodeFloatArray(codes, f);
    const back = encodeFloatArray(values, f);
    let nans = 0;
    for (let c = 0; c < 256; c++) {
      const v = decodeFloat(c, f);
      assert.ok(Object.is(values[c], v) || (Number.isNaN(v) && Number.isNaN(values[c])), `${f.name} table ${hex(c)}`);
      if (Number.isNaN(v)) {
        nans++;
        assert.ok(isNaNCode(back[c], f) && isNaNCode(encodeFloat(v, f), f), `${f.name} NaN code ${hex(c)}`);
        assert.equal(back[c] >> 7, c >> 7, `${f.name} NaN ${hex(c)} keeps its sign through float32`);
      } else {
        assert.equal(back[c], c, `${f.name} ${hex(c)} = ${v} -> ${hex(back[c])}`);
        assert.equal(encodeFloat(v, f), c);
      }
    }
    assert.equal(nans, f === FP8_E4M3 ? 2 : 6, `${f.name} NaN count`);
  }
});

test('every BF16 and FP16 code: decode then encode gives the same code; BF16 decodes as the top half of a float32', () => {
  for (const f of [BF16, FP16]) {
    const codes = new Uint16Array(65536).map((_, i) => i);
    const values = decodeFloatArray(codes, f);
    const back = encodeFloatArray(values, f);
    for (let c = 0; c < 65536; c++) {
      const v = values[c];
      if (f === BF16) assert.ok(Object.is(v, float32FromBits(c << 16)) || Number.isNaN(v), `bf16 ${hex(c)}`);
      if (Number.isNaN(v)) assert.ok(isNaNCode(back[c], f), `${f.name} NaN ${hex(c)}`);
      else {
        if (back[c] !== c) assert.fail(`${f.name} ${hex(c)} = ${v} -> ${hex(back[c])}`);
        if (!Object.is(decodeFloat(c, f), v))
          assert.fail(`${f.name} ${hex(c)}: formula ${decodeFloat(c, f)} != table ${v}`);
      }
    }
  }
  // FP16 decode, independently: sign * 2^(e-15) * (1 + m/1024), subnormals m * 2^-24.
  for (const c of [0x0001, 0x03ff, 0x0400, 0x3bff, 0x3c01, 0x7bff, 0xfbff, 0x8001]) {
    const e = (c >> 10) & 0x1f;
    const m = c & 0x3ff;
    const mag = e === 0 ? m * 2 ** -24 : 2 ** (e - 15) * (1 + m / 1024);
    assert.equal(decodeFloat(c, FP16), c & 0x8000 ? -mag : mag, hex(c));
  }
});

test('ties round to even at every midpoint between adjacent codes; one float32 ulp either side does not', () => {
  for (const f of FORMATS) {
    const maxPos = f.maxCode;
    const xs: number[] = [];
    const want: number[] = [];
    for (let c = 0; c < maxPos; c++) {
      const lo = decodeFloat(c, f);
      const hi = decodeFloat(c + 1, f);
      const mid = (lo + hi) / 2;
      assert.equal(Math.fround(mid), mid, `${f.name} midpoint ${mid} must be a float32`);
      const below = float32FromBits(float32Bits(mid) - 1);
      const above = float32FromBits(float32Bits(mid) + 1);
      const even = c % 2 === 0 ? c : c + 1;
      for (const [x, code] of [
        [mid, even],
        [below, c],
        [above, c + 1],
        [-mid, even | (1 << (f.bits - 1))],
      ] as const) {
        xs.push(x);
        want.push(code);
      }
    }
    const fast = encodeFloatArray(new Float32Array(xs), f);
    for (let i = 0; i < xs.length; i++) {
      if (fast[i] !== want[i]) assert.fail(`${f.name} fast(${xs[i]}) = ${hex(fast[i])}, want ${hex(want[i])}`);
      const exact = encodeFloat(xs[i], f);
      if (exact !== want[i]) assert.fail(`${f.name} exact(${xs[i]}) = ${hex(exact)}, want ${hex(want[i])}`);
    }
  }
});

test('subnormals: E4M3 steps of 2^-9, E5M2 of 2^-16; half the smallest rounds to zero, 1.5x to 2 (even)', () => {
  for (const [f, tiny] of [
    [FP8_E4M3, 2 ** -9],
    [FP8_E5M2, 2 ** -16],
    [FP16, 2 ** -24],
    [BF16, 2 ** -133],
  ] as const) {
    const sub = (1 << f.manBits) - 1; // subnormal codes 1..2^m - 1
    for (let k = 1; k <= sub; k++) {
      assert.equal(enc(k * tiny, f), k, `${f.name} ${k} * tiny`);
      assert.equal(decodeFloat(k, f), k * tiny);
    }
    assert.equal(enc(tiny / 2, f), 0, `${f.name} tiny/2 ties to 0`);
    assert.equal(enc(-tiny / 2, f), 1 << (f.bits - 1), `${f.name} -tiny/2 is -0`);
    assert.equal(enc(tiny * 0.50001, f), 1);
    assert.equal(enc(tiny * 1.5, f), 2, `${f.name} 1.5 tiny ties to 2`);
    assert.equal(enc(tiny * 2.5, f), 2, `${f.name} 2.5 tiny ties to 2`);
    assert.equal(enc(tiny / 4, f), 0);
    // The largest subnormal plus half a step rounds up to the smallest normal (code 2^m).
    assert.equal(enc((sub + 0.5) * tiny, f), 1 << f.manBits);
  }
  assert.equal(enc(1e-45, FP8_E4M3), 0); // float32 subnormal input
  assert.equal(enc(2 ** -149, BF16), 0);
  assert.equal(enc(2 ** -134 * 3, BF16), 2); // 1.5 steps of 2^-133: tie to even
});

test('overflow: E4M3 saturates to 448 by default (NaN without), E5M2 overflows to inf by default (57344 with saturate)', () => {
  const e4 = (x: number, saturate?: boolean): string => hex(enc(x, FP8_E4M3, saturate));
  assert.equal(e4(463.99), '0x7e');
  assert.equal(e4(464), '0x7e'); // halfway to the would-be 480: ties to even 448
  assert.equal(e4(465), '0x7e');
  assert.equal(e4(1e30), '0x7e');
  assert.equal(e4(Infinity), '0x7e');
  assert.equal(e4(-Infinity), '0xfe');
  assert.equal(e4(-1e9), '0xfe');
  assert.equal(e4(464, false), '0x7e');
  assert.equal(e4(465, false), '0x7f');
  assert.equal(e4(Infinity, false), '0x7f');
  assert.equal(e4(-1e9, false), '0xff');
  const e5 = (x: number, saturate?: boolean): string => hex(enc(x, FP8_E5M2, saturate));
  assert.equal(e5(61439), '0x7b');
  assert.equal(e5(61440), '0x7c'); // tie between 57344 (odd mantissa) and 65536: even is the overflow, inf
  assert.equal(e5(-1e6), '0xfc');
  assert.equal(e5(61440, true), '0x7b');
  assert.equal(e5(Infinity, true), '0x7b');
  assert.equal(e5(-Infinity, true), '0xfb');
  assert.equal(hex(enc(65520, FP16)), '0x7c00');
  assert.equal(hex(enc(65519.99, FP16)), '0x7bff');
  assert.equal(hex(enc(65520, FP16, true)), '0x7bff');
  assert.equal(hex(enc(3.4028234663852886e38, BF16)), '0x7f80'); // float32 max rounds past the bf16 max
  assert.equal(hex(enc(3.4028234663852886e38, BF16, true)), '0x7f7f');
  assert.equal(decodeFloat(FP8_E4M3.maxCode, FP8_E4M3), FP8_E4M3.maxFinite);
  assert.equal(decodeFloat(FP8_E5M2.maxCode, FP8_E5M2), FP8_E5M2.maxFinite);
  assert.equal(decodeFloat(BF16.maxCode, BF16), BF16.maxFinite);
  assert.equal(decodeFloat(FP16.maxCode, FP16), FP16.maxFinite);
});

test('NaN encodes to NaN in every mode; the float32 path keeps the sign', () => {
  const negNaN = float32FromBits(0xffc00000);
  const bits = new Float32Array(2);
  new Uint32Array(bits.buffer).set([0x7fc00001, 0xffc00000]);
  for (const f of FORMATS) {
    for (const saturate of [true, false]) {
      assert.ok(isNaNCode(encodeFloat(NaN, f, { saturate }), f));
      const codes = encodeFloatArray(bits, f, { saturate });
      assert.equal(codes[0], f.nanCode, `${f.name} +NaN`);
      assert.equal(codes[1], f.nanCode | (1 << (f.bits - 1)), `${f.name} -NaN`);
    }
    assert.ok(Number.isNaN(negNaN));
  }
});

test('float64 input is rounded once (not via float32)', () => {
  const x = 1 + 2 ** -4 + 2 ** -30; // just above the 1 / 1.125 midpoint; as a float32 it is the midpoint itself
  assert.equal(Math.fround(x), 1.0625);
  assert.equal(encodeFloat(x, FP8_E4M3), 0x39);
  assert.equal(encodeFloatArray(new Float64Array([x]), FP8_E4M3)[0], 0x39);
  assert.equal(encodeFloatArray([x], FP8_E4M3)[0], 0x39);
  assert.equal(encodeFloatArray(new Float32Array([x]), FP8_E4M3)[0], 0x38);
});

test('fast float32 path equals the exact reference on 200k random bit patterns per format and mode', () => {
  let s = 12345;
  const n = 200_000;
  const u = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    u[i] = s ^ (s >>> 13) ^ Math.imul(i, 0x9e3779b1);
  }
  const x = new Float32Array(u.buffer);
  for (const f of FORMATS) {
    for (const saturate of [true, false]) {
      const fast = encodeFloatArray(x, f, { saturate });
      const rounded = roundToFormat(x, f, { saturate });
      const decoded = decodeFloatArray(fast, f);
      for (let i = 0; i < n; i++) {
        const exact = encodeFloat(x[i], f, { saturate });
        if (Number.isNaN(x[i])) {
          if (!isNaNCode(fast[i], f)) assert.fail(`${f.name}: NaN input gave ${hex(fast[i])}`);
          continue;
        }
        if (fast[i] !== exact)
          assert.fail(
            `${f.name} sat=${saturate} x=${x[i]} (bits ${hex(u[i])}): fast ${hex(fast[i])}, exact ${hex(exact)}`,
          );
        if (!Object.is(rounded[i], decoded[i]) && !Number.isNaN(decoded[i]))
          assert.fail(`roundToFormat ${f.name} x=${x[i]}`);
      }
    }
  }
});

test('independent oracle: ml_dtypes float8_e4m3fn / float8_e5m2 / bfloat16 and numpy float16 agree on every input', () => {
  const o = loadSafetensors(new URL('../fixtures/fp8/oracle.safetensors', import.meta.url).pathname);
  const x = o.get('x')!.data as Float32Array;
  assert.ok(x.length > 4000);
  const cases: [FloatFormat, string, boolean | undefined][] = [
    [FP8_E4M3, 'e4m3', false], // ml_dtypes does not saturate: overflow -> NaN
    [FP8_E5M2, 'e5m2', undefined],
    [BF16, 'bf16', undefined],
    [FP16, 'fp16', undefined],
  ];
  for (const [f, key, saturate] of cases) {
    const want = o.get(key)!.data;
    const got = encodeFloatArray(x, f, { saturate });
    let checked = 0;
    for (let i = 0; i < x.length; i++) {
      if (Number.isNaN(x[i])) {
        assert.ok(isNaNCode(got[i], f));
        continue;
      }
      if (got[i] !== want[i]) assert.fail(`${f.name}(${x[i]}): r1ts ${hex(got[i])}, oracle ${hex(want[i])}`);
      const exact = encodeFloat(x[i], f, { saturate });
      if (exact !== want[i]) assert.fail(`${f.name} exact(${x[i]}): r1ts ${hex(exact)}, oracle ${hex(want[i])}`);
      checked++;
    }
    assert.ok(checked > 4000, `${f.name}: ${checked} checked`);
  }
  // Saturating E4M3 = the oracle except that overflow gives +-448 instead of NaN.
  const sat = encodeFloatArray(x, FP8_E4M3);
  const want = o.get('e4m3')!.data;
  for (let i = 0; i < x.length; i++) {
    if (Number.isNaN(x[i])) continue;
    const w = (want[i] & 0x7f) === 0x7f ? (want[i] & 0x80) | 0x7e : want[i];
    if (sat[i] !== w) assert.fail(`e4m3 saturating(${x[i]}) = ${hex(sat[i])}, want ${hex(w)}`);
  }
  for (const [f, key] of [
    [FP8_E4M3, 'e4m3_decode'],
    [FP8_E5M2, 'e5m2_decode'],
  ] as const) {
    const table = o.get(key)!.data;
    const mine = decodeFloatArray(
      new Uint8Array(256).map((_, i) => i),
      f,
    );
    for (let c = 0; c < 256; c++) {
      assert.ok(
        Object.is(mine[c], table[c]) || (Number.isNaN(mine[c]) && Number.isNaN(table[c])),
        `${f.name} decode ${hex(c)}: ${mine[c]} vs ${table[c]}`,
      );
    }
  }
});

test('UE8M0 scales: 2^ceil(log2 s), exact at powers of two, and the byte form', () => {
  assert.equal(ue8m0Scale(1), 1);
  assert.equal(ue8m0Scale(3), 4);
  assert.equal(ue8m0Scale(4), 4);
  assert.equal(ue8m0Scale(4.000001), 8);
  assert.equal(ue8m0Scale(0.3), 0.5);
  assert.equal(ue8m0Scale(2 ** -10), 2 ** -10);
  assert.equal(ue8m0Scale(2 ** -10 * (1 + 2 ** -52)), 2 ** -9);
  assert.equal(ue8m0Scale(448 / 448), 1);
  let s = 1;
  for (let i = 0; i < 2000; i++) {
    s = (s * 1.37 + 0.011) % 97 || 0.5;
    const v = s * 2 ** ((i % 60) - 30);
    const p = ue8m0Scale(v);
    assert.ok(p >= v && p < 2 * v, `${v} -> ${p}`);
    assert.equal(2 ** Math.round(Math.log2(p)), p, `${p} is a power of two`);
  }
  assert.equal(encodeUE8M0(1), 127);
  assert.equal(encodeUE8M0(3), 129);
  assert.equal(encodeUE8M0(2 ** -127), 0);
  assert.equal(decodeUE8M0(129), 4);
  assert.ok(Number.isNaN(decodeUE8M0(255)));
  for (const bad of [0, -1, NaN, Infinity])
    assert.throws(() => ue8m0Scale(bad), /ue8m0Scale: scale must be positive and finite/);
  assert.throws(() => encodeUE8M0(2 ** 200), /outside the UE8M0 range/);
  assert.throws(() => decodeUE8M0(256), /not a byte/);
});

test('array helpers check the output length and write in place', () => {
  const x = new Float32Array([1, 2, 3]);
  assert.throws(() => encodeFloatArray(x, FP8_E4M3, { out: new Uint8Array(2) }), /out has 2 elements, src 3/);
  assert.throws(
    () => decodeFloatArray(new Uint8Array(3), FP8_E4M3, new Float32Array(4)),
    /out has 4 elements, codes 3/,
  );
  const y = new Float32Array([0.3, 500, -1e-9]);
  roundToFormat(y, FP8_E4M3, { out: y });
  assert.deepEqual([...y], [0.3125, 448, -0]);
});
