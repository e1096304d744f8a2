/**
 * `r1ts schedule`: builds a pipeline schedule (1F1B, ZB1P, DualPipe, DualPipeV), simulates it with per-chunk costs and
 * prints a text timeline with the bubble, activation memory and parameter copies next to the paper's formula;
 * `--json` prints the numbers, `--svg FILE` draws the timeline like [V3] Figure 5.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { METHODS, type Method, buildSchedule } from '../../parallel/schedule.js';
import {
  type Costs,
  DEFAULT_COSTS,
  formulaBubble,
  formulaMemory,
  simulate,
  validateCosts,
} from '../../parallel/simulate.js';
import { renderSvg, renderText } from '../../parallel/render.js';

const COST_KEYS = ['F', 'B', 'W', 'FB', 'comm'] as const;

/** Parses `F=1,B=2,W=1,FB=2.5,comm=0` (any subset; the rest keep the defaults). */
export function parseCosts(s: string): Costs {
  const c: Costs = { ...DEFAULT_COSTS };
  for (const part of s.split(',')) {
    const m = /^\s*([A-Za-z&]+)\s*=\s*(\S+)\s*$/.exec(part);
    if (!m) throw new Error(`schedule: --cost: expected KEY=VALUE items like F=1,B=2,W=1,FB=2.5,comm=0, got '${part}'`);
    const key = m[1] === 'F&B' ? 'FB' : m[1];
    if (!(COST_KEYS as readonly string[]).includes(key)) {
      throw new Error(`schedule: --cost: unknown key '${m[1]}' (expected ${COST_KEYS.join(', ')})`);
    }
    const v = Number(m[2]);
    if (!Number.isFinite(v) || v < 0) throw new Error(`schedule: --cost: ${key} must be a number >= 0, got '${m[2]}'`);
    c[key as keyof Costs] = v;
  }
  validateCosts(c);
  return c;
}

function parseCount(flag: string, s: string | undefined): number {
  if (s === undefined) throw new Error(`schedule: ${flag} is required`);
  if (!/^\d+$/.test(s.trim()) || Number(s) < 1)
    throw new Error(`schedule: ${flag} must be a positive integer, got '${s}'`);
  return Number(s);
}

interface ScheduleFlags {
  method?: string;
  pp?: string;
  microBatches?: string;
  cost?: string;
  json?: boolean;
  svg?: string;
}

export function registerSchedule(program: Command): void {
  program
    .command('schedule')
    .description('simulate a pipeline schedule (1F1B, ZB1P, DualPipe, DualPipeV): timeline, bubble, memory')
    .option('--method <m>', `schedule: ${METHODS.join('|')}`)
    .option('--pp <P>', 'pipeline stages (DualPipeV runs them on P/2 ranks)')
    .option('--micro-batches <N>', 'micro-batches per step (DualPipe: both directions together)')
    .option('--cost <list>', 'per-chunk costs, e.g. F=1,B=2,W=1,FB=2.5,comm=0 (B = full backward, FB = overlapped F&B)')
    .option('--json', 'print {method, pp, microBatches, bubble, paramCopies, peakActivations, makespan}')
    .option('--svg <file>', 'draw the timeline as SVG')
    .action((o: ScheduleFlags) => {
      if (o.method === undefined) throw new Error(`schedule: --method is required (${METHODS.join('|')})`);
      if (!(METHODS as readonly string[]).includes(o.method)) {
        throw new Error(`schedule: --method must be one of ${METHODS.join('|')}, got '${o.method}'`);
      }
      const method = o.method as Method;
      const pp = parseCount('--pp', o.pp);
      const microBatches = parseCount('--micro-batches', o.microBatches);
      const costs = o.cost === undefined ? { ...DEFAULT_COSTS } : parseCosts(o.cost);
      const result = simulate(buildSchedule({ method, pp, microBatches }), costs);
      if (o.svg) writeFileSync(o.svg, renderSvg(result));
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
    });
}
