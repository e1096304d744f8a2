/**
 * `r1ts eval`: pass@1 (mean over k samples), cons@k (majority vote) and greedy accuracy of a model on a built-in task
 * or a JSONL file of {"prompt", "answer"} (GSM8K `#### answer` parsed).
 *   r1ts eval --model DIR --task TASK|FILE.jsonl [--split test] [--n 50] [--k 16] [--temperature 0.6] [--top-p 0.95]
 *             [--max-tokens 256] [--difficulty D] [--seed S] [--no-greedy] [--json]
 * With --json it prints exactly {"task", "n", "k", "pass@1", "cons@k", "greedy"}.
 */
import * as fs from 'node:fs';
import type { Command } from 'commander';
import { evaluate } from '../../eval/eval.js';
import { loadJsonlProblems, taskProblems, type RLProblem } from '../../rl/problems.js';
import { loadModelAndTokenizer, numFlag } from './generate.js';

interface EvalFlags {
  model: string;
  task: string;
  tokenizer?: string;
  split?: string;
  n?: string;
  k?: string;
  temperature?: string;
  topP?: string;
  maxTokens?: string;
  difficulty?: string;
  seed?: string;
  greedy: boolean;
  json?: boolean;
}

/** The problems of `--task`: a JSONL file (all of it, or the first --n) or --n problems of a built-in task's split. */
export function evalProblems(
  cmd: string,
  task: string,
  o: { split?: string; n?: number; difficulty?: string; seed?: number },
): RLProblem[] {
  if (task.endsWith('.jsonl') || (fs.existsSync(task) && fs.statSync(task).isFile())) {
    const all = loadJsonlProblems(task);
    return o.n !== undefined ? all.slice(0, o.n) : all;
  }
  const split = o.split ?? 'test';
  if (split !== 'train' && split !== 'test') throw new Error(`${cmd}: --split must be train or test, got '${split}'`);
  return taskProblems(task, o.n ?? 50, { split, difficulty: o.difficulty, seed: o.seed });
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('pass@1 over k samples, cons@k (majority vote) and greedy accuracy on a task or JSONL file')
    .requiredOption('--model <dir>', 'model directory (config.json, model.safetensors, tokenizer.json)')
    .requiredOption(
      '--task <name|file>',
      'built-in task (add, mul, countdown, lineq, sort, modpow) or a .jsonl of {"prompt","answer"}',
    )
    .option('--tokenizer <file>', 'tokenizer.json (default: the one in --model)')
    .option('--split <s>', 'train|test (built-in tasks; default test)')
    .option('--n <n>', 'problems (default 50 for tasks, the whole file for JSONL)')
    .option('--k <k>', 'samples per problem (default 16)')
    .option('--temperature <t>', 'sampling temperature (default 0.6)')
    .option('--top-p <p>', 'nucleus mass (default 0.95)')
    .option('--max-tokens <n>', 'response budget (default 256)')
    .option('--difficulty <d>', 'task difficulty N or A-B (default: the task default)')
    .option('--seed <s>', 'sampling seed (default 0)')
    .option('--no-greedy', 'skip the greedy pass')
    .option('--json', 'print {"task", "n", "k", "pass@1", "cons@k", "greedy"}')
    .action((o: EvalFlags) => {
      const c = 'eval';
      const k = numFlag(c, '--k', o.k, { int: true, min: 1 }) ?? 16;
      const n = numFlag(c, '--n', o.n, { int: true, min: 1 });
      const temperature = numFlag(c, '--temperature', o.temperature, { min: 0 }) ?? 0.6;
      const topP = numFlag(c, '--top-p', o.topP, { min: 0, max: 1 }) ?? 0.95;
      const maxTokens = numFlag(c, '--max-tokens', o.maxTokens, { int: true, min: 1 }) ?? 256;
      const seed = numFlag(c, '--seed', o.seed, { int: true, min: 0 }) ?? 0;
      const problems = evalProblems(c, o.task, { split: o.split, n, difficulty: o.difficulty });
      const { model, tok } = loadModelAndTokenizer(c, o.model, o.tokenizer);
      const t0 = performance.now();
      const r = evaluate(model, tok, problems, { k, temperature, topP, maxTokens, seed, greedy: o.greedy });
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
      console.log(`task      ${o.task} (${r.n} problems, k = ${r.k}, T = ${temperature}, top-p ${topP})`);
      console.log(`pass@1    ${p(r['pass@1'])}   (mean over ${r.k} samples)`);
      console.log(`cons@${r.k}`.padEnd(10) + `${p(r['cons@k'])}   (majority vote)`);
      console.log(`greedy    ${p(r.greedy)}`);
      console.log(
        `format    ${p(r.formatRate)}   truncated ${p(r.truncationRate)}   mean length ${r.meanLength.toFixed(1)} tokens`,
      );
      console.log(`time      ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    });
}
