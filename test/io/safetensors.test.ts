/**
 * Safetensors read/write: round trips, files written by the reference library (test/fixtures/safetensors), the
 * writer's bytes against the reference writer's, FP8 block dequantisation, and hostile files (each a crafted file that
 * must give a one-line SafetensorsError naming the file and the problem).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Tensor, tensor, randn, Generator } from '../../src/index.js';
import { BF16, FP16, FP8_E4M3, decodeFloat, encodeFloatArray, roundToFormat } from '../../src/tensor/formats.js';
import {
  SafetensorsError,
  type SafetensorsDtype,
  dequantizeBlockwise,
  loadSafetensors,
  readSafetensorsHeader,
  saveSafetensors,
  serializeSafetensors,
} from '../../src/io/safetensors.js';

const FIXTURES = new URL('../fixtures/safetensors/', import.meta.url).pathname;

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'r1ts-st-'));
}

/** A safetensors file from a header (object or raw text), data bytes, and optionally a forged header length. */
function craft(header: unknown, data: Uint8Array = new Uint8Array(0), opts: { length?: bigint } = {}): Uint8Array {
  const body = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + body.length + data.length);
  new DataView(out.buffer).setBigUint64(0, opts.length ?? BigInt(body.length), true);
  out.set(body, 8);
  out.set(data, 8 + body.length);
  return out;
}

/** Asserts loading `bytes` (written to a file named `name`) fails with a one-line error matching `re`. */
function assertHostile(bytes: Uint8Array, re: RegExp, name = 'model.safetensors'): SafetensorsError {
  const dir = tmpDir();
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  let err: unknown = null;
  try {
    loadSafetensors(file);
  } catch (e) {
    err = e;
  }
  fs.rmSync(dir, { recursive: true, force: true });
  assert.ok(err instanceof SafetensorsError, `expected a SafetensorsError, got ${String(err)}`);
  assert.match(err.message, re);
  assert.ok(err.message.startsWith('safetensors: '), err.message);
  assert.ok(err.message.endsWith(`(${file})`), `names the file: ${err.message}`);
  assert.ok(!err.message.includes('\n'), 'one line');
  assert.throws(
    () => loadSafetensors(bytes, { name: 'mem' }),
    (e: unknown) => e instanceof SafetensorsError && re.test(e.message),
  );
  return err;
}

const f32 = (n: number): Uint8Array => new Uint8Array(4 * n);
const entry = (dtype: string, shape: unknown, offsets: unknown): unknown => ({ dtype, shape, data_offsets: offsets });

test('round trip: float32, float64, int32, bool, scalar and empty tensors; values and shapes preserved', () => {
  const g = new Generator(3);
  const tensors = new Map<string, Tensor>([
    ['layers.0.w', randn([3, 5], { generator: g })],
    ['b', tensor([1.5, -2, 1e-30])],
    [
      'ids',
      tensor(
        [
          [1, -2],
          [2147483647, -2147483648],
        ],
        { dtype: 'int32' },
      ),
    ],
    ['mask', tensor([true, false, true])],
    ['scalar', new Tensor(new Float32Array([7]), [])],
    ['empty', new Tensor(new Float32Array(0), [0, 4])],
    ['d', new Tensor(new Float64Array([1 / 3, 1e300]), [2])],
  ]);
  const dir = tmpDir();
  const file = path.join(dir, 'a.safetensors');
  saveSafetensors(file, tensors, { metadata: { step: '12' } });
  assert.deepEqual(fs.readdirSync(dir), ['a.safetensors'], 'no temporary file left behind');
  const back = loadSafetensors(file);
  assert.deepEqual([...back.keys()], [...tensors.keys()].sort());
  for (const [name, t] of tensors) {
    const b = back.get(name)!;
    assert.deepEqual(b.shape, t.shape, name);
    if (name === 'd') {
      assert.equal(b.dtype, 'float32'); // float64 is written as F32 unless asked
      assert.deepEqual([...b.data], [Math.fround(1 / 3), Infinity]);
    } else {
      assert.equal(b.dtype, t.dtype, name);
      assert.deepEqual([...b.data], [...t.data], name);
    }
  }
  assert.deepEqual(readSafetensorsHeader(file).metadata, { step: '12' });
  const d64 = loadSafetensors(serializeSafetensors(tensors, { dtype: 'F64' })).get('d')!;
  assert.equal(d64.dtype, 'float64');
  assert.deepEqual([...d64.data], [1 / 3, 1e300]);
  fs.rmSync(dir, { recursive: true });
});

