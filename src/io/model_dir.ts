/**
 * A model directory in Hugging Face layout: `config.json` + `model.safetensors` (or a sharded index), tensors under
 * HF names. `saveModelDir` writes both atomically; `loadModelDir` builds the model from the config and loads weights.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createModel, type CausalLM } from '../models/index.js';
import { type ModelConfig, configToJson, parseConfig } from '../models/config.js';
import { exportStateDict, importStateDict } from './hf.js';
import { loadCheckpointDir, saveCheckpointDir } from './safetensors_index.js';
import { writeFileAtomic, writeAll } from './atomic.js';

/** Reads and validates `DIR/config.json` (or a config file path). */
export function readConfigFile(file: string): { config: ModelConfig; warnings: string[] } {
  const p = fs.existsSync(file) && fs.statSync(file).isDirectory() ? path.join(file, 'config.json') : file;
  let text: string;
  try {
    text = fs.readFileSync(p, 'utf8');
  } catch {
    throw new Error(`config: cannot read ${p}`);
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

/** Builds the model described by DIR/config.json and loads DIR's weights into it. */
export function loadModelDir(dir: string): LoadedModel {
  const { config, warnings } = readConfigFile(path.join(dir, 'config.json'));
  const model = createModel(config);
  const tensors = loadCheckpointDir(dir);
  const { unused } = importStateDict(model, config, tensors);
  if (unused.length)
    warnings.push(`${dir}: ${unused.length} checkpoint tensor(s) not used by the model, e.g. ${unused[0]}`);
  return { model, config, warnings };
}

/** Writes DIR/config.json and the weights (HF names, float32 unless `dtype` says otherwise). */
export function saveModelDir(
  dir: string,
  model: CausalLM,
  opts: { dtype?: 'F32' | 'BF16' | 'F16'; maxShardBytes?: number } = {},
): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const json = JSON.stringify(configToJson(model.config), null, 2) + '\n';
  writeFileAtomic(path.join(dir, 'config.json'), (fd) => writeAll(fd, new TextEncoder().encode(json)));
  return saveCheckpointDir(dir, exportStateDict(model, model.config), {
    dtype: opts.dtype,
    maxShardBytes: opts.maxShardBytes,
  });
}
