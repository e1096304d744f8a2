/**
 * `r1ts generate`: sample continuations of a prompt from a model directory (config.json + safetensors + tokenizer.json).
 *   r1ts generate --model DIR --prompt TEXT [--n K] [--max-tokens N] [--temperature T] [--top-p P] [--top-k K]
 *                 [--seed S] [--stop STR]... [--r1-zero] [--engine fast|model] [--speculative none|mtp] [--json]
 * The sampling flags map to one SamplingParams (src/infer/sampling.ts), checked with the library's validator; the
 * memory the request needs (KV cache and logits of all K rows) is estimated from config.json before the weights load.
 */
import type { Command } from 'commander';
import { readConfigFile } from '../../io/model_dir.js';
import { loadModelAndTokenizer } from '../../io/load.js';
import type { WeightsInMemory } from '../../io/model_dir.js';
import { generateText } from '../../infer/generate.js';
import { NO_DRAFT_MODULE, hasDraftModule } from '../../infer/batcher.js';
import { generationBytes } from '../../infer/memory.js';
import { DEFAULT_SAMPLING, SAMPLING_RANGES, checkSamplingParams } from '../../infer/sampling.js';
import { promptText } from '../../rl/rollout.js';
import { SAMPLING_FLAG_NAMES, checkFits, flagsOf, samplingOptions } from '../flags.js';
import { warn } from '../warn.js';

interface GenerateFlags {
  model: string;
  prompt: string;
  tokenizer?: string;
  weights: WeightsInMemory;
  n: number;
  maxTokens: number;
  temperature: number;
  topP: number;
  topK: number;
  seed: number;
  stop?: string[];
  r1Zero?: boolean;
  engine: 'fast' | 'model';
  speculative: 'none' | 'mtp';
  json?: boolean;
}

export function registerGenerate(program: Command): void {
  const cmd = program.command('generate').description('sample K continuations of a prompt (batched, KV cache, seeded)');
  const f = flagsOf(cmd);
  cmd
    .addOption(
      f
        .input('--model <dir>', 'model directory (config.json, model.safetensors, tokenizer.json)', 'dir')
        .makeOptionMandatory(),
    )
    .requiredOption('--prompt <text>', 'the prompt')
    .addOption(f.input('--tokenizer <file>', 'tokenizer.json (default: the one in --model)', 'file or dir'))
    .addOption(f.weights())
    .addOption(f.int('--n <k>', 'samples, decoded together as one batch', SAMPLING_RANGES.n, DEFAULT_SAMPLING.n));
  const { maxTokens, temperature, topP, topK, seed } = DEFAULT_SAMPLING;
  for (const o of samplingOptions(f, { maxTokens, temperature, topP, topK, seed })) cmd.addOption(o);
  cmd
    .option('--stop <str...>', 'stop strings (kept in the output) (default: none)')
    .option('--r1-zero', 'wrap the prompt in the R1-Zero template')
    .addOption(f.choice('--engine <e>', 'decoder', ['fast', 'model'] as const, 'fast'))
    .addOption(
      f.choice(
        '--speculative <s>',
        "speculative decoding: 'mtp' drafts with the model's MTP module (fast engine; greedy output unchanged)",
        ['none', 'mtp'] as const,
        'none',
      ),
    )
    .option('--json', 'print [{"text", "tokens", "finish"}, ...] and timing as one JSON object')
    .action((o: GenerateFlags) => {
      const c = 'generate';
      const sampling = checkSamplingParams(
        {
          n: o.n,
          maxTokens: o.maxTokens,
          temperature: o.temperature,
          topP: o.topP,
          topK: o.topK,
          seed: o.seed,
          stop: o.stop,
        },
        { who: c, names: SAMPLING_FLAG_NAMES },
      );
      const prompt = o.r1Zero ? promptText(o.prompt) : o.prompt;
      // a byte-level BPE token covers at least one byte; +2 for BOS/EOS
      const promptTokens = Buffer.byteLength(prompt) + 2;
      const { config } = readConfigFile(o.model);
      checkFits(
        c,
        generationBytes(config, { rows: sampling.n, promptTokens, maxTokens: sampling.maxTokens }),
        `--n ${sampling.n} samples of up to ${promptTokens} + --max-tokens ${sampling.maxTokens} tokens (KV cache and logits)`,
      );
      const { model, tok, warnings } = loadModelAndTokenizer(o.model, o.tokenizer, { weights: o.weights });
      warn(...warnings);
      if (o.speculative === 'mtp' && (o.engine === 'model' || !hasDraftModule(model)))
        throw new Error(
          `${c}: --speculative mtp ${o.engine === 'model' ? 'runs on --engine fast' : `(${o.model}): ${NO_DRAFT_MODULE}`}`,
        );
      const t0 = performance.now();
      const { n, ...params } = sampling;
      const gens = generateText(model, tok, Array(n).fill(prompt), {
        ...params,
        engine: o.engine,
        speculative: o.speculative,
      });
      const sec = (performance.now() - t0) / 1000;
      const tokens = gens.reduce((s, g) => s + g.tokens.length, 0);
      const drafted = gens.reduce((s, g) => s + (g.drafted ?? 0), 0);
      const accepted = gens.reduce((s, g) => s + (g.accepted ?? 0), 0);
      const speculative = o.speculative === 'none' ? undefined : { drafted, accepted };
      if (o.json) {
        console.log(
          JSON.stringify({
            samples: gens.map((g) => ({ text: g.text, tokens: g.tokens, finish: g.finish })),
            seconds: sec,
            tokensPerSecond: tokens / sec,
            speculative,
          }),
        );
        return;
      }
      gens.forEach((g, i) => {
        console.log(`--- sample ${i + 1}/${n} (${g.tokens.length} tokens, ${g.finish})`);
        console.log(g.text);
      });
      const rate = drafted
        ? `, ${accepted}/${drafted} drafts accepted (${((100 * accepted) / drafted).toFixed(0)}%)`
        : '';
      console.log(
        `--- ${tokens} tokens in ${sec.toFixed(2)} s (${(tokens / sec).toFixed(0)} tokens/s, ${n} sample(s) batched${rate})`,
      );
    });
}