test('BF16 and F16 storage: values come back rounded to the format; per-tensor dtype choice', () => {
  const x = randn([4, 33], { generator: new Generator(5) });
  x.data[0] = 1 / 3;
  x.data[1] = 1e5; // overflows F16 to inf
  const m = new Map([
    ['x', x],
    ['y', x],
  ]);
  const bytes = serializeSafetensors(m, { dtype: (n) => (n === 'x' ? 'BF16' : 'F16') });
  const h = readSafetensorsHeader(bytes);
  assert.deepEqual(
    h.tensors.map((e) => [e.name, e.dtype]),
    [
      ['x', 'BF16'],
      ['y', 'F16'],
    ],
  );
  const back = loadSafetensors(bytes);
  assert.deepEqual([...back.get('x')!.data], [...roundToFormat(x.data as Float32Array, BF16)]);
  assert.deepEqual([...back.get('y')!.data], [...roundToFormat(x.data as Float32Array, FP16)]);
  assert.equal(back.get('x')!.data[0], 0.333984375);
  assert.equal(back.get('y')!.data[1], Infinity);
  assert.throws(
    () => serializeSafetensors(m, { dtype: 'F8_E4M3' as never }),
    /cannot write float tensor "x" as F8_E4M3/,
  );
});

test('reads every dtype of a file written by the reference safetensors library', () => {
  const file = path.join(FIXTURES, 'reference.safetensors');
  const t = loadSafetensors(file, { dequantize: false });
  const vals = (n: string): number[] => [...t.get(n)!.data];
  const dt = (n: string): string => `${t.get(n)!.dtype} ${JSON.stringify(t.get(n)!.shape)}`;
  assert.equal(dt('f32'), 'float32 [3,5]');
  assert.deepEqual(vals('f32').slice(0, 5), [0.5, -1.25, 3, Math.fround(1e-3), -7.5]);
  assert.ok(Object.is(t.get('f32')!.data[7], -0));
  assert.equal(dt('f64'), 'float64 [4]');
  assert.deepEqual(vals('f64'), [1 / 3, -2.5, 1e300, 5e-324]);
  assert.equal(dt('f16'), 'float32 [2,3]');
  assert.deepEqual(vals('f16').slice(0, 3), [0.333251953125, -65504, 5.960464477539063e-8]);
  assert.equal(dt('bf16'), 'float32 [2,2]');
  assert.deepEqual(vals('bf16').slice(0, 2), [0.333984375, -3.00405527047391e38]);
  assert.deepEqual(vals('e4m3'), [448, -448, 2 ** -9, 1, 0.3125, -16, 2 ** -6, 0]);
  assert.deepEqual(vals('e5m2'), [57344, -(2 ** -16), 1.5, -Infinity]);
  assert.equal(dt('i64'), 'int32 [5]');
  assert.deepEqual(vals('i64'), [0, -1, 2147483647, -2147483648, 12345]);
  assert.deepEqual(vals('i32'), [7, -8, 2147483647, -2147483648]);
  assert.deepEqual(vals('i16'), [-32768, 32767, 5]);
  assert.deepEqual(vals('i8'), [-128, 127]);
  assert.deepEqual(vals('u8'), [0, 1, 255, 128]);
  assert.deepEqual(vals('u16'), [65535, 0]);
  assert.deepEqual(vals('u32'), [2147483647, 3]);
  assert.deepEqual(vals('u64'), [2147483647, 0]);
  assert.equal(dt('mask'), 'bool [2,3]');
  assert.deepEqual(vals('mask'), [1, 0, 1, 0, 0, 1]);
  assert.equal(dt('scalar'), 'float32 []');
  assert.deepEqual(vals('scalar'), [2.5]);
  assert.equal(dt('empty'), 'float32 [0,3]');
  assert.deepEqual(readSafetensorsHeader(file).metadata, { format: 'pt' });
});

