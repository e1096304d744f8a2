/**
 * A model directory with its tokenizer, loaded together for generation, evaluation and RL: the model from
 * DIR/config.json + weights (./model_dir.ts) and the tokenizer beside it (DIR/tokenizer.json) or at a given path,
 * checked against each other (the model's vocabulary must hold every token id). The model is put in eval mode;
 * `weights` says how its weight matrices are kept in memory (float32 by default; bfloat16 for inference).
 *
 * Throws one-line Errors naming the directory or file; warnings (unused checkpoint tensors, unknown config fields)
 * are returned for the caller to show. Not here: training-run directories (src/train).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CausalLM } from '../models/index.js';
import type { ModelConfig } from '../models/config.js';
import { Tokenizer } from '../data/tokenizer.js';
import { type LoadModelOptions, loadModelDir } from './model_dir.js';

export interface ModelAndTokenizer {
  model: CausalLM;
  config: ModelConfig;
  tok: Tokenizer;
  warnings: string[];
}

/**
 * Loads DIR's model and the tokenizer beside it, or the one at `tokenizer` (a tokenizer.json or its directory).
 * Throws when DIR has no tokenizer and none is given, or when the tokenizer has more tokens than the model.
 */
export function loadModelAndTokenizer(dir: string, tokenizer?: string, opts: LoadModelOptions = {}): ModelAndTokenizer {
  if (tokenizer === undefined && !fs.existsSync(path.join(dir, 'tokenizer.json')))
    throw new Error(`${dir} has no tokenizer.json (pass --tokenizer FILE, the tokenizer the model was trained with)`);
  const { model, config, warnings } = loadModelDir(dir, opts);
  const tok = Tokenizer.load(tokenizer ?? dir);
  if (tok.vocabSize > config.vocab_size)
    throw new Error(
      `the tokenizer ${tokenizer ?? path.join(dir, 'tokenizer.json')} has ${tok.vocabSize} tokens but the model's vocab_size is ${config.vocab_size} (${dir})`,
    );
  model.eval();
  return { model, config, tok, warnings };
}
