/**
 * `r1ts recipe r1`: the DeepSeek-R1 recipe end to end at tiny scale, in one run directory (src/recipe/r1.ts): the base
 * (pre-trained, or --base), R1-Zero for comparison, then stages 1-4 (cold-start SFT, reasoning RL with the language
 * reward, rejection sampling + SFT of the base, RL for all scenarios), each evaluated on held-out data. Prints the
 * table (one row per model) and writes it with the stages' curves to OUT/recipe.json, and OUT/report.html (`r1ts
 * report OUT`: the table and every stage's curves), whose path it prints. Run again with the same --out, it
 * skips complete stages and resumes an interrupted one. Ctrl-C / SIGTERM stop a training stage at a step boundary
 * with a checkpoint (exit 130 / 143). Progress is one line for the whole recipe (src/recipe/progress.ts: the stage
 * k/9, its phase, step/total, elapsed and ETA, the recipe's elapsed time), redrawn on a terminal, every
 * --log-every steps on a pipe; --quiet prints only the results.
 *
 * Not here: the stages (src/recipe/r1.ts), the evaluation (src/recipe/evaluate.ts).
 */
import * as path from 'node:path';
import type { Command } from 'commander';
import { writeReport } from '../../report/html.js';
import { RECIPE_STAGES, type RecipeStage, defaultRecipeSettings, recipePaths, runRecipe } from '../../recipe/r1.js';
import { StopRequests, type StopSignal, stopExitCode } from '../../train/signals.js';
import {
  type ProgressFlags,
  SEED_RANGE,
  flagsOf,
  parseList,
  progressFor,
  progressOptions,
  shownDefault,
} from '../flags.js';

interface RecipeFlags extends ProgressFlags {
  out: string;
  base?: string;
  stages?: RecipeStage[];
  quick?: boolean;
  seed: number;
  eval: boolean;
}

function parseStages(raw: string): RecipeStage[] {
  return parseList('recipe r1', '--stages', raw, (t, name) => {
    if (!(RECIPE_STAGES as readonly string[]).includes(t))
      throw new Error(`recipe r1: ${name} must be one of ${RECIPE_STAGES.join(', ')}, got '${t}'`);
    return t as RecipeStage;
  });
}

export function registerRecipe(program: Command): void {
  const recipe = program.command('recipe').description('multi-stage training recipes: r1 (DeepSeek-R1 at tiny scale)');
  const r1 = recipe
    .command('r1')
    .description(
      'the R1 recipe: base, R1-Zero, cold start, reasoning RL, rejection sampling + SFT, RL for all scenarios; a table',
    );
  const f = flagsOf(r1);
  r1.option('--out <dir>', 'run directory', 'runs/r1')
    .addOption(f.input('--base <dir>', 'base model directory', 'dir', false, shownDefault('pre-train one in OUT/base')))
    .addOption(
      f
        .text('--stages <list>', `stages to run, comma-separated: ${RECIPE_STAGES.join(',')}`, shownDefault('all'))
        .argParser(parseStages),
    )
    .option('--quick', 'smaller stages (about a fifth of the work) for trying the recipe out')
    .addOption(f.int('--seed <s>', 'seed', SEED_RANGE, 0))
    .option('--no-eval', 'skip the evaluations after each stage');
  for (const opt of progressOptions(f)) r1.addOption(opt);
  r1.action(async (o: RecipeFlags) => {
    const t0 = performance.now();
    const settings = { ...defaultRecipeSettings(o.quick === true), seed: o.seed };
    if (o.base) settings.base = path.resolve(o.base);
    const stops = new StopRequests((l) => process.stderr.write(`${l}\n`));
    try {
      const progress = progressFor(o);
      const r = await runRecipe({ outDir: o.out, settings, stages: o.stages, evaluate: o.eval, stops, progress });
      if (r.stopped) {
        process.exitCode = stopExitCode(r.stopped as StopSignal);
        console.log(`recipe r1: stopped by ${r.stopped}; run the same command again to continue`);
        return;
      }
      console.log('');
      console.log(`${settings.task} (difficulty ${settings.difficulty}), held-out; k=${settings.eval.k}`);
      console.log(r.table);
      console.log('');
      console.log(`table and curves: ${recipePaths(o.out).table}`);
      console.log(`report: ${writeReport(o.out).file}`);
      console.log(`total: ${((performance.now() - t0) / 60000).toFixed(1)} min`);
    } finally {
      stops.dispose();
    }
  });
}
