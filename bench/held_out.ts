/**
 * The command line the held-out probes share (answer_modes.ts, think_probe.ts): model directories, then `--task`
 * (default lineq), `--difficulty` (1), `--n` held-out problems (64), `--k` samples each (8) and `--show` (0: how many
 * responses of a kind think_probe.ts prints). Sets up the backend.
 */
import { parseArgs } from 'node:util';
import { type RLProblem, taskProblems } from '../src/rl/problems.js';
import { initBackend } from '../src/backend/select.js';

export interface HeldOutArgs {
  models: string[];
  task: string;
  difficulty: string;
  k: number;
  /** The task's first n test problems (seed 0), as `r1ts zero --seed 0` evaluates them. */
  problems: RLProblem[];
  /** `--show`: how many responses of a kind to print (think_probe.ts; default 0). */
  show: number;
}

/** The parsed command line; `--show` is taken only when `withShow` (elsewhere it is an unknown option). */
export function heldOutArgs(who: string, withShow = false): HeldOutArgs {
  initBackend();
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      task: { type: 'string', default: 'lineq' },
      difficulty: { type: 'string', default: '1' },
      n: { type: 'string', default: '64' },
      k: { type: 'string', default: '8' },
      ...(withShow ? { show: { type: 'string' as const, default: '0' } } : {}),
    },
  });
  if (positionals.length === 0) throw new Error(`${who}: give one or more model directories`);
  const count = (flag: string, text: string | undefined, min: number): number => {
    const v = Number(text);
    if (!Number.isInteger(v) || v < min || v > 100_000)
      throw new Error(`${who}: --${flag} must be an integer in [${min}, 100000], got '${text}'`);
    return v;
  };
  const task = values.task!;
  const difficulty = values.difficulty!;
  const problems = taskProblems(task, count('n', values.n, 1), { split: 'test', seed: 0, difficulty });
  const k = count('k', values.k, 1);
  return { models: positionals, task, difficulty, k, problems, show: count('show', String(values.show ?? '0'), 0) };
}
