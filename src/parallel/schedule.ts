/**
 * Pipeline schedules as per-rank programs of typed steps: 1F1B, ZB1P (zero-bubble ZB-H1), DualPipe and DualPipeV
 * ([V3] §3.2.1, SPEC §3, and the public DualPipe code's `step()`).
 *
 * What it is: pure functions from (method, PP, micro-batches) to a `Schedule` — one ordered list of compute steps per
 * rank, plus the placement of (direction, stage) on ranks. The simulator (./simulate.ts) and the worker engine
 * (./engine.ts) both run these programs. What it is not: a runtime; nothing here computes or communicates.
 *
 * Communication is implicit: a step's output goes to whichever rank holds the next stage of its direction (forward)
 * or the previous one (backward), as soon as the step finishes. Sends never block; a step waits for its inputs.
 *
 * Notation (SPEC §3): PP = number of pipeline stages; N = micro-batches per step (for DualPipe N counts both
 * directions, N/2 each). Steps: F = forward of one chunk (one stage, one micro-batch); B = full backward; BI = the
 * input-gradient half of a backward whose weight gradient is queued; W = the oldest queued weight gradient (FIFO, as in
 * the reference's WeightGradStore); FB = an overlapped pair, the forward of one chunk and the full backward of another.
 *
 * Deviations from the reference code: none in the order of compute steps. The reference also orders its sends and
 * receives (e.g. the middle ranks delay one send in step 2) to avoid NCCL deadlocks; with non-blocking sends that
 * order does not change any dependency, so it is not represented.
 */

export type Method = '1f1b' | 'zb1p' | 'dualpipe' | 'dualpipev';
export const METHODS: readonly Method[] = ['1f1b', 'zb1p', 'dualpipe', 'dualpipev'];

/** One stage applied to one micro-batch. `dir` is 1 only for DualPipe's reverse direction; `mb` counts per direction. */
export interface Chunk {
  readonly dir: 0 | 1;
  readonly stage: number;
  readonly mb: number;
}

export type Step =
  | { readonly op: 'F'; readonly chunk: Chunk }
  | { readonly op: 'B'; readonly chunk: Chunk }
  | { readonly op: 'BI'; readonly chunk: Chunk }
  | { readonly op: 'W'; readonly chunk: Chunk }
  | { readonly op: 'FB'; readonly f: Chunk; readonly b: Chunk };

export interface Schedule {
  readonly method: Method;
  /** Pipeline stages (the model is cut into this many pieces). */
  readonly pp: number;
  /** Ranks (devices): PP, or PP/2 for DualPipeV. */
  readonly ranks: number;
  /** Micro-batches per training step (both directions together for DualPipe). */
  readonly microBatches: number;
  /** Directions: 2 for DualPipe (micro-batches enter at both ends), else 1. */
  readonly directions: 1 | 2;
  /** Micro-batches per direction. */
  readonly perDirection: number;
  /** programs[r] = the ordered steps of rank r. */
  readonly programs: readonly (readonly Step[])[];
}

/** The rank that holds `stage` of direction `dir`. */
export function rankOf(s: Pick<Schedule, 'method' | 'pp'>, dir: 0 | 1, stage: number): number {
  switch (s.method) {
    case '1f1b':
    case 'zb1p':
      return stage;
    case 'dualpipe':
      return dir === 0 ? stage : s.pp - 1 - stage;
    case 'dualpipev':
      return stage < s.pp / 2 ? stage : s.pp - 1 - stage;
  }
}

/**
 * Which of a rank's (at most two) stage modules a chunk runs on: 0 or 1. DualPipe: the module of the chunk's direction
 * (rank r holds stage r for direction 0 and stage PP-1-r for direction 1). DualPipeV: 0 on the way down (stage < R),
 * 1 on the way back. Otherwise 0.
 */
export function slotOf(s: Pick<Schedule, 'method' | 'pp'>, c: Chunk): 0 | 1 {
  if (s.method === 'dualpipe') return c.dir;
  if (s.method === 'dualpipev') return c.stage < s.pp / 2 ? 0 : 1;
  return 0;
}

