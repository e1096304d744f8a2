/**
 * A discrete-event simulator for pipeline schedules: runs every rank's program with given per-chunk costs and a
 * point-to-point communication cost, and reports each rank's timeline, bubble, peak in-flight activations, parameter
 * copies and the makespan. Also the closed-form bubbles of the paper's table ([V3] Table 2, SPEC §3) to compare with.
 *
 * Model (see docs/dualpipe.md for the definitions and where it departs from the paper's formula):
 * - A rank runs its steps in program order, one at a time; a step starts when the rank is free and its inputs are there.
 * - Costs: F, B (full backward), W (weight gradient), FB (an overlapped forward+backward pair). A BI step (backward for
 *   inputs only) costs B - W. Stages are uniform (the same cost for every stage).
 * - Inputs: the forward of stage s needs stage s-1's forward output (PP input is there at time 0); the backward of
 *   stage s needs stage s+1's input gradient (the last stage needs only its own forward, which computed the loss);
 *   W needs its BI. A value crossing ranks arrives `comm` after the producing step ends; on the same rank at once.
 * - Activations: a chunk's activations are live from the start of its forward to the end of its full backward (or of
 *   its W when the weight gradient is deferred). Unit: one micro-batch through one stage (1/PP of the model's layers).
 * - Bubble of a rank: makespan - busy time of that rank (all idle time inside [0, makespan]).
 */
import { type Chunk, type Method, type Schedule, type Step, rankOf, stagesOfRank } from './schedule.js';

export interface Costs {
  /** Forward chunk. */
  F: number;
  /** Full backward chunk (input + weight gradients). */
  B: number;
  /** Weight-gradient chunk. */
  W: number;
  /** An overlapped forward + backward pair. */
  FB: number;
  /** Point-to-point transfer between ranks. */
  comm: number;
}

/** The paper's example costs (SPEC §3): F=1, B=2, W=1, F&B=2.5, no communication cost. */
export const DEFAULT_COSTS: Costs = { F: 1, B: 2, W: 1, FB: 2.5, comm: 0 };

/** Checks costs: finite, non-negative, and W <= B (W is part of B). */
export function validateCosts(c: Costs): void {
  for (const k of ['F', 'B', 'W', 'FB', 'comm'] as const) {
    if (!Number.isFinite(c[k]) || c[k] < 0)
      throw new Error(`schedule: cost ${k} must be a finite number >= 0, got ${c[k]}`);
  }
  if (c.W > c.B)
    throw new Error(`schedule: cost W (${c.W}) cannot exceed B (${c.B}): W is the weight-gradient part of B`);
}

export interface TimedStep {
  readonly step: Step;
  readonly start: number;
  readonly end: number;
}

export interface RankResult {
  readonly timeline: readonly TimedStep[];
  /** Sum of step durations. */
  readonly busy: number;
  /** makespan - busy. */
  readonly bubble: number;
  /** Idle time before the first step and after the last one (part of `bubble`). */
  readonly leadingIdle: number;
  readonly trailingIdle: number;
  /** Most chunks whose activations are live at once. */
  readonly peakActivations: number;
  /** Stage parameter sets held (1/PP of the model each). */
  readonly paramCopies: number;
}

export interface SimResult {
  readonly schedule: Schedule;
  readonly costs: Costs;
  readonly makespan: number;
  readonly ranks: readonly RankResult[];
  /** Largest per-rank bubble (the rank that waits most). */
  readonly bubble: number;
  /** Parameters per rank in units of one stage (1/PP of the model), as in the table: 1, 1, 2, 2. */
  readonly paramCopies: number;
  readonly peakActivations: readonly number[];
}

const k = (c: Chunk): string => `${c.dir}/${c.stage}/${c.mb}`;

function duration(s: Step, c: Costs): number {
  switch (s.op) {
    case 'F':
      return c.F;
    case 'B':
      return c.B;
    case 'BI':
      return c.B - c.W;
    case 'W':
      return c.W;
    case 'FB':
      return c.FB;
  }
}

