/**
 * Safetensors files: read and write single files, with FP8 block dequantisation on load.
 *
 * Format (github.com/huggingface/safetensors): 8-byte little-endian header length N, N bytes of JSON
 * `{"__metadata__": {str: str}?, name: {"dtype", "shape", "data_offsets": [begin, end]}, ...}` (padded with spaces),
 * then the byte buffer; offsets are relative to the buffer, and the tensors must tile it exactly (no gaps, no
 * overlaps, nothing after the last one). Sharded checkpoint directories are in ./safetensors_index.ts (which imports
 * this file; this file never imports it).
 *
 * Reading returns r1ts Tensors: F32/F16/BF16/F8_* decode to float32 (exactly: every such value is a float32), F64 stays
 * float64, integer types become int32 (I64/U32/U64 with a range check), BOOL becomes bool. An F8 weight `W` with a
 * sibling `W_scale_inv` (DeepSeek-V3's `weight_scale_inv`: FP32, one scale per 128x128 block, edge blocks partial) is
 * dequantised to float32 = fp8 value x scale of its block (in float32, as the reference `weight_dequant` kernel) and the
 * scale is dropped; `dequantize: false` keeps both (the weight holding its unscaled FP8 values).
 * Writing: float tensors as F32 (default), F64, BF16 or F16; int32 as I32; bool as BOOL; tensors ordered as the
 * reference writer orders them (by dtype, then name), header padded to 8 bytes, so the bytes match it exactly.
 *
 * Hostile input: every structural problem is a one-line SafetensorsError naming the file and the problem
 * (`safetensors: header length 9223372036854775807 exceeds file size 1024 (model.safetensors)`). The 8-byte length is
 * checked against the file size and a 100 MB cap before the header is read, and every tensor's byte count is checked
 * against its shape and the buffer before anything is allocated, so no file makes us allocate more than about its own
 * size (times 4 for FP8 -> float32). FIFOs and devices are refused before they are opened (src/util/files.ts), and
 * values quoted in messages are cut short (a shape nested 10,000 deep is no stack overflow).
 *
 * Reading into existing tensors (`readSafetensorsInto`, the lazy path of large models): each tensor's bytes go from
 * the file straight into the target's buffer (BF16 into bfloat16 storage, F32 into float32) or, when dtypes differ,
 * through one tensor's worth of conversion; no whole-file buffer is ever built.
 *
 * Not supported: big-endian hosts, sub-byte dtypes (F4, F6_*), C64, memory-mapped tensors.
 */
import * as fs from 'node:fs';
import { endianness } from 'node:os';
import * as path from 'node:path';
import { Tensor } from '../tensor/tensor.js';
import { shapeStr } from '../tensor/shape.js';
import {
  BF16,
  FP16,
  FP8_E4M3,
  FP8_E5M2,
  copyConverted,
  decodeFloatArray,
  decodeUE8M0,
  encodeFloatArray,
} from '../tensor/formats.js';
import { writeAll, writeFileAtomic } from './atomic.js';
import { type FileAccessError, openRegularFile } from '../util/files.js';
import { jsonPreview } from '../util/format.js';

/** Largest header accepted (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

/** Element types this module reads. */
export type SafetensorsDtype =
  | 'F64'
  | 'F32'
  | 'F16'
  | 'BF16'
  | 'F8_E4M3'
  | 'F8_E5M2'
  | 'F8_E8M0'
  | 'I64'
  | 'I32'
  | 'I16'
  | 'I8'
  | 'U64'
  | 'U32'
  | 'U16'
  | 'U8'
  | 'BOOL';

/** Storage types of float tensors when writing. */
export type FloatWriteDtype = 'F32' | 'F64' | 'BF16' | 'F16';

const DTYPE_BYTES: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  F8_E4M3: 1,
  F8_E5M2: 1,
  F8_E8M0: 1,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};

