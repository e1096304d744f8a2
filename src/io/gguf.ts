/**
 * GGUF files (version 3), the format llama.cpp and the tools built on it load: a writer, a reader, and the tensor
 * encodings r1ts exports (F32, F16, BF16, Q8_0).
 *
 * Layout (ggml-org/llama.cpp `gguf-py/gguf/gguf_writer.py`, `ggml/src/gguf.cpp`), all little-endian:
 *   "GGUF" u32 version=3, u64 tensor count, u64 key/value count;
 *   per key/value: string key, u32 value type, value (a string is u64 byte length + UTF-8 bytes; an array is u32 item
 *   type, u64 count, items);
 *   per tensor: string name, u32 n_dims, u64 ne[n_dims] (ggml order: the fastest-varying dimension first, i.e. the
 *   reverse of a row-major PyTorch shape), u32 ggml type, u64 offset into the data section;
 *   zero padding to `general.alignment` (32 when absent), then the data section, each tensor starting at a multiple of
 *   the alignment.
 *
 * Encodings: F16 and BF16 round to nearest even (src/fp8/formats.ts, as numpy's astype and gguf-py's BF16 do); Q8_0 is
 * blocks of 32 values along a row, each an fp16 scale d = amax/127 and 32 int8 codes round(x/d) (half away from zero),
 * bit for bit what ggml's `quantize_row_q8_0_ref` and gguf-py write.
 *
 * What it is not: the model layouts (which tensor names and metadata keys llama.cpp's architectures expect, in
 * ./gguf_model.ts) nor the tokenizer metadata (src/data/gguf_vocab.ts). The reader holds the whole file in memory and
 * decodes only the four types above; it is for round-trip tests and inspection, not for loading large models.
 * Hostile files fail with one line naming the file (every count and offset is checked against the file's size before
 * anything is allocated).
 */
import * as fs from 'node:fs';
import { endianness } from 'node:os';
import { BF16, FP16, decodeFloatArray, encodeFloatArray } from '../tensor/formats.js';
import { writeAll, writeFileAtomic } from './atomic.js';

/** "GGUF" read as a little-endian u32. */
export const GGUF_MAGIC = 0x46554747;
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** Values per Q8_0 block (ggml's QK8_0) and bytes per block (fp16 scale + 32 int8). */
export const Q8_0_BLOCK = 32;
export const Q8_0_BLOCK_BYTES = 34;
/** ggml's GGML_MAX_NAME: tensor names are shorter than this (in bytes). */
const MAX_TENSOR_NAME = 64;
const MAX_DIMS = 4;
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

// ---- values ------------------------------------------------------------------------------------------------------

/** GGUF value types (gguf-py `GGUFValueType`), by name. */
export type GgufScalarType =
  | 'uint8'
  | 'int8'
  | 'uint16'
  | 'int16'
  | 'uint32'
  | 'int32'
  | 'float32'
  | 'bool'
  | 'string'
  | 'uint64'
  | 'int64'
  | 'float64';

const TYPE_CODES: Record<GgufScalarType | 'array', number> = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
};
const TYPE_NAMES = new Map<number, GgufScalarType | 'array'>(
  Object.entries(TYPE_CODES).map(([k, v]) => [v, k as GgufScalarType | 'array']),
);

export type GgufScalar = number | bigint | boolean | string;

/** One metadata value with its GGUF type. Arrays hold scalars of one type (nested arrays are not used here). */
export type GgufValue =
  | { readonly type: GgufScalarType; readonly value: GgufScalar }
  | { readonly type: 'array'; readonly itemType: GgufScalarType; readonly value: ArrayLike<GgufScalar> };

/** Ordered metadata: key -> typed value (written in insertion order). */
export type GgufMetadata = Map<string, GgufValue>;

