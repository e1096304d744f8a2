/**
 * The report's views of experiments that span several runs, each shown before the runs' own sections:
 *
 * - `r1ts experiment fp8 --seeds N` (OUT/seed-S, each a folder of precision runs): the statistics the command prints,
 *   recomputed from the runs' metrics.jsonl by the command's own code (src/experiments/fp8_seeds.ts): every
 *   comparison's relative gap as mean ± standard error over seeds, each seed's final losses and gaps, the verdict on
 *   the 0.25% target, and each comparison's gap along the run, one curve per seed; then one section per seed (its
 *   precisions' loss curves and gaps, as a single-seed experiment's report shows them).
 * - `r1ts experiment distill-vs-rl` (distill_vs_rl.json beside its distill/ and grpo/ runs): the comparison table of
 *   teacher, student base, distilled and RL-trained student (pass@1, cons@k, greedy, mean length, parameters,
 *   training time); the two runs' curves are their own sections (SFT loss; reward, accuracy, length).
 *
 * Not here: reading the folders (./runs.ts), the per-run plots (./plots.ts), the statistics (src/experiments).
 */
import { emaCurve } from '../experiments/fp8.js';
import {
  FP8_LOSS_TARGET,
  type Fp8SeedRun,
  type Fp8SeedRuns,
  compareOverSeeds,
  fp8Verdict,
  meanAndError,
} from '../experiments/fp8_seeds.js';
import { type Section, type Series, fp8Section, pct, plot, precisionRuns, present } from './plots.js';
import type { DistillVsRlRecord, RunInfo, SeedFolder } from './runs.js';

/** A run's main loss per step, rollback events left out (what the FP8 experiment compares). */
function mainLosses(run: RunInfo): { steps: number[]; losses: number[] } {
  const rows = run.rows.filter((r) => r.event === undefined && typeof r.mainLoss === 'number');
  return { steps: rows.map((r) => r.step), losses: rows.map((r) => r.mainLoss as number) };
}

/** A section with nothing in it yet. */
function emptySection(id: string, title: string, dir: string): Section {
  return { id, title, dir, facts: [], tables: [], plots: [], other: [], figures: [], settings: null };
}

/** A seed's labelled runs (fp32, bf16, fp8, `<baseline>-ulp`); an error naming the folder when it has no FP8 pair. */
function labelledRuns(folder: SeedFolder): { label: string; run: RunInfo }[] {
  const runs = precisionRuns(folder.runs);
  if (!runs) throw new Error(`report: ${folder.dir}: no FP8 run beside a high-precision run (fp32 or bf16)`);
  return runs;
}

/** Why a seed cannot enter the statistics yet (no FP8 pair, a run not finished), or null when it can. */
function notReady(folder: SeedFolder): string | null {
  const runs = precisionRuns(folder.runs);
  if (!runs) return 'no fp8 run beside a high-precision run yet';
  const open = runs.filter((r) => r.run.record.status !== 'finished');
  return open.length
    ? `not finished: ${open.map((r) => `${r.label} (${r.run.record.status ?? 'no status'})`).join(', ')}`
    : null;
}

/**
 * One seed's runs as the statistics read them: the baseline is the precision of the noise-floor run (`fp32-ulp`:
 * fp32), else fp32 when present, else bf16; the reference is the other high precision.
 */
export function seedRuns(folder: SeedFolder): Fp8SeedRuns {
  const runs = labelledRuns(folder);
  const of = (label: string) => runs.find((r) => r.label === label);
  const ulp = runs.find((r) => r.label.endsWith('-ulp'));
  const baseLabel = ulp ? ulp.label.slice(0, -'-ulp'.length) : of('fp32') ? 'fp32' : 'bf16';
  const summary = (x: { label: string; run: RunInfo } | undefined): Fp8SeedRun | null =>
    x ? { label: x.label, losses: mainLosses(x.run).losses } : null;
  const baseline = summary(of(baseLabel));
  const fp8 = summary(of('fp8'));
  if (!baseline || !fp8) throw new Error(`report: ${folder.dir}: no ${baseLabel} run beside the fp8 run`);
  return { baseline, fp8, reference: summary(of(baseLabel === 'fp32' ? 'bf16' : 'fp32')), noiseFloor: summary(ulp) };
}

