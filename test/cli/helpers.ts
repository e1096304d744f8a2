/** CLI test helpers: a small model directory (tiny DeepSeek-V3 and a BPE tokenizer trained on `add` problems). */
import { Tokenizer } from '../../src/data/tokenizer.js';
import { addTask } from '../../src/data/tasks/index.js';
import { createModel } from '../../src/models/index.js';
import { saveModelDir } from '../../src/io/model_dir.js';
import { tinyDeepseek } from '../models/helpers.js';

/** Writes DIR/config.json, model.safetensors and tokenizer.json: a model `generate`, `eval` and `grpo` can load. */
export async function writeToyModelDir(
  dir: string,
  opts: { problems?: number; vocabSize?: number; seed?: number } = {},
): Promise<void> {
  const texts = addTask
    .problems(opts.problems ?? 40, { difficulty: 1 })
    .map((p) => `${p.prompt} ${addTask.solution(p)}`);
  const tok = await Tokenizer.train(texts, { vocabSize: opts.vocabSize ?? 300 });
  saveModelDir(
    dir,
    // 512 positions: the R1-Zero template alone is ~340 tokens of this tokenizer, and prompt + response must fit
    createModel(
      tinyDeepseek({ vocab_size: tok.vocabSize, num_nextn_predict_layers: 0, max_position_embeddings: 512 }),
      {
        seed: opts.seed ?? 0,
      },
    ),
  );
  tok.saveDir(dir);
}