/** Runs the schedule's programs; throws naming the blocked ranks if they deadlock. */
export function simulate(schedule: Schedule, costs: Costs = DEFAULT_COSTS): SimResult {
  validateCosts(costs);
  const { programs, pp } = schedule;
  const lastStage = pp - 1;
  // Completion times of forward outputs and input gradients, by chunk key.
  const fDone = new Map<string, number>();
  const bDone = new Map<string, number>();
  const next = programs.map(() => 0);
  const free = programs.map(() => 0);
  const timelines: TimedStep[][] = programs.map(() => []);

  /** When the forward input of chunk c is available on its rank, or undefined if not produced yet. */
  const fReady = (c: Chunk, rank: number): number | undefined => {
    if (c.stage === 0) return 0;
    const prev = { ...c, stage: c.stage - 1 };
    const t = fDone.get(k(prev));
    if (t === undefined) return undefined;
    return rankOf(schedule, c.dir, prev.stage) === rank ? t : t + costs.comm;
  };
  const bReady = (c: Chunk, rank: number): number | undefined => {
    const own = fDone.get(k(c));
    if (own === undefined) return undefined;
    if (c.stage === lastStage) return own;
    const nxt = { ...c, stage: c.stage + 1 };
    const t = bDone.get(k(nxt));
    if (t === undefined) return undefined;
    return Math.max(own, rankOf(schedule, c.dir, nxt.stage) === rank ? t : t + costs.comm);
  };

  let remaining = programs.reduce((n, p) => n + p.length, 0);
  while (remaining > 0) {
    let progressed = false;
    for (let r = 0; r < programs.length; r++) {
      while (next[r] < programs[r].length) {
        const s = programs[r][next[r]];
        let ready: number | undefined;
        if (s.op === 'F') ready = fReady(s.chunk, r);
        else if (s.op === 'B' || s.op === 'BI') ready = bReady(s.chunk, r);
        else if (s.op === 'W') ready = bDone.has(k(s.chunk)) ? 0 : undefined;
        else {
          const a = fReady(s.f, r);
          const b = bReady(s.b, r);
          ready = a === undefined || b === undefined ? undefined : Math.max(a, b);
        }
        if (ready === undefined) break;
        const start = Math.max(free[r], ready);
        const end = start + duration(s, costs);
        if (s.op === 'F') fDone.set(k(s.chunk), end);
        else if (s.op === 'B' || s.op === 'BI') bDone.set(k(s.chunk), end);
        else if (s.op === 'FB') {
          fDone.set(k(s.f), end);
          bDone.set(k(s.b), end);
        }
        timelines[r].push({ step: s, start, end });
        free[r] = end;
        next[r]++;
        remaining--;
        progressed = true;
      }
    }
    if (!progressed) {
      const blocked = programs
        .map((p, r) => (next[r] < p.length ? `rank ${r} at step ${next[r]} (${describeStep(p[next[r]])})` : null))
        .filter((x) => x !== null);
      throw new Error(`simulate ${schedule.method}: deadlock, waiting forever: ${blocked.join('; ')}`);
    }
  }

  return resultFromTimelines(schedule, costs, timelines);
}

/**
 * Bubble, activations and parameter copies of given per-rank timelines (simulated, or measured by the engine).
 * makespan = the latest end; bubble of a rank = makespan - its busy time.
 */
export function resultFromTimelines(
  schedule: Schedule,
  costs: Costs,
  timelines: readonly (readonly TimedStep[])[],
): SimResult {
  const makespan = Math.max(0, ...timelines.map((tl) => (tl.length ? tl[tl.length - 1].end : 0)));
  const ranks: RankResult[] = timelines.map((tl, r) => {
    const busy = tl.reduce((s, t) => s + (t.end - t.start), 0);
    return {
      timeline: tl,
      busy,
      bubble: makespan - busy,
      leadingIdle: tl.length ? tl[0].start : makespan,
      trailingIdle: tl.length ? makespan - tl[tl.length - 1].end : 0,
      peakActivations: peakLive(schedule.programs[r]),
      paramCopies: stagesOfRank(schedule, r).length,
    };
  });
  return {
    schedule,
    costs,
    makespan,
    ranks,
    bubble: Math.max(...ranks.map((x) => x.bubble)),
    paramCopies: Math.max(...ranks.map((x) => x.paramCopies)),
    peakActivations: ranks.map((x) => x.peakActivations),
  };
}

/** Peak number of live chunks on one rank: +1 when a forward starts, -1 when a full backward or a W ends. */
export function peakLive(program: readonly Step[]): number {
  let live = 0;
  let peak = 0;
  for (const s of program) {
    if (s.op === 'F' || s.op === 'FB') live++;
    peak = Math.max(peak, live);
    if (s.op === 'B' || s.op === 'W' || s.op === 'FB') live--;
  }
  return peak;
}

/** `F 0/3/5`-style description of a step (direction/stage/micro-batch). */
export function describeStep(s: Step): string {
  return s.op === 'FB' ? `FB f=${k(s.f)} b=${k(s.b)}` : `${s.op} ${k(s.chunk)}`;
}

/** The paper's closed-form bubble for a method (SPEC §3 table). DualPipeV shares DualPipe's formula. */
export function formulaBubble(method: Method, pp: number, c: Costs): number {
  switch (method) {
    case '1f1b':
      return (pp - 1) * (c.F + c.B);
    case 'zb1p':
      return (pp - 1) * (c.F + c.B - 2 * c.W);
    case 'dualpipe':
    case 'dualpipev':
      return (pp / 2 - 1) * (c.FB + c.B - 3 * c.W);
  }
}

/** The table's parameter copies (per rank, in stages) and activation memory (in chunks) for a method. */
export function formulaMemory(method: Method, pp: number): { paramCopies: number; activations: number } {
  return method === '1f1b' || method === 'zb1p'
    ? { paramCopies: 1, activations: pp }
    : { paramCopies: 2, activations: pp + 1 };
}