const signed = (x: number): string => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(3)}%`;

/** The relative gap (b - a) / a of the EMA(0.9) main-loss curves along the run, at a's steps. */
function gapCurve(a: RunInfo, b: RunInfo): [number, number][] {
  const x = mainLosses(a);
  const ea = emaCurve(x.losses);
  const eb = emaCurve(mainLosses(b).losses);
  const n = Math.min(ea.length, eb.length);
  return x.steps.slice(0, n).map((s, i): [number, number] => [s, (eb[i] - ea[i]) / ea[i]]);
}

/**
 * The FP8 experiment over seeds: its summary section, then one section per seed that has an FP8 pair. The statistics
 * take the seeds whose runs have all finished (a seed still training, or stopped, is listed as left out).
 */
export function fp8SeedsSections(dir: string, all: readonly SeedFolder[]): Section[] {
  const seeds = all.filter((f) => notReady(f) === null);
  const leftOut: [string, string][] = all
    .filter((f) => notReady(f) !== null)
    .map((f) => [`seed ${f.seed}`, `left out of the statistics: ${notReady(f)}`]);
  const each = all
    .filter((f) => precisionRuns(f.runs) !== null)
    .map((f) => {
      const runs = labelledRuns(f);
      const title = `seed ${f.seed}: ${runs.length} runs${notReady(f) ? ' (not finished)' : ''}`;
      return fp8Section(f.dir, runs, `fp8-seed-${f.seed}`, title);
    });
  if (!seeds.length)
    return [
      {
        ...emptySection('fp8-seeds', 'FP8 experiment over seeds: no seed has finished yet', dir),
        facts: [...leftOut, ['verdict', 'none: no seed has finished all its runs']],
      },
      ...each,
    ];
  const perSeed = seeds.map(seedRuns);
  const comparisons = compareOverSeeds(perSeed);
  const verdict = fp8Verdict(comparisons);
  const n = seeds.length;
  const labels = [...new Set(seeds.flatMap((f) => labelledRuns(f).map((r) => r.label)))];
  const perSeedRows = seeds.map((f, i) => {
    const runs = labelledRuns(f);
    const finalLoss = (label: string) => {
      const l = mainLosses(runs.find((r) => r.label === label)?.run ?? f.runs[0]).losses;
      return runs.some((r) => r.label === label) && l.length ? l[l.length - 1].toFixed(4) : 'n/a';
    };
    return [String(f.seed), ...labels.map(finalLoss), ...comparisons.map((c) => signed(c.gaps[i].finalEma))];
  });
  const runOf = (f: SeedFolder, label: string) => labelledRuns(f).find((r) => r.label === label)!.run;
  const gapPlots = comparisons.map((c) =>
    plot(
      `fp8-seeds-${c.name}`,
      `${c.name}: (${c.run} - ${c.against}) / ${c.against}, EMA(0.9), per seed`,
      'relative gap',
      seeds.map((f): Series => ({ name: `seed ${f.seed}`, points: gapCurve(runOf(f, c.against), runOf(f, c.run)) })),
      [],
      'relative',
    ),
  );
  const target = `${+(100 * FP8_LOSS_TARGET).toFixed(4)}%`;
  const summary: Section = {
    id: 'fp8-seeds',
    title: `FP8 experiment over ${n} seed${n > 1 ? 's' : ''}: ${seeds.map((f) => f.seed).join(', ')}`,
    dir,
    facts: [
      ['seeds', seeds.map((f) => `${f.seed} (${labelledRuns(f).length} runs)`).join(', ')],
      ...leftOut,
      [
        'target',
        `FP8 vs BF16 within ${target} relative loss error (DeepSeek-V3, §3.3): |mean| + 2 SE of the EMA(0.9) final-loss gap < ${target}`,
      ],
      ['verdict', verdict.text.replace(/^verdict: /, '')],
    ],
    tables: [
      {
        title: `every comparison over ${n} seeds: mean ± standard error of the relative gap (run - against) / against`,
        head: ['comparison', 'run', 'against', 'final, EMA(0.9)', 'mean along the curve', 'mean |gap| along the curve'],
        rows: comparisons.map((c) => [
          c.name,
          c.run,
          c.against,
          meanAndError(c.finalEma),
          meanAndError(c.curve),
          meanAndError(c.curveAbs).replace(/^\+/, ''), // a mean of absolute values: no sign
        ]),
      },
      {
        title: 'per seed: final main loss of each run, and each comparison’s gap of the EMA(0.9) final loss',
        head: ['seed', ...labels.map((l) => `${l} loss`), ...comparisons.map((c) => c.name)],
        rows: perSeedRows,
      },
    ],
    plots: gapPlots.filter(present),
    other: [],
    figures: [],
    settings: null,
  };
  return [summary, ...each];
}

/** The distillation-versus-RL comparison: one row per model, as the command prints it, with parameters. */
export function distillVsRlSection(dir: string, r: DistillVsRlRecord): Section {
  const num = (x: number | null | undefined, d: number) => (typeof x === 'number' ? x.toFixed(d) : 'n/a');
  return {
    id: 'distill-vs-rl',
    title: 'Distillation vs RL: held-out evaluation',
    dir,
    facts: [
      ['task', r.task],
      ['held-out problems', `${r.n}, k=${r.k} samples each (T 0.6, top-p 0.95)`],
      ...r.rows.map((x): [string, string] => [x.model, x.dir]),
      ['training time', "minutes of the call that trained the model ('-': trained by an earlier call, or not here)"],
    ],
    tables: [
      {
        title: `${r.task}, ${r.n} held-out problems, k=${r.k}`,
        head: ['model', 'pass@1', `cons@${r.k}`, 'greedy', 'mean length', 'parameters', 'training (min)'],
        rows: r.rows.map((x) => [
          x.model,
          pct(x['pass@1']),
          pct(x['cons@k']),
          pct(x.greedy),
          num(x.meanLength, 1),
          typeof x.params === 'number' ? x.params.toLocaleString('en-US') : 'n/a',
          typeof x.trainMinutes === 'number' ? x.trainMinutes.toFixed(1) : '-',
        ]),
      },
    ],
    plots: [],
    other: [],
    figures: [],
    settings: null,
  };
}
