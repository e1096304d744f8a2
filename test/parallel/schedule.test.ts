import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  type Chunk,
  type Schedule,
  type Step,
  buildSchedule,
  checkPrograms,
  rankOf,
  stepCounts,
} from '../../src/parallel/schedule.js';
import { simulate } from '../../src/parallel/simulate.js';

const evenPP = [2, 4, 6, 8, 10, 12, 14, 16];

/** Compact form: F0/3 = forward of direction 0, micro-batch 3; FB(f,b). */
function show(st: Step): string {
  const c = (x: Chunk): string => `${x.dir}/${x.mb}`;
  return st.op === 'FB' ? `FB(${c(st.f)},${c(st.b)})` : `${st.op}${c(st.chunk)}`;
}

/**
 * Independent check of a simulated timeline: every step starts after the values it consumes exist on its rank, and
 * steps on one rank do not overlap.
 */
function assertCausal(s: Schedule, comm: number): void {
  const r = simulate(s, { F: 1.3, B: 2.1, W: 0.7, FB: 2.9, comm });
  const fEnd = new Map<string, number>();
  const bEnd = new Map<string, number>();
  const k = (c: Chunk): string => `${c.dir}/${c.stage}/${c.mb}`;
  r.ranks.forEach((rank) => {
    for (const t of rank.timeline) {
      const st = t.step;
      if (st.op === 'F') fEnd.set(k(st.chunk), t.end);
      if (st.op === 'B' || st.op === 'BI') bEnd.set(k(st.chunk), t.end);
      if (st.op === 'FB') {
        fEnd.set(k(st.f), t.end);
        bEnd.set(k(st.b), t.end);
      }
    }
  });
  const lat = (c: Chunk, from: Chunk): number =>
    rankOf(s, c.dir, c.stage) === rankOf(s, from.dir, from.stage) ? 0 : comm;
  r.ranks.forEach((rank, ri) => {
    let prevEnd = 0;
    for (const t of rank.timeline) {
      assert.ok(t.start >= prevEnd - 1e-9, `rank ${ri}: steps overlap`);
      prevEnd = t.end;
      const st = t.step;
      const needF = (c: Chunk): void => {
        if (c.stage === 0) return;
        const p = { ...c, stage: c.stage - 1 };
        assert.ok(t.start >= fEnd.get(k(p))! + lat(c, p) - 1e-9, `rank ${ri}: F ${k(c)} starts before its input`);
      };
      const needB = (c: Chunk): void => {
        assert.ok(t.start >= fEnd.get(k(c))! - 1e-9, `rank ${ri}: B ${k(c)} before its F`);
        if (c.stage === s.pp - 1) return;
        const n = { ...c, stage: c.stage + 1 };
        assert.ok(t.start >= bEnd.get(k(n))! + lat(c, n) - 1e-9, `rank ${ri}: B ${k(c)} starts before its gradient`);
      };
      if (st.op === 'F') needF(st.chunk);
      else if (st.op === 'B' || st.op === 'BI') needB(st.chunk);
      else if (st.op === 'W') assert.ok(t.start >= bEnd.get(k(st.chunk))! - 1e-9, `rank ${ri}: W before its BI`);
      else {
        needF(st.f);
        needB(st.b);
      }
    }
  });
}

describe('schedule: DualPipe step counts (SPEC §3)', () => {
  it('every even PP in 2..16, even N >= 2PP, every rank: #F = #B = N, #W = #deferred B, the 8-step structure', () => {
    for (const pp of evenPP) {
      for (const n of [2 * pp, 2 * pp + 2, 2 * pp + 6, 4 * pp]) {
        const s = buildSchedule({ method: 'dualpipe', pp, microBatches: n });
        assert.equal(s.ranks, pp);
        checkPrograms(s);
        const H = pp / 2;
        for (let r = 0; r < pp; r++) {
          const c = stepCounts(s.programs[r]);
          const h = Math.min(r, pp - 1 - r);
          const where = `PP=${pp} N=${n} rank ${r}`;
          assert.equal(c.F, n, `${where}: #F`);
          assert.equal(c.B, n, `${where}: #B`);
          assert.equal(c.W, c.deferred, `${where}: #W = #deferred`);
          // Deferred: step 3 (H-h-1), step 6 (h+1), step 7 (H-h-1).
          assert.equal(c.deferred, 2 * (H - h - 1) + h + 1, `${where}: #deferred`);
          // Overlapped pairs: step 4 (two per iteration, minus the middle ranks' first) and step 5.
          const main = n / 2 - pp + h + 1;
          assert.equal(c.FB, 2 * main - (h === H - 1 ? 1 : 0) + (H - h - 1), `${where}: #F&B`);
        }
      }
    }
  });

  it('matches the reference order step by step (PP=4, N=8, ranks 0 and 1, derived by hand from SPEC §3)', () => {
    const s = buildSchedule({ method: 'dualpipe', pp: 4, microBatches: 8 });
    assert.equal(
      s.programs[0].map(show).join(' '),
      'F0/0 F0/1 F0/2 F1/0 BI1/0 W1/0 F1/1 FB(0/3,1/1) FB(1/2,0/0) B1/2 FB(1/3,0/1) B1/3 BI0/2 W0/2 BI0/3 W0/3',
    );
    // Rank 1 is a middle rank (h = H-1 = 1): no step 1/3/5/7, its first F0/B1 of step 4 not overlapped, and in step 6
    // (h odd) the zero-bubble switch turns on before the second B1.
    assert.equal(
      s.programs[1].map(show).join(' '),
      'F0/0 F1/0 F0/1 F1/1 F0/2 B1/0 FB(1/2,0/0) FB(0/3,1/1) FB(1/3,0/1) B1/2 B0/2 BI1/3 BI0/3 W1/3 W0/3',
    );
  });

  it('the second half of the ranks mirrors the first (phase 0 is the reverse direction there)', () => {
    const s = buildSchedule({ method: 'dualpipe', pp: 8, microBatches: 20 });
    const flip = (st: Step): string => {
      const c = (x: Chunk): string => `${1 - x.dir}/${x.mb}`;
      return st.op === 'FB' ? `FB(${c(st.f)},${c(st.b)})` : `${st.op}${c(st.chunk)}`;
    };
    for (let r = 0; r < 4; r++) assert.equal(s.programs[7 - r].map(flip).join(' '), s.programs[r].map(show).join(' '));
  });
});

