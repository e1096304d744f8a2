/**
 * A model directory in Hugging Face layout: `config.json` + `model.safetensors` (or a sharded index), tensors under
 * HF names. `saveModelDir` writes both atomically; `loadModelDir` builds the model from the config and loads weights,
 * after checking that the checkpoint holds as many values as the config describes (so a wrong config.json cannot make
 * it allocate more than the weights on disk), and reports NaN/infinite weights as warnings naming the tensor.
 *
 * Weights in memory: float32 (what training needs), or bfloat16 for inference (`weights: 'bfloat16'`, or 'auto' when
 * the checkpoint stores its weights as BF16 and the family is dense): the model is built with bf16 weight matrices and
 * every tensor is read from the checkpoint (one file or the shards of an index) straight into its final buffer, so
 * the peak memory is about the weights' bytes on disk, with no float32 copy anywhere.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { countParams, createModel, type CausalLM } from '../models/index.js';
import { type ModelConfig, configToJson, isDeepseek, parseConfig } from '../models/config.js';
import type { Tensor } from '../tensor/tensor.js';
import { FileAccessError, readTextFile } from '../util/files.js';
import { formatBytes, formatCount } from '../util/format.js';
import { exportStateDict, importStateDict } from './hf.js';
import {
  checkpointDtypes,
  checkpointNumel,
  loadCheckpointDir,
  loadCheckpointInto,
  saveCheckpointDir,
} from './safetensors_index.js';
import { writeFileAtomic, writeAll } from './atomic.js';

/** Largest config.json read (real ones are a few KB). */
export const MAX_CONFIG_BYTES = 16 << 20;

/** Reads and validates `DIR/config.json` (or a config file path). FIFOs and devices are refused unopened. */
export function readConfigFile(file: string): { config: ModelConfig; warnings: string[] } {
  const p = fs.existsSync(file) && fs.statSync(file).isDirectory() ? path.join(file, 'config.json') : file;
  let text: string;
  try {
    text = readTextFile(p, 'config', MAX_CONFIG_BYTES);
  } catch (e) {
    if (e instanceof FileAccessError && e.code) throw new Error(`config: cannot read ${p}`);
    throw e;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`config: ${p} is not valid JSON (${(e as Error).message})`);
  }
  return parseConfig(raw, path.basename(p));
}

/** Files of a model (config and weights: single file, shard index, shards). */
const MODEL_FILE =
  /^(config\.json|model\.safetensors|model\.safetensors\.index\.json|model-\d{5}-of-\d{5}\.safetensors)$/;
/** Files that belong to the weights they sit beside (a tokenizer trained with them, generation defaults). */
const COMPANION_FILE = /^(tokenizer\.json|tokenizer_config\.json|generation_config\.json)$/;

/**
 * The model files in `dir` (config.json, weights, shard index, shards), sorted; [] when it holds no model. With
 * `companions`, also the files that belong to those weights (tokenizer.json, tokenizer_config.json,
 * generation_config.json), listed only when there is a model.
 */
export function modelDirFiles(dir: string, companions = false): string[] {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) return [];
  const names = fs.readdirSync(dir).sort();
  const model = names.filter((n) => MODEL_FILE.test(n));
  if (!model.length || !companions) return model;
  return names.filter((n) => MODEL_FILE.test(n) || COMPANION_FILE.test(n));
}

export interface LoadedModel {
  model: CausalLM;
  config: ModelConfig;
  warnings: string[];
}

/**
 * How a loaded model keeps its weight matrices in memory: float32 (trainable), bfloat16 (inference only: half the
 * memory, read by the bf16 kernels), or auto (bfloat16 when the checkpoint stores BF16 and the family is dense, else
 * float32).
 */
export type WeightsInMemory = 'float32' | 'bfloat16' | 'auto';

export const WEIGHTS_IN_MEMORY: readonly WeightsInMemory[] = ['auto', 'float32', 'bfloat16'];

export interface LoadModelOptions {
  /** Storage of the weight matrices in memory (default float32). */
  weights?: WeightsInMemory;
}

/** The storage `weights` resolves to for DIR's checkpoint and config. */
export function resolveWeights(dir: string, config: ModelConfig, weights: WeightsInMemory): 'float32' | 'bfloat16' {
  if (weights !== 'auto') return weights;
  if (isDeepseek(config)) return 'float32';
  const dtypes = checkpointDtypes(dir);
  return dtypes.size > 0 && [...dtypes].every((d) => d === 'BF16') ? 'bfloat16' : 'float32';
}

/**
 * Builds the model described by DIR/config.json and loads DIR's weights into it. Before the model is allocated, the
 * checkpoint headers must hold at least as many values as the config describes (a config that asks for 671B
 * parameters beside a small checkpoint is an error, not an allocation); tensors holding NaN or infinity are reported
 * in `warnings`, by name.
 */