/** Typed value constructors: `gguf.uint32(3)`, `gguf.string('deepseek2')`, `gguf.array('string', tokens)`. */
export const gguf = {
  uint8: (value: number): GgufValue => ({ type: 'uint8', value }),
  int32: (value: number): GgufValue => ({ type: 'int32', value }),
  uint32: (value: number): GgufValue => ({ type: 'uint32', value }),
  uint64: (value: number | bigint): GgufValue => ({ type: 'uint64', value }),
  float32: (value: number): GgufValue => ({ type: 'float32', value }),
  float64: (value: number): GgufValue => ({ type: 'float64', value }),
  bool: (value: boolean): GgufValue => ({ type: 'bool', value }),
  string: (value: string): GgufValue => ({ type: 'string', value }),
  array: (itemType: GgufScalarType, value: ArrayLike<GgufScalar>): GgufValue => ({ type: 'array', itemType, value }),
};

/** The plain value of a metadata entry (a scalar, or an array of scalars), or undefined when absent. */
export function ggufGet(metadata: GgufMetadata, key: string): GgufScalar | GgufScalar[] | undefined {
  const v = metadata.get(key);
  if (!v) return undefined;
  return v.type === 'array' ? Array.from(v.value) : v.value;
}

// ---- tensor types ------------------------------------------------------------------------------------------------

/** The ggml tensor types r1ts writes and reads (ggml `ggml_type` codes in GGML_TYPE_CODES). */
export type GgmlType = 'F32' | 'F16' | 'BF16' | 'Q8_0';

export const GGML_TYPE_CODES: Record<GgmlType, number> = { F32: 0, F16: 1, Q8_0: 8, BF16: 30 };
const GGML_TYPE_NAMES = new Map<number, GgmlType>(Object.entries(GGML_TYPE_CODES).map(([k, v]) => [v, k as GgmlType]));

/** Bytes a tensor of `shape` (row-major, PyTorch order) takes as `type`. Q8_0 needs rows that are whole blocks. */
export function ggmlTensorBytes(shape: readonly number[], type: GgmlType, what = 'tensor'): number {
  const n = shape.reduce((a, b) => a * b, 1);
  switch (type) {
    case 'F32':
      return 4 * n;
    case 'F16':
    case 'BF16':
      return 2 * n;
    case 'Q8_0': {
      const row = shape.length ? shape[shape.length - 1] : 1;
      if (row % Q8_0_BLOCK !== 0)
        throw new Error(`gguf: ${what}: Q8_0 needs rows (the last dimension) a multiple of 32, got ${row}`);
      return (n / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES;
    }
  }
}

/**
 * Q8_0 blocks of `x` (length a multiple of 32): per block the fp16 scale d = amax/127 and int8 codes roundf(x/d),
 * with ggml's float32 arithmetic (d and 1/d rounded to float32, x * (1/d) rounded to float32, ties away from zero).
 */
export function quantizeQ8_0(x: Float32Array): Uint8Array {
  if (x.length % Q8_0_BLOCK !== 0) throw new RangeError(`quantizeQ8_0: length ${x.length} is not a multiple of 32`);
  const nb = x.length / Q8_0_BLOCK;
  const out = new Uint8Array(nb * Q8_0_BLOCK_BYTES);
  const dv = new DataView(out.buffer);
  const scales = new Float32Array(nb);
  for (let b = 0; b < nb; b++) {
    const base = b * Q8_0_BLOCK;
    let amax = 0;
    for (let j = 0; j < Q8_0_BLOCK; j++) amax = Math.max(amax, Math.abs(x[base + j]));
    const d = Math.fround(amax / 127);
    const id = d ? Math.fround(1 / d) : 0;
    scales[b] = d;
    for (let j = 0; j < Q8_0_BLOCK; j++) {
      const x0 = Math.fround(x[base + j] * id);
      dv.setInt8(b * Q8_0_BLOCK_BYTES + 2 + j, Math.sign(x0) * Math.floor(Math.abs(x0) + 0.5));
    }
  }
  const codes = encodeFloatArray(scales, FP16);
  for (let b = 0; b < nb; b++) dv.setUint16(b * Q8_0_BLOCK_BYTES, codes[b], true);
  return out;
}

/** Values of Q8_0 blocks: d * q in float32, as ggml's `dequantize_row_q8_0`. */
export function dequantizeQ8_0(bytes: Uint8Array, n: number): Float32Array {
  const nb = n / Q8_0_BLOCK;
  if (!Number.isInteger(nb) || bytes.length < nb * Q8_0_BLOCK_BYTES)
    throw new RangeError(`dequantizeQ8_0: ${bytes.length} bytes do not hold ${n} values`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const scales = new Uint16Array(nb);
  for (let b = 0; b < nb; b++) scales[b] = dv.getUint16(b * Q8_0_BLOCK_BYTES, true);
  const d = decodeFloatArray(scales, FP16);
  const out = new Float32Array(n);
  for (let b = 0; b < nb; b++)
    for (let j = 0; j < Q8_0_BLOCK; j++)
      out[b * Q8_0_BLOCK + j] = Math.fround(d[b] * dv.getInt8(b * Q8_0_BLOCK_BYTES + 2 + j));
  return out;
}

/** The bytes of `x` (row-major, rows of `shape`'s last dimension) stored as `type`. */
export function encodeTensorData(
  x: Float32Array,
  shape: readonly number[],
  type: GgmlType,
  what = 'tensor',
): Uint8Array {
  ggmlTensorBytes(shape, type, what);
  if (x.length !== shape.reduce((a, b) => a * b, 1))
    throw new RangeError(`gguf: ${what}: ${x.length} values do not fill shape [${shape}]`);
  switch (type) {
    case 'F32':
      return new Uint8Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength));
    case 'F16':
      return new Uint8Array(encodeFloatArray(x, FP16).buffer);
    case 'BF16':
      return new Uint8Array(encodeFloatArray(x, BF16).buffer);
    case 'Q8_0':
      return quantizeQ8_0(x);
  }
}

