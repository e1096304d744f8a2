/**
 * `r1ts schedule`: builds a pipeline schedule (1F1B, ZB1P, DualPipe, DualPipeV), simulates it with per-chunk costs and
 * prints a text timeline with the bubble, activation memory and parameter copies next to the paper's formula;
 * `--json` prints the numbers, `--svg FILE` draws the timeline like [V3] Figure 5, `--out DIR` writes a run directory
 * (run.json with the settings and the result, timeline.svg) that `r1ts report DIR` draws.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { RunDir } from '../../train/run_dir.js';
import type { Command } from 'commander';
import { MAX_SCHEDULE_PAIRS, METHODS, type Method, buildSchedule } from '../../parallel/schedule.js';
import {
  type Costs,
  DEFAULT_COSTS,
  formulaBubble,
  formulaMemory,
  simulate,
  validateCosts,
} from '../../parallel/simulate.js';
import { renderSvg, renderText } from '../../parallel/render.js';
import { createParentDir, flagsOf, ints, nums, parseKeyNumbers, shownDefault } from '../flags.js';

/** Keys of `--cost` (F&B is another name for FB). */
const COST_KEYS = ['F', 'B', 'W', 'FB', 'F&B', 'comm'] as const;

/** Parses `F=1,B=2,W=1,FB=2.5,comm=0` (any subset; the rest keep the defaults). */
export function parseCosts(s: string): Costs {
  const { 'F&B': fAndB, ...given } = parseKeyNumbers('schedule', '--cost', s, COST_KEYS, nums(0));
  const c: Costs = { ...DEFAULT_COSTS, ...given, ...(fAndB !== undefined ? { FB: fAndB } : {}) };
  validateCosts(c);
  return c;
}

interface ScheduleFlags {
  method: Method;
  pp: number;
  microBatches: number;
  cost?: Costs;
  json?: boolean;
  svg?: string;
  out?: string;
  overwrite?: boolean;
}

export function registerSchedule(program: Command): void {
  const cmd = program
    .command('schedule')
    .description('simulate a pipeline schedule (1F1B, ZB1P, DualPipe, DualPipeV): timeline, bubble, memory');
  const f = flagsOf(cmd);
  cmd
    .addOption(f.choice('--method <m>', 'schedule', METHODS).makeOptionMandatory())
    .addOption(
      f.int('--pp <P>', 'pipeline stages (DualPipeV runs them on P/2 ranks)', ints(1, 512)).makeOptionMandatory(),
    )
    .addOption(
      f
        .int(
          '--micro-batches <N>',
          `micro-batches per step (DualPipe: both directions together); PP x N at most ${MAX_SCHEDULE_PAIRS}`,
          ints(1, MAX_SCHEDULE_PAIRS),
        )
        .makeOptionMandatory(),
    )
    .addOption(
      f
        .text(
          '--cost <list>',
          'per-chunk costs, any of F, B (full backward), W, FB (overlapped F&B), comm, each a number >= 0',
          shownDefault(
            Object.entries(DEFAULT_COSTS)
              .map(([k, v]) => `${k}=${v}`)
              .join(','),
          ),
        )
        .argParser(parseCosts),
    )
    .option('--json', 'print {method, pp, microBatches, bubble, paramCopies, peakActivations, makespan}')
    .addOption(f.output('--svg <file>', 'draw the timeline as SVG', shownDefault('no SVG')))
    .addOption(
      f.text(
        '--out <dir>',
        'also write a run directory: run.json (settings, result) and timeline.svg, for r1ts report',
        shownDefault('none'),
      ),
    )
    .addOption(f.overwrite('replace the --svg file and the run directory in --out if they exist'))
    .action((o: ScheduleFlags) => {
      const { method, pp, microBatches } = o;
      if (pp * microBatches > MAX_SCHEDULE_PAIRS)
        throw new Error(
          `schedule: --pp ${pp} x --micro-batches ${microBatches} = ${pp * microBatches} (stage, micro-batch) pairs; at most ${MAX_SCHEDULE_PAIRS} can be simulated`,
        );
      const costs = o.cost ?? { ...DEFAULT_COSTS };
      if (o.overwrite && !o.out && !o.svg) throw new Error('schedule: --overwrite needs --out or --svg');
      const result = simulate(buildSchedule({ method, pp, microBatches }), costs);
      // the run directory refuses an existing run before the SVG is written: a refused command writes nothing
      const run = o.out
        ? RunDir.open({
            dir: o.out,
            command: 'schedule',
            mode: o.overwrite ? 'overwrite' : 'new',
            extraEntries: ['timeline.svg'],
            log: (l) => console.error(l),
          })
        : undefined;
      try {
        if (o.svg) {
          createParentDir('schedule', '--svg', o.svg);
          writeFileSync(o.svg, renderSvg(result));
        }
        if (run && o.out) {
          run.start({ method, pp, microBatches, costs });
          writeFileSync(path.join(o.out, 'timeline.svg'), renderSvg(result));
          const { bubble, paramCopies, makespan } = result;
          run.markFinished({ bubble, makespan, paramCopies, peakActivations: Math.max(...result.peakActivations) });
        }
      } finally {
        run?.close();
      }
      if (o.json) {
        const { bubble, paramCopies, peakActivations, makespan } = result;
        console.log(JSON.stringify({ method, pp, microBatches, bubble, paramCopies, peakActivations, makespan }));
        return;
      }
      console.log(renderText(result));
      const f = formulaBubble(method, pp, costs);
      const mem = formulaMemory(method, pp);
      console.log(
        `paper (SPEC §3): bubble ${+f.toFixed(6)}, params ${mem.paramCopies}x, activations ${mem.activations}; ` +
          `simulated: bubble ${+result.bubble.toFixed(6)}, params ${result.paramCopies}x, activations ${Math.max(...result.peakActivations)}` +
          (costs.comm > 0 ? ' (the formula assumes comm=0)' : ''),
      );
      if (o.svg) console.log(`wrote ${o.svg}`);
      if (o.out) console.log(`wrote ${path.join(o.out, 'run.json')} and timeline.svg (r1ts report ${o.out} draws it)`);
    });
}