test('the writer reproduces the reference library bytes exactly (order, header, padding, data)', () => {
  const file = path.join(FIXTURES, 'writable.safetensors');
  const ref = new Uint8Array(fs.readFileSync(file));
  const dtypes = new Map(readSafetensorsHeader(file).tensors.map((e) => [e.name, e.dtype]));
  assert.ok(new Set(dtypes.values()).size >= 5);
  const tensors = loadSafetensors(file);
  // Insert in a scrambled order: the writer must not depend on it.
  const scrambled = new Map([...tensors].reverse());
  const mine = serializeSafetensors(scrambled, {
    dtype: (n) => dtypes.get(n) as 'F32' | 'BF16' | 'F16',
    metadata: { format: 'pt' },
  });
  assert.equal(mine.length, ref.length);
  const diff = mine.findIndex((b, i) => b !== ref[i]);
  assert.equal(diff, -1, `first differing byte at ${diff}`);
});

/** Straightforward DeepSeek-V3 block quantisation of a (R, C) float32 weight: returns codes and the block scales. */
function quantizeBlocks(
  w: Float32Array,
  rows: number,
  cols: number,
  b: number,
): { codes: Uint8Array; scale: Float32Array } {
  const sr = Math.ceil(rows / b);
  const sc = Math.ceil(cols / b);
  const scale = new Float32Array(sr * sc);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const k = Math.floor(i / b) * sc + Math.floor(j / b);
      scale[k] = Math.max(scale[k], Math.abs(w[i * cols + j]));
    }
  }
  for (let k = 0; k < scale.length; k++) scale[k] = Math.max(scale[k], 1e-4) / 448;
  const scaled = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++)
      scaled[i * cols + j] = w[i * cols + j] / scale[Math.floor(i / b) * sc + Math.floor(j / b)];
  }
  return { codes: encodeFloatArray(scaled, FP8_E4M3), scale };
}

/** A file with an F8_E4M3 weight, its F32 `_scale_inv`, and an unrelated tensor. */
function fp8File(codes: Uint8Array, rows: number, cols: number, scale: Float32Array, sshape: number[]): Uint8Array {
  const sbytes = new Uint8Array(scale.buffer.slice(0));
  const header = {
    __metadata__: { format: 'pt' },
    'l.weight_scale_inv': entry('F32', sshape, [0, sbytes.length]),
    'norm.weight': entry('F32', [2], [sbytes.length, sbytes.length + 8]),
    'l.weight': entry('F8_E4M3', [rows, cols], [sbytes.length + 8, sbytes.length + 8 + codes.length]),
  };
  const data = new Uint8Array(sbytes.length + 8 + codes.length);
  data.set(sbytes, 0);
  data.set(new Uint8Array(new Float32Array([1, 2]).buffer), sbytes.length);
  data.set(codes, sbytes.length + 8);
  return craft(header, data);
}

test('FP8 weights with 128x128 block scales dequantise on load (130x200: partial edge blocks), scale dropped', () => {
  const rows = 130;
  const cols = 200;
  const w = randn([rows, cols], { generator: new Generator(11) }).data as Float32Array;
  for (let i = 0; i < 128; i++) for (let j = 128; j < cols; j++) w[i * cols + j] *= 1000; // one outlier block
  const { codes, scale } = quantizeBlocks(w, rows, cols, 128);
  const bytes = fp8File(codes, rows, cols, scale, [2, 2]);
  const t = loadSafetensors(bytes);
  assert.deepEqual([...t.keys()], ['l.weight', 'norm.weight']);
  const deq = t.get('l.weight')!;
  assert.equal(deq.dtype, 'float32');
  assert.deepEqual(deq.shape, [rows, cols]);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const want = Math.fround(
        decodeFloat(codes[i * cols + j], FP8_E4M3) * scale[Math.floor(i / 128) * 2 + Math.floor(j / 128)],
      );
      if (deq.data[i * cols + j] !== want) assert.fail(`(${i},${j}): ${deq.data[i * cols + j]} != ${want}`);
      // And it approximates the original weight to E4M3 precision (relative 2^-4 in the normal range).
      const orig = w[i * cols + j];
      const s = scale[Math.floor(i / 128) * 2 + Math.floor(j / 128)];
      if (Math.abs(orig / s) >= 2 ** -6)
        assert.ok(Math.abs(deq.data[i * cols + j] - orig) <= 2 ** -4 * Math.abs(orig), `(${i},${j})`);
    }
  }
  // dequantize: false keeps the raw FP8 values (unscaled) and the scale.
  const raw = loadSafetensors(bytes, { dequantize: false });
  assert.deepEqual([...raw.keys()], ['l.weight', 'l.weight_scale_inv', 'norm.weight']);
  assert.equal(raw.get('l.weight')!.data[5], decodeFloat(codes[5], FP8_E4M3));
  assert.deepEqual([...raw.get('l.weight_scale_inv')!.data], [...scale]);
  // A filter that selects the weight still reads its scale for dequantisation, and returns only the weight.
  const only = loadSafetensors(bytes, { filter: (n) => n === 'l.weight' });
  assert.deepEqual([...only.keys()], ['l.weight']);
  assert.deepEqual([...only.get('l.weight')!.data], [...deq.data]);
  // The function itself, on another block size: 64x64 blocks need a [3, 4] scale.
  const s64 = new Tensor(
    new Float32Array(12).map((_, k) => k + 1),
    [3, 4],
  );
  const d64 = dequantizeBlockwise(raw.get('l.weight')!, s64, [64, 64]);
  assert.equal(d64.data[129 * cols + 199], raw.get('l.weight')!.data[129 * cols + 199] * 12);
  assert.equal(d64.data[64 * cols + 63], raw.get('l.weight')!.data[64 * cols + 63] * 5);
});