/** float32 values of `n` elements stored as `type`. */
export function decodeTensorData(bytes: Uint8Array, n: number, type: GgmlType): Float32Array {
  switch (type) {
    case 'F32': {
      const out = new Float32Array(n);
      new Uint8Array(out.buffer).set(bytes.subarray(0, 4 * n));
      return out;
    }
    case 'F16':
    case 'BF16': {
      const codes = new Uint16Array(n);
      new Uint8Array(codes.buffer).set(bytes.subarray(0, 2 * n));
      return decodeFloatArray(codes, type === 'F16' ? FP16 : BF16);
    }
    case 'Q8_0':
      return dequantizeQ8_0(bytes, n);
  }
}

// ---- writing -----------------------------------------------------------------------------------------------------

/** A tensor to write. */
export interface GgufTensor {
  /** The name llama.cpp looks up (`blk.0.attn_q.weight`); shorter than 64 bytes. */
  readonly name: string;
  /** Row-major shape, outermost first (PyTorch order); the file stores it reversed, as ggml's ne. */
  readonly shape: readonly number[];
  readonly type: GgmlType;
  /** float32 values in row-major order, or a function that makes them (called once, when the tensor is written). */
  readonly data: Float32Array | (() => Float32Array);
}

/** What a GGUF file holds. */
export interface GgufContent {
  readonly metadata: GgufMetadata;
  readonly tensors: readonly GgufTensor[];
}

