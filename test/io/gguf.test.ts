import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type GgufMetadata,
  type GgufTensor,
  dequantizeQ8_0,
  encodeTensorData,
  gguf,
  ggufGet,
  ggufTensorData,
  quantizeQ8_0,
  readGguf,
  writeGguf,
} from '../../src/io/gguf.js';
import { BF16, FP16, roundToFormat } from '../../src/tensor/formats.js';

function withDir<T>(f: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'r1ts-gguf-'));
  try {
    return f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const u16s = (b: Uint8Array): number[] => Array.from(new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2));
const ramp = (n: number, scale = 0.01): Float32Array =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(i) * scale * (i + 1));

describe('GGUF encodings', () => {
  it('F16 and BF16 round to nearest even, overflow to infinity (bit patterns)', () => {
    const x = Float32Array.from([1, -2, 65504, 1e5, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 0.1]);
    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: even mantissa (1) wins; 1 + 3*2^-11 rounds up to 1 + 2^-9.
    assert.deepEqual(u16s(encodeTensorData(x, [7], 'F16')), [0x3c00, 0xc000, 0x7bff, 0x7c00, 0x3c00, 0x3c02, 0x2e66]);
    const y = Float32Array.from([1, -2, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 3e38, 0.1]);
    assert.deepEqual(u16s(encodeTensorData(y, [6], 'BF16')), [0x3f80, 0xc000, 0x3f80, 0x3f82, 0x7f62, 0x3dcd]);
  });

  it('Q8_0: blocks of fp16 d = amax/127 and int8 round(x/d), ties away from zero (hand-computed)', () => {
    // Block 0: amax = 127/128 so d = 2^-7 exactly (fp16 0x2000) and x = k/128 gives q = k; the rest probe rounding.
    const b0 = new Float32Array(32);
    b0[0] = 127 / 128;
    b0[1] = -127 / 128;
    b0[2] = 5 / 128;
    b0[3] = 2.5 / 128; // -> 3 (roundf: ties away from zero; banker's rounding would give 2)
    b0[4] = -2.5 / 128; // -> -3
    b0[5] = 0.5 / 128; // -> 1
    b0[6] = 0.4999 / 128; // -> 0
    b0[7] = -1.5 / 128; // -> -2
    // Block 1: all zero -> d = 0, q = 0 (no division by zero). Block 2: amax 254 -> d = 2 (fp16 0x4000), 3 -> 2 (1.5).
    const b2 = new Float32Array(32);
    b2[0] = 254;
    b2[1] = 3;
    b2[2] = -1;
    const x = new Float32Array(96);
    x.set(b0, 0);
    x.set(b2, 64);
    const q = quantizeQ8_0(x);
    assert.equal(q.length, 3 * 34);
    const expected = new Uint8Array(3 * 34);
    expected.set([0x00, 0x20], 0); // d = 0x2000 little-endian
    new Int8Array(expected.buffer).set([127, -127, 5, 3, -3, 1, 0, -2], 2);
    expected.set([0x00, 0x40], 68);
    new Int8Array(expected.buffer).set([127, 2, -1], 70); // 3/2 = 1.5 -> 2, -1/2 = -0.5 -> -1
    assert.deepEqual([...q], [...expected]);
    const back = dequantizeQ8_0(q, 96);
    assert.deepEqual(
      [...back.subarray(0, 8)],
      [127, -127, 5, 3, -3, 1, 0, -2].map((k) => k / 128),
    );
    assert.deepEqual([...back.subarray(64, 67)], [254, 4, -2]);
  });

  it('Q8_0 round trip error is at most d/2 per value (plus the fp16 rounding of d); rows must be whole blocks', () => {
    const x = ramp(4 * 64, 0.3);
    const y = dequantizeQ8_0(quantizeQ8_0(x), x.length);
    for (let b = 0; b < x.length / 32; b++) {
      let amax = 0;
      for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]));
      const bound = (amax / 127) * 0.5 + amax * 2 ** -11;
      for (let j = 0; j < 32; j++) assert.ok(Math.abs(x[b * 32 + j] - y[b * 32 + j]) <= bound, `block ${b} value ${j}`);
    }
    assert.throws(() => encodeTensorData(new Float32Array(48), [3, 16], 'Q8_0', 'tensor w'), {
      message: 'gguf: tensor w: Q8_0 needs rows (the last dimension) a multiple of 32, got 16',
    });
  });
});