test('FP8 weight of a reference-library file dequantises to the values numpy computed', () => {
  const t = loadSafetensors(path.join(FIXTURES, 'reference.safetensors'));
  assert.ok(!t.has('blk.weight_scale_inv'));
  const w = t.get('blk.weight')!;
  assert.deepEqual(w.shape, [130, 136]);
  const idx = t.get('blk_check_index')!.data;
  const want = t.get('blk_check_value')!.data;
  assert.ok(idx.length >= 200);
  for (let k = 0; k < idx.length; k++) assert.equal(w.data[idx[k]], want[k], `element ${idx[k]}`);
});

test('FP8 dequantisation errors: scale of the wrong shape, weight not 2-D', () => {
  const codes = new Uint8Array(130 * 200).fill(0x38);
  assertHostile(
    fp8File(codes, 130, 200, new Float32Array(2), [1, 2]),
    /cannot dequantise "l\.weight": .*scale shape \[1,2\] does not match weight \[130,200\] with 128x128 blocks \(needs \[2,2\]\)/,
  );
  // 260 rows need ceil(260 / 128) = 3 block rows: a scale of 2 rows is short by one partial block.
  assertHostile(
    fp8File(new Uint8Array(260 * 100).fill(0x38), 260, 100, new Float32Array(2), [2, 1]),
    /scale shape \[2,1\] does not match weight \[260,100\] with 128x128 blocks \(needs \[3,1\]\)/,
  );
  const h = { a: entry('F8_E4M3', [2, 2, 2], [0, 8]), a_scale_inv: entry('F32', [1, 1], [8, 12]) };
  assertHostile(craft(h, new Uint8Array(12)), /cannot dequantise "a": .*weight must be 2-D, got shape \[2,2,2\]/);
});

