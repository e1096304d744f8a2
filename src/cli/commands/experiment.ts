/**
 * Experiments that reproduce a claim of the papers:
 *   r1ts experiment fp8 [--steps N] [--json] [--baseline fp32|bf16] [--preset tiny [--out DIR]] ...
 * trains the same small DeepSeek-V3 from the same seed and data in high precision and in FP8 (src/experiments/fp8.ts):
 * a toy on synthetic data, or with --preset the preset's model on its built-in corpus through `pretrain` (resumable)
 * and reports the relative loss gap (final and along the EMA-smoothed curve), the saved-activation bytes of each mode
 * (as the Linear ops account them, and as measured on the autograd graph), and the K = 4096 accumulation error with and
 * without promotion. Progress goes to stderr; --json prints one object.
 */
import type { Command } from 'commander';
import { registerDistillVsRl } from './experiment_distill.js';
import * as path from 'node:path';
import {
  type Fp8ExperimentResult,
  type GraphMemory,
  type LossGap,
  experimentModelConfig,
  runFp8Experiment,
  runFp8PresetExperiment,
} from '../../experiments/fp8.js';
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

/** The human-readable report. */
export function formatFp8Report(r: Fp8ExperimentResult): string[] {
  const b = r.baseline;
  const f = r.fp8;
  const gapOk = Math.abs(r.gap.finalEma) < 0.0025;
  const memOk = r.savedRatio >= 3.5;
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
    `relative loss gap (fp8 - ${b.precision}) / ${b.precision}: ${gapLine(r.gap)}  (target |EMA final| < 0.25%: ${gapOk ? 'met' : 'NOT met'})`,
    ...(r.reference && r.referenceGap
      ? [`yardstick (${r.reference.precision} - ${b.precision}) / ${b.precision}: ${gapLine(r.referenceGap)}`]
      : []),
    ...(r.noiseFloor && r.noiseFloorGap ? noiseFloorLines(r.noiseFloor.label, b.precision, r.noiseFloorGap) : []),
    `saved activations (Linear inputs, one micro-batch): ${b.precision} ${bytes(b.saved.bytes)}, fp8 ${bytes(f.saved.bytes)}: ` +
      `${r.savedRatio.toFixed(2)}x smaller (target >= 3.5x: ${memOk ? 'met' : 'NOT met'})`,
    ...memoryLines(r.memory, b.precision, r.graphRatio),
    `accumulation error, K = ${r.gemm.normal.K} (14-bit truncating accumulator, 4 products per step):`,
    `  ${accLine(r.gemm.normal)}   [max |dC| / max |C|]`,
    `  ${accLine(r.gemm.uniform)}   [max |dC_ij| / |C_ij|]`,
  ];
}

export function registerExperiment(program: Command): void {
  const exp = program.command('experiment').description('reproduce a claim of the DeepSeek papers at small scale');
  registerDistillVsRl(exp);
  const fp8 = exp
    .command('fp8')
    .description(
      'train the same DeepSeek-V3 in high precision and in FP8 (a toy on synthetic data, or --preset); report the loss gap, activation memory and GEMM accumulation error',
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
      'with --preset: where the runs go; completed runs there are reused, interrupted ones resumed (default: runs/fp8-experiment-NAME)',
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
      const { steps, baseline, seed, moments } = o;
      const log = (l: string): void => void process.stderr.write(l + '\n');
      let r: Fp8ExperimentResult;
      if (o.preset !== undefined) {
        for (const [k, flag] of SYNTHETIC_ONLY) {
          if (k === 'specialCases' ? !o.specialCases : o[k] !== undefined)
            throw new Error(
              `experiment fp8: ${flag} does not apply with --preset (the preset's runs use its own settings and V3's FP8 defaults)`,
            );
        }
        const outDir = o.out ?? path.join('runs', `fp8-experiment-${o.preset}`);
        r = await runFp8PresetExperiment({
          preset: o.preset,
          outDir,
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
        if (o.out !== undefined)
          throw new Error('experiment fp8: --out needs --preset (the synthetic runs are not kept)');
        if (o.workers !== undefined)
          throw new Error(
            'experiment fp8: --workers needs --preset (the synthetic runs are one small model on one thread)',
          );
        const promoteEvery = o.promoteEvery ?? 128;
        if (128 % promoteEvery !== 0)
          throw new Error(`experiment fp8: --promote-every must divide the 128-wide scale tiles, got ${promoteEvery}`);
        r = await runFp8Experiment({
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
          log,
        });
      }
      if (o.json) console.log(JSON.stringify(r));
      else for (const l of formatFp8Report(r)) console.log(l);
    });
}
