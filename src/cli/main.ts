/**
 * The `r1ts` command line: one program, one subcommand per job. Each subcommand lives in ./commands and registers
 * itself on the program; its flags are parsed and checked by ./flags.ts. `run` chooses the compute backend first
 * (`initBackend`, explicitly: importing a command chooses nothing), then runs the command. Errors a user can fix print
 * one line (`r1ts: ...`) and exit with status 1.
 *
 * Not here: what the commands do (./commands), the reference of every command and flag (docs/cli.md, generated from
 * this program by ./docs.ts).
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { initBackend } from '../backend/select.js';
import { checkOverwriteFlag, commandPath } from './flags.js';
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
import { registerSft } from './commands/sft.js';
import { registerDistill } from './commands/distill.js';
import { registerZero } from './commands/zero.js';
import { registerExport } from './commands/export.js';
import { registerSample } from './commands/sample.js';
import { registerServe } from './commands/serve.js';
import { registerRm } from './commands/rm.js';
import { registerDpo } from './commands/dpo.js';
import { registerRecipe } from './commands/recipe.js';
import { registerReport } from './commands/report.js';

/** The commands by what they are for, as `r1ts --help` lists them; every registered command is in exactly one group. */
export const COMMAND_GROUPS: readonly (readonly [string, readonly string[]])[] = [
  ['main job', ['zero', 'recipe']],
  ['train', ['pretrain', 'sft', 'distill', 'grpo', 'rm', 'dpo']],
  ['sample and evaluate', ['generate', 'eval', 'sample', 'serve']],
  ['models', ['params', 'init', 'logits', 'export']],
  ['data', ['data']],
  ['study and measure', ['report', 'schedule', 'experiment', 'bench', 'info']],
];

/** Environment variables the program reads, for the help and docs/cli.md. */
export const ENVIRONMENT: readonly (readonly [string, string])[] = [
  ['R1TS_BACKEND', "'native' or 'ts': the compute backend (default: native when its addon is built, else ts)"],
  ['R1TS_THREADS', "threads of the native backend's kernel pool (default: all cores)"],
  ['R1TS_NATIVE_PATH', 'load the native addon from this file instead of build/Release/r1ts_native.node'],
  [
    'R1TS_BUFFER_POOL',
    "'off' to turn off the recycling of a training micro-batch's arrays; 'check' to poison released arrays with NaN (docs/tensor-engine.md)",
  ],
  [
    'R1TS_BUFFER_POOL_MB',
    'the most MiB of arrays one training micro-batch recycles (default 1024; less memory, less speed; docs/tensor-engine.md)',
  ],
  [
    'R1TS_PROFILE_KERNELS',
    "1: wall time and calls per native kernel of the main thread, on stderr at exit; a kernel's name (e.g. stridedCopy): also its call sites; shapes: also each float32 matmul's shape",
  ],
  ['R1TS_DEBUG', 'when set, errors also print their stack trace'],
];

function describeProgram(): string {
  const width = Math.max(...COMMAND_GROUPS.map(([g]) => g.length));
  return [
    'The DeepSeek-V3 / R1 training system in TypeScript, on a CPU.',
    '',
    ...COMMAND_GROUPS.map(([group, cmds]) => `  ${group.padEnd(width)}  ${cmds.join(', ')}`),
  ].join('\n');
}

function helpEpilogue(): string {
  const width = Math.max(...ENVIRONMENT.map(([k]) => k.length));
  return [
    '',
    'Environment:',
    ...ENVIRONMENT.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
    '',
    'Exit status: 0 on success, 1 on an error (one line on stderr, "r1ts: ..."); `r1ts COMMAND --help` shows its flags.',
  ].join('\n');
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('r1ts')
    .description(describeProgram())
    .version(VERSION, '-v, --version')
    .addHelpText('after', helpEpilogue())
    .exitOverride();
  // in the order of COMMAND_GROUPS, which `--help` lists them in
  registerZero(program);
  registerRecipe(program);
  registerPretrain(program);
  registerSft(program);
  registerDistill(program);
  registerGrpo(program);
  registerRm(program);
  registerDpo(program);
  registerGenerate(program);
  registerEval(program);
  registerSample(program);
  registerServe(program);
  registerModel(program);
  registerExport(program);
  registerData(program);
  registerReport(program);
  registerSchedule(program);
  registerExperiment(program);
  registerBench(program);
  registerInfo(program);
  for (const cmd of allCommands(program)) {
    const name = commandPath(cmd);
    const prefix = cmd === program ? '' : `${name}: `;
    const help = cmd === program ? 'r1ts --help' : `r1ts ${name} --help`;
    // commander's own errors (unknown option, missing flag) as one line too: `r1ts: eval: required option ...`
    cmd.configureOutput({
      outputError: (msg, write) => write(`r1ts: ${prefix}${msg.replace(/^error: /, '').trim()} (see ${help})\n`),
    });
    for (const opt of cmd.options) if (opt.mandatory) opt.description += ' (required)';
    checkOverwriteFlag(cmd);
  }
  const grouped = COMMAND_GROUPS.flatMap(([, cmds]) => cmds);
  const registered = program.commands.map((c) => c.name());
  const missing = registered.filter((c) => !grouped.includes(c));
  const stale = grouped.filter((c) => !registered.includes(c));
  if (missing.length || stale.length)
    throw new Error(`r1ts: COMMAND_GROUPS is out of date (not listed: ${missing}; not registered: ${stale})`);
  return program;
}

/** `cmd` and every command below it, depth first. */
export function allCommands(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap((c) => allCommands(c))];
}

/** Runs the CLI on `argv` (process.argv layout): chooses the backend, then parses and runs the command. */
export async function run(argv: string[]): Promise<void> {
  try {
    const { warning } = initBackend();
    if (warning) process.stderr.write(`r1ts: warning: ${warning}\n`);
    await buildProgram().parseAsync(argv);
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
