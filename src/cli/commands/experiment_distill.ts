/**
 * `r1ts experiment distill-vs-rl`: R1's distillation-versus-RL comparison (src/posttrain/distill_vs_rl.ts): from one
 * student base, a distilled student and an R1-Zero GRPO student, evaluated with the teacher and the base on held-out
 * problems.
 *   r1ts experiment distill-vs-rl --teacher DIR --student DIR [--out DIR] [--task T] [--difficulty D] [--quick] [--json]
 * `--quick` is the same code path with small sizes (for trying it out); runs in --out are reused or resumed.
 */
import type { Command } from 'commander';
import { SAMPLE_TEMPLATES } from '../../posttrain/sample.js';
import { comparisonTable, distillVsRl } from '../../posttrain/distill_vs_rl.js';
import { TASKS } from '../../data/tasks/index.js';
import { PROBLEMS_RANGE, SEED_RANGE, flagsOf, ints, shownDefault } from '../flags.js';

interface Flags {
  teacher: string;
  student: string;
  out: string;
  task: string;
  difficulty?: string;
  template: (typeof SAMPLE_TEMPLATES)[number];
  n?: number;
  k?: number;
  rlSteps?: number;
  distillProblems?: number;
  distillK?: number;
  distillEpochs?: number;
  seed: number;
  quick?: boolean;
  json?: boolean;
}

/** Sizes of a full run and of --quick (the same code path). */
const SIZES = {
  full: { problems: 200, samples: 4, epochs: 3, maxSteps: undefined, rlSteps: 100, n: 64, k: 8, maxTokens: 256 },
  quick: { problems: 24, samples: 2, epochs: 1, maxSteps: 10, rlSteps: 4, n: 16, k: 2, maxTokens: 128 },
};

export function registerDistillVsRl(exp: Command): void {
  const cmd = exp
    .command('distill-vs-rl')
    .description(
      'from one student base, distil the teacher (SFT only) and train R1-Zero GRPO; held-out pass@1, cons@k, greedy and length of teacher, base, distilled and RL student',
    );
  const f = flagsOf(cmd);
  cmd
    .addOption(f.input('--teacher <dir>', 'teacher model directory', 'dir').makeOptionMandatory())
    .addOption(
      f
        .input('--student <dir>', 'pre-trained student base (e.g. pretrain --preset student)', 'dir')
        .makeOptionMandatory(),
    )
    .option('--out <dir>', 'where the two runs go (reused or resumed when there)', 'runs/distill-vs-rl')
    .addOption(f.choice('--task <t>', 'task to distil, train by RL and evaluate', Object.keys(TASKS), 'lineq'))
    .option('--difficulty <d>', "reasoning task difficulty N or A-B (default: the task's)")
    .addOption(
      f.choice(
        '--template <t>',
        "how the teacher reads prompts (r1-zero: a base pre-trained on R1-Zero's prompt)",
        SAMPLE_TEMPLATES,
        'r1-zero',
      ),
    )
    .addOption(f.int('--n <n>', 'held-out test problems', PROBLEMS_RANGE, shownDefault('64; --quick 16')))
    .addOption(f.int('--k <k>', 'samples per held-out problem', ints(1, 4096), shownDefault('8; --quick 2')))
    .addOption(f.int('--rl-steps <n>', 'GRPO steps', ints(1, 1_000_000), shownDefault('100; --quick 4')))
    .addOption(
      f.int(
        '--distill-problems <n>',
        "train problems the teacher is sampled on (distill's --n)",
        PROBLEMS_RANGE,
        shownDefault(`${SIZES.full.problems}; --quick ${SIZES.quick.problems}`),
      ),
    )
    .addOption(
      f.int(
        '--distill-k <k>',
        "teacher samples per train problem (distill's --k)",
        ints(1, 4096),
        shownDefault(`${SIZES.full.samples}; --quick ${SIZES.quick.samples}`),
      ),
    )
    .addOption(
      f.int(
        '--distill-epochs <n>',
        "passes of the student's SFT over the distillation set (distill's --epochs)",
        ints(1, 10_000),
        shownDefault(`${SIZES.full.epochs}; --quick ${SIZES.quick.epochs}`),
      ),
    )
    .addOption(f.int('--seed <n>', 'seed of sampling, training and the problems', SEED_RANGE, 0))
    .option('--quick', 'small sizes, same code path: a run of minutes for trying it out')
    .option('--json', 'print one JSON object with a row per model')
    .action(async (o: Flags) => {
      const z = o.quick ? SIZES.quick : SIZES.full;
      const r = await distillVsRl({
        teacher: o.teacher,
        student: o.student,
        outDir: o.out,
        task: o.task,
        difficulty: o.difficulty,
        n: o.n ?? z.n,
        k: o.k ?? z.k,
        maxTokens: z.maxTokens,
        sampling: {
          template: o.template,
          n: o.distillProblems ?? z.problems,
          k: o.distillK ?? z.samples,
          maxTokens: z.maxTokens,
        },
        sft: { epochs: o.distillEpochs ?? z.epochs, maxSteps: z.maxSteps },
        rlSteps: o.rlSteps ?? z.rlSteps,
        seed: o.seed,
        log: o.json ? () => {} : (l) => console.log(l),
      });
      console.log(o.json ? JSON.stringify(r) : comparisonTable(r));
    });
}