/** A growable little-endian byte buffer for the header. */
class ByteWriter {
  private buf = new Uint8Array(1 << 16);
  private dv = new DataView(this.buf.buffer);
  length = 0;
  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.dv = new DataView(next.buffer);
  }
  u8(v: number): void {
    this.room(1);
    this.dv.setUint8(this.length++, v);
  }
  u32(v: number): void {
    this.room(4);
    this.dv.setUint32(this.length, v, true);
    this.length += 4;
  }
  u64(v: number | bigint): void {
    this.room(8);
    this.dv.setBigUint64(this.length, BigInt(v), true);
    this.length += 8;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  string(s: string): void {
    const b = utf8.encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  scalar(type: GgufScalarType, v: GgufScalar, key: string): void {
    const num = (): number => {
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new Error(`gguf: metadata ${key}: ${type} value must be a finite number, got ${String(v)}`);
      return v;
    };
    const int = (lo: number, hi: number): number => {
      const x = num();
      if (!Number.isInteger(x) || x < lo || x > hi)
        throw new Error(`gguf: metadata ${key}: ${type} value must be an integer in [${lo}, ${hi}], got ${x}`);
      return x;
    };
    this.room(8);
    const dv = this.dv;
    const at = this.length;
    switch (type) {
      case 'uint8':
        dv.setUint8(at, int(0, 255));
        this.length += 1;
        return;
      case 'int8':
        dv.setInt8(at, int(-128, 127));
        this.length += 1;
        return;
      case 'uint16':
        dv.setUint16(at, int(0, 65535), true);
        this.length += 2;
        return;
      case 'int16':
        dv.setInt16(at, int(-32768, 32767), true);
        this.length += 2;
        return;
      case 'uint32':
        dv.setUint32(at, int(0, 2 ** 32 - 1), true);
        this.length += 4;
        return;
      case 'int32':
        dv.setInt32(at, int(-(2 ** 31), 2 ** 31 - 1), true);
        this.length += 4;
        return;
      case 'float32':
        dv.setFloat32(at, num(), true);
        this.length += 4;
        return;
      case 'float64':
        dv.setFloat64(at, num(), true);
        this.length += 8;
        return;
      case 'uint64':
      case 'int64': {
        const big = typeof v === 'bigint' ? v : BigInt(int(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER));
        if (type === 'uint64') dv.setBigUint64(at, big, true);
        else dv.setBigInt64(at, big, true);
        this.length += 8;
        return;
      }
      case 'bool':
        if (typeof v !== 'boolean') throw new Error(`gguf: metadata ${key}: bool value must be true or false`);
        dv.setUint8(at, v ? 1 : 0);
        this.length += 1;
        return;
      case 'string':
        if (typeof v !== 'string') throw new Error(`gguf: metadata ${key}: string value must be a string`);
        this.string(v);
        return;
    }
  }
  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/** The alignment a metadata map asks for (general.alignment, else 32); it must be a power of two. */
function alignmentOf(metadata: GgufMetadata, file: string): number {
  const v = metadata.get('general.alignment');
  if (!v) return GGUF_DEFAULT_ALIGNMENT;
  const a = v.type === 'uint32' ? Number(v.value) : Number.NaN;
  if (!(Number.isInteger(a) && a > 0 && (a & (a - 1)) === 0))
    throw new Error(`gguf: general.alignment must be a uint32 power of two, got ${String(v.value)} (${file})`);
  return a;
}

/**
 * Writes a GGUF v3 file atomically (temporary file, fsync, rename). Tensors are encoded one at a time, so a lazy
 * `data` function is called only when its tensor is written. Returns the file's size in bytes.
 */
export function writeGguf(file: string, content: GgufContent): number {
  if (endianness() !== 'LE') throw new Error('gguf: big-endian hosts are not supported');
  const { metadata, tensors } = content;
  const alignment = alignmentOf(metadata, file);
  const h = new ByteWriter();
  h.u32(GGUF_MAGIC);
  h.u32(GGUF_VERSION);
  h.u64(tensors.length);
  h.u64(metadata.size);
  for (const [key, v] of metadata) {
    h.string(key);
    h.u32(TYPE_CODES[v.type]);
    if (v.type === 'array') {
      h.u32(TYPE_CODES[v.itemType]);
      h.u64(v.value.length);
      for (let i = 0; i < v.value.length; i++) h.scalar(v.itemType, v.value[i], key);
    } else h.scalar(v.type, v.value, key);
  }
  const names = new Set<string>();
  let offset = 0;
  const sizes: number[] = [];
  for (const t of tensors) {
    if (names.has(t.name)) throw new Error(`gguf: tensor ${t.name} is listed twice`);
    names.add(t.name);
    if (utf8.encode(t.name).length >= MAX_TENSOR_NAME)
      throw new Error(`gguf: tensor name ${t.name} is ${MAX_TENSOR_NAME} bytes or longer`);
    if (t.shape.length < 1 || t.shape.length > MAX_DIMS)
      throw new Error(`gguf: tensor ${t.name}: ${t.shape.length} dimensions (1 to ${MAX_DIMS} allowed)`);
    const size = ggmlTensorBytes(t.shape, t.type, `tensor ${t.name}`);
    h.string(t.name);
    h.u32(t.shape.length);
    for (let d = t.shape.length - 1; d >= 0; d--) h.u64(t.shape[d]);
    h.u32(GGML_TYPE_CODES[t.type]);
    h.u64(offset);
    sizes.push(size);
    offset = alignUp(offset + size, alignment);
  }
  const header = h.view();
  const pad = (n: number): Uint8Array => new Uint8Array(alignUp(n, alignment) - n);
  let total = 0;
  writeFileAtomic(file, (fd) => {
    writeAll(fd, header);
    writeAll(fd, pad(header.length));
    total = alignUp(header.length, alignment);
    tensors.forEach((t, i) => {
      const x = typeof t.data === 'function' ? t.data() : t.data;
      const n = t.shape.reduce((a, b) => a * b, 1);
      if (x.length !== n) throw new Error(`gguf: tensor ${t.name}: ${x.length} values do not fill shape [${t.shape}]`);
      const bytes = encodeTensorData(x, t.shape, t.type, `tensor ${t.name}`);
      writeAll(fd, bytes);
      total += sizes[i];
      if (i < tensors.length - 1) {
        writeAll(fd, pad(sizes[i]));
        total = alignUp(total, alignment);
      }
    });
  });
  return total;
}

// ---- reading -----------------------------------------------------------------------------------------------------

/** One tensor as the file describes it. */
export interface GgufTensorInfo {
  readonly name: string;
  /** Row-major shape (PyTorch order; the file's ne reversed). */
  readonly shape: readonly number[];
  readonly type: GgmlType;
  /** Absolute byte offset of the data in the file. */
  readonly offset: number;
  readonly byteLength: number;
}

/** A parsed GGUF file (held in memory). */
export interface GgufFile {
  readonly file: string;
  readonly version: number;
  readonly alignment: number;
  readonly metadata: GgufMetadata;
  readonly tensors: readonly GgufTensorInfo[];
  /** Offset of the data section from the start of the file. */
  readonly dataOffset: number;
  readonly bytes: Uint8Array;
}

/** Parses a GGUF v2/v3 file (a path or its bytes). Structural problems are one-line errors naming the file. */
export function readGguf(source: string | Uint8Array, name?: string): GgufFile {
  if (endianness() !== 'LE') throw new Error('gguf: big-endian hosts are not supported');
  const file = name ?? (typeof source === 'string' ? source : '<bytes>');
  let bytes: Uint8Array;
  if (typeof source === 'string') {
    try {
      bytes = fs.readFileSync(source);
    } catch (e) {
      throw new Error(`gguf: cannot read ${source} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  } else bytes = source;
  const fail = (why: string): never => {
    throw new Error(`gguf: ${why} (${file})`);
  };
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const need = (n: number, what: string): void => {
    if (pos + n > bytes.length) fail(`${what} at byte ${pos} runs past the end of the file (${bytes.length} bytes)`);
  };
  const u32 = (what: string): number => {
    need(4, what);
    const v = dv.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (what: string): number => {
    need(8, what);
    const v = dv.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${what} ${v} is too large`);
    return Number(v);
  };
  const str = (what: string): string => {
    const n = u64(`${what} length`);
    need(n, what);
    const s = utf8Decoder.decode(bytes.subarray(pos, pos + n));
    pos += n;
    return s;
  };
  const scalar = (type: GgufScalarType, what: string): GgufScalar => {
    const sizes: Record<GgufScalarType, number> = {
      uint8: 1,
      int8: 1,
      uint16: 2,
      int16: 2,
      uint32: 4,
      int32: 4,
      float32: 4,
      bool: 1,
      string: 8,
      uint64: 8,
      int64: 8,
      float64: 8,
    };
    if (type === 'string') return str(what);
    need(sizes[type], what);
    const at = pos;
    pos += sizes[type];
    switch (type) {
      case 'uint8':
        return dv.getUint8(at);
      case 'int8':
        return dv.getInt8(at);
      case 'uint16':
        return dv.getUint16(at, true);
      case 'int16':
        return dv.getInt16(at, true);
      case 'uint32':
        return dv.getUint32(at, true);
      case 'int32':
        return dv.getInt32(at, true);
      case 'float32':
        return dv.getFloat32(at, true);
      case 'float64':
        return dv.getFloat64(at, true);
      case 'bool':
        return dv.getUint8(at) !== 0;
      case 'uint64': {
        const v = dv.getBigUint64(at, true);
        return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      case 'int64': {
        const v = dv.getBigInt64(at, true);
        return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v;
      }
    }
  };
  const typeName = (code: number, what: string): GgufScalarType | 'array' => {
    const t = TYPE_NAMES.get(code);
    if (t === undefined) fail(`${what} has unknown value type ${code}`);
    return t as GgufScalarType | 'array';
  };

  if (bytes.length < 4 || dv.getUint32(0, true) !== GGUF_MAGIC) fail('not a GGUF file (no "GGUF" magic)');
  pos = 4;
  const version = u32('version');
  if (version !== 2 && version !== 3) fail(`version ${version} is not supported (2 or 3)`);
  const nTensors = u64('tensor count');
  const nKv = u64('metadata count');
  // Every entry takes at least 8 bytes: counts beyond the file's size are corrupt, not a reason to allocate.
  if (nKv > bytes.length / 8 || nTensors > bytes.length / 8)
    fail(`counts (${nTensors} tensors, ${nKv} keys) exceed what ${bytes.length} bytes can hold`);
  const metadata: GgufMetadata = new Map();
  for (let i = 0; i < nKv; i++) {
    const key = str(`metadata key ${i}`);
    const t = typeName(u32(`type of ${key}`), key);
    if (t === 'array') {
      const it = typeName(u32(`item type of ${key}`), key);
      if (it === 'array') fail(`${key}: nested arrays are not supported`);
      const n = u64(`length of ${key}`);
      if (n > bytes.length - pos) fail(`${key}: array of ${n} items exceeds the file`);
      const items: GgufScalar[] = new Array(n);
      for (let j = 0; j < n; j++) items[j] = scalar(it as GgufScalarType, `${key}[${j}]`);
      metadata.set(key, { type: 'array', itemType: it as GgufScalarType, value: items });
    } else metadata.set(key, { type: t, value: scalar(t, key) });
  }
  const alignment = alignmentOf(metadata, file);
  const raw: { name: string; shape: number[]; type: GgmlType; rel: number }[] = [];
  for (let i = 0; i < nTensors; i++) {
    const tname = str(`tensor ${i} name`);
    const nd = u32(`tensor ${tname} n_dims`);
    if (nd < 1 || nd > MAX_DIMS) fail(`tensor ${tname}: ${nd} dimensions (1 to ${MAX_DIMS} allowed)`);
    const ne: number[] = [];
    for (let d = 0; d < nd; d++) ne.push(u64(`tensor ${tname} ne[${d}]`));
    const code = u32(`tensor ${tname} type`);
    const type = GGML_TYPE_NAMES.get(code);
    if (type === undefined) fail(`tensor ${tname}: ggml type ${code} is not read here (F32, F16, BF16, Q8_0)`);
    const rel = u64(`tensor ${tname} offset`);
    if (rel % alignment !== 0) fail(`tensor ${tname}: offset ${rel} is not a multiple of the alignment ${alignment}`);
    raw.push({ name: tname, shape: ne.reverse(), type: type as GgmlType, rel });
  }
  const dataOffset = alignUp(pos, alignment);
  const tensors: GgufTensorInfo[] = raw.map((r) => {
    let byteLength = 0;
    try {
      byteLength = ggmlTensorBytes(r.shape, r.type, `tensor ${r.name}`);
    } catch (e) {
      fail((e as Error).message.replace(/^gguf: /, ''));
    }
    const offset = dataOffset + r.rel;
    if (offset + byteLength > bytes.length)
      fail(`tensor ${r.name}: data [${offset}, ${offset + byteLength}) runs past the end of the file`);
    return { name: r.name, shape: r.shape, type: r.type, offset, byteLength };
  });
  return { file, version, alignment, metadata, tensors, dataOffset, bytes };
}

/** The float32 values of tensor `name` of a parsed file (decoded from its stored type). */
export function ggufTensorData(g: GgufFile, name: string): Float32Array {
  const t = g.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`gguf: no tensor ${name} (${g.file})`);
  const n = t.shape.reduce((a, b) => a * b, 1);
  return decodeTensorData(g.bytes.subarray(t.offset, t.offset + t.byteLength), n, t.type);
}
