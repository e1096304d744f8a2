/**
 * Checkpoint directories of safetensors files, as Hugging Face writes them: one `model.safetensors`, or shards
 * `model-00001-of-0000N.safetensors` listed in `model.safetensors.index.json`
 * (`{"metadata": {"total_size": bytes}, "weight_map": {tensor name: shard file}}`).
 *
 * Loading prefers `model.safetensors` and falls back to the index (as transformers does). FP8 weights are dequantised
 * across shards (a weight and its `_scale_inv` may sit in different shards). Tensors a shard holds but the index does
 * not list are ignored; a listed tensor missing from its shard is an error.
 * Saving splits tensors (sorted by name) greedily into shards of at most `maxShardBytes` (a larger tensor gets a shard
 * of its own), writes every file atomically, the index last, and then removes files of an earlier save in the same
 * directory that would shadow or confuse the new one (`model.safetensors`, the index, `model-NNNNN-of-NNNNN.safetensors`
 * not written this time). No other file is touched.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Tensor } from '../tensor/tensor.js';
import { writeAll, writeFileAtomic } from './atomic.js';
import { type FileAccessError, notRegularKind, readTextFile, statRegularFile } from '../util/files.js';
import {
  DEFAULT_BLOCK_SIZE,
  type SafetensorsLoadOptions,
  type RawTensors,
  type SafetensorsDtype,
  type SafetensorsEntry,
  type SafetensorsSaveOptions,
  SafetensorsError,
  MAX_HEADER_BYTES,
  dequantizeFp8Weights,
  isFloatStorage,
  loadSafetensors,
  readSafetensorsHeader,
  readSafetensorsInto,
  readSafetensorsRaw,
  saveSafetensors,
  storageBytes,
  storageDtype,
  wantedNames,
} from './safetensors.js';

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';
const SHARD_NAME = /^model-\d{5}-of-\d{5}\.safetensors$/;

/** Hugging Face's default `max_shard_size` ("5GB"). */
export const DEFAULT_MAX_SHARD_BYTES = 5_000_000_000;

/** A validated `model.safetensors.index.json`. */
export interface CheckpointIndex {
  readonly metadata: Readonly<Record<string, unknown>>;
  /** Tensor name -> shard file name (relative to the index's directory). */
  readonly weightMap: ReadonlyMap<string, string>;
}

