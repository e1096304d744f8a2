/**
 * Experiments that reproduce a claim of the papers:
 *   r1ts experiment fp8 [--steps N] [--json] [--baseline fp32|bf16] [--preset tiny] [--out DIR] [--seeds N] ...
 * trains the same small DeepSeek-V3 from the same seed and data in high precision and in FP8 (src/experiments/fp8.ts):
 * a toy on synthetic data, or with --preset the preset's model on its built-in corpus through `pretrain` (resumable)
 * and reports the relative loss gap (final and along the EMA-smoothed curve), the saved-activation bytes of each mode
 * (as the Linear ops account them, and as measured on the autograd graph), and the K = 4096 accumulation error with and
 * without promotion. --seeds N repeats it over N seeds (OUT/seed-S each, reused and resumed) and reports every gap's
 * mean and standard error over seeds and the verdict on the 0.25% target (src/experiments/fp8_seeds.ts). Progress goes
 * to stderr; --json prints one object.
 */
import type { Command } from 'commander';
import { registerDistillVsRl } from './experiment_distill.js';
import * as path from 'node:path';
import {
  type Fp8ExperimentResult,
  type GraphMemory,
  type LossGap,
  experimentModelConfig,
  lossGap,
  runFp8Experiment,
  runFp8PresetExperiment,
} from '../../experiments/fp8.js';
import {
  type Fp8Comparison,
  type Fp8SeedsResult,
  FP8_LOSS_TARGET,
  meanAndError,
  runFp8Seeds,
} from '../../experiments/fp8_seeds.js';
import type { AccumulationErrorResult } from '../../fp8/gemm.js';
import { PRESETS } from '../../train/presets.js';
import { SEED_RANGE, STEPS_RANGE, flagsOf, ints, nums, shownDefault } from '../flags.js';

interface Fp8Flags {
  steps?: number;
  baseline: 'fp32' | 'bf16';
  seed: number;
  batch?: number;
  seqLen?: number;
  lr?: number;
  moments: 'fp32' | 'bf16';
  scaleFmt?: 'fp32' | 'ue8m0';
  promoteEvery?: number;
  reference: boolean;
  noiseFloor: boolean;
  specialCases: boolean;
  preset?: string;
  out?: string;
  workers?: number | 'auto';
  seeds?: number;
  json?: boolean;
}

/** Flags of the synthetic run that a preset sets itself (the preset runs go through `pretrain`). */
const SYNTHETIC_ONLY: [keyof Fp8Flags, string][] = [
  ['batch', '--batch'],
  ['seqLen', '--seq-len'],
  ['lr', '--lr'],
  ['scaleFmt', '--scale-fmt'],
  ['promoteEvery', '--promote-every'],
  ['specialCases', '--no-special-cases'],
];

const pct = (x: number, d = 3): string => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(d)}%`;
const pctAbs = (x: number): string => `${(100 * x).toFixed(2)}%`;
const bytes = (n: number): string => `${n.toLocaleString('en-US')} B`;

function accLine(r: AccumulationErrorResult): string {
  return `${r.dist.padEnd(7)} no promotion ${(100 * r.noPromotion).toFixed(2)}%, every ${r.promoteEvery}: ${(100 * r.promoted).toFixed(3)}% (${r.improvement.toFixed(0)}x better)`;
}

function gapLine(g: LossGap): string {
  return `final ${pct(g.final)}, EMA(0.9) final ${pct(g.finalEma)}, EMA max |gap| ${pct(g.maxAbsEma).slice(1)}, mean ${pct(g.meanAbsEma).slice(1)}`;
}

/** The measured graph memory: one line per precision and the ratio. */
export function memoryLines(memory: readonly GraphMemory[], baseline: string, ratio: number): string[] {
  return [
    'autograd graph after one forward pass of that micro-batch (measured: live ArrayBuffer bytes after a full GC, loss alive):',
    ...memory.map(
      (m) =>
        `  ${m.precision.padEnd(5)} ${bytes(m.graphBytes).padStart(12)}   (of which Linear inputs as accounted: ${bytes(m.saved.bytes)})`,
    ),
    `  ${baseline} / fp8: ${ratio.toFixed(2)}x`,
  ];
}

/** The noise-floor gap and what it says about the 0.25% target. */
export function noiseFloorLines(label: string, baseline: string, g: LossGap): string[] {
  const nf = Math.abs(g.finalEma);
  return [
    `noise floor (${label} - ${baseline}) / ${baseline}, every initial weight one ulp off: ${gapLine(g)}`,
    nf >= 0.0025
      ? `  one ulp of initial noise alone moves this run's end by ${pct(g.finalEma, 2)}: above the 0.25% target, so no precision (${baseline} included) can be judged against it here`
      : `  one ulp of initial noise moves this run's end by ${pct(g.finalEma)}: below the 0.25% target, so the gaps above are the precisions' own`,
  ];
}