/** The stages a rank holds, by slot (one for 1F1B/ZB1P, two otherwise). Stage indices of the model, 0..PP-1. */
export function stagesOfRank(s: Pick<Schedule, 'method' | 'pp'>, rank: number): number[] {
  return s.method === 'dualpipe' || s.method === 'dualpipev' ? [rank, s.pp - 1 - rank] : [rank];
}

export interface ScheduleOptions {
  method: Method;
  /** Pipeline stages PP. */
  pp: number;
  /** Micro-batches N. */
  microBatches: number;
}

/**
 * Most (stage, micro-batch) pairs PP x N a schedule may have: building, simulating and drawing one takes time and memory
 * in proportion (2^18 pairs: about 15 s and 1 GB on a 2-core CPU), and beyond this a pipeline is better studied with
 * the formulas than with a timeline.
 */
export const MAX_SCHEDULE_PAIRS = 2 ** 18;

function isInt(x: number): boolean {
  return Number.isInteger(x);
}

/** Throws a one-line error saying what is required when (method, PP, N) cannot be scheduled. */
export function validateOptions(o: ScheduleOptions): void {
  const { method, pp, microBatches: n } = o;
  if (!METHODS.includes(method))
    throw new Error(`schedule: unknown method '${method}' (expected one of ${METHODS.join(', ')})`);
  if (!isInt(pp) || pp < 1) throw new Error(`schedule: PP must be a positive integer, got ${pp}`);
  if (!isInt(n) || n < 1) throw new Error(`schedule: micro-batches must be a positive integer, got ${n}`);
  if (pp * n > MAX_SCHEDULE_PAIRS)
    throw new Error(
      `schedule: PP ${pp} x ${n} micro-batches = ${pp * n} (stage, micro-batch) pairs; at most ${MAX_SCHEDULE_PAIRS} can be scheduled`,
    );
  if (method === '1f1b' || method === 'zb1p') {
    if (n < pp) throw new Error(`schedule: ${method} needs at least PP = ${pp} micro-batches, got ${n}`);
    return;
  }
  if (pp % 2 !== 0) throw new Error(`schedule: ${method} needs an even PP (stages pair up as r and PP-1-r), got ${pp}`);
  if (method === 'dualpipe') {
    if (n % 2 !== 0)
      throw new Error(`schedule: dualpipe needs an even number of micro-batches (half enter at each end), got ${n}`);
    if (n < 2 * pp) throw new Error(`schedule: dualpipe needs at least 2*PP = ${2 * pp} micro-batches, got ${n}`);
  } else if (n < pp) {
    throw new Error(`schedule: dualpipev needs at least PP = ${pp} micro-batches (2 per device), got ${n}`);
  }
}

/** Builds the schedule (validating the inputs first). */
export function buildSchedule(o: ScheduleOptions): Schedule {
  validateOptions(o);
  const { method, pp, microBatches: n } = o;
  const ranks = method === 'dualpipev' ? pp / 2 : pp;
  const directions = method === 'dualpipe' ? 2 : 1;
  const programs: Step[][] = [];
  for (let r = 0; r < ranks; r++) {
    if (method === '1f1b') programs.push(oneFOneB(pp, n, r));
    else if (method === 'zb1p') programs.push(zb1p(pp, n, r));
    else programs.push(dualProgram(method, pp, n, r));
  }
  return { method, pp, ranks, microBatches: n, directions, perDirection: n / directions, programs };
}

const chunk = (stage: number, mb: number, dir: 0 | 1 = 0): Chunk => ({ dir, stage, mb });

/** 1F1B: warm-up of PP-1-r forwards, then one forward / one full backward, then the remaining backwards. */
function oneFOneB(pp: number, n: number, r: number): Step[] {
  const warm = pp - 1 - r;
  const out: Step[] = [];
  for (let m = 0; m < warm; m++) out.push({ op: 'F', chunk: chunk(r, m) });
  for (let m = 0; m < n - warm; m++) {
    out.push({ op: 'F', chunk: chunk(r, warm + m) });
    out.push({ op: 'B', chunk: chunk(r, m) });
  }
  for (let m = n - warm; m < n; m++) out.push({ op: 'B', chunk: chunk(r, m) });
  return out;
}