/** Reads and validates an index file: weight_map must map names to plain file names in the same directory. */
export function readCheckpointIndex(file: string): CheckpointIndex {
  const fail = (problem: string): never => {
    throw new SafetensorsError(problem, file);
  };
  let text: string;
  try {
    const { size } = statRegularFile(file, 'safetensors');
    if (size > MAX_HEADER_BYTES) fail(`index file of ${size} bytes exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
    text = readTextFile(file, 'safetensors', MAX_HEADER_BYTES);
  } catch (e) {
    if (e instanceof SafetensorsError) throw e;
    const f = e as FileAccessError;
    fail(f.code ? `cannot read: ${f.code}` : f.problem.replace(/^is /, ''));
  }
  let json: unknown;
  try {
    json = JSON.parse(text!);
  } catch (e) {
    fail(`index is not valid JSON: ${(e as Error).message.replace(/\s+/g, ' ').slice(0, 120)}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('index is not a JSON object');
  const { metadata = {}, weight_map: wm } = json as Record<string, unknown>;
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
    fail('index metadata is not an object');
  if (typeof wm !== 'object' || wm === null || Array.isArray(wm)) fail('index has no weight_map object');
  const weightMap = new Map<string, string>();
  for (const [name, shard] of Object.entries(wm as Record<string, unknown>)) {
    if (typeof shard !== 'string') fail(`weight_map entry ${JSON.stringify(name)} is not a file name`);
    const s = shard as string;
    if (s === '' || s === '.' || s === '..' || s.includes('/') || s.includes('\\') || s.includes('\0')) {
      fail(`weight_map entry ${JSON.stringify(name)} names ${JSON.stringify(s)}, not a file in the index's directory`);
    }
    weightMap.set(name, s);
  }
  return { metadata: metadata as Record<string, unknown>, weightMap };
}

/** Loads the tensors an index lists, shard by shard, then dequantises FP8 weights across shards. */
function loadIndexed(indexFile: string, opts: SafetensorsLoadOptions): Map<string, Tensor> {
  const dir = path.dirname(indexFile);
  const { weightMap } = readCheckpointIndex(indexFile);
  const want = wantedNames(opts);
  const byShard = new Map<string, Set<string>>();
  for (const [name, shard] of weightMap) {
    if (want && !want(name)) continue;
    if (!byShard.has(shard)) byShard.set(shard, new Set());
    byShard.get(shard)!.add(name);
  }
  const tensors = new Map<string, Tensor>();
  const fileDtypes = new Map<string, SafetensorsDtype>();
  for (const shard of [...byShard.keys()].sort()) {
    const file = path.join(dir, shard);
    const names = byShard.get(shard)!;
    const present = new Set(readSafetensorsHeader(file).tensors.map((e) => e.name));
    for (const n of names) {
      if (!present.has(n))
        throw new SafetensorsError(`tensor ${JSON.stringify(n)} listed in the index is missing from its shard`, file);
    }
    const raw = readSafetensorsRaw(file, (n) => names.has(n));
    for (const [n, t] of raw.tensors) tensors.set(n, t);
    for (const [n, d] of raw.fileDtypes) fileDtypes.set(n, d);
  }
  const raw: RawTensors = { tensors, fileDtypes, metadata: {} };
  if (opts.dequantize !== false) {
    dequantizeFp8Weights(raw, opts.blockSize ?? DEFAULT_BLOCK_SIZE, (n) => path.join(dir, weightMap.get(n)!));
  }
  const sorted = new Map<string, Tensor>();
  for (const n of [...tensors.keys()].sort()) if (!opts.filter || opts.filter(n)) sorted.set(n, tensors.get(n)!);
  return sorted;
}

/**
 * Loads a checkpoint: a directory holding `model.safetensors` or `model.safetensors.index.json` (+ shards), or the
 * path of a `.safetensors` file or of an index `.json` directly. Options as for `loadSafetensors`.
 */
export function loadCheckpointDir(dirOrFile: string, opts: SafetensorsLoadOptions = {}): Map<string, Tensor> {
  const { file, indexed } = resolveCheckpoint(dirOrFile);
  return indexed ? loadIndexed(file, opts) : loadSafetensors(file, opts);
}

/**
 * Reads a checkpoint (as `loadCheckpointDir` takes it) straight into existing tensors, by name, one tensor at a time
 * and shard by shard (`readSafetensorsInto`): the lazy load of large models, whose peak memory is the targets plus at
 * most one tensor being converted. Returns the checkpoint's names that no target took; names of `targets` the
 * checkpoint lacks are the caller's to report (`read` lists the ones it had).
 */
export function loadCheckpointInto(
  dirOrFile: string,
  targets: ReadonlyMap<string, Tensor>,
): { read: Set<string>; unused: string[] } {
  const { file, indexed } = resolveCheckpoint(dirOrFile);
  if (!indexed) {
    const read = new Set(readSafetensorsInto(file, targets));
    const unused = readSafetensorsHeader(file)
      .tensors.map((e) => e.name)
      .filter((n) => !targets.has(n));
    return { read, unused: unused.sort() };
  }
  const dir = path.dirname(file);
  const { weightMap } = readCheckpointIndex(file);
  const byShard = new Map<string, Set<string>>();
  const unused: string[] = [];
  for (const [name, shard] of weightMap) {
    if (!targets.has(name)) {
      unused.push(name);
      continue;
    }
    if (!byShard.has(shard)) byShard.set(shard, new Set());
    byShard.get(shard)!.add(name);
  }
  const read = new Set<string>();
  for (const shard of [...byShard.keys()].sort()) {
    const names = byShard.get(shard)!;
    const got = new Set(readSafetensorsInto(path.join(dir, shard), targets, names));
    for (const n of names) {
      if (!got.has(n))
        throw new SafetensorsError(
          `tensor ${JSON.stringify(n)} listed in the index is missing from its shard`,
          path.join(dir, shard),
        );
      read.add(n);
    }
  }
  return { read, unused: unused.sort() };
}

/** The file a checkpoint path stands for: a single safetensors file, or an index (`indexed`). */
function resolveCheckpoint(dirOrFile: string): { file: string; indexed: boolean } {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dirOrFile);
  } catch (e) {
    throw new SafetensorsError(`cannot open: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, dirOrFile);
  }
  if (stat.isFile()) return { file: dirOrFile, indexed: dirOrFile.endsWith('.json') };
  if (!stat.isDirectory()) throw new SafetensorsError(`${notRegularKind(stat)}, not a file or directory`, dirOrFile);
  const single = path.join(dirOrFile, SINGLE_FILE);
  if (fs.existsSync(single)) return { file: single, indexed: false };
  const index = path.join(dirOrFile, INDEX_FILE);
  if (fs.existsSync(index)) return { file: index, indexed: true };
  throw new SafetensorsError(`no ${SINGLE_FILE} or ${INDEX_FILE} in the directory`, dirOrFile);
}

/**
 * How many tensor elements a checkpoint (as `loadCheckpointDir` would load it) holds, from the headers alone: a bound
 * on what a model needs before anything is allocated. For an index, only the tensors it lists count.
 */
export function checkpointNumel(dirOrFile: string): number {
  const { file, indexed } = resolveCheckpoint(dirOrFile);
  const numel = (e: SafetensorsEntry): number => e.shape.reduce((a, d) => a * d, 1);
  if (!indexed) return readSafetensorsHeader(file).tensors.reduce((n, e) => n + numel(e), 0);
  const { weightMap } = readCheckpointIndex(file);
  let n = 0;
  for (const shard of new Set(weightMap.values())) {
    for (const e of readSafetensorsHeader(path.join(path.dirname(file), shard)).tensors)
      if (weightMap.get(e.name) === shard) n += numel(e);
  }
  return n;
}

/** The dtypes of the float tensors a checkpoint holds (as `loadCheckpointDir` would load it), from the headers. */
export function checkpointDtypes(dirOrFile: string): Set<SafetensorsDtype> {
  const { file, indexed } = resolveCheckpoint(dirOrFile);
  const out = new Set<SafetensorsDtype>();
  const add = (e: SafetensorsEntry): void => {
    if (isFloatStorage(e.dtype)) out.add(e.dtype);
  };
  if (!indexed) {
    for (const e of readSafetensorsHeader(file).tensors) add(e);
    return out;
  }
  const { weightMap } = readCheckpointIndex(file);
  for (const shard of new Set(weightMap.values()))
    for (const e of readSafetensorsHeader(path.join(path.dirname(file), shard)).tensors)
      if (weightMap.get(e.name) === shard) add(e);
  return out;
}

export interface CheckpointSaveOptions extends SafetensorsSaveOptions {
  /** Largest shard, in bytes of tensor data (default 5 GB, as Hugging Face); one file when everything fits. */
  maxShardBytes?: number;
}

/**
 * Saves tensors into `dir` as `model.safetensors`, or as shards plus `model.safetensors.index.json` when they exceed
 * `maxShardBytes`. Returns the file names written (index last).
 */
export function saveCheckpointDir(
  dir: string,
  tensors: ReadonlyMap<string, Tensor>,
  opts: CheckpointSaveOptions = {},
): string[] {
  const max = opts.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES;
  if (!(max > 0)) throw new RangeError(`saveCheckpointDir: maxShardBytes must be positive (got ${max})`);
  const names = [...tensors.keys()].sort();
  const shards: string[][] = [[]];
  let bytes = 0;
  let total = 0;
  for (const n of names) {
    const t = tensors.get(n)!;
    const b = storageBytes(t, storageDtype(n, t, opts));
    if (shards[shards.length - 1].length > 0 && bytes + b > max) {
      shards.push([]);
      bytes = 0;
    }
    shards[shards.length - 1].push(n);
    bytes += b;
    total += b;
  }
  fs.mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  if (shards.length === 1) {
    saveSafetensors(path.join(dir, SINGLE_FILE), tensors, opts);
    written.push(SINGLE_FILE);
  } else {
    const pad = (i: number): string => String(i).padStart(5, '0');
    const weightMap: Record<string, string> = {};
    shards.forEach((shard, i) => {
      const file = `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`;
      saveSafetensors(path.join(dir, file), new Map(shard.map((n) => [n, tensors.get(n)!])), opts);
      for (const n of shard) weightMap[n] = file;
      written.push(file);
    });
    const index = { metadata: { total_size: total }, weight_map: weightMap };
    const text = new TextEncoder().encode(JSON.stringify(index, null, 2) + '\n');
    writeFileAtomic(path.join(dir, INDEX_FILE), (fd) => writeAll(fd, text));
    written.push(INDEX_FILE);
  }
  // Remove what an earlier save left that the loader would pick up instead of, or mix with, the new files.
  const keep = new Set(written);
  for (const f of fs.readdirSync(dir)) {
    if (keep.has(f)) continue;
    if (f === SINGLE_FILE || f === INDEX_FILE || SHARD_NAME.test(f)) fs.rmSync(path.join(dir, f), { force: true });
  }
  return written;
}
