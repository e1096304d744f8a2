/**
 * `r1ts distill`: a teacher's reasoning into a small dense student ([R1v1] 4.1): rejection-sample the teacher on the
 * built-in tasks' train split (correct, readable), write the set with its provenance, and fine-tune the student on it
 * through the teacher's chat template, in one resumable run directory (src/posttrain/distill.ts).
 *   r1ts distill --teacher DIR --student DIR --out DIR [--task LIST] [--n N] [--k K] [--temperature T] [--top-p P]
 *                [--max-tokens N] [--template chat|r1-zero] [--keep RULE] [--filters F] [--epochs N] [--lr X]
 *                [--max-steps N] [--seq-len T] [--batch N] [--micro-batch N] [--resume | --overwrite]
 * Flags a user did not give have no commander default (the defaults are shown and applied by `distill()`), so that
 * on --resume only the flags given are compared with the run's (DISTILL_RESUME_RULE).
 */
import type { Command } from 'commander';
import { SAMPLING_RANGES } from '../../infer/sampling.js';
import {
  DEFAULT_DISTILL_SAMPLING,
  DEFAULT_DISTILL_SFT,
  type DistillSampling,
  distill,
} from '../../posttrain/distill.js';
import { SAMPLE_TEMPLATES } from '../../posttrain/sample.js';
import { SAMPLE_TASKS } from '../../posttrain/sample_prompts.js';
import { DEFAULT_SFT_CONFIG, SFT_RANGES, type SftConfig } from '../../posttrain/sft.js';
import {
  PROBLEMS_RANGE,
  type ProgressFlags,
  flagsOf,
  nums,
  parseChoice,
  parseList,
  progressFor,
  runStoppable,
  progressOptions,
  shownDefault,
} from '../flags.js';

interface DistillFlags extends ProgressFlags {
  teacher?: string;
  student?: string;
  out: string;
  task?: string[];
  n?: number;
  k?: number;
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  template?: DistillSampling['template'];
  stop?: string[];
  keep?: string;
  filters?: string;
  lang?: DistillSampling['lang'];
  difficulty?: string;
  seed?: number;
  epochs?: number;
  lr?: number;
  maxSteps?: number;
  seqLen?: number;
  batch?: number;
  microBatch?: number;
  valShare?: number;
  resume?: boolean;
  overwrite?: boolean;
}

const S = DEFAULT_DISTILL_SAMPLING;
const sftDefault = (k: keyof SftConfig) => shownDefault(String(DEFAULT_DISTILL_SFT[k] ?? DEFAULT_SFT_CONFIG[k]));

async function distillCommand(o: DistillFlags): Promise<void> {
  await runStoppable(o, async (stops) => {
    return distill({
      outDir: o.out,
      teacher: o.teacher,
      student: o.student,
      sampling: {
        tasks: o.task,
        n: o.n,
        k: o.k,
        temperature: o.temperature,
        topP: o.topP,
        maxTokens: o.maxTokens,
        template: o.template,
        stop: o.stop,
        keep: o.keep,
        filters: o.filters,
        lang: o.lang,
        difficulty: o.difficulty,
        seed: o.seed,
      },
      config: Object.fromEntries(
        Object.entries({
          epochs: o.epochs,
          lr: o.lr,
          maxSteps: o.maxSteps,
          seqLen: o.seqLen,
          batch: o.batch,
          microBatch: o.microBatch,
        }).filter(([, v]) => v !== undefined),
      ),
      valShare: o.valShare,
      resume: o.resume,
      overwrite: o.overwrite,
      stops,
      progress: progressFor(o),
    });
  });
}