/**
 * ZB1P (ZB-H1 of "Zero Bubble Pipeline Parallelism"): 1F1B with every backward split into BI and W. Rank r keeps the
 * 1F1B warm-up (PP-1-r forwards) but postpones its first r weight gradients, so it holds up to PP micro-batches like
 * rank 0 does in 1F1B; the postponed W's fill the cool-down, where rank r otherwise waits for gradients.
 * Order: F^(PP-1-r), then (F, BI, [W once r are pending]) in the steady state, then (BI, W) and the remaining W's.
 */
function zb1p(pp: number, n: number, r: number): Step[] {
  const warm = pp - 1 - r;
  const out: Step[] = [];
  const pending: Chunk[] = [];
  const bi = (m: number): void => {
    out.push({ op: 'BI', chunk: chunk(r, m) });
    pending.push(chunk(r, m));
  };
  const w = (): void => {
    out.push({ op: 'W', chunk: pending.shift()! });
  };
  for (let m = 0; m < warm; m++) out.push({ op: 'F', chunk: chunk(r, m) });
  for (let m = 0; m < n - warm; m++) {
    out.push({ op: 'F', chunk: chunk(r, warm + m) });
    bi(m);
    if (pending.length > r) w();
  }
  for (let m = n - warm; m < n; m++) {
    bi(m);
    if (pending.length > r) w();
  }
  while (pending.length) w();
  return out;
}

/**
 * DualPipe and DualPipeV: the eight steps of the reference `step()` (SPEC §3), for one rank.
 * DualPipe: H = PP/2, h = min(r, PP-1-r), "phase" p of rank r is direction p ^ (r >= H). DualPipeV: H -> R = PP/2
 * devices, h -> r, phase 0 is stage r (going down) and phase 1 is stage PP-1-r (coming back).
 */
function dualProgram(method: 'dualpipe' | 'dualpipev', pp: number, n: number, r: number): Step[] {
  const v = method === 'dualpipev';
  const H = pp / 2;
  const h = v ? r : Math.min(r, pp - 1 - r);
  const secondHalf = !v && r >= H;
  /** The "middle" rank of the reference (for V: the last device), which does not overlap its first F0/B1 pair. */
  const middle = h === H - 1;
  const mainSteps = v ? n - pp + r + 1 : n / 2 - pp + h + 1;

  const nextF = [0, 0];
  const nextB = [0, 0];
  const chunkOf = (phase: number, counter: number[]): Chunk => {
    const mb = counter[phase]++;
    if (v) return chunk(phase === 0 ? r : pp - 1 - r, mb);
    const dir = (phase ^ (secondHalf ? 1 : 0)) as 0 | 1;
    return chunk(dir === 0 ? r : pp - 1 - r, mb, dir);
  };
  const out: Step[] = [];
  const pending: Chunk[] = [];
  const F = (p: number): void => {
    out.push({ op: 'F', chunk: chunkOf(p, nextF) });
  };
  const B = (p: number, zb = false): void => {
    const c = chunkOf(p, nextB);
    if (zb) pending.push(c);
    out.push({ op: zb ? 'BI' : 'B', chunk: c });
  };
  const FB = (pf: number, pb: number): void => {
    const f = chunkOf(pf, nextF);
    out.push({ op: 'FB', f, b: chunkOf(pb, nextB) });
  };
  const W = (): void => {
    const c = pending.shift();
    if (!c) throw new Error(`schedule: internal error, ${method} rank ${r} has no weight gradient to run`);
    out.push({ op: 'W', chunk: c });
  };

  for (let i = 0; i < 2 * (H - h - 1); i++) F(0); // 1: F0
  for (let i = 0; i < h + 1; i++) {
    F(0); // 2: F0 F1
    F(1);
  }
  for (let i = 0; i < H - h - 1; i++) {
    B(1, true); // 3: B1 (weight grad deferred) W F1
    W();
    F(1);
  }
  for (let i = 0; i < mainSteps; i++) {
    if (i === 0 && middle) {
      F(0); // 4: the middle ranks run their first F0 and B1 back to back, not overlapped
      B(1);
    } else FB(0, 1);
    FB(1, 0);
  }
  for (let i = 0; i < H - h - 1; i++) {
    B(1); // 5: B1, F1&B0
    FB(1, 0);
  }
  let zb = false;
  const half = Math.floor((h + 1) / 2);
  for (let i = 0; i < h + 1; i++) {
    if (i === half && h % 2 === 1) zb = true; // 6: B1 B0; the second half of them defer their W
    B(1, zb);
    if (i === half && h % 2 === 0) zb = true;
    B(0, zb);
  }
  for (let i = 0; i < H - h - 1; i++) {
    W(); // 7: W, B0 (deferred)
    B(0, true);
  }
  for (let i = 0; i < h + 1; i++) W(); // 8: W
  if (pending.length)
    throw new Error(`schedule: internal error, ${method} rank ${r} leaves ${pending.length} weight gradients`);
  return out;
}