/** Whether a stored dtype holds floating-point values (read as float32 or float64). */
export function isFloatStorage(d: SafetensorsDtype): boolean {
  return d === 'F64' || d === 'F32' || d === 'F16' || d === 'BF16' || d.startsWith('F8_');
}

/** Dtypes the format defines that are not read here (so the error can say "unsupported" rather than "unknown"). */
const UNSUPPORTED_DTYPES = new Set(['F4', 'F6_E2M3', 'F6_E3M2', 'C64']);

/** The reference writer's dtype order (Rust `Dtype` enum order); it writes tensors by descending dtype, then name. */
const WRITE_ORDER = [
  'BOOL',
  'U8',
  'I8',
  'F8_E5M2',
  'F8_E4M3',
  'F8_E8M0',
  'I16',
  'U16',
  'F16',
  'BF16',
  'I32',
  'U32',
  'F32',
  'F64',
];

/** A structural problem in a safetensors file or checkpoint directory. The message is one line and names the file. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
  constructor(
    readonly problem: string,
    readonly file: string,
  ) {
    super(`safetensors: ${problem} (${file})`);
  }
}

/** One tensor as the header describes it; `begin`/`end` are byte offsets into the data buffer. */
export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

/** A validated header. */
export interface SafetensorsHeader {
  /** The file name used in errors. */
  readonly file: string;
  /** Total size of the file in bytes. */
  readonly fileBytes: number;
  /** Offset of the data buffer from the start of the file (8 + header length). */
  readonly dataStart: number;
  readonly metadata: Readonly<Record<string, string>>;
  /** Tensors in data order. */
  readonly tensors: readonly SafetensorsEntry[];
}

// ---- byte sources ------------------------------------------------------------------------------------------------

/** Random-access bytes: an open file or an in-memory buffer. */
interface Source {
  readonly name: string;
  readonly size: number;
  /** Reads `len` bytes at `pos` into `into` (which must have room), returning it. */
  read(pos: number, len: number, into: Uint8Array): Uint8Array;
  close(): void;
}