export function registerDistill(program: Command): void {
  const cmd = program
    .command('distill')
    .description(
      "distil a teacher into a small dense student: rejection-sample the teacher (train split, correct, readable), SFT the student through the teacher's chat template; resumable",
    );
  const f = flagsOf(cmd);
  const run = shownDefault("the run's, with --resume");
  const taskList = (raw: string) =>
    parseList('distill', '--task', raw, (t, name) => parseChoice('distill', name, t, SAMPLE_TASKS));
  cmd
    .requiredOption('--out <dir>', 'run directory (distill.jsonl, checkpoints, metrics.jsonl, the final model/)')
    .addOption(
      f.input(
        '--teacher <dir>',
        'teacher model directory (with tokenizer.json); required for a new run',
        'dir',
        false,
        run,
      ),
    )
    .addOption(
      f.input(
        '--student <dir>',
        'student model directory, a pre-trained dense base (with tokenizer.json); required for a new run',
        'dir',
        false,
        run,
      ),
    )
    .addOption(
      f
        .text(
          '--task <names>',
          `built-in tasks to sample, comma-separated (train split): ${SAMPLE_TASKS.join('|')}`,
          shownDefault(S.tasks.join(',')),
        )
        .argParser(taskList),
    )
    .addOption(f.int('--n <n>', 'train problems per task', PROBLEMS_RANGE, shownDefault(String(S.n))))
    .addOption(f.int('--k <k>', 'teacher samples per problem', SAMPLING_RANGES.n, shownDefault(String(S.k))))
    .addOption(
      f.num(
        '--temperature <t>',
        'sampling temperature',
        SAMPLING_RANGES.temperature,
        shownDefault(String(S.temperature)),
      ),
    )
    .addOption(f.num('--top-p <p>', 'nucleus sampling mass', SAMPLING_RANGES.topP, shownDefault(String(S.topP))))
    .addOption(
      f.int(
        '--max-tokens <n>',
        'new tokens per response at most',
        SAMPLING_RANGES.maxTokens,
        shownDefault(String(S.maxTokens)),
      ),
    )
    .addOption(
      f.choice(
        '--template <t>',
        "how the teacher reads prompts: its chat template (else R1's), or the R1-Zero prompt of a base",
        SAMPLE_TEMPLATES,
        shownDefault(S.template),
      ),
    )
    .option('--stop <str...>', 'stop strings, kept in the response (default: </answer> for r1-zero, none for chat)')
    .addOption(f.text('--keep <rule>', 'which responses to keep: correct, or all', shownDefault(S.keep)))
    .addOption(f.text('--filters <f>', 'readability filters: readable (all), none, or a list', shownDefault(S.filters)))
    .addOption(
      f.choice('--lang <l>', 'language of the task prompts', ['en', 'es', 'mix'] as const, shownDefault(S.lang)),
    )
    .option('--difficulty <d>', "reasoning task difficulty N or A-B (default: the task's)")
    .addOption(f.int('--seed <n>', 'sampling seed', SAMPLING_RANGES.seed, shownDefault(String(S.seed))))
    .addOption(f.int('--epochs <n>', 'passes over the distillation set', SFT_RANGES.epochs, sftDefault('epochs')))
    .addOption(f.num('--lr <x>', 'peak learning rate of the SFT', SFT_RANGES.lr, sftDefault('lr')))
    .addOption(
      f.int('--max-steps <n>', 'stop after this many optimizer steps', SFT_RANGES.maxSteps, shownDefault('the epochs')),
    )
    .addOption(f.int('--seq-len <n>', 'positions per packed row', SFT_RANGES.seqLen, sftDefault('seqLen')))
    .addOption(f.int('--batch <n>', 'packed rows per optimizer step', SFT_RANGES.batch, sftDefault('batch')))
    .addOption(f.int('--micro-batch <n>', 'rows per forward pass', SFT_RANGES.microBatch, sftDefault('microBatch')))
    .addOption(
      f.num(
        '--val-share <x>',
        'share of the set held out for the held-out loss',
        nums(0, 1, true),
        shownDefault('0.05'),
      ),
    )
    .option('--resume', 'continue the run in --out (--epochs, --max-steps, --lr and --micro-batch may change)')
    .option('--overwrite', 'start a new run in --out even if it holds one, deleting it');
  for (const opt of progressOptions(f)) cmd.addOption(opt);
  cmd.action(distillCommand);
}
