/**
 * The `r1ts` command line: one program, one subcommand per job. Each subcommand lives in ./commands and registers
 * itself on the program; errors a user can fix print one line (`r1ts: ...`) and exit with status 1.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { registerInfo } from './commands/info.js';
import { registerBench } from './commands/bench.js';
import { registerModel } from './commands/model.js';
import { registerSchedule } from './commands/schedule.js';
import { registerData } from './commands/data.js';
import { registerExperiment } from './commands/experiment.js';
import { registerGenerate } from './commands/generate.js';
import { registerGrpo } from './commands/grpo.js';
import { registerEval } from './commands/eval.js';
import { registerPretrain } from './commands/pretrain.js';
import { registerZero } from './commands/zero.js';
import { registerExport } from './commands/export.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('r1ts')
    .description(
      'DeepSeek-V3 / R1 training system in TypeScript: pretrain, RL (GRPO / R1-Zero), distil, evaluate, serve.',
    )
    .version(VERSION, '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerInfo(program);
  registerBench(program);
  registerModel(program);
  registerSchedule(program);
  registerData(program);
  registerExperiment(program);
  registerGenerate(program);
  registerGrpo(program);
  registerEval(program);
  registerPretrain(program);
  registerZero(program);
  registerExport(program);
  return program;
}

/** Runs the CLI on `argv` (process.argv layout). */
export async function run(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode;
      return;
    }
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`r1ts: ${msg}\n`);
    if (process.env.R1TS_DEBUG && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    process.exitCode = 1;
  }
}

// Run when executed as a script (`node --import tsx src/cli/main.ts ...`); bin/r1ts.js imports and calls run().
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await run(process.argv);