/** The checks that do not depend on the loss curves: saved activations, graph memory, accumulation error. */
function checkLines(r: Fp8ExperimentResult): string[] {
  const b = r.baseline;
  const memOk = r.savedRatio >= 3.5;
  return [
    `saved activations (Linear inputs, one micro-batch): ${b.precision} ${bytes(b.saved.bytes)}, fp8 ${bytes(r.fp8.saved.bytes)}: ` +
      `${r.savedRatio.toFixed(2)}x smaller (target >= 3.5x: ${memOk ? 'met' : 'NOT met'})`,
    ...memoryLines(r.memory, b.precision, r.graphRatio),
    `accumulation error, K = ${r.gemm.normal.K} (14-bit truncating accumulator, 4 products per step):`,
    `  ${accLine(r.gemm.normal)}   [max |dC| / max |C|]`,
    `  ${accLine(r.gemm.uniform)}   [max |dC_ij| / |C_ij|]`,
  ];
}

/** The human-readable report of one seed. */
export function formatFp8Report(r: Fp8ExperimentResult): string[] {
  const b = r.baseline;
  const f = r.fp8;
  // the paper's comparison, when the baseline is FP32 and the reference BF16
  const paper = r.reference?.precision === 'bf16' ? lossGap(r.reference.losses, f.losses) : null;
  const run = (s: typeof b): string =>
    `  ${s.label.padEnd(8)} final loss ${s.finalLoss.toFixed(4)}  EMA ${s.finalEma.toFixed(4)}  saved Linear inputs ${bytes(s.saved.bytes).padStart(12)}` +
    `  ${Math.round(s.msPerStep)} ms/step  (AdamW moments ${s.moments})`;
  return [
    `FP8 vs ${b.precision.toUpperCase()}: ${r.setup} (${r.parameters.toLocaleString('en-US')} parameters + MTP ${r.mtpParameters.toLocaleString('en-US')}), ${r.steps} steps x ${r.tokensPerStep} tokens, same seed and data`,
    ...(r.runDirs ? [`runs: ${Object.values(r.runDirs).join(', ')}`] : []),
    run(b),
    run(f),
    ...(r.reference ? [run(r.reference)] : []),
    ...(r.noiseFloor ? [run(r.noiseFloor)] : []),
    `relative loss gap (fp8 - ${b.precision}) / ${b.precision}: ${gapLine(r.gap)}`,
    ...(r.reference && r.referenceGap
      ? [`yardstick (${r.reference.precision} - ${b.precision}) / ${b.precision}: ${gapLine(r.referenceGap)}`]
      : []),
    ...(paper ? [`the paper's comparison (fp8 - bf16) / bf16: ${gapLine(paper)}`] : []),
    `  the ${pctAbs(FP8_LOSS_TARGET)} target (FP8 vs BF16) is judged over seeds: one run has no standard error (--seeds N)`,
    ...(r.noiseFloor && r.noiseFloorGap ? noiseFloorLines(r.noiseFloor.label, b.precision, r.noiseFloorGap) : []),
    ...checkLines(r),
  ];
}

const COMPARISON_NOTE: Record<Fp8Comparison['name'], string> = {
  'fp8-vs-bf16': ' (the paper)',
  'fp8-vs-fp32': '',
  'bf16-vs-fp32': ' (yardstick)',
  'noise-floor': ' (noise floor)',
};