function fileSource(file: string): Source {
  let fd: number;
  let size: number;
  try {
    ({ fd, size } = openRegularFile(file, 'safetensors'));
  } catch (e) {
    const f = e as FileAccessError;
    throw new SafetensorsError(f.code ? `cannot open: ${f.code}` : f.problem.replace(/^is /, ''), file);
  }
  return {
    name: file,
    size,
    read(pos, len, into) {
      let done = 0;
      while (done < len) {
        let n: number;
        try {
          n = fs.readSync(fd, into, done, Math.min(len - done, 1 << 30), pos + done);
        } catch (e) {
          throw new SafetensorsError(
            `read failed at byte ${pos + done}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
            file,
          );
        }
        if (n === 0)
          throw new SafetensorsError(`file ended at byte ${pos + done} while reading ${len} bytes at ${pos}`, file);
        done += n;
      }
      return into;
    },
    close() {
      fs.closeSync(fd);
    },
  };
}

function bufferSource(bytes: Uint8Array, name: string): Source {
  return {
    name,
    size: bytes.length,
    read(pos, len, into) {
      into.set(bytes.subarray(pos, pos + len));
      return into;
    },
    close() {},
  };
}

function openSource(src: string | Uint8Array, name?: string): Source {
  if (endianness() !== 'LE') throw new SafetensorsError('big-endian hosts are not supported', name ?? String(src));
  return typeof src === 'string' ? fileSource(src) : bufferSource(src, name ?? '<buffer>');
}

function withSource<T>(src: string | Uint8Array, name: string | undefined, fn: (s: Source) => T): T {
  const s = openSource(src, name);
  try {
    return fn(s);
  } finally {
    s.close();
  }
}

// ---- header ------------------------------------------------------------------------------------------------------

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Element count of a validated shape, or Infinity once it passes 2^53 (a mismatch whatever the offsets say). */
function numelOf(shape: readonly number[]): number {
  if (shape.includes(0)) return 0;
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) return Infinity;
  }
  return n;
}

function parseEntry(name: string, v: unknown, dataBytes: number, fail: (p: string) => never): SafetensorsEntry {
  const what = `tensor ${jsonPreview(name, 200)}`;
  if (!isPlainObject(v)) fail(`${what}: entry is not an object`);
  const { dtype, shape, data_offsets: offsets } = v;
  if (typeof dtype !== 'string') fail(`${what}: dtype is missing or not a string`);
  if (UNSUPPORTED_DTYPES.has(dtype)) fail(`${what}: unsupported dtype ${dtype}`);
  if (!Object.hasOwn(DTYPE_BYTES, dtype)) fail(`${what}: unknown dtype ${jsonPreview(dtype, 40)}`);
  if (!Array.isArray(shape) || !shape.every(isIndex)) {
    fail(`${what}: shape must be a list of non-negative integers (got ${jsonPreview(shape)})`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex)) {
    fail(`${what}: data_offsets must be two non-negative integers (got ${jsonPreview(offsets)})`);
  }
  const [begin, end] = offsets as number[];
  if (end < begin) fail(`${what}: data_offsets [${begin},${end}] are out of order (end before begin)`);
  if (end > dataBytes)
    fail(`${what}: data_offsets [${begin},${end}] run past the end of the data (${dataBytes} bytes)`);
  const sdtype = dtype as SafetensorsDtype;
  const need = numelOf(shape) * DTYPE_BYTES[sdtype];
  if (need !== end - begin) {
    fail(
      `${what}: shape ${shapeStr(shape)} of ${dtype} needs ${need} bytes but data_offsets [${begin},${end}] hold ${end - begin}`,
    );
  }
  return { name, dtype: sdtype, shape: Object.freeze([...shape]), begin, end };
}

function readHeaderFrom(s: Source): SafetensorsHeader {
  const fail = (problem: string): never => {
    throw new SafetensorsError(problem, s.name);
  };
  if (s.size < 8) fail(`file is ${s.size} bytes, too short for the 8-byte header length`);
  const lenBytes = s.read(0, 8, new Uint8Array(8));
  const n = new DataView(lenBytes.buffer).getBigUint64(0, true);
  if (n > BigInt(s.size - 8)) fail(`header length ${n} exceeds file size ${s.size}`);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(`header length ${n} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  const headerBytes = Number(n);
  const raw = s.read(8, headerBytes, new Uint8Array(headerBytes));
  if (headerBytes === 0 || raw[0] !== 0x7b) fail(`header does not start with '{'`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    fail('header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text!);
  } catch (e) {
    fail(`header is not valid JSON: ${(e as Error).message.replace(/\s+/g, ' ').slice(0, 120)}`);
  }
  if (!isPlainObject(json)) fail('header is not a JSON object');
  const dataStart = 8 + headerBytes;
  const dataBytes = s.size - dataStart;
  const metadata: Record<string, string> = {};
  const tensors: SafetensorsEntry[] = [];
  for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (v === null) continue;
      if (!isPlainObject(v)) fail('__metadata__ is not an object');
      for (const [k, mv] of Object.entries(v as Record<string, unknown>)) {
        if (typeof mv !== 'string') fail(`__metadata__ value of ${jsonPreview(k, 200)} is not a string`);
        metadata[k] = mv as string;
      }
      continue;
    }
    tensors.push(parseEntry(name, v, dataBytes, fail));
  }
  // The tensors must tile the data buffer: sorted by offsets, each starts where the previous one ended.
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let prev: SafetensorsEntry | null = null;
  for (const t of tensors) {
    const where = `data_offsets [${t.begin},${t.end}]`;
    if (t.begin < at)
      fail(
        `tensor ${jsonPreview(t.name, 200)}: ${where} overlap tensor ${jsonPreview(prev!.name, 200)} [${prev!.begin},${prev!.end}]`,
      );
    if (t.begin > at)
      fail(`tensor ${jsonPreview(t.name, 200)}: ${where} leave a gap of ${t.begin - at} bytes after byte ${at}`);
    at = t.end;
    prev = t;
  }
  if (at !== dataBytes) fail(`${dataBytes - at} bytes after the last tensor are not described by the header`);
  return { file: s.name, fileBytes: s.size, dataStart, metadata, tensors };
}

/**
 * Reads and validates the header of a safetensors file (or in-memory bytes) without loading tensors: names,
 * dtypes, shapes, offsets and `__metadata__`.
 */
export function readSafetensorsHeader(src: string | Uint8Array, opts: { name?: string } = {}): SafetensorsHeader {
  return withSource(src, opts.name, readHeaderFrom);
}

// ---- tensors -----------------------------------------------------------------------------------------------------

/** Reads one tensor's bytes and converts them to an r1ts Tensor. */
function readTensor(s: Source, h: SafetensorsHeader, e: SafetensorsEntry): Tensor {
  const pos = h.dataStart + e.begin;
  const nbytes = e.end - e.begin;
  const n = nbytes / DTYPE_BYTES[e.dtype];
  const bytes = (into: Uint8Array): Uint8Array => s.read(pos, nbytes, into);
  const fail = (problem: string): never => {
    throw new SafetensorsError(`tensor ${jsonPreview(e.name, 200)}: ${problem}`, s.name);
  };
  switch (e.dtype) {
    case 'F32': {
      const out = new Float32Array(n);
      bytes(new Uint8Array(out.buffer));
      return new Tensor(out, e.shape, 'float32');
    }
    case 'F64': {
      const out = new Float64Array(n);
      bytes(new Uint8Array(out.buffer));
      return new Tensor(out, e.shape, 'float64');
    }
    case 'I32': {
      const out = new Int32Array(n);
      bytes(new Uint8Array(out.buffer));
      return new Tensor(out, e.shape, 'int32');
    }
    case 'F16':
    case 'BF16': {
      const codes = new Uint16Array(n);
      bytes(new Uint8Array(codes.buffer));
      return new Tensor(decodeFloatArray(codes, e.dtype === 'F16' ? FP16 : BF16), e.shape, 'float32');
    }
    case 'F8_E4M3':
    case 'F8_E5M2':
      return new Tensor(
        decodeFloatArray(bytes(new Uint8Array(n)), e.dtype === 'F8_E4M3' ? FP8_E4M3 : FP8_E5M2),
        e.shape,
        'float32',
      );
    case 'F8_E8M0': {
      const codes = bytes(new Uint8Array(n));
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = decodeUE8M0(codes[i]);
      return new Tensor(out, e.shape, 'float32');
    }
    case 'I64':
    case 'U64': {
      // Two int32 words per element (little-endian: low, high); the value fits int32 iff high is low's sign extension.
      const words = new Int32Array(2 * n);
      bytes(new Uint8Array(words.buffer));
      const out = new Int32Array(n);
      const signed = e.dtype === 'I64';
      for (let i = 0; i < n; i++) {
        const lo = words[2 * i];
        const hi = words[2 * i + 1];
        if (signed ? hi !== lo >> 31 : hi !== 0 || lo < 0) {
          const v = signed ? new BigInt64Array(words.buffer)[i] : new BigUint64Array(words.buffer)[i];
          fail(`${e.dtype} value ${v} at element ${i} does not fit int32`);
        }
        out[i] = lo;
      }
      return new Tensor(out, e.shape, 'int32');
    }
    case 'U32': {
      const words = new Uint32Array(n);
      bytes(new Uint8Array(words.buffer));
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        if (words[i] > 0x7fffffff) fail(`U32 value ${words[i]} at element ${i} does not fit int32`);
        out[i] = words[i];
      }
      return new Tensor(out, e.shape, 'int32');
    }
    case 'I16':
    case 'U16':
    case 'I8':
    case 'U8': {
      const buf = new ArrayBuffer(nbytes);
      bytes(new Uint8Array(buf));
      const Ctor = { I16: Int16Array, U16: Uint16Array, I8: Int8Array, U8: Uint8Array }[e.dtype];
      return new Tensor(Int32Array.from(new Ctor(buf, 0, n)), e.shape, 'int32');
    }
    case 'BOOL': {
      const out = bytes(new Uint8Array(n));
      for (let i = 0; i < n; i++) if (out[i] > 1) fail(`BOOL byte ${out[i]} at element ${i} is not 0 or 1`);
      return new Tensor(out, e.shape, 'bool');
    }
  }
}

/** What was read from one file: tensors (header order by name) and the dtype each had in the file. */
export interface RawTensors {
  readonly tensors: Map<string, Tensor>;
  readonly fileDtypes: Map<string, SafetensorsDtype>;
  readonly metadata: Readonly<Record<string, string>>;
}

/** @internal Reads the tensors of one file whose names `want` accepts (all when absent), without dequantising. */
export function readSafetensorsRaw(
  src: string | Uint8Array,
  want?: (name: string) => boolean,
  name?: string,
): RawTensors {
  return withSource(src, name, (s) => {
    const h = readHeaderFrom(s);
    const entries = h.tensors
      .filter((e) => !want || want(e.name))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const tensors = new Map<string, Tensor>();
    const fileDtypes = new Map<string, SafetensorsDtype>();
    for (const e of entries) {
      tensors.set(e.name, readTensor(s, h, e));
      fileDtypes.set(e.name, e.dtype);
    }
    return { tensors, fileDtypes, metadata: h.metadata };
  });
}

/**
 * Reads the tensors of one file that `targets` names straight into those tensors (live model weights): the shape must
 * match; BF16 goes byte for byte into bfloat16 storage and F32 into float32, other pairs convert one tensor at a time
 * (into bfloat16 rounded to nearest even). Integer or bool data for a float target, and FP8 weights with block scales,
 * are refused. Returns the names read. Errors name the file and the tensor.
 */
export function readSafetensorsInto(
  file: string,
  targets: ReadonlyMap<string, Tensor>,
  names?: ReadonlySet<string>,
): string[] {
  return withSource(file, undefined, (s) => {
    const h = readHeaderFrom(s);
    const all = new Set(h.tensors.map((e) => e.name));
    const read: string[] = [];
    for (const e of h.tensors) {
      const t = targets.get(e.name);
      if (!t || (names && !names.has(e.name))) continue;
      const fail = (problem: string): never => {
        throw new SafetensorsError(`tensor ${jsonPreview(e.name, 200)}: ${problem}`, s.name);
      };
      if (e.shape.length !== t.shape.length || e.shape.some((d, i) => d !== t.shape[i]))
        fail(`shape ${shapeStr(e.shape)} does not match the model's ${shapeStr(t.shape)}`);
      if ((t.dtype === 'bfloat16' || t.dtype === 'float32' || t.dtype === 'float64') && !isFloatStorage(e.dtype))
        fail(`holds ${e.dtype} values, but the model's weight is floating point: store it as F32, F16, BF16 or F8`);
      if ((e.dtype === 'F8_E4M3' || e.dtype === 'F8_E5M2') && all.has(e.name + SCALE_INV_SUFFIX))
        fail('is an FP8 weight with block scales: load this checkpoint with float32 weights (it is dequantised then)');
      const direct = (t.dtype === 'bfloat16' && e.dtype === 'BF16') || (t.dtype === 'float32' && e.dtype === 'F32');
      if (direct)
        s.read(
          h.dataStart + e.begin,
          e.end - e.begin,
          new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
        );
      else copyConverted(t, readTensor(s, h, e));
      read.push(e.name);
    }
    return read;
  });
}

// ---- FP8 block dequantisation --------------------------------------------------------------------------------------

/** Suffix of the per-block inverse scale of an FP8 weight (`x.weight` -> `x.weight_scale_inv`). */
export const SCALE_INV_SUFFIX = '_scale_inv';

/** DeepSeek-V3's `weight_block_size`. */
export const DEFAULT_BLOCK_SIZE: readonly [number, number] = [128, 128];

/**
 * Dequantises a block-scaled weight: out[i][j] = w[i][j] * scaleInv[floor(i / br)][floor(j / bc)], in float32.
 * `w` (R, C) holds the FP8 values as float32; `scaleInv` is (ceil(R / br), ceil(C / bc)); edge blocks are partial.
 */
export function dequantizeBlockwise(
  w: Tensor,
  scaleInv: Tensor,
  blockSize: readonly [number, number] = DEFAULT_BLOCK_SIZE,
): Tensor {
  const [br, bc] = blockSize;
  if (w.ndim !== 2) throw new RangeError(`dequantizeBlockwise: weight must be 2-D, got shape ${shapeStr(w.shape)}`);
  const [rows, cols] = w.shape;
  const sr = Math.ceil(rows / br);
  const sc = Math.ceil(cols / bc);
  if (scaleInv.ndim !== 2 || scaleInv.shape[0] !== sr || scaleInv.shape[1] !== sc) {
    throw new RangeError(
      `dequantizeBlockwise: scale shape ${shapeStr(scaleInv.shape)} does not match weight ${shapeStr(w.shape)} with ` +
        `${br}x${bc} blocks (needs [${sr},${sc}])`,
    );
  }
  const out = new Float32Array(rows * cols);
  const x = w.data;
  const s = scaleInv.data;
  for (let i = 0; i < rows; i++) {
    const srow = Math.floor(i / br) * sc;
    const base = i * cols;
    for (let j = 0; j < cols; j++) out[base + j] = x[base + j] * s[srow + Math.floor(j / bc)];
  }
  return new Tensor(out, [rows, cols], 'float32');
}

/**
 * @internal Replaces every F8 tensor `W` that has a `W_scale_inv` in `raw` by its dequantised value and removes the
 * scale. `where` names the file(s) in errors.
 */
export function dequantizeFp8Weights(
  raw: RawTensors,
  blockSize: readonly [number, number],
  where: (name: string) => string,
): void {
  const { tensors, fileDtypes } = raw;
  for (const [name, t] of [...tensors]) {
    const dt = fileDtypes.get(name);
    if (dt !== 'F8_E4M3' && dt !== 'F8_E5M2') continue;
    const scaleName = name + SCALE_INV_SUFFIX;
    const scale = tensors.get(scaleName);
    if (!scale) continue;
    if (scale.dtype !== 'float32' && scale.dtype !== 'float64') {
      throw new SafetensorsError(
        `scale ${JSON.stringify(scaleName)} has dtype ${fileDtypes.get(scaleName)}, expected a float type`,
        where(scaleName),
      );
    }
    try {
      tensors.set(name, dequantizeBlockwise(t, scale, blockSize));
    } catch (e) {
      throw new SafetensorsError(`cannot dequantise ${JSON.stringify(name)}: ${(e as Error).message}`, where(name));
    }
    tensors.delete(scaleName);
    fileDtypes.set(name, 'F32');
    fileDtypes.delete(scaleName);
  }
}

export interface SafetensorsLoadOptions {
  /** Dequantise F8 weights that have a `<name>_scale_inv` sibling and drop the scales (default true). */
  dequantize?: boolean;
  /** Rows and columns covered by one scale (default [128, 128], DeepSeek-V3's `weight_block_size`). */
  blockSize?: readonly [number, number];
  /** Load only the tensors whose name passes (the scale of a passing FP8 weight is read for dequantisation). */
  filter?: (name: string) => boolean;
  /** Name for errors when the source is a Uint8Array (default `<buffer>`). */
  name?: string;
}

/** @internal The names to read for a filter: with dequantisation, a passing weight's scale is read as well. */
export function wantedNames(opts: SafetensorsLoadOptions): ((name: string) => boolean) | undefined {
  const filter = opts.filter;
  if (!filter) return undefined;
  if (opts.dequantize === false) return filter;
  return (n) => filter(n) || (n.endsWith(SCALE_INV_SUFFIX) && filter(n.slice(0, -SCALE_INV_SUFFIX.length)));
}

/**
 * Loads a safetensors file (path) or its bytes (Uint8Array) as a Map from name to Tensor, sorted by name.
 * Throws a SafetensorsError naming the file and the problem for any malformed input.
 */
export function loadSafetensors(src: string | Uint8Array, opts: SafetensorsLoadOptions = {}): Map<string, Tensor> {
  const raw = readSafetensorsRaw(src, wantedNames(opts), opts.name);
  if (opts.dequantize !== false) {
    const file = typeof src === 'string' ? src : (opts.name ?? '<buffer>');
    dequantizeFp8Weights(raw, opts.blockSize ?? DEFAULT_BLOCK_SIZE, () => file);
  }
  if (opts.filter) for (const n of [...raw.tensors.keys()]) if (!opts.filter(n)) raw.tensors.delete(n);
  return raw.tensors;
}

// ---- writing -----------------------------------------------------------------------------------------------------

export interface SafetensorsSaveOptions {
  /**
   * Storage type of float tensors, for all of them or per tensor (default F32). int32 tensors are always written as
   * I32 and bool tensors as BOOL.
   */
  dtype?: FloatWriteDtype | ((name: string, t: Tensor) => FloatWriteDtype);
  /** The `__metadata__` string map (default `{format: "pt"}`, which Hugging Face loaders look for). */
  metadata?: Readonly<Record<string, string>>;
}

/** One tensor placed in the file: its storage dtype and byte range. */
export interface PlannedTensor {
  readonly name: string;
  readonly tensor: Tensor;
  readonly dtype: SafetensorsDtype;
  readonly begin: number;
  readonly end: number;
}

/** @internal The storage dtype of a tensor under the save options. */
export function storageDtype(name: string, t: Tensor, opts: SafetensorsSaveOptions): SafetensorsDtype {
  if (t.dtype === 'int32') return 'I32';
  if (t.dtype === 'bool') return 'BOOL';
  const d = typeof opts.dtype === 'function' ? opts.dtype(name, t) : (opts.dtype ?? 'F32');
  if (d !== 'F32' && d !== 'F64' && d !== 'BF16' && d !== 'F16') {
    throw new RangeError(
      `saveSafetensors: cannot write float tensor ${JSON.stringify(name)} as ${String(d)} (use F32, F64, BF16 or F16)`,
    );
  }
  return d;
}

/** Bytes one tensor takes in storage dtype `d`. */
export function storageBytes(t: Tensor, d: SafetensorsDtype): number {
  return t.size * DTYPE_BYTES[d];
}

/** Lays tensors out as the reference writer does: by descending dtype (keeps wide types aligned), then by name. */
function planLayout(
  tensors: ReadonlyMap<string, Tensor>,
  opts: SafetensorsSaveOptions,
): { header: Uint8Array; plan: PlannedTensor[] } {
  const items: { name: string; tensor: Tensor; dtype: SafetensorsDtype }[] = [];
  for (const [name, tensor] of tensors) {
    if (typeof name !== 'string' || name === '__metadata__')
      throw new RangeError(`saveSafetensors: invalid tensor name ${JSON.stringify(name)}`);
    if (!(tensor instanceof Tensor)) throw new TypeError(`saveSafetensors: ${JSON.stringify(name)} is not a Tensor`);
    items.push({ name, tensor, dtype: storageDtype(name, tensor, opts) });
  }
  const rank = (d: SafetensorsDtype): number => WRITE_ORDER.indexOf(d);
  items.sort((a, b) => rank(b.dtype) - rank(a.dtype) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const json: Record<string, unknown> = {};
  const metadata = opts.metadata ?? { format: 'pt' };
  if (Object.keys(metadata).length > 0) {
    const sorted: Record<string, string> = {};
    for (const k of Object.keys(metadata).sort()) {
      if (typeof metadata[k] !== 'string')
        throw new TypeError(`saveSafetensors: metadata value of ${JSON.stringify(k)} is not a string`);
      sorted[k] = metadata[k];
    }
    json.__metadata__ = sorted;
  }
  const plan: PlannedTensor[] = [];
  let at = 0;
  for (const it of items) {
    const end = at + storageBytes(it.tensor, it.dtype);
    plan.push({ ...it, begin: at, end });
    json[it.name] = { dtype: it.dtype, shape: it.tensor.shape, data_offsets: [at, end] };
    at = end;
  }
  const body = new TextEncoder().encode(JSON.stringify(json));
  const pad = (8 - (body.length % 8)) % 8; // spaces, so that the data starts 8-byte aligned
  if (body.length + pad > MAX_HEADER_BYTES)
    throw new RangeError(`saveSafetensors: header of ${body.length} bytes exceeds ${MAX_HEADER_BYTES}`);
  const header = new Uint8Array(8 + body.length + pad);
  new DataView(header.buffer).setBigUint64(0, BigInt(body.length + pad), true);
  header.set(body, 8);
  header.fill(0x20, 8 + body.length);
  return { header, plan };
}

/** The stored bytes of one tensor (a view of its data where no conversion is needed). */
function tensorBytes(p: PlannedTensor): Uint8Array {
  const asBytes = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  // bfloat16 storage is written as is when stored as BF16, else decoded (exactly) first.
  if (p.tensor.dtype === 'bfloat16' && p.dtype === 'BF16') return asBytes(p.tensor.data);
  const d = p.tensor.dtype === 'bfloat16' ? decodeFloatArray(p.tensor.data as Uint16Array, BF16) : p.tensor.data;
  switch (p.dtype) {
    case 'I32':
      return asBytes(d);
    case 'BOOL':
      return Uint8Array.from(d as Uint8Array, (v) => (v ? 1 : 0));
    case 'F32':
      return asBytes(d instanceof Float32Array ? d : Float32Array.from(d));
    case 'F64':
      return asBytes(d instanceof Float64Array ? d : Float64Array.from(d));
    case 'BF16':
    case 'F16':
      return asBytes(encodeFloatArray(d as Float32Array | Float64Array, p.dtype === 'BF16' ? BF16 : FP16));
    default:
      throw new RangeError(`saveSafetensors: cannot write dtype ${p.dtype}`);
  }
}

/** Serialises tensors to safetensors bytes in memory (byte-identical to the reference writer's output). */
export function serializeSafetensors(
  tensors: ReadonlyMap<string, Tensor>,
  opts: SafetensorsSaveOptions = {},
): Uint8Array {
  const { header, plan } = planLayout(tensors, opts);
  const total = header.length + (plan.length ? plan[plan.length - 1].end : 0);
  const out = new Uint8Array(total);
  out.set(header);
  for (const p of plan) out.set(tensorBytes(p), header.length + p.begin);
  return out;
}

/**
 * Writes tensors to a safetensors file atomically (temporary file in the same directory, fsync, rename), one tensor
 * at a time so that memory stays at one tensor's converted bytes.
 */
export function saveSafetensors(
  file: string,
  tensors: ReadonlyMap<string, Tensor>,
  opts: SafetensorsSaveOptions = {},
): void {
  const { header, plan } = planLayout(tensors, opts);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileAtomic(file, (fd) => {
    writeAll(fd, header);
    for (const p of plan) writeAll(fd, tensorBytes(p));
  });
}
