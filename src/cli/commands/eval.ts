/**
 * `r1ts eval`: pass@1 (mean over k samples), cons@k (majority vote) and greedy accuracy of a model on a built-in task
 * or a JSONL file of {"prompt", "answer"} (GSM8K `#### answer` parsed).
 *   r1ts eval --model DIR --task TASK|FILE.jsonl [--split test] [--n 50] [--k 16] [--temperature 0.6] [--top-p 0.95]
 *             [--max-tokens 256] [--difficulty D] [--seed S] [--no-greedy] [--json]
 * With --json it prints exactly {"task", "n", "k", "pass@1", "cons@k", "greedy"}.
 */
import * as fs from 'node:fs';
import type { Command } from 'commander';
import { EVAL_SAMPLING, evaluate } from '../../eval/eval.js';
import { readConfigFile } from '../../io/model_dir.js';
import { loadModelAndTokenizer } from '../../io/load.js';
import type { WeightsInMemory } from '../../io/model_dir.js';
import { generationBytes } from '../../infer/memory.js';
import { SAMPLING_RANGES, checkSamplingParams } from '../../infer/sampling.js';
import { loadJsonlProblems, taskProblems, type RLProblem } from '../../rl/problems.js';
import { promptText } from '../../rl/rollout.js';
import {
  PROBLEMS_RANGE,
  type ProgressFlags,
  SAMPLING_FLAG_NAMES,
  checkFits,
  flagsOf,
  progressFor,
  progressOptions,
  samplingOptions,
  shownDefault,
} from '../flags.js';
import { warn } from '../warn.js';

/** Rows decoded together (src/eval/eval.ts's default batch). */
const EVAL_BATCH = 64;

interface EvalFlags extends ProgressFlags {
  model: string;
  task: string;
  tokenizer?: string;
  weights: WeightsInMemory;
  split: 'train' | 'test';
  n?: number;
  k: number;
  temperature: number;
  topP: number;
  maxTokens: number;
  difficulty?: string;
  seed: number;
  greedy: boolean;
  json?: boolean;
}

/** The problems of `--task`: a JSONL file (all of it, or the first --n) or --n problems of a built-in task's split. */
export function evalProblems(
  task: string,
  o: { split?: 'train' | 'test'; n?: number; difficulty?: string; seed?: number },
): RLProblem[] {
  if (task.endsWith('.jsonl') || (fs.existsSync(task) && fs.statSync(task).isFile())) {
    const all = loadJsonlProblems(task);
    return o.n !== undefined ? all.slice(0, o.n) : all;
  }
  return taskProblems(task, o.n ?? 50, { split: o.split ?? 'test', difficulty: o.difficulty, seed: o.seed });
}

export function registerEval(program: Command): void {
  const cmd = program
    .command('eval')
    .description('pass@1 over k samples, cons@k (majority vote) and greedy accuracy on a task or JSONL file');
  const f = flagsOf(cmd);
  cmd
    .addOption(
      f
        .input('--model <dir>', 'model directory (config.json, model.safetensors, tokenizer.json)', 'dir')
        .makeOptionMandatory(),
    )
    .requiredOption(
      '--task <name|file>',
      'built-in task (add, mul, countdown, lineq, sort, modpow) or a .jsonl of {"prompt","answer"}',
    )
    .addOption(f.input('--tokenizer <file>', 'tokenizer.json (default: the one in --model)', 'file or dir'))
    .addOption(f.weights())
    .addOption(f.choice('--split <s>', 'problems of a built-in task', ['train', 'test'] as const, 'test'))
    .addOption(f.int('--n <n>', 'problems', PROBLEMS_RANGE, shownDefault('50 for a task, the whole file for JSONL')))
    .addOption(f.int('--k <k>', 'samples per problem', SAMPLING_RANGES.n, EVAL_SAMPLING.n));
  const { temperature, topP, maxTokens } = EVAL_SAMPLING;
  for (const o of samplingOptions(f, { temperature, topP, maxTokens, seed: 0 })) cmd.addOption(o);
  cmd
    .option('--difficulty <d>', "task difficulty N or A-B (default: the task's)")
    .option('--no-greedy', 'skip the greedy pass')
    .option('--json', 'print {"task", "n", "k", "pass@1", "cons@k", "greedy"}');
  // progress goes to stderr: stdout holds the result (and --json's object alone)
  for (const opt of progressOptions(f, 'samples')) cmd.addOption(opt);
  cmd.action((o: EvalFlags) => {
    const c = 'eval';
    const { n: k, ...sampling } = checkSamplingParams(
      { n: o.k, temperature: o.temperature, topP: o.topP, maxTokens: o.maxTokens, seed: o.seed },
      { who: c, names: { ...SAMPLING_FLAG_NAMES, n: '--k' }, defaults: EVAL_SAMPLING },
    );
    const problems = evalProblems(o.task, { split: o.split, n: o.n, difficulty: o.difficulty });
    const { config } = readConfigFile(o.model);
    // bytes bound tokens from above; a prompt beyond the context is refused with its own message when it is encoded
    const promptBytes = Math.max(...problems.map((p) => Buffer.byteLength(promptText(p.question)))) + 2;
    const promptTokens = Math.min(promptBytes, config.max_position_embeddings);
    const samples = problems.length * (k + (o.greedy ? 1 : 0));
    checkFits(
      c,
      generationBytes(config, {
        rows: Math.min(EVAL_BATCH, samples),
        promptTokens,
        maxTokens: sampling.maxTokens,
        samples,
      }),
      `${problems.length} problems x --k ${k} samples of up to ${promptTokens} + --max-tokens ${sampling.maxTokens} tokens`,
    );
    const { model, tok, warnings } = loadModelAndTokenizer(o.model, o.tokenizer, { weights: o.weights });
    warn(...warnings);
    const t0 = performance.now();
    const r = evaluate(model, tok, problems, {
      ...sampling,
      k,
      greedy: o.greedy,
      batchSize: EVAL_BATCH,
      progress: progressFor(o, process.stderr),
    });
    if (o.json) {
      console.log(
        JSON.stringify({
          task: o.task,
          n: r.n,
          k: r.k,
          'pass@1': r['pass@1'],
          'cons@k': r['cons@k'],
          greedy: r.greedy,
        }),
      );
      return;
    }
    const p = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);
    console.log(
      `task      ${o.task} (${r.n} problems, k = ${r.k}, T = ${sampling.temperature}, top-p ${sampling.topP})`,
    );
    console.log(`pass@1    ${p(r['pass@1'])}   (mean over ${r.k} samples)`);
    console.log(`cons@${r.k}`.padEnd(10) + `${p(r['cons@k'])}   (majority vote)`);
    console.log(`greedy    ${p(r.greedy)}`);
    console.log(
      `format    ${p(r.formatRate)}   truncated ${p(r.truncationRate)}   mean length ${r.meanLength.toFixed(1)} tokens`,
    );
    console.log(`time      ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  });
}
