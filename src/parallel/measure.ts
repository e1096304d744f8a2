/**
 * Measures pipeline-parallel training on this machine: for each schedule, the toy model's single-process step time,
 * the pipeline's wall time, how much of the ranks' time went to waiting, and the mean measured duration of each step
 * kind. Run: `node --import tsx src/parallel/measure.ts [--svg DIR]` (prints a markdown table; with --svg, one
 * measured timeline picture per schedule). Numbers depend on the machine and on whatever else runs on it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Method } from './schedule.js';
import { PipelineTrainer, measuredResult, sequentialStep } from './engine.js';
import { renderSvg } from './render.js';
import { type ToyOptions, toyBatch, toyModelSpec } from './toy.js';

export interface MeasureRow {
  method: Method;
  ranks: number;
  /** Best of `repeat` single-process steps on the whole batch, ms. */
  sequentialMs: number;
  /** Best of `repeat` pipeline steps (after one warm-up step), ms. */
  pipelineMs: number;
  /** Waiting / (waiting + computing), summed over ranks, in the best pipeline step. */
  waitShare: number;
  /** Mean measured ms per step kind (F, B, BI, W, FB) in that step; absent kinds are missing. */
  meanMs: Partial<Record<'F' | 'B' | 'BI' | 'W' | 'FB', number>>;
}

export const MEASURE_MODEL: Partial<ToyOptions> = {
  dtype: 'float32',
  dim: 128,
  hidden: 512,
  blocksPerStage: 2,
  inputDim: 64,
  classes: 16,
  seed: 1,
};

export async function measure(
  method: Method,
  o: { pp?: number; microBatches?: number; rows?: number; repeat?: number; svg?: string } = {},
): Promise<MeasureRow> {
  const pp = o.pp ?? 4;
  const n = o.microBatches ?? 8;
  const repeat = o.repeat ?? 3;
  const spec = toyModelSpec(MEASURE_MODEL);
  const { x, target } = toyBatch(MEASURE_MODEL, n * (o.rows ?? 32), 5);
  const trainer = await PipelineTrainer.create({ method, pp, microBatches: n, model: spec });
  try {
    const params = (await trainer.parameters()).stages;
    let sequentialMs = Infinity;
    for (let i = 0; i < repeat; i++) {
      const t = performance.now();
      await sequentialStep(spec, params, x, target);
      sequentialMs = Math.min(sequentialMs, performance.now() - t);
    }
    await trainer.step(x, target);
    let best = await trainer.step(x, target);
    for (let i = 1; i < repeat; i++) {
      const r = await trainer.step(x, target);
      if (r.wallMs < best.wallMs) best = r;
    }
    const m = measuredResult(trainer.schedule, best);
    if (o.svg) writeFileSync(o.svg, renderSvg(m));
    const sums: Record<string, [number, number]> = {};
    m.ranks.forEach((rank) => {
      for (const t of rank.timeline) {
        const e = (sums[t.step.op] ??= [0, 0]);
        e[0] += t.end - t.start;
        e[1]++;
      }
    });
    const meanMs: MeasureRow['meanMs'] = {};
    for (const [k, [s, c]] of Object.entries(sums)) meanMs[k as keyof MeasureRow['meanMs']] = s / c;
    const wait = best.ranks.reduce((a, r) => a + r.waitMs, 0);
    const compute = best.ranks.reduce((a, r) => a + r.computeMs, 0);
    return {
      method,
      ranks: trainer.schedule.ranks,
      sequentialMs,
      pipelineMs: best.wallMs,
      waitShare: wait / (wait + compute),
      meanMs,
    };
  } finally {
    await trainer.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const i = process.argv.indexOf('--svg');
  const dir = i > 0 ? process.argv[i + 1] : undefined;
  console.log(
    '| method | ranks | single process ms/step | pipeline ms/step | waiting share | mean ms F / B / BI / W / F&B |',
  );
  console.log('|---|---|---|---|---|---|');
  for (const method of ['1f1b', 'zb1p', 'dualpipe', 'dualpipev'] as const) {
    const r = await measure(method, { svg: dir ? join(dir, `${method}-measured.svg`) : undefined });
    const ms = (['F', 'B', 'BI', 'W', 'FB'] as const)
      .map((k) => (r.meanMs[k] === undefined ? '–' : r.meanMs[k]!.toFixed(0)))
      .join(' / ');
    console.log(
      `| ${method} | ${r.ranks} | ${r.sequentialMs.toFixed(0)} | ${r.pipelineMs.toFixed(0)} | ${(100 * r.waitShare).toFixed(0)}% | ${ms} |`,
    );
  }
}