export interface StepCounts {
  /** Forward chunks (F steps plus the F of each FB). */
  F: number;
  /** Backward chunks (B, BI, and the B of each FB). */
  B: number;
  /** Backwards whose weight gradient was deferred (BI). */
  deferred: number;
  W: number;
  /** Overlapped pairs. */
  FB: number;
}

/** Counts the steps of one rank's program. */
export function stepCounts(program: readonly Step[]): StepCounts {
  const c: StepCounts = { F: 0, B: 0, deferred: 0, W: 0, FB: 0 };
  for (const s of program) {
    if (s.op === 'F') c.F++;
    else if (s.op === 'B') c.B++;
    else if (s.op === 'BI') {
      c.B++;
      c.deferred++;
    } else if (s.op === 'W') c.W++;
    else {
      c.F++;
      c.B++;
      c.FB++;
    }
  }
  return c;
}

const key = (c: Chunk): string => `${c.dir}/${c.stage}/${c.mb}`;

/**
 * Checks the local rules of every program and throws naming the rank and step when one is broken: every chunk of
 * every (direction, stage) held by a rank is forwarded once and backwarded once on that rank, forward before backward,
 * micro-batches in order per (direction, stage), and every BI followed by exactly one W for the same chunk (FIFO).
 * Cross-rank order (no deadlock) is checked by the simulator, which runs the programs.
 */
export function checkPrograms(s: Schedule): void {
  for (let r = 0; r < s.ranks; r++) {
    const fwd = new Set<string>();
    const bwd = new Set<string>();
    const lastF = new Map<string, number>();
    const lastB = new Map<string, number>();
    const queue: string[] = [];
    const fail = (i: number, msg: string): never => {
      throw new Error(`schedule ${s.method}: rank ${r} step ${i}: ${msg}`);
    };
    const seen = (i: number, c: Chunk, isF: boolean): void => {
      if (rankOf(s, c.dir, c.stage) !== r) fail(i, `chunk ${key(c)} belongs to rank ${rankOf(s, c.dir, c.stage)}`);
      const k = key(c);
      const lane = `${c.dir}/${c.stage}`;
      const last = isF ? lastF : lastB;
      if ((last.get(lane) ?? -1) !== c.mb - 1) fail(i, `${isF ? 'forward' : 'backward'} of ${k} out of order`);
      last.set(lane, c.mb);
      if (isF) fwd.add(k);
      else {
        if (!fwd.has(k)) fail(i, `backward of ${k} before its forward`);
        bwd.add(k);
      }
    };
    s.programs[r].forEach((st, i) => {
      if (st.op === 'F') seen(i, st.chunk, true);
      else if (st.op === 'B') seen(i, st.chunk, false);
      else if (st.op === 'BI') {
        seen(i, st.chunk, false);
        queue.push(key(st.chunk));
      } else if (st.op === 'W') {
        if (queue.shift() !== key(st.chunk))
          fail(i, `W of ${key(st.chunk)} is not the oldest deferred weight gradient`);
      } else {
        seen(i, st.f, true);
        seen(i, st.b, false);
      }
    });
    if (queue.length) fail(s.programs[r].length, `${queue.length} deferred weight gradients never run`);
    const lanes = new Set<string>();
    for (let d = 0; d < s.directions; d++) {
      for (let st = 0; st < s.pp; st++) if (rankOf(s, d as 0 | 1, st) === r) lanes.add(`${d}/${st}`);
    }
    for (const lane of lanes) {
      const f = lastF.get(lane) ?? -1;
      const b = lastB.get(lane) ?? -1;
      if (f !== s.perDirection - 1 || b !== s.perDirection - 1) {
        fail(s.programs[r].length, `stage ${lane} ran ${f + 1} forwards and ${b + 1} backwards of ${s.perDirection}`);
      }
    }
  }
}
