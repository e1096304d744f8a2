/** SFT test helpers: a tiny model directory with a tokenizer trained on chat text, and chat records of a built-in task. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyChatTemplate } from '../../src/data/chat.js';
import { SFT_TASKS, sftRecord, type SftRecord } from '../../src/data/sft/index.js';
import { Tokenizer } from '../../src/data/tokenizer.js';
import { saveModelDir } from '../../src/io/model_dir.js';
import { createModel } from '../../src/models/index.js';
import { tinyDeepseek, tinyDense } from '../models/helpers.js';

/** Records of the built-in `identity` task (the model's name and maker: learnable in a few steps), English. */
export function identityRecords(n: number, split: 'train' | 'test' = 'train'): SftRecord[] {
  return SFT_TASKS.identity.items(n, { split, lang: 'en' }).map(sftRecord);
}

/** Writes records as JSONL lines. */
export function writeRecords(file: string, records: readonly object[]): string {
  writeFileSync(file, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  return file;
}

/**
 * DIR/config.json, model.safetensors, tokenizer.json, tokenizer_config.json: a tiny DeepSeek-V3 (MoE, MTP) or Qwen2
 * whose byte-level BPE tokenizer (320 tokens, R1's special tokens) was trained on rendered identity chats.
 */
export async function writeSftModelDir(
  dir: string,
  family: 'deepseek' | 'qwen2' = 'deepseek',
  seed = 0,
  maxPositions = 256,
): Promise<void> {
  const chats = [...identityRecords(40), ...identityRecords(10, 'test')].map((r) =>
    applyChatTemplate({ config: {} }, r.messages),
  );
  const tok = await Tokenizer.train(chats, { vocabSize: 320 });
  const over = { vocab_size: tok.vocabSize, max_position_embeddings: maxPositions };
  const config = family === 'deepseek' ? tinyDeepseek(over) : tinyDense(over);
  saveModelDir(dir, createModel(config, { seed, initStd: 0.02 }));
  tok.saveDir(dir);
}

/** The path of `name` in `dir`. */
export const at = (dir: string, name: string) => join(dir, name);