export function loadModelDir(dir: string, opts: LoadModelOptions = {}): LoadedModel {
  const { config, warnings } = readConfigFile(path.join(dir, 'config.json'));
  const p = countParams(config);
  const need = p.total + p.mtp;
  const have = checkpointNumel(dir);
  if (have < need) {
    throw new Error(
      `${dir}: config.json describes ${formatCount(need)} parameters (${formatBytes(need * 4)} as float32) but the ` +
        `checkpoint holds ${formatCount(have)} values: the config does not belong to these weights`,
    );
  }
  if (resolveWeights(dir, config, opts.weights ?? 'float32') === 'bfloat16') {
    const model = loadBf16(dir, config, warnings);
    return { model, config, warnings };
  }
  const model = createModel(config);
  const tensors = loadCheckpointDir(dir);
  const { unused } = importStateDict(model, tensors, dir);
  if (unused.length)
    warnings.push(`${dir}: ${unused.length} checkpoint tensor(s) not used by the model, e.g. ${unused[0]}`);
  warnings.push(...nonFiniteWarnings(dir, tensors));
  return { model, config, warnings };
}

/**
 * The bf16 inference load: the model built with bf16 weight matrices (nothing random, nothing float32) and the
 * checkpoint read straight into its tensors. Every parameter is frozen (inference only).
 */
function loadBf16(dir: string, config: ModelConfig, warnings: string[]): CausalLM {
  const model = createModel(config, { weightDtype: 'bfloat16' });
  const targets = exportStateDict(model);
  const { read, unused } = loadCheckpointInto(dir, targets);
  const missing = [...targets.keys()].filter((n) => !read.has(n));
  if (missing.length)
    throw new Error(
      `hf: checkpoint lacks ${missing.length} tensor(s) the model needs: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''} (${dir})`,
    );
  if (unused.length)
    warnings.push(`${dir}: ${unused.length} checkpoint tensor(s) not used by the model, e.g. ${unused[0]}`);
  for (const p of model.parameters()) if (p.requiresGrad) p.requiresGrad = false;
  warnings.push(...nonFiniteWarnings(dir, targets));
  return model;
}

/** NaN and infinity counts of a float or bfloat16 tensor. */
function nonFiniteCounts(t: Tensor): { nan: number; inf: number } {
  let nan = 0;
  let inf = 0;
  const d = t.data;
  if (t.dtype === 'bfloat16') {
    // Two codes per 32-bit word for the common case (no code with an all-ones exponent), each code only in a hit word.
    const words = d.byteOffset % 4 === 0 ? new Uint32Array(d.buffer, d.byteOffset, d.length >> 1) : new Uint32Array(0);
    const count = (c: number): void => {
      if ((c & 0x7f80) === 0x7f80) {
        if (c & 0x7f) nan++;
        else inf++;
      }
    };
    for (let i = 0; i < words.length; i++) {
      const w = words[i];
      if ((w & 0x7f80) === 0x7f80 || (w & 0x7f800000) === 0x7f800000) {
        count(w & 0xffff);
        count(w >>> 16);
      }
    }
    for (let i = 2 * words.length; i < d.length; i++) count(d[i]);
    return { nan, inf };
  }
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    if (v - v !== 0) {
      if (v !== v) nan++;
      else inf++;
    }
  }
  return { nan, inf };
}

/** One warning per float tensor holding NaN or infinite values (the first few by name, then a count). */
function nonFiniteWarnings(dir: string, tensors: ReadonlyMap<string, Tensor>): string[] {
  const bad: string[] = [];
  let more = 0;
  for (const [name, t] of tensors) {
    if (t.dtype !== 'float32' && t.dtype !== 'float64' && t.dtype !== 'bfloat16') continue;
    const { nan, inf } = nonFiniteCounts(t);
    if (nan + inf === 0) continue;
    if (bad.length < 5)
      bad.push(
        `${dir}: tensor ${name} holds ${nan} NaN and ${inf} infinite value(s) of ${t.size}; outputs will not be finite`,
      );
    else more++;
  }
  if (more) bad.push(`${dir}: ${more} more tensor(s) hold NaN or infinite values`);
  return bad;
}

/** Writes DIR/config.json and the weights (HF names, float32 unless `dtype` says otherwise; torch_dtype says which). */
export function saveModelDir(
  dir: string,
  model: CausalLM,
  opts: { dtype?: 'F32' | 'BF16' | 'F16'; maxShardBytes?: number } = {},
): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const torchDtype = ({ F32: 'float32', BF16: 'bfloat16', F16: 'float16' } as const)[opts.dtype ?? 'F32'];
  const json = JSON.stringify(configToJson(model.config, torchDtype), null, 2) + '\n';
  writeFileAtomic(path.join(dir, 'config.json'), (fd) => writeAll(fd, new TextEncoder().encode(json)));
  return saveCheckpointDir(dir, exportStateDict(model), {
    dtype: opts.dtype,
    maxShardBytes: opts.maxShardBytes,
  });
}
