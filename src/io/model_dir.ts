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
  const { unused } = importStateDict(model, tensors);
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
  return saveCheckpointDir(dir, exportStateDict(model), {
    dtype: opts.dtype,
    maxShardBytes: opts.maxShardBytes,
  });
}