describe('GGUF files', () => {
  const metadata = (): GgufMetadata =>
    new Map([
      ['general.architecture', gguf.string('llama')],
      ['general.name', gguf.string('tiny ✓ 日本')],
      ['t.u8', gguf.uint8(255)],
      ['t.i32', gguf.int32(-7)],
      ['t.u32', gguf.uint32(4_000_000_000)],
      ['t.u64', gguf.uint64(2n ** 60n)],
      ['t.f32', gguf.float32(1e-6)],
      ['t.f64', gguf.float64(Math.PI)],
      ['t.bool', gguf.bool(false)],
      ['t.tokens', gguf.array('string', ['a', 'Ġb', '<｜end▁of▁sentence｜>', ''])],
      ['t.types', gguf.array('int32', [1, 3, 4, -5])],
      ['t.flags', gguf.array('bool', [true, false])],
    ]);
  const tensors = (): GgufTensor[] => [
    { name: 'a.f32', shape: [2, 3], type: 'F32', data: ramp(6) },
    { name: 'b.f16', shape: [5], type: 'F16', data: ramp(5) },
    { name: 'c.bf16', shape: [3, 1, 7], type: 'BF16', data: () => ramp(21) },
    { name: 'd.q8_0', shape: [2, 2, 64], type: 'Q8_0', data: ramp(256, 0.05) },
  ];

  it('round-trips metadata (every type, arrays, UTF-8) and tensors (shapes, types, values as stored)', () =>
    withDir((dir) => {
      const file = join(dir, 'm.gguf');
      const size = writeGguf(file, { metadata: metadata(), tensors: tensors() });
      assert.equal(size, readFileSync(file).length);
      const g = readGguf(file);
      assert.equal(g.version, 3);
      assert.deepEqual([...g.metadata.keys()], [...metadata().keys()], 'keys in written order');
      for (const [k, v] of metadata())
        if (k !== 't.f32') assert.deepEqual(ggufGet(g.metadata, k), ggufGet(new Map([[k, v]]), k), k);
      assert.equal(g.metadata.get('t.f32')?.type, 'float32');
      assert.equal(ggufGet(g.metadata, 't.f32'), Math.fround(1e-6));
      assert.equal(ggufGet(g.metadata, 't.u64'), 2n ** 60n);
      assert.deepEqual(
        g.tensors.map((t) => [t.name, t.shape, t.type]),
        tensors().map((t) => [t.name, t.shape, t.type]),
      );
      assert.deepEqual([...ggufTensorData(g, 'a.f32')], [...ramp(6)]);
      assert.deepEqual([...ggufTensorData(g, 'b.f16')], [...roundToFormat(ramp(5), FP16)]);
      assert.deepEqual([...ggufTensorData(g, 'c.bf16')], [...roundToFormat(ramp(21), BF16)]);
      assert.deepEqual([...ggufTensorData(g, 'd.q8_0')], [...dequantizeQ8_0(quantizeQ8_0(ramp(256, 0.05)), 256)]);
    }));

  it('lays out the header as GGUF v3: magic, counts, ne reversed, offsets aligned to 32 (or general.alignment)', () =>
    withDir((dir) => {
      for (const alignment of [32, 64]) {
        const file = join(dir, `a${alignment}.gguf`);
        const md = metadata();
        if (alignment !== 32) md.set('general.alignment', gguf.uint32(alignment));
        writeGguf(file, { metadata: md, tensors: tensors() });
        const bytes = readFileSync(file);
        const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        assert.equal(bytes.subarray(0, 4).toString('latin1'), 'GGUF');
        assert.equal(dv.getUint32(4, true), 3);
        assert.equal(dv.getBigUint64(8, true), 4n);
        assert.equal(dv.getBigUint64(16, true), BigInt(md.size));
        const g = readGguf(file);
        assert.equal(g.alignment, alignment);
        assert.equal(g.dataOffset % alignment, 0);
        for (const t of g.tensors) assert.equal((t.offset - g.dataOffset) % alignment, 0, t.name);
        // The first tensor's info: name, n_dims 2, ne = [3, 2] (fastest dimension first), type 0 (F32), offset 0.
        const name = Buffer.from('a.f32');
        const at = bytes.indexOf(Buffer.concat([Buffer.from([name.length, 0, 0, 0, 0, 0, 0, 0]), name]));
        const info = at + 8 + name.length;
        assert.deepEqual(
          [dv.getUint32(info, true), dv.getBigUint64(info + 4, true), dv.getBigUint64(info + 12, true)],
          [2, 3n, 2n],
        );
        assert.equal(dv.getUint32(info + 20, true), 0);
        assert.equal(dv.getBigUint64(info + 24, true), 0n);
        // Padding between the header and the data section is zeros.
        assert.ok(bytes.subarray(g.dataOffset - 1, g.dataOffset).every((b) => b === 0));
      }
    }));

  it('refuses what llama.cpp would reject: duplicate names, long names, 5-D tensors, values that do not fit', () =>
    withDir((dir) => {
      const f = join(dir, 'x.gguf');
      const t = { name: 'w', shape: [2], type: 'F32' as const, data: ramp(2) };
      const md = new Map();
      assert.throws(() => writeGguf(f, { metadata: md, tensors: [t, t] }), {
        message: 'gguf: tensor w is listed twice',
      });
      assert.throws(
        () => writeGguf(f, { metadata: md, tensors: [{ ...t, name: 'n'.repeat(64) }] }),
        /64 bytes or longer/,
      );
      assert.throws(
        () => writeGguf(f, { metadata: md, tensors: [{ ...t, shape: [1, 1, 1, 1, 2] }] }),
        /5 dimensions \(1 to 4 allowed\)/,
      );
      assert.throws(
        () => writeGguf(f, { metadata: md, tensors: [{ ...t, shape: [3] }] }),
        /2 values do not fill shape \[3\]/,
      );
      assert.throws(() => writeGguf(f, { metadata: new Map([['k', gguf.uint32(-1)]]), tensors: [] }), {
        message: 'gguf: metadata k: uint32 value must be an integer in [0, 4294967295], got -1',
      });
    }));

  it('reads hostile files as one-line errors naming the file', () =>
    withDir((dir) => {
      const good = join(dir, 'good.gguf');
      writeGguf(good, { metadata: metadata(), tensors: tensors() });
      const bytes = readFileSync(good);
      const bad = (name: string, b: Uint8Array): string => {
        const p = join(dir, name);
        writeFileSync(p, b);
        try {
          readGguf(p);
        } catch (e) {
          const msg = (e as Error).message;
          assert.ok(!msg.includes('\n'), msg);
          assert.ok(msg.endsWith(`(${p})`), msg);
          return msg;
        }
        return assert.fail(`${name} was accepted`);
      };
      assert.match(bad('magic.gguf', Buffer.from('GGML0000')), /not a GGUF file/);
      assert.match(bad('cut.gguf', bytes.subarray(0, 100)), /runs past the end of the file/);
      assert.match(bad('data.gguf', bytes.subarray(0, bytes.length - 10)), /tensor d\.q8_0: data .* runs past the end/);
      const huge = Buffer.from(bytes);
      huge.writeBigUInt64LE(2n ** 40n, 16); // metadata count
      assert.match(bad('count.gguf', huge), /exceed what \d+ bytes can hold/);
      const v9 = Buffer.from(bytes);
      v9.writeUInt32LE(9, 4);
      assert.match(bad('version.gguf', v9), /version 9 is not supported/);
    }));
});