/** The human-readable report over seeds: final losses, every comparison's statistics, the verdict, the checks. */
export function formatFp8SeedsReport(r: Fp8SeedsResult): string[] {
  const first = r.perSeed[0];
  const labels = [first.baseline, first.fp8, first.reference, first.noiseFloor].flatMap((x) => (x ? [x.label] : []));
  const runsOf = (e: Fp8ExperimentResult) => [e.baseline, e.fp8, e.reference, e.noiseFloor];
  const n = r.seeds.length;
  const perSeedPct = (values: readonly number[]): string => values.map((v) => pct(v).padStart(8)).join(' ');
  const statLines = (c: Fp8Comparison): string[] => {
    const name = `${c.run} vs ${c.against}${COMPARISON_NOTE[c.name]}`.padEnd(30);
    return [
      `  ${name} final ${meanAndError(c.finalEma).padStart(19)}   ${perSeedPct(c.finalEma.values)}`,
      `  ${''.padEnd(30)} curve ${meanAndError(c.curve).padStart(19)}   ${perSeedPct(c.curve.values)}`,
    ];
  };
  return [
    `FP8 over ${n} seed${n > 1 ? 's' : ''} (${r.seeds.join(', ')}): ${first.setup} (${first.parameters.toLocaleString('en-US')} parameters + MTP ${first.mtpParameters.toLocaleString('en-US')}), ` +
      `${first.steps} steps x ${first.tokensPerStep} tokens; within a seed every run has the same seed and data`,
    `runs: ${path.join(r.outDir, 'seed-S')}/{${labels.join(',')}}`,
    'EMA(0.9) final loss:',
    `  ${'seed'.padStart(6)} ${labels.map((l) => l.padStart(9)).join(' ')}`,
    ...r.perSeed.map(
      (e, i) =>
        `  ${String(r.seeds[i]).padStart(6)} ${runsOf(e)
          .flatMap((x) => (x ? [x.finalEma.toFixed(4).padStart(9)] : []))
          .join(' ')}`,
    ),
    `relative gap of the EMA(0.9) loss, (run - against) / against, at the last step (final) and its mean along the curve (curve):`,
    `  mean ± standard error over ${n} seeds, then seed ${r.seeds.join(', ')}`,
    ...r.comparisons.flatMap(statLines),
    r.verdict.text,
    `checks of seed ${r.seeds[0]}:`,
    ...checkLines(first),
  ];
}

