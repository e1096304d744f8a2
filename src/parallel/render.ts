/**
 * Pictures of a simulated schedule: a compact text timeline for the terminal and an SVG like [V3] Figure 5
 * (one row per rank, time to the right, colours for F, B, W and overlapped F&B, micro-batch numbers in the boxes).
 *
 * Conventions in both: a chunk on the rank's second stage (DualPipe's reverse direction, DualPipeV's way back) is
 * drawn lower-case / in a lighter shade; BI (backward for inputs only) is drawn like B and its deferred W follows later.
 */
import { type Chunk, type Step, slotOf } from './schedule.js';
import type { SimResult, TimedStep } from './simulate.js';

/** The smallest of 1, 2, 5 x 10^k that is >= x. */
function niceTick(x: number): number {
  const p = 10 ** Math.floor(Math.log10(x));
  return [1, 2, 5, 10].map((m) => m * p).find((v) => v >= x - 1e-12) ?? 10 * p;
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(2).replace(/0+$/, '');
}

/** One-line summary: makespan, bubble per rank, activations, parameter copies. */
export function summaryLines(r: SimResult): string[] {
  const s = r.schedule;
  return [
    `${s.method}: PP=${s.pp} stages on ${s.ranks} ranks, ${s.microBatches} micro-batches` +
      (s.directions === 2 ? ` (${s.perDirection} per direction)` : ''),
    `costs F=${fmt(r.costs.F)} B=${fmt(r.costs.B)} W=${fmt(r.costs.W)} F&B=${fmt(r.costs.FB)} comm=${fmt(r.costs.comm)}; ` +
      `makespan ${fmt(r.makespan)}, bubble ${fmt(r.bubble)} (max over ranks), params ${r.paramCopies}x, ` +
      `peak activations ${Math.max(...r.peakActivations)}`,
  ];
}

/**
 * Text timeline: one row per rank, `scale` characters per unit of time (default: wide enough for the labels, but
 * at most ~160 columns; a box too narrow for its label shows only the letters, e.g. F or fB).
 * Labels: F3 / B3 / W3 = forward, backward, weight gradient of micro-batch 3 (lower-case on the rank's second stage);
 * an overlapped pair shows both, e.g. F3b1. Idle time is blank.
 */
export function renderText(r: SimResult, opts: { scale?: number } = {}): string {
  const s = r.schedule;
  const letter = (op: string, c: Chunk): string => (slotOf(s, c) === 1 ? op.toLowerCase() : op);
  /** With micro-batch numbers (F3, f3B1), or only the letters when the box is too narrow (F, fB). */
  const label = (st: Step, numbers = true): string => {
    const one = (op: string, c: Chunk): string => letter(op, c) + (numbers ? c.mb : '');
    if (st.op === 'FB') return one('F', st.f) + one('B', st.b);
    return one(st.op === 'BI' ? 'B' : st.op, st.chunk);
  };
  let scale = opts.scale;
  if (scale === undefined) {
    scale = 1;
    for (const rank of r.ranks) {
      for (const t of rank.timeline) {
        const d = t.end - t.start;
        if (d > 0) scale = Math.max(scale, Math.ceil(label(t.step).length / d));
      }
    }
    scale = Math.min(scale, 160 / Math.max(r.makespan, 1e-9));
  }
  const width = Math.max(1, Math.ceil(r.makespan * scale - 1e-9));
  const rowName = (i: number): string => `rank ${String(i).padStart(String(s.ranks - 1).length)} `;
  const rows = r.ranks.map((rank, i) => {
    const cells = new Array<string>(width).fill(' ');
    for (const t of rank.timeline) {
      const a = Math.round(t.start * scale!);
      const b = Math.max(a + 1, Math.round(t.end * scale!));
      const full = label(t.step);
      const text = b - a >= full.length ? full : label(t.step, false);
      for (let x = a; x < b && x < width; x++) {
        cells[x] =
          x - a < text.length
            ? text[x - a]
            : x === b - 1
              ? '|'
              : text.length < full.length
                ? text[text.length - 1]
                : ' ';
      }
    }
    return `${rowName(i)}|${cells.join('')}| idle ${fmt(rank.bubble)}`;
  });
  const axis: string[] = new Array<string>(width).fill(' ');
  const tick = niceTick(10 / scale);
  for (let t = 0; Math.round(t * scale) < width; t += tick) {
    const txt = fmt(t);
    const x = Math.round(t * scale);
    for (let j = 0; j < txt.length && x + j < width; j++) axis[x + j] = txt[j];
  }
  const pad = ' '.repeat(rowName(0).length);
  return [
    ...summaryLines(r),
    `${pad} ${axis.join('')}  (time)`,
    ...rows,
    `${pad} F/B/W n = forward/backward/weight-grad of micro-batch n (lower case: the rank's second stage); FnBm = overlapped F&B; | ends a box; narrow boxes show letters only`,
  ].join('\n');
}

