/**
 * `r1ts generate`: sample continuations of a prompt from a model directory (config.json + safetensors + tokenizer.json).
 *   r1ts generate --model DIR --prompt TEXT [--n K] [--max-tokens N] [--temperature T] [--top-p P] [--top-k K]
 *                 [--seed S] [--stop STR]... [--r1-zero] [--engine fast|model] [--json]
 * Also the flag parsing and model+tokenizer loading shared by `r1ts grpo` and `r1ts eval`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { loadModelDir } from '../../io/model_dir.js';
import type { CausalLM } from '../../models/index.js';
import { Tokenizer } from '../../data/tokenizer.js';
import { generateText } from '../../infer/generate.js';
import { promptText } from '../../rl/rollout.js';

/** Parses a numeric flag; the error names the flag and the allowed range. */
export function numFlag(
  cmd: string,
  flag: string,
  v: string | undefined,
  opts: { int?: boolean; min?: number; max?: number } = {},
): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  const ok =
    v.trim() !== '' &&
    Number.isFinite(x) &&
    (!opts.int || Number.isInteger(x)) &&
    (opts.min === undefined || x >= opts.min) &&
    (opts.max === undefined || x <= opts.max);
  if (!ok) {
    const range = [opts.min !== undefined ? `>= ${opts.min}` : '', opts.max !== undefined ? `<= ${opts.max}` : '']
      .filter(Boolean)
      .join(' and ');
    throw new Error(
      `${cmd}: ${flag} must be ${opts.int ? 'an integer' : 'a number'}${range ? ` ${range}` : ''}, got '${v}'`,
    );
  }
  return x;
}

/** Loads DIR's model and the tokenizer beside it (or at `tokenizer`); warnings go to stderr. */
export function loadModelAndTokenizer(
  cmd: string,
  dir: string,
  tokenizer?: string,
): { model: CausalLM; tok: Tokenizer } {
  const { model, warnings } = loadModelDir(dir);
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  const tp = tokenizer ?? dir;
  if (!tokenizer && !fs.existsSync(path.join(dir, 'tokenizer.json'))) {
    throw new Error(
      `${cmd}: ${dir} has no tokenizer.json (pass --tokenizer FILE, the tokenizer the model was trained with)`,
    );
  }
  const tok = Tokenizer.load(tp);
  if (tok.vocabSize > model.config.vocab_size) {
    throw new Error(
      `${cmd}: the tokenizer has ${tok.vocabSize} tokens but the model's vocab_size is ${model.config.vocab_size}`,
    );
  }
  model.eval();
  return { model, tok };
}

interface GenerateFlags {
  model: string;
  prompt: string;
  tokenizer?: string;
  n?: string;
  maxTokens?: string;
  temperature?: string;
  topP?: string;
  topK?: string;
  seed?: string;
  stop?: string[];
  r1Zero?: boolean;
  engine?: string;
  json?: boolean;
}

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('sample K continuations of a prompt (batched, KV cache, seeded)')
    .requiredOption('--model <dir>', 'model directory (config.json, model.safetensors, tokenizer.json)')
    .requiredOption('--prompt <text>', 'the prompt')
    .option('--tokenizer <file>', 'tokenizer.json (default: the one in --model)')
    .option('--n <k>', 'samples (default 1)')
    .option('--max-tokens <n>', 'new tokens per sample (default 64)')
    .option('--temperature <t>', '0 = greedy (default 1)')
    .option('--top-p <p>', 'nucleus mass (default 1 = off)')
    .option('--top-k <k>', 'keep the k most likely tokens (default 0 = off)')
    .option('--seed <s>', 'sampling seed (default 0)')
    .option('--stop <str...>', 'stop strings (kept in the output)')
    .option('--r1-zero', 'wrap the prompt in the R1-Zero template')
    .option('--engine <e>', 'fast|model (default fast)')
    .option('--json', 'print [{"text", "tokens", "finish"}, ...] and timing as one JSON object')
    .action((o: GenerateFlags) => {
      const c = 'generate';
      const n = numFlag(c, '--n', o.n, { int: true, min: 1 }) ?? 1;
      const maxTokens = numFlag(c, '--max-tokens', o.maxTokens, { int: true, min: 1 }) ?? 64;
      const temperature = numFlag(c, '--temperature', o.temperature, { min: 0 }) ?? 1;
      const topP = numFlag(c, '--top-p', o.topP, { min: 0, max: 1 }) ?? 1;
      const topK = numFlag(c, '--top-k', o.topK, { int: true, min: 0 }) ?? 0;
      const seed = numFlag(c, '--seed', o.seed, { int: true, min: 0 }) ?? 0;
      if (o.engine !== undefined && o.engine !== 'fast' && o.engine !== 'model')
        throw new Error(`generate: --engine must be fast or model, got '${o.engine}'`);
      const { model, tok } = loadModelAndTokenizer(c, o.model, o.tokenizer);
      const prompt = o.r1Zero ? promptText(o.prompt) : o.prompt;
      const t0 = performance.now();
      const gens = generateText(model, tok, Array(n).fill(prompt), {
        maxTokens,
        temperature,
        topP,
        topK,
        seed,
        stop: o.stop,
        engine: o.engine as 'fast' | 'model' | undefined,
      });
      const sec = (performance.now() - t0) / 1000;
      const tokens = gens.reduce((s, g) => s + g.tokens.length, 0);
      if (o.json) {
        console.log(
          JSON.stringify({
            samples: gens.map((g) => ({ text: g.text, tokens: g.tokens, finish: g.finish })),
            seconds: sec,
            tokensPerSecond: tokens / sec,
          }),
        );
        return;
      }
      gens.forEach((g, i) => {
        console.log(`--- sample ${i + 1}/${n} (${g.tokens.length} tokens, ${g.finish})`);
        console.log(g.text);
      });
      console.log(
        `--- ${tokens} tokens in ${sec.toFixed(2)} s (${(tokens / sec).toFixed(0)} tokens/s, ${n} sample(s) batched)`,
      );
    });
}
