import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type Method, type Schedule, buildSchedule } from '../../src/parallel/schedule.js';
import { type Costs, DEFAULT_COSTS, formulaBubble, simulate } from '../../src/parallel/simulate.js';
import { Generator } from '../../src/tensor/random.js';

const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} != ${b}`);

/** Random costs with W <= B and max(F, B) <= F&B <= F + B (an overlapped pair is no faster than its longer half). */
function randomCosts(g: Generator): Costs {
  const u = (): number => g.uniform(1, 'float64')[0];
  const F = 0.2 + 2 * u();
  const W = 1.5 * u();
  const B = W + 0.1 + 2.5 * u();
  const lo = Math.max(F, B);
  return { F, B, W, FB: lo + (F + B - lo) * u(), comm: 0 };
}

/** The closed forms this simulator obeys (docs/dualpipe.md), for the largest per-rank bubble. */
function derivedBubble(method: Method, pp: number, c: Costs): number {
  const Bi = c.B - c.W;
  const H = pp / 2;
  switch (method) {
    case '1f1b':
      return (pp - 1) * (c.F + c.B);
    case 'zb1p':
      return (pp - 1) * Math.max(c.F + c.B - 2 * c.W, c.F, Bi);
    default:
      return (H - 1) * (c.FB - c.B + Math.max(c.B - 2 * c.W, 0)) + Math.max((H - 1) * c.F, (H - 1) * Bi - c.F);
  }
}

describe("simulate: the paper's table (zero communication cost)", () => {
  it('PP=8, F=1, B=2, W=1, F&B=2.5: bubbles 21 / 7 / 4.5, params 1/1/2, activations PP/PP/PP+1', () => {
    const r = (m: Method, n: number) => simulate(buildSchedule({ method: m, pp: 8, microBatches: n }), DEFAULT_COSTS);
    const a = r('1f1b', 20);
    const z = r('zb1p', 20);
    const d = r('dualpipe', 20);
    const v = r('dualpipev', 20);
    assert.deepEqual([a.bubble, z.bubble, d.bubble, v.bubble], [21, 7, 4.5, 4.5]);
    assert.deepEqual([a.paramCopies, z.paramCopies, d.paramCopies, v.paramCopies], [1, 1, 2, 2]);
    assert.deepEqual(
      [
        Math.max(...a.peakActivations),
        Math.max(...z.peakActivations),
        Math.max(...d.peakActivations),
        Math.max(...v.peakActivations),
      ],
      [8, 8, 9, 9],
    );
  });

  it('equals the formulas for every PP and N at the example costs, on every rank for 1F1B and ZB1P', () => {
    for (const pp of [2, 4, 6, 8, 12, 16]) {
      for (const n of [2 * pp, 2 * pp + 4, 4 * pp]) {
        for (const m of ['1f1b', 'zb1p', 'dualpipe', 'dualpipev'] as const) {
          const r = simulate(buildSchedule({ method: m, pp, microBatches: n }), DEFAULT_COSTS);
          close(r.bubble, formulaBubble(m, pp, DEFAULT_COSTS), `${m} PP=${pp} N=${n}`);
          if (m === '1f1b' || m === 'zb1p') for (const rank of r.ranks) close(rank.bubble, r.bubble, `${m} every rank`);
        }
        const a = simulate(buildSchedule({ method: '1f1b', pp, microBatches: n }), DEFAULT_COSTS);
        close(a.makespan, (n + pp - 1) * (DEFAULT_COSTS.F + DEFAULT_COSTS.B), '1F1B makespan');
      }
    }
  });

  it('random costs: the documented closed forms hold, and the paper formula is their special case', () => {
    const g = new Generator(42);
    for (let i = 0; i < 300; i++) {
      const c = randomCosts(g);
      const pp = 2 * (1 + (i % 7));
      const n = 2 * pp + 2 * (i % 5);
      for (const m of ['1f1b', 'zb1p', 'dualpipe', 'dualpipev'] as const) {
        const r = simulate(buildSchedule({ method: m, pp, microBatches: n }), c);
        close(r.bubble, derivedBubble(m, pp, c), `${m} PP=${pp} N=${n} ${JSON.stringify(c)}`);
      }
      // ZB1P meets (PP-1)(F+B-2W) exactly when a W fits in the gap a forward or an input-backward leaves.
      const zb = derivedBubble('zb1p', pp, c);
      const zbPaper = formulaBubble('zb1p', pp, c);
      if (c.W <= c.F && c.W <= c.B - c.W) close(zb, zbPaper, 'ZB1P regime');
      else assert.ok(zb > zbPaper, 'outside the regime the simulator bubble is larger');
      // DualPipe: with W <= B-W and H*F >= (H-1)(B-W), the bubble is (H-1)(F&B + F - 2W): the paper's formula plus
      // (H-1)(F - (B - W)), so the two agree exactly when a forward costs what an input-backward costs.
      const H = pp / 2;
      if (c.B >= 2 * c.W && H * c.F >= (H - 1) * (c.B - c.W)) {
        close(
          derivedBubble('dualpipe', pp, c),
          formulaBubble('dualpipe', pp, c) + (H - 1) * (c.F - (c.B - c.W)),
          'DualPipe gap',
        );
      }
      const tied = { ...c, F: c.B - c.W };
      if (tied.B >= 2 * tied.W && tied.FB >= Math.max(tied.F, tied.B) && tied.FB <= tied.F + tied.B) {
        const r = simulate(buildSchedule({ method: 'dualpipe', pp, microBatches: n }), tied);
        close(r.bubble, formulaBubble('dualpipe', pp, tied), `DualPipe with F = B - W, ${JSON.stringify(tied)}`);
      }
    }
  });

  it('communication cost: bubbles grow with it; in the 1F1B and DualPipe steady states it is on the critical loop', () => {
    for (const m of ['1f1b', 'zb1p', 'dualpipe', 'dualpipev'] as const) {
      let prev = -1;
      for (const comm of [0, 0.1, 0.5, 1]) {
        const b = simulate(buildSchedule({ method: m, pp: 6, microBatches: 12 }), { ...DEFAULT_COSTS, comm }).bubble;
        assert.ok(b > prev, `${m}: bubble grows with comm (${b} after ${prev})`);
        prev = b;
      }
    }
    const c = { ...DEFAULT_COSTS, comm: 0.1 };
    const bubble = (m: Method, n: number) => simulate(buildSchedule({ method: m, pp: 6, microBatches: n }), c).bubble;
    // Fill and drain cross PP-1 links each way at least.
    assert.ok(bubble('1f1b', 12) >= 5 * (c.F + c.B + 2 * c.comm));
    // 1F1B's steady state alternates F and B on a loop through the next rank, so a latency stalls every micro-batch;
    // ZB1P's deferred W's absorb it.
    assert.ok(bubble('1f1b', 48) > bubble('1f1b', 12));
    assert.ok(bubble('dualpipe', 48) > bubble('dualpipe', 12));
    close(bubble('zb1p', 48), bubble('zb1p', 12), 'ZB1P does not grow with N');
  });
});

describe('simulate: memory', () => {
  it('peak in-flight activations per rank do not grow with N: 1F1B PP-r, ZB1P PP, DualPipe(V) PP+1', () => {
    for (const pp of [2, 4, 8, 16]) {
      for (const n of [2 * pp, 6 * pp]) {
        const peak = (m: Method) => simulate(buildSchedule({ method: m, pp, microBatches: n })).peakActivations;
        assert.deepEqual(
          peak('1f1b'),
          Array.from({ length: pp }, (_, r) => pp - r),
        );
        assert.deepEqual(peak('zb1p'), new Array(pp).fill(pp));
        assert.deepEqual(peak('dualpipe'), new Array(pp).fill(pp + 1));
        assert.deepEqual(peak('dualpipev'), new Array(pp / 2).fill(pp + 1));
      }
    }
  });
});

describe('simulate: errors', () => {
  it('a program that waits for a value nobody produces deadlocks with a message naming the ranks', () => {
    const s = buildSchedule({ method: '1f1b', pp: 2, microBatches: 2 });
    // Rank 0 waits for the gradient of micro-batch 0 before sending micro-batch 1 on, while rank 1 waits for
    // micro-batch 1 before running that backward: a cycle.
    const [p0, p1] = s.programs;
    const broken: Schedule = {
      ...s,
      programs: [
        [p0[0], p0[2], p0[1], p0[3]],
        [p1[0], p1[2], p1[1], p1[3]],
      ],
    };
    assert.throws(() => simulate(broken), /deadlock.*rank 0 at step \d+ .*rank 1 at step/);
  });

  it('bad costs are rejected with the key named', () => {
    const s = buildSchedule({ method: '1f1b', pp: 2, microBatches: 2 });
    assert.throws(() => simulate(s, { ...DEFAULT_COSTS, W: 3 }), /cost W \(3\) cannot exceed B \(2\)/);
    assert.throws(() => simulate(s, { ...DEFAULT_COSTS, F: -1 }), /cost F must be a finite number >= 0, got -1/);
  });
});