export function registerExperiment(program: Command): void {
  const exp = program.command('experiment').description('reproduce a claim of the DeepSeek papers at small scale');
  registerDistillVsRl(exp);
  const fp8 = exp
    .command('fp8')
    .description(
      "train the same DeepSeek-V3 in high precision and in FP8 (a toy on synthetic data, or --preset); report the loss gap (with --seeds N: its mean and standard error over seeds, and the verdict on V3's 0.25% of BF16), activation memory and GEMM accumulation error",
    );
  const f = flagsOf(fp8);
  const precisions = ['fp32', 'bf16'] as const;
  fp8
    .addOption(
      f.int('--steps <n>', 'optimizer steps per run', STEPS_RANGE, shownDefault("400; with --preset the preset's")),
    )
    .addOption(f.choice('--baseline <p>', 'high-precision run', precisions, 'fp32'))
    .addOption(f.int('--seed <n>', 'seed of the init and the data', SEED_RANGE, 0))
    .addOption(f.int('--batch <n>', 'sequences per step', ints(1, 1024), shownDefault('8')))
    .addOption(
      f.int(
        '--seq-len <n>',
        "tokens per sequence, at most the toy model's context",
        ints(1, experimentModelConfig().max_position_embeddings),
        shownDefault('32'),
      ),
    )
    .addOption(f.num('--lr <x>', 'peak learning rate', nums(0, Infinity, true), shownDefault('3e-3')))
    .addOption(f.choice('--moments <m>', 'AdamW moments of the FP8 run (V3: bf16)', precisions, 'bf16'))
    .addOption(
      f.choice(
        '--scale-fmt <f>',
        'FP8 scales (V3: fp32; ue8m0 = powers of two, V3.1)',
        ['fp32', 'ue8m0'] as const,
        shownDefault('fp32'),
      ),
    )
    .addOption(
      f.int(
        '--promote-every <n>',
        'N_C: promote the tensor-core accumulator to FP32 every n elements of K, a divisor of 128',
        ints(1, 128),
        shownDefault('128'),
      ),
    )
    .option('--no-reference', 'skip the reference run (the other high precision, whose gap is the yardstick)')
    .option(
      '--no-noise-floor',
      'skip the noise-floor run (the baseline again with every initial weight one ulp off: how far rounding-sized noise alone moves the curve)',
    )
    .option(
      '--no-special-cases',
      "FP8 without V3's special cases (E5M6 attention-output cache, SwiGLU recompute, FP8 dispatch): plain FP8 Linears",
    )
    .addOption(
      f.choice(
        '--preset <name>',
        "instead of the toy: pretrain a preset's model on its built-in corpus, once per precision",
        Object.keys(PRESETS),
        shownDefault('the toy on synthetic data'),
      ),
    )
    .option(
      '--out <dir>',
      'where the runs go (one run directory per run; completed runs there are reused, interrupted ones resumed) (default: runs/fp8-experiment-NAME with --preset NAME, runs/fp8-experiment-toy with --seeds; the toy alone: a temporary directory)',
    )
    .addOption(
      f.int(
        '--seeds <n>',
        'repeat the experiment over seeds S..S+n-1 (S = --seed), each in OUT/seed-S; report every gap as mean and standard error over seeds, and the verdict on the 0.25% target (FP8 vs BF16)',
        ints(1, 1000),
        shownDefault('one run, no statistics'),
      ),
    )
    .addOption(
      f.workers(
        '--workers <n>',
        'with --preset: data-parallel worker threads per run (same numbers as 1; see pretrain --workers)',
        shownDefault('1'),
      ),
    )
    .option('--json', 'print the result as one JSON object')
    .action(async (o: Fp8Flags) => {
      const { steps, baseline, moments } = o;
      const log = (l: string): void => void process.stderr.write(l + '\n');
      let one: (seed: number, outDir: string | undefined) => Promise<Fp8ExperimentResult>;
      if (o.preset !== undefined) {
        const preset = o.preset;
        for (const [k, flag] of SYNTHETIC_ONLY) {
          if (k === 'specialCases' ? !o.specialCases : o[k] !== undefined)
            throw new Error(
              `experiment fp8: ${flag} does not apply with --preset (the preset's runs use its own settings and V3's FP8 defaults)`,
            );
        }
        one = (seed, outDir) =>
          runFp8PresetExperiment({
            preset,
            outDir: outDir ?? path.join('runs', `fp8-experiment-${preset}`),
            steps,
            baseline,
            seed,
            moments,
            reference: o.reference,
            noiseFloor: o.noiseFloor,
            workers: o.workers,
            log,
          });
      } else {
        if (o.workers !== undefined)
          throw new Error(
            'experiment fp8: --workers needs --preset (the synthetic runs are one small model on one thread)',
          );
        const promoteEvery = o.promoteEvery ?? 128;
        if (128 % promoteEvery !== 0)
          throw new Error(`experiment fp8: --promote-every must divide the 128-wide scale tiles, got ${promoteEvery}`);
        one = (seed, outDir) =>
          runFp8Experiment({
            steps,
            baseline,
            seed,
            batch: o.batch ?? 8,
            seqLen: o.seqLen ?? 32,
            lr: o.lr ?? 3e-3,
            moments,
            fp8: { scaleFmt: o.scaleFmt ?? 'fp32', promoteEvery },
            reference: o.reference,
            noiseFloor: o.noiseFloor,
            specialCases: o.specialCases,
            outDir,
            log,
          });
      }
      if (o.seeds !== undefined) {
        const outDir = o.out ?? path.join('runs', `fp8-experiment-${o.preset ?? 'toy'}`);
        const seeds = Array.from({ length: o.seeds }, (_, i) => o.seed + i);
        const r = await runFp8Seeds({ seeds, outDir, run: one, log });
        if (o.json) console.log(JSON.stringify(r));
        else for (const l of formatFp8SeedsReport(r)) console.log(l);
        return;
      }
      const r = await one(o.seed, o.out);
      if (o.json) console.log(JSON.stringify(r));
      else for (const l of formatFp8Report(r)) console.log(l);
    });
}
