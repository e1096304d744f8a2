/**
 * The content of a report, as data: for a run directory (or a folder of them, ./runs.ts) the sections, tables and
 * plots to show, each plot a set of named series of (step, value) points. Chosen from what is there, by run.json's
 * `command`:
 *
 * - `pretrain` / `train`: main and MTP loss (validation loss as points), learning rate, gradient norm, expert-load
 *   imbalance, tokens/s; rollbacks (loss spikes, non-finite gradients) and resumes marked on every plot.
 * - `grpo`: reward (total and each reward), accuracy, format rate (and truncation), mean response length, KL and
 *   entropy per step (R1-Zero's "accuracy and average length during RL"); reference resets and resumes marked.
 * - `sft`, `distill`: training loss (MTP, held-out loss as points), learning rate, gradient norm, expert-load imbalance,
 *   tokens/s; with `--eval-tasks`, the quality checks' before/after table (run.json's summary).
 * - `rm train` / `dpo`: loss, pair accuracy and margin (training, held-out as points), the chosen and rejected scores
 *   (DPO: implicit rewards), learning rate, gradient norm.
 * - `schedule`: the simulated timeline (src/parallel/render.ts's SVG) and its bubble, memory and makespan.
 * - anything else (runs to come): every numeric field of metrics.jsonl over step, nested objects
 *   flattened (`rewards.accuracy`), one plot each.
 *   Known commands get those generic plots too, for the fields their own plots leave out (under "other metrics").
 * - A folder with `zero.json` (`r1ts zero`): the before/after evaluation table, then its runs.
 * - A recipe's run directory (`r1ts recipe r1`, with `recipe.json`): one table of every stage's evaluation, then each
 *   stage's run (its curves, as above) in stage order.
 * - A folder of runs whose names (or `train.precision`, or the toy's `precision`) are precisions, one of them fp8
 *   (`r1ts experiment fp8 --out`): the precisions' main-loss curves (EMA 0.9, as V3 Figure 10) and each one's relative
 *   gap to the baseline (fp32, else bf16) along the run, with a table of the final gaps; then its runs.
 * - The experiments that span folders of runs (`experiment fp8 --seeds`, `experiment distill-vs-rl`): ./experiments.ts.
 *
 * Not here: reading files (./runs.ts), which sections a report has (./build.ts), drawing (./svg.ts, ./html.ts). Unit
 * tests check what series a run yields.
 */
import { emaCurve, lossGap } from '../experiments/fp8.js';
import { buildSchedule, METHODS, type Method } from '../parallel/schedule.js';
import { type Costs, DEFAULT_COSTS, simulate, validateCosts } from '../parallel/simulate.js';
import { renderSvg, summaryLines } from '../parallel/render.js';
import type { MetricsRow, RecipeRecord, RunInfo, ZeroRecord } from './runs.js';

/** One curve: (step, value) points, finite values only, in step order. */
export interface Series {
  name: string;
  points: [number, number][];
  /** 'line' (default) or 'points' (sparse values, such as the validation loss: dots joined by a thin line). */
  style?: 'line' | 'points';
}

/** A vertical mark at a step: a rollback, a resume, a reference reset. */
export interface Marker {
  step: number;
  kind: 'rollback' | 'resume' | 'reference reset';
  label: string;
}

export interface Plot {
  /** Unique in the report (an HTML id). */
  id: string;
  title: string;
  /** What the values are (the y axis). */
  y: string;
  series: Series[];
  markers: Marker[];
  /** Values shown as percentages: 'share' (of responses: the axis spans 0-100%) or 'relative' (a relative gap). */
  percent?: 'share' | 'relative';
}

export interface Table {
  title: string;
  head: string[];
  rows: string[][];
}

export interface Section {
  /** Unique in the report (an HTML id). */
  id: string;
  title: string;
  /** The run directory (or folder) it shows. */
  dir: string;
  /** Label / value lines: status, steps, summary. */
  facts: [string, string][];
  tables: Table[];
  plots: Plot[];
  /** The generic plots of fields the section's own plots leave out. */
  other: Plot[];
  /** Pictures drawn elsewhere (the schedule's timeline), as SVG text. */
  figures: { title: string; svg: string }[];
  /** run.json's settings, for a closer look. */
  settings: Record<string, unknown> | null;
}

