/**
 * A model directory in Hugging Face layout: `config.json` + `model.safetensors` (or a sharded index), tensors under
 * HF names. `saveModelDir` writes both atomically; `loadModelDir` builds the model from the config and loads weights,
 * after checking that the checkpoint holds as many values as the config describes (so a wrong config.json cannot make
 * it allocate more than the weights on disk), and reports NaN/infinite weights as warnings naming the tensor.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { countParams, createModel, type CausalLM } from '../models/index.js';
import { type ModelConfig, configToJson, parseConfig } from '../models/config.js';
import type { Tensor } from '../tensor/tensor.js';
import { FileAccessError, readTextFile } from '../util/files.js';
import { formatBytes, formatCount } from '../util/format.js';
import { exportStateDict, importStateDict } from './hf.js';
import { checkpointNumel, loadCheckpointDir, saveCheckpointDir } from './safetensors_index.js';
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
 * Builds the model described by DIR/config.json and loads DIR's weights into it. Before the model is allocated, the
 * checkpoint headers must hold at least as many values as the config describes (a config that asks for 671B
 * parameters beside a small checkpoint is an error, not an allocation); tensors holding NaN or infinity are reported
 * in `warnings`, by name.
 */
export function loadModelDir(dir: string): LoadedModel {
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
  const model = createModel(config);
  const tensors = loadCheckpointDir(dir);
  const { unused } = importStateDict(model, tensors, dir);
  if (unused.length)
    warnings.push(`${dir}: ${unused.length} checkpoint tensor(s) not used by the model, e.g. ${unused[0]}`);
  warnings.push(...nonFiniteWarnings(dir, tensors));
  return { model, config, warnings };
}

/** One warning per float tensor holding NaN or infinite values (the first few by name, then a count). */
function nonFiniteWarnings(dir: string, tensors: ReadonlyMap<string, Tensor>): string[] {
  const bad: string[] = [];
  let more = 0;
  for (const [name, t] of tensors) {
    if (t.dtype !== 'float32' && t.dtype !== 'float64') continue;
    let nan = 0;
    let inf = 0;
    const d = t.data;
    for (let i = 0; i < d.length; i++) {
      const v = d[i];
      if (v - v !== 0) {
        if (v !== v) nan++;
        else inf++;
      }
    }
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