describe('schedule: DualPipeV, 1F1B, ZB1P step counts', () => {
  it('DualPipeV: PP/2 devices, each 2N F and 2N B, #W = #deferred', () => {
    for (const pp of evenPP) {
      for (const n of [pp, pp + 1, 2 * pp, 2 * pp + 2, 4 * pp]) {
        const s = buildSchedule({ method: 'dualpipev', pp, microBatches: n });
        assert.equal(s.ranks, pp / 2);
        checkPrograms(s);
        for (let r = 0; r < s.ranks; r++) {
          const c = stepCounts(s.programs[r]);
          const R = pp / 2;
          assert.equal(c.F, 2 * n, `PP=${pp} N=${n} device ${r}: #F`);
          assert.equal(c.B, 2 * n, `PP=${pp} N=${n} device ${r}: #B`);
          assert.equal(c.W, c.deferred);
          assert.equal(c.deferred, 2 * (R - r - 1) + r + 1);
        }
      }
    }
  });

  it('1F1B: N F and N full B per rank, no W; ZB1P: N F, N BI, N W per rank', () => {
    for (const pp of [1, 2, 3, 4, 8, 16]) {
      for (const n of [pp, pp + 1, 3 * pp]) {
        const a = buildSchedule({ method: '1f1b', pp, microBatches: n });
        const z = buildSchedule({ method: 'zb1p', pp, microBatches: n });
        checkPrograms(a);
        checkPrograms(z);
        for (let r = 0; r < pp; r++) {
          assert.deepEqual(stepCounts(a.programs[r]), { F: n, B: n, deferred: 0, W: 0, FB: 0 });
          assert.deepEqual(stepCounts(z.programs[r]), { F: n, B: n, deferred: n, W: n, FB: 0 });
        }
      }
    }
  });

  it('every program respects its dependencies in time (independent check of the simulated timelines)', () => {
    for (const comm of [0, 0.4]) {
      for (const pp of [2, 4, 6, 8]) {
        assertCausal(buildSchedule({ method: '1f1b', pp, microBatches: pp + 3 }), comm);
        assertCausal(buildSchedule({ method: 'zb1p', pp, microBatches: 2 * pp }), comm);
        assertCausal(buildSchedule({ method: 'dualpipe', pp, microBatches: 2 * pp + 4 }), comm);
        assertCausal(buildSchedule({ method: 'dualpipev', pp, microBatches: pp + 3 }), comm);
      }
    }
  });

  it('checkPrograms catches a broken program', () => {
    const s = buildSchedule({ method: 'zb1p', pp: 4, microBatches: 8 });
    const p = s.programs[2].filter((st) => st.op !== 'W');
    const broken: Schedule = { ...s, programs: s.programs.map((x, r) => (r === 2 ? p : x)) };
    assert.throws(() => checkPrograms(broken), /rank 2 .*deferred weight gradients never run/);
    const swapped = [...s.programs[1]];
    const i = swapped.findIndex((st) => st.op === 'BI');
    const fi = swapped.findIndex((st) => st.op === 'F' && st.chunk.mb === 0);
    [swapped[fi], swapped[i]] = [swapped[i], swapped[fi]];
    assert.throws(
      () => checkPrograms({ ...s, programs: s.programs.map((x, r) => (r === 1 ? swapped : x)) }),
      /rank 1 step/,
    );
  });
});

describe('schedule: validation errors say what is required', () => {
  const bad: [Parameters<typeof buildSchedule>[0], RegExp][] = [
    [{ method: 'dualpipe', pp: 7, microBatches: 28 }, /dualpipe needs an even PP .* got 7/],
    [{ method: 'dualpipev', pp: 5, microBatches: 10 }, /dualpipev needs an even PP/],
    [{ method: 'dualpipe', pp: 8, microBatches: 14 }, /dualpipe needs at least 2\*PP = 16 micro-batches, got 14/],
    [{ method: 'dualpipe', pp: 4, microBatches: 9 }, /dualpipe needs an even number of micro-batches .* got 9/],
    [{ method: 'dualpipev', pp: 8, microBatches: 7 }, /dualpipev needs at least PP = 8 micro-batches .* got 7/],
    [{ method: '1f1b', pp: 4, microBatches: 3 }, /1f1b needs at least PP = 4 micro-batches, got 3/],
    [{ method: 'zb1p', pp: 4, microBatches: 2 }, /zb1p needs at least PP = 4/],
    [{ method: 'gpipe' as never, pp: 4, microBatches: 8 }, /unknown method 'gpipe'/],
    [{ method: '1f1b', pp: 0, microBatches: 8 }, /PP must be a positive integer, got 0/],
    [{ method: '1f1b', pp: 4, microBatches: 2.5 }, /micro-batches must be a positive integer, got 2.5/],
  ];
  for (const [o, re] of bad) {
    it(`${o.method} PP=${o.pp} N=${o.microBatches}`, () => assert.throws(() => buildSchedule(o), re));
  }
});