test('hostile: header length beyond the file, 100 MB header, file too short', () => {
  const err = assertHostile(
    craft({}, new Uint8Array(8), { length: 9_000_000_000_000_000_000n }),
    /header length 9000000000000000000 exceeds file size 18 \(/,
  );
  assert.equal(err.problem, 'header length 9000000000000000000 exceeds file size 18');
  assertHostile(new Uint8Array([1, 2, 3]), /file is 3 bytes, too short for the 8-byte header length/);
  // A 100 MB + 8 header in a (sparse) file big enough to hold it: refused from the 8-byte length alone.
  const dir = tmpDir();
  const file = path.join(dir, 'huge.safetensors');
  const fd = fs.openSync(file, 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(100_000_008n);
  fs.writeSync(fd, len);
  fs.ftruncateSync(fd, 100_000_100);
  fs.closeSync(fd);
  const before = process.memoryUsage().arrayBuffers;
  const t0 = Date.now();
  assert.throws(
    () => loadSafetensors(file),
    /^SafetensorsError: safetensors: header length 100000008 exceeds the limit of 100000000 bytes \(.*huge\.safetensors\)$/,
  );
  assert.ok(Date.now() - t0 < 1000, 'rejected without reading the header');
  assert.ok(process.memoryUsage().arrayBuffers - before < 50_000_000, 'no header-sized allocation');
  fs.rmSync(dir, { recursive: true });
});

test('hostile: header that is not a JSON object, invalid JSON, invalid UTF-8, bad __metadata__', () => {
  assertHostile(craft('{"a": {"dtype": "F32", '), /header is not valid JSON: /);
  assertHostile(craft('[1, 2]'), /header does not start with '\{'/);
  assertHostile(craft(''), /header does not start with '\{'/);
  const bad = craft('{"x":1}');
  bad[10] = 0xff; // invalid UTF-8 inside the header
  assertHostile(bad, /header is not valid UTF-8/);
  assertHostile(craft({ __metadata__: { a: 1 } }), /__metadata__ value of "a" is not a string/);
  assertHostile(craft({ __metadata__: [1] }), /__metadata__ is not an object/);
  assertHostile(craft({ a: 5 }), /tensor "a": entry is not an object/);
});

test('hostile: offsets that overlap, are out of order, leave gaps, run past the end; trailing bytes', () => {
  assertHostile(
    craft({ a: entry('F32', [2], [0, 8]), b: entry('F32', [2], [4, 12]) }, f32(3)),
    /tensor "b": data_offsets \[4,12\] overlap tensor "a" \[0,8\]/,
  );
  assertHostile(craft({ a: entry('F32', [1], [8, 4]) }, f32(2)), /tensor "a": data_offsets \[8,4\] are out of order/);
  assertHostile(
    craft({ a: entry('F32', [1], [0, 4]), b: entry('F32', [1], [8, 12]) }, f32(3)),
    /tensor "b": data_offsets \[8,12\] leave a gap of 4 bytes after byte 4/,
  );
  assertHostile(
    craft({ a: entry('F32', [4], [0, 16]) }, f32(2)),
    /tensor "a": data_offsets \[0,16\] run past the end of the data \(8 bytes\)/,
  );
  assertHostile(
    craft({ a: entry('F32', [1], [0, 4]) }, f32(2)),
    /4 bytes after the last tensor are not described by the header/,
  );
  assertHostile(
    craft({ a: entry('F32', [1], [4, 8]) }, f32(2)),
    /tensor "a": data_offsets \[4,8\] leave a gap of 4 bytes after byte 0/,
  );
  assertHostile(craft({ a: entry('F32', [1], [0, 1e300]) }, f32(1)), /data_offsets must be two non-negative integers/);
  assertHostile(craft({ a: entry('F32', [1], [0]) }, f32(1)), /data_offsets must be two non-negative integers/);
  // Listing order in the JSON does not matter; only the offsets do.
  const ok = loadSafetensors(
    craft(
      { b: entry('F32', [1], [4, 8]), a: entry('F32', [1], [0, 4]) },
      new Uint8Array(new Float32Array([1, 2]).buffer),
    ),
  );
  assert.deepEqual([...ok.get('a')!.data, ...ok.get('b')!.data], [1, 2]);
});

test('hostile: unknown or unsupported dtype, shape/byte-count mismatch, negative or non-integer dims', () => {
  assertHostile(craft({ a: entry('F17', [1], [0, 4]) }, f32(1)), /tensor "a": unknown dtype "F17"/);
  assertHostile(craft({ a: entry('C64', [1], [0, 8]) }, f32(2)), /tensor "a": unsupported dtype C64/);
  assertHostile(
    craft({ a: { shape: [1], data_offsets: [0, 4] } }, f32(1)),
    /tensor "a": dtype is missing or not a string/,
  );
  assertHostile(
    craft({ a: entry('F32', [2, 3], [0, 20]) }, f32(5)),
    /tensor "a": shape \[2,3\] of F32 needs 24 bytes but data_offsets \[0,20\] hold 20/,
  );
  assertHostile(craft({ a: entry('BF16', [3], [0, 8]) }, f32(2)), /shape \[3\] of BF16 needs 6 bytes/);
  assertHostile(
    craft({ a: entry('F32', [-1, 2], [0, 8]) }, f32(2)),
    /tensor "a": shape must be a list of non-negative integers \(got \[-1,2\]\)/,
  );
  assertHostile(
    craft({ a: entry('F32', [1.5, 2], [0, 12]) }, f32(3)),
    /shape must be a list of non-negative integers \(got \[1.5,2\]\)/,
  );
  assertHostile(craft({ a: entry('F32', '2', [0, 8]) }, f32(2)), /shape must be a list of non-negative integers/);
  // Dims whose product passes 2^53: a mismatch, not a giant allocation.
  assertHostile(
    craft({ a: entry('F32', [2 ** 40, 2 ** 40], [0, 8]) }, f32(2)),
    /needs Infinity bytes but data_offsets \[0,8\] hold 8/,
  );
});

test('hostile: integer and bool values that r1ts cannot hold', () => {
  const big = new Uint8Array(new BigInt64Array([1n, 2n ** 40n]).buffer);
  assertHostile(
    craft({ a: entry('I64', [2], [0, 16]) }, big),
    /tensor "a": I64 value 1099511627776 at element 1 does not fit int32/,
  );
  const neg = new Uint8Array(new BigInt64Array([-(2n ** 31n) - 1n]).buffer);
  assertHostile(craft({ a: entry('I64', [1], [0, 8]) }, neg), /I64 value -2147483649 at element 0 does not fit int32/);
  const u64 = new Uint8Array(new BigUint64Array([2n ** 31n]).buffer);
  assertHostile(craft({ a: entry('U64', [1], [0, 8]) }, u64), /U64 value 2147483648 at element 0 does not fit int32/);
  assertHostile(
    craft({ a: entry('U32', [1], [0, 4]) }, new Uint8Array([0, 0, 0, 0x80])),
    /U32 value 2147483648 at element 0/,
  );
  assertHostile(
    craft({ m: entry('BOOL', [3], [0, 3]) }, new Uint8Array([1, 0, 2])),
    /tensor "m": BOOL byte 2 at element 2 is not 0 or 1/,
  );
});

test('hostile: random corruption of a valid file gives a SafetensorsError or a load, never another exception', () => {
  const good = serializeSafetensors(
    new Map([
      ['a', randn([3, 4], { generator: new Generator(1) })],
      ['i', tensor([1, 2, 3], { dtype: 'int32' })],
      ['m', tensor([true, false])],
    ]),
    { dtype: 'BF16' },
  );
  let s = 99;
  const rnd = (n: number): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s % n;
  };
  let errors = 0;
  for (let k = 0; k < 3000; k++) {
    const b = good.slice();
    const hits = 1 + rnd(3);
    for (let h = 0; h < hits; h++) b[rnd(Math.min(b.length, 8 + 200))] = rnd(256);
    if (k % 7 === 0) b.subarray(0, 8).fill(rnd(256), rnd(8)); // corrupt the length too
    try {
      loadSafetensors(b.subarray(0, b.length - (k % 11 === 0 ? rnd(5) : 0)));
    } catch (e) {
      if (!(e instanceof SafetensorsError)) assert.fail(`corruption ${k}: ${(e as Error).stack}`);
      assert.ok(!e.message.includes('\n'), e.message);
      errors++;
    }
  }
  assert.ok(errors > 1000, `most corruptions are detected (${errors})`);
});

test('missing file and unwritable names give clear errors', () => {
  assert.throws(
    () => loadSafetensors('/nonexistent/x.safetensors'),
    /^SafetensorsError: safetensors: cannot open: ENOENT \(\/nonexistent\/x\.safetensors\)$/,
  );
  const dir = tmpDir();
  assert.throws(() => loadSafetensors(dir), /^SafetensorsError: safetensors: a directory, not a regular file \(/);
  fs.rmSync(dir, { recursive: true });
  assert.throws(
    () => serializeSafetensors(new Map([['__metadata__', tensor([1])]])),
    /invalid tensor name "__metadata__"/,
  );
  assert.throws(() => serializeSafetensors(new Map([['x', [1, 2] as unknown as Tensor]])), /"x" is not a Tensor/);
});

test('read/write dtypes table is consistent with the reference order (wide types first, then by name)', () => {
  const m = new Map<string, Tensor>([
    ['z', tensor([true])],
    ['y', tensor([1], { dtype: 'int32' })],
    ['x', tensor([1])],
    ['w', tensor([1])],
    ['v', new Tensor(new Float64Array([1]), [1])],
  ]);
  const order = readSafetensorsHeader(
    serializeSafetensors(m, { dtype: (n) => (n === 'w' ? 'F16' : n === 'v' ? 'F64' : 'F32') }),
  ).tensors;
  assert.deepEqual(
    order.map((e) => `${e.name}:${e.dtype as SafetensorsDtype}`),
    ['v:F64', 'x:F32', 'y:I32', 'w:F16', 'z:BOOL'],
  );
});