const COLOURS: Record<string, [string, string]> = {
  // [first stage of the rank, second stage of the rank]
  F: ['#f6b26b', '#fce5cd'],
  B: ['#6fa8dc', '#cfe2f3'],
  W: ['#93c47d', '#d9ead3'],
};
const FB_BORDER = '#000000';

function esc(x: string): string {
  return x.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** An SVG picture of the timeline (like [V3] Figure 5). */
export function renderSvg(r: SimResult): string {
  const s = r.schedule;
  // Pixels per unit of time: about 1400 px for the whole timeline, at most 40 per unit (simulated costs are ~1).
  const unit = Math.min(40, 1400 / Math.max(r.makespan, 1e-9));
  const rowH = 28;
  const left = 70;
  const top = 48;
  const width = Math.ceil(left + r.makespan * unit + 110);
  const height = top + s.ranks * rowH + 70;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      `font-family="Helvetica, Arial, sans-serif">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  const [l1, l2] = summaryLines(r);
  out.push(`<text x="${left}" y="18" font-size="14" font-weight="bold">${esc(l1)}</text>`);
  out.push(`<text x="${left}" y="36" font-size="12">${esc(l2)}</text>`);
  const box = (x: number, y: number, w: number, op: string, c: Chunk, stroke: string, sw: number): void => {
    const [first, second] = COLOURS[op];
    const fill = slotOf(s, c) === 1 ? second : first;
    out.push(
      `<rect x="${x.toFixed(2)}" y="${y}" width="${w.toFixed(2)}" height="${rowH - 6}" fill="${fill}" stroke="${stroke}" stroke-width="${sw}"/>`,
    );
    const fs = Math.min(12, Math.max(7, w / 2.2));
    if (w >= 8) {
      out.push(
        `<text x="${(x + w / 2).toFixed(2)}" y="${y + (rowH - 6) / 2 + fs / 3}" font-size="${fs.toFixed(1)}" text-anchor="middle" class="mb">${c.mb}</text>`,
      );
    }
  };
  r.ranks.forEach((rank, i) => {
    const y = top + i * rowH;
    out.push(`<text x="${left - 8}" y="${y + rowH / 2}" font-size="12" text-anchor="end">rank ${i}</text>`);
    out.push(
      `<line x1="${left}" y1="${y + rowH - 3}" x2="${left + r.makespan * unit}" y2="${y + rowH - 3}" stroke="#eeeeee"/>`,
    );
    for (const t of rank.timeline as TimedStep[]) {
      const x = left + t.start * unit;
      const w = (t.end - t.start) * unit;
      const st = t.step;
      if (st.op === 'FB') {
        box(x, y, w / 2, 'F', st.f, '#666666', 0.5);
        box(x + w / 2, y, w / 2, 'B', st.b, '#666666', 0.5);
        out.push(
          `<rect x="${x.toFixed(2)}" y="${y}" width="${w.toFixed(2)}" height="${rowH - 6}" fill="none" stroke="${FB_BORDER}" stroke-width="2"/>`,
        );
      } else {
        box(x, y, w, st.op === 'BI' ? 'B' : st.op, st.chunk, '#666666', 0.5);
      }
    }
    out.push(
      `<text x="${left + r.makespan * unit + 8}" y="${y + rowH / 2}" font-size="11" fill="#444444">idle ${fmt(rank.bubble)}</text>`,
    );
  });
  const axisY = top + s.ranks * rowH + 4;
  const tick = niceTick(40 / unit);
  for (let t = 0; t <= r.makespan + 1e-9; t += tick) {
    const x = (left + t * unit).toFixed(2);
    out.push(`<line x1="${x}" y1="${axisY}" x2="${x}" y2="${axisY + 4}" stroke="#444444"/>`);
    out.push(`<text x="${x}" y="${axisY + 15}" font-size="10" text-anchor="middle">${fmt(t)}</text>`);
  }
  const ly = axisY + 34;
  const legend: [string, string, string][] = [
    ['F', COLOURS.F[0], 'forward'],
    ['B', COLOURS.B[0], 'backward'],
    ['W', COLOURS.W[0], 'weight grad'],
    ['', '#ffffff', 'overlapped F&B (black border)'],
    ['', COLOURS.F[1], 'light: rank\u2019s second stage'],
  ];
  let lx = left;
  for (const [, colour, text] of legend) {
    const border = text.startsWith('overlapped')
      ? `stroke="${FB_BORDER}" stroke-width="2"`
      : 'stroke="#666666" stroke-width="0.5"';
    out.push(`<rect x="${lx}" y="${ly - 11}" width="22" height="14" fill="${colour}" ${border}/>`);
    out.push(`<text x="${lx + 28}" y="${ly}" font-size="11">${esc(text)}</text>`);
    lx += 40 + text.length * 6.2;
  }
  out.push('</svg>');
  return out.join('\n');
}