export interface Report {
  title: string;
  dir: string;
  sections: Section[];
}

/** `rows`' numeric fields, nested objects flattened to dotted names, in first-seen order (without `step`). */
export function numericFields(rows: readonly MetricsRow[]): string[] {
  const seen = new Set<string>();
  const walk = (v: unknown, prefix: string): void => {
    if (typeof v === 'number') seen.add(prefix);
    else if (v !== null && typeof v === 'object' && !Array.isArray(v))
      for (const [k, x] of Object.entries(v)) walk(x, prefix ? `${prefix}.${k}` : k);
  };
  for (const r of rows) for (const [k, v] of Object.entries(r)) if (k !== 'step') walk(v, k);
  return [...seen];
}

/** The value of a dotted field of a row, or undefined. */
function field(row: MetricsRow, name: string): unknown {
  let v: unknown = row;
  for (const k of name.split('.'))
    v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

/** The series of a field over step: finite values only (null, NaN and missing left out). */
export function seriesOf(rows: readonly MetricsRow[], name: string, label = name, style?: Series['style']): Series {
  const points: [number, number][] = [];
  for (const r of rows) {
    const v = field(r, name);
    if (typeof v === 'number' && Number.isFinite(v)) points.push([r.step, v]);
  }
  return { name: label, points, ...(style ? { style } : {}) };
}

/** A plot of the given series, without those that have no point; null when none has one. */
export function plot(
  id: string,
  title: string,
  y: string,
  series: Series[],
  markers: Marker[],
  percent?: Plot['percent'],
): Plot | null {
  const drawn = series.filter((s) => s.points.length > 0);
  return drawn.length ? { id, title, y, series: drawn, markers, ...(percent ? { percent } : {}) } : null;
}

/** Whether a plot was made (for `.filter(present)`). */
export const present = (p: Plot | null): p is Plot => p !== null;

/** Generic plots: one per numeric field not in `skip`. */
export function genericPlots(prefix: string, rows: readonly MetricsRow[], markers: Marker[], skip: string[] = []) {
  return numericFields(rows)
    .filter((f) => !skip.includes(f))
    .map((f) => plot(`${prefix}-${f.replace(/[^\w-]/g, '_')}`, f, f, [seriesOf(rows, f)], markers))
    .filter(present);
}

/** Resumes recorded in run.json's history, as markers. */
function resumeMarkers(run: RunInfo): Marker[] {
  return run.record.history
    .filter((h) => h.event === 'resume' && typeof h.step === 'number')
    .map((h) => ({ step: h.step!, kind: 'resume', label: `resumed at step ${h.step} (${h.at})` }));
}

/**
 * The plots of a language model's training: loss (`loss`, MTP and validation loss as points), lr, gradient norm,
 * expert-load imbalance, tokens/s; the generic plots of the other fields.
 */
function languageModelPlots(
  id: string,
  rows: readonly MetricsRow[],
  markers: Marker[],
  loss: { field: string; name: string; y: string; val: string },
): { plots: Plot[]; other: Plot[] } {
  const plots = [
    plot(
      `${id}-loss`,
      'loss',
      loss.y,
      [
        seriesOf(rows, loss.field, loss.name),
        seriesOf(rows, 'mtpLoss', 'MTP loss'),
        seriesOf(rows, 'valLoss', loss.val, 'points'),
      ],
      markers,
    ),
    plot(`${id}-lr`, 'learning rate', 'lr', [seriesOf(rows, 'lr', 'learning rate')], markers),
    plot(`${id}-gradnorm`, 'gradient norm', 'global L2 norm, before clipping', [seriesOf(rows, 'gradNorm')], markers),
    plot(
      `${id}-imbalance`,
      'expert-load imbalance',
      'max / mean expert load, mean over MoE layers',
      [seriesOf(rows, 'imbalance')],
      markers,
    ),
    plot(`${id}-tps`, 'throughput', 'tokens/s', [seriesOf(rows, 'tokensPerSec', 'tokens/s')], markers),
  ].filter(present);
  const used = [loss.field, 'mtpLoss', 'valLoss', 'lr', 'gradNorm', 'imbalance', 'tokensPerSec'];
  return { plots, other: genericPlots(id, rows, markers, used) };
}

/** Pre-training: loss, MTP and validation loss, lr, gradient norm, imbalance, tokens/s; rollbacks marked. */
export function pretrainPlots(id: string, run: RunInfo): { plots: Plot[]; other: Plot[] } {
  const steps = run.rows.filter((r) => r.event === undefined);
  const rollbacks: Marker[] = run.rows
    .filter((r) => typeof r.event === 'string')
    .map((r) => ({ step: r.step, kind: 'rollback', label: `step ${r.step}: ${r.event}` }));
  const markers = [...rollbacks, ...resumeMarkers(run)];
  const loss = { field: 'mainLoss', name: 'main loss', y: 'cross-entropy (nats)', val: 'validation loss' };
  return languageModelPlots(id, steps, markers, loss);
}

/** GRPO / R1-Zero: reward, accuracy, format rate, response length, reflection rate, KL, entropy per step. */
export function grpoPlots(id: string, run: RunInfo): { plots: Plot[]; other: Plot[] } {
  const rows = run.rows;
  const resets: Marker[] = rows
    .filter((r) => r.refReset === true)
    .map((r) => ({ step: r.step, kind: 'reference reset', label: `step ${r.step}: reference model reset` }));
  const markers = [...resets, ...resumeMarkers(run)];
  const rewardNames = numericFields(rows).filter((f) => f.startsWith('rewards.'));
  const plots = [
    plot(
      `${id}-reward`,
      'reward',
      'mean reward per response',
      [seriesOf(rows, 'reward', 'total'), ...rewardNames.map((f) => seriesOf(rows, f, f.slice('rewards.'.length)))],
      markers,
    ),
    plot(`${id}-accuracy`, 'accuracy', 'share of correct responses', [seriesOf(rows, 'accuracy')], markers, 'share'),
    plot(
      `${id}-format`,
      'format rate',
      'share of responses',
      [seriesOf(rows, 'formatRate', 'R1 format'), seriesOf(rows, 'truncationRate', 'truncated')],
      markers,
      'share',
    ),
    plot(`${id}-length`, 'response length', 'mean tokens per response', [seriesOf(rows, 'responseLength')], markers),
    plot(
      `${id}-reflection`,
      'reflection rate',
      'share of responses that re-check a result or redo a step',
      [seriesOf(rows, 'reflectionRate')],
      markers,
      'share',
    ),
    plot(`${id}-kl`, 'KL to the reference', 'k3 estimate per token', [seriesOf(rows, 'kl', 'KL')], markers),
    plot(`${id}-entropy`, 'entropy', 'nats per trained token', [seriesOf(rows, 'entropy')], markers),
  ].filter(present);
  const used = [
    'reward',
    ...rewardNames,
    'accuracy',
    'formatRate',
    'truncationRate',
    'responseLength',
    'reflectionRate',
    'kl',
    'entropy',
  ];
  return { plots, other: genericPlots(id, rows, markers, used) };
}

/** SFT: training, MTP and held-out loss, lr, gradient norm, imbalance, tokens/s. */
export function sftPlots(id: string, run: RunInfo): { plots: Plot[]; other: Plot[]; tables: Table[] } {
  const y = 'cross-entropy over assistant tokens (nats)';
  const loss = { field: 'loss', name: 'training loss', y, val: 'held-out loss' };
  return { ...languageModelPlots(id, run.rows, resumeMarkers(run), loss), tables: sftEvalTables(run) };
}

/** The quality checks of an SFT run with --eval-tasks: base and result per task (run.json's summary). */
function sftEvalTables(run: RunInfo): Table[] {
  type Checked = { task: string; n: number; passed: number };
  const sum = run.record.summary ?? {};
  const after = sum.evalAfter as Checked[] | undefined;
  if (!Array.isArray(after)) return [];
  const before = Array.isArray(sum.evalBefore) ? (sum.evalBefore as Checked[]) : [];
  const cell = (r: Checked | undefined) => (r ? `${r.passed}/${r.n} (${pct(r.n ? r.passed / r.n : null)})` : 'n/a');
  return [
    {
      title: 'quality checks (greedy, held-out test split)',
      head: ['task', 'base', 'sft'],
      rows: after.map((a) => [a.task, cell(before.find((b) => b.task === a.task)), cell(a)]),
    },
  ];
}

/**
 * A reward-model or DPO run: loss, accuracy and margin of the training pairs and (as points) the held-out ones, the
 * chosen and rejected scores (DPO: implicit rewards beta x log pi/pi_ref), lr, gradient norm.
 */
export function pairPlots(id: string, run: RunInfo): { plots: Plot[]; other: Plot[] } {
  const rows = run.rows;
  const markers = resumeMarkers(run);
  const value = run.record.command === 'dpo' ? 'implicit reward' : 'score';
  const both = (f: string) => [seriesOf(rows, f, 'training'), seriesOf(rows, `val.${f}`, 'held-out', 'points')];
  const plots = [
    plot(`${id}-loss`, 'loss', run.record.command === 'dpo' ? 'DPO loss' : 'Bradley-Terry loss', both('loss'), markers),
    plot(
      `${id}-accuracy`,
      'pair accuracy',
      `share of pairs with ${value} chosen > rejected`,
      both('accuracy'),
      markers,
      'share',
    ),
    plot(`${id}-margin`, 'margin', `mean ${value} chosen - rejected`, both('margin'), markers),
    plot(
      `${id}-values`,
      `${value}s`,
      `mean ${value}`,
      [
        seriesOf(rows, 'chosen', 'chosen'),
        seriesOf(rows, 'rejected', 'rejected'),
        seriesOf(rows, 'val.chosen', 'held-out chosen', 'points'),
        seriesOf(rows, 'val.rejected', 'held-out rejected', 'points'),
      ],
      markers,
    ),
    plot(`${id}-lr`, 'learning rate', 'lr', [seriesOf(rows, 'lr', 'learning rate')], markers),
    plot(`${id}-gradnorm`, 'gradient norm', 'global L2 norm, before clipping', [seriesOf(rows, 'gradNorm')], markers),
  ].filter(present);
  const used = ['loss', 'accuracy', 'margin', 'chosen', 'rejected', 'lr', 'gradNorm'].flatMap((f) => [f, `val.${f}`]);
  return { plots, other: genericPlots(id, rows, markers, used) };
}

/** The schedule a `r1ts schedule --out DIR` run recorded, simulated again (deterministic) and drawn. */
function scheduleFigure(run: RunInfo): { figure: { title: string; svg: string }; facts: [string, string][] } {
  const s = run.record.settings as { method?: unknown; pp?: unknown; microBatches?: unknown; costs?: unknown };
  if (!METHODS.includes(s.method as Method) || typeof s.pp !== 'number' || typeof s.microBatches !== 'number')
    throw new Error(`report: ${run.dir}/run.json: a schedule run needs "method", "pp" and "microBatches"`);
  const costs: Costs = { ...DEFAULT_COSTS, ...(s.costs as Partial<Costs> | undefined) };
  validateCosts(costs);
  const result = simulate(buildSchedule({ method: s.method as Method, pp: s.pp, microBatches: s.microBatches }), costs);
  return {
    figure: { title: `${s.method} timeline`, svg: renderSvg(result) },
    facts: summaryLines(result).map((l, i): [string, string] => [i === 0 ? 'schedule' : 'result', l]),
  };
}

/** A share as a percentage with `d` decimals, or 'n/a'. */
export const pct = (x: number | null | undefined, d = 1): string =>
  typeof x === 'number' ? `${(100 * x).toFixed(d)}%` : 'n/a';

/** The facts of a run: status, steps, and its run.json summary. */
function runFacts(run: RunInfo): [string, string][] {
  const r = run.record;
  const last = run.rows[run.rows.length - 1];
  const facts: [string, string][] = [
    ['command', r.command ?? '(older than run.json records)'],
    ['status', r.status ?? 'unknown'],
  ];
  if (r.created) facts.push(['created', r.created]);
  if (last) facts.push(['metrics', `${run.rows.length} rows, last step ${last.step}`]);
  const resumes = r.history.filter((h) => h.event === 'resume').length;
  const stops = r.history.filter((h) => h.event === 'stop').length;
  if (resumes || stops) facts.push(['history', `${resumes} resume(s), ${stops} stop(s)`]);
  // numbers, text and lists of them; objects (the before/after evaluations) are shown as tables
  for (const [k, v] of Object.entries(r.summary ?? {}))
    if (
      v === null ||
      typeof v !== 'object' ||
      (Array.isArray(v) && v.every((x) => x === null || typeof x !== 'object'))
    )
      facts.push([k, typeof v === 'number' ? String(+v.toPrecision(6)) : String(v)]);
  return facts;
}

/** The section of one run directory. */
export function runSection(run: RunInfo, id: string, title = `${run.name}: ${run.record.command ?? 'run'}`): Section {
  const base: Section = {
    id,
    title,
    dir: run.dir,
    facts: runFacts(run),
    tables: [],
    plots: [],
    other: [],
    figures: [],
    settings: run.record.settings,
  };
  switch (run.record.command) {
    case 'pretrain':
    case 'train':
    case 'experiment fp8': // the toy's runs: a pre-training's metrics.jsonl
      return { ...base, ...pretrainPlots(id, run) };
    case 'grpo':
      return { ...base, ...grpoPlots(id, run) };
    case 'sft':
    case 'distill': // SFT of the student on the teacher's samples: the same metrics.jsonl
      return { ...base, ...sftPlots(id, run) };
    case 'rm train':
    case 'dpo':
      return { ...base, ...pairPlots(id, run) };
    case 'schedule': {
      const { figure, facts } = scheduleFigure(run);
      return { ...base, facts: [...base.facts, ...facts], figures: [figure] };
    }
    default:
      return { ...base, plots: genericPlots(id, run.rows, resumeMarkers(run)) };
  }
}

/** The zero job's before/after table. */
export function zeroTable(z: ZeroRecord): Table {
  const row = (name: string, r: ZeroRecord['base']): string[] => [
    name,
    pct(r['pass@1']),
    pct(r['cons@k']),
    pct(r.greedy),
    pct(r.formatRate),
    r.meanLength.toFixed(1),
    pct(r.reflectionRate ?? null),
  ];
  const corpus = z.corpus ? `, base pre-trained on the ${z.corpus} corpus` : '';
  return {
    title: `${z.task} (difficulty ${z.difficulty}), ${z.n} held-out problems, k=${z.k}, T=${z.temperature}, top-p ${z.topP}${corpus}`,
    head: ['model', 'pass@1', `cons@${z.k}`, 'greedy', 'format', 'mean length', 'reflection'],
    rows: [row('base', z.base), row('r1-zero', z.rl)],
  };
}

/** The recipe's table: one row per evaluated model (the stage that made it), as `r1ts recipe r1` prints it. */
export function recipeTable(r: RecipeRecord): Table {
  const s = r.settings as { task?: unknown; difficulty?: unknown; eval?: { k?: unknown; n?: unknown } };
  const tasks = [...new Set(r.rows.flatMap((x) => Object.keys(x.tasks ?? {})))];
  const k = typeof s.eval?.k === 'number' ? s.eval.k : 'k';
  return {
    title: `${s.task ?? 'task'} (difficulty ${s.difficulty ?? '?'}), ${s.eval?.n ?? '?'} held-out problems, k=${k}`,
    head: [
      'model',
      'pass@1',
      `cons@${k}`,
      'greedy',
      'language',
      'readable',
      'mean length',
      'helpful win',
      'harmless win',
      'harmless',
      ...tasks,
    ],
    rows: r.rows.map((x) => [
      x.model,
      pct(x['pass@1']),
      pct(x['cons@k']),
      pct(x.greedy),
      pct(x.language),
      pct(x.readable),
      typeof x.meanLength === 'number' ? x.meanLength.toFixed(1) : 'n/a',
      pct(x.helpfulWin),
      pct(x.harmlessWin),
      pct(x.harmless),
      ...tasks.map((t) => pct(x.tasks?.[t])),
    ]),
  };
}

/** The recipe's section: every stage's evaluation in one table (the stages' curves are their runs' sections). */
export function recipeSection(dir: string, r: RecipeRecord): Section {
  return {
    id: 'recipe',
    title: 'R1 recipe: every stage, evaluated on held-out data',
    dir,
    facts: [
      ['models', String(r.rows.length)],
      ['stages with curves', Object.keys(r.curves).join(', ') || 'none yet'],
    ],
    tables: [recipeTable(r)],
    plots: [],
    other: [],
    figures: [],
    settings: null,
  };
}

const PRECISION_NAMES = ['fp32', 'bf16', 'fp8', 'fp32-ulp', 'bf16-ulp'];

/**
 * The runs of an FP8 experiment folder (precision-named, or with train.precision: `--preset` runs; or precision: the
 * toy's `experiment fp8` runs), or null when it is not one.
 */
export function precisionRuns(children: readonly RunInfo[]): { label: string; run: RunInfo }[] | null {
  const runs = children
    .filter((c) => ['pretrain', 'train', 'experiment fp8'].includes(c.record.command ?? ''))
    .map((run) => {
      const set = run.record.settings as { train?: { precision?: unknown }; precision?: unknown };
      const p = set.train?.precision ?? set.precision;
      const label = PRECISION_NAMES.includes(run.name) ? run.name : typeof p === 'string' ? p : null;
      return label ? { label, run } : null;
    })
    .filter((x): x is { label: string; run: RunInfo } => x !== null);
  return runs.length >= 2 && runs.some((r) => r.label === 'fp8') ? runs : null;
}

/** The FP8 experiment: each precision's EMA(0.9) main-loss curve and its relative gap to the baseline. */
export function fp8Section(
  dir: string,
  runs: { label: string; run: RunInfo }[],
  id = 'fp8',
  title = `FP8 experiment: ${runs.map((r) => r.label).join(', ')}`,
): Section {
  const baseline = runs.find((r) => r.label === 'fp32') ?? runs.find((r) => r.label === 'bf16') ?? runs[0];
  const curve = (run: RunInfo) => {
    const rows = run.rows.filter((r) => r.event === undefined && typeof r.mainLoss === 'number');
    return { steps: rows.map((r) => r.step), losses: rows.map((r) => r.mainLoss as number) };
  };
  const base = curve(baseline.run);
  const baseEma = emaCurve(base.losses);
  const loss: Series[] = runs.map(({ label, run }) => {
    const c = curve(run);
    const ema = emaCurve(c.losses);
    return { name: label, points: c.steps.map((s, i): [number, number] => [s, ema[i]]) };
  });
  const others = runs.filter((r) => r !== baseline);
  const gaps: Series[] = others.map(({ label, run }) => {
    const ema = emaCurve(curve(run).losses);
    const n = Math.min(ema.length, baseEma.length);
    return {
      name: `${label} vs ${baseline.label}`,
      points: base.steps.slice(0, n).map((s, i): [number, number] => [s, (ema[i] - baseEma[i]) / baseEma[i]]),
    };
  });
  const rows = others.map(({ label, run }) => {
    const c = curve(run).losses;
    const n = Math.min(c.length, base.losses.length);
    const g = lossGap(base.losses.slice(0, n), c.slice(0, n));
    return [label, String(n), pct(g.final, 3), pct(g.finalEma, 3), pct(g.maxAbsEma, 3)];
  });
  return {
    id,
    title,
    dir,
    facts: [
      ['baseline', baseline.label],
      ['target', '|relative gap of the EMA(0.9) loss at the end| < 0.25% (DeepSeek-V3, §3.3)'],
    ],
    tables: [
      {
        title: `relative loss gap (x - ${baseline.label}) / ${baseline.label}`,
        head: ['run', 'steps', 'final', 'final, EMA(0.9)', 'max |EMA gap|'],
        rows,
      },
    ],
    plots: [
      plot(`${id}-loss`, 'main loss by precision, EMA(0.9)', 'cross-entropy (nats)', loss, []),
      plot(`${id}-gap`, `relative gap to ${baseline.label}, EMA(0.9)`, 'relative gap', gaps, [], 'relative'),
    ].filter(present),
    other: [],
    figures: [],
    settings: null,
  };
}
