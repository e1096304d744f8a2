/**
 * A line chart as inline SVG (no script, no fonts or files to fetch): step on x, the plot's series on y with "nice"
 * ticks, markers as dashed vertical lines with a tooltip (<title>). Each series is one element with
 * `class="series"` and `data-series="NAME"` (a <path>, and for sparse series its dots in a <g>), so that a test can
 * check in a browser that every series was drawn.
 *
 * Not here: what the series are (./plots.ts), the page around the charts (./html.ts).
 */
import type { Plot } from './plots.js';

/** Colours of the series, in order (Tableau 10). */
export const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
];

const MARKER_COLOURS: Record<string, string> = { rollback: '#d62728', resume: '#7f7f7f', 'reference reset': '#9467bd' };

export const CHART = { width: 520, height: 260, left: 64, right: 16, top: 12, bottom: 34 } as const;

/** Escapes text for HTML and SVG (element content and attribute values). */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** About `count` round tick values covering [lo, hi] (steps of 1, 2 or 5 x 10^k). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((v) => v >= raw) ?? 10 * p;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

/** A tick label: percentages, plain numbers, or exponent form for very large or small values. */
export function tickLabel(v: number, percent = false): string {
  if (percent) return `${+(100 * v).toPrecision(4)}%`;
  const a = Math.abs(v);
  if (v !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(1).replace('e+', 'e');
  return String(+v.toPrecision(4));
}

/**
 * The value range of a plot's points, widened when flat or padded by 5%, never below 0 for values that are not; a
 * plot of shares spans at least [0, 1].
 */
function yRange(plot: Plot): [number, number] {
  const [lo, hi] = paddedRange(plot);
  const floor = lowest(plot) >= 0 ? Math.max(0, lo) : lo;
  return plot.percent === 'share' ? [Math.min(0, floor), Math.max(1, hi)] : [floor, hi];
}

function lowest(plot: Plot): number {
  return Math.min(...plot.series.flatMap((s) => s.points.map(([, y]) => y)));
}

function paddedRange(plot: Plot): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of plot.series)
    for (const [, y] of s.points) {
      lo = Math.min(lo, y);
      hi = Math.max(hi, y);
    }
  if (hi === lo) {
    const d = Math.abs(lo) * 0.1 || 1;
    return [lo - d, hi + d];
  }
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

function xRange(plot: Plot): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of plot.series)
    for (const [x] of s.points) {
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    }
  for (const m of plot.markers) {
    lo = Math.min(lo, m.step);
    hi = Math.max(hi, m.step);
  }
  return hi > lo ? [lo, hi] : [lo - 0.5, hi + 0.5];
}

/** The chart of a plot (its series non-empty; ./plots.ts drops empty ones). */
export function lineChart(plot: Plot): string {
  const { width: W, height: H, left: L, right: R, top: T, bottom: B } = CHART;
  const [x0, x1] = xRange(plot);
  const [y0, y1] = yRange(plot);
  const px = (x: number) => (L + ((x - x0) / (x1 - x0)) * (W - L - R)).toFixed(1);
  const py = (y: number) => (T + (1 - (y - y0) / (y1 - y0)) * (H - T - B)).toFixed(1);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(plot.title)}">`,
    `<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="#fff" stroke="#ccc"/>`,
  ];
  for (const v of niceTicks(y0, y1)) {
    out.push(
      `<line x1="${L}" x2="${W - R}" y1="${py(v)}" y2="${py(v)}" stroke="#eee"/>`,
      `<text x="${L - 4}" y="${py(v)}" dy="0.32em" text-anchor="end" class="tick">${esc(tickLabel(v, plot.percent !== undefined))}</text>`,
    );
  }
  for (const v of niceTicks(x0, x1).filter((t) => Number.isInteger(t))) {
    out.push(
      `<line x1="${px(v)}" x2="${px(v)}" y1="${H - B}" y2="${H - B + 4}" stroke="#888"/>`,
      `<text x="${px(v)}" y="${H - B + 15}" text-anchor="middle" class="tick">${v}</text>`,
    );
  }
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 4}" text-anchor="middle" class="axis">step</text>`);
  for (const m of plot.markers) {
    const colour = MARKER_COLOURS[m.kind] ?? '#7f7f7f';
    out.push(
      `<line class="marker" data-kind="${esc(m.kind)}" x1="${px(m.step)}" x2="${px(m.step)}" y1="${T}" y2="${H - B}" ` +
        `stroke="${colour}" stroke-width="1.5" stroke-dasharray="4 3"><title>${esc(m.label)}</title></line>`,
    );
  }
  plot.series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length];
    const name = esc(s.name);
    const d = s.points.map(([x, y], j) => `${j ? 'L' : 'M'}${px(x)} ${py(y)}`).join('');
    const width = s.style === 'points' ? 1 : 1.6;
    if (s.points.length > 1)
      out.push(
        `<path class="series" data-series="${name}" d="${d}" fill="none" stroke="${colour}" stroke-width="${width}" stroke-linejoin="round"/>`,
      );
    if (s.style === 'points' || s.points.length === 1) {
      const dots = s.points.map(([x, y]) => `<circle cx="${px(x)}" cy="${py(y)}" r="3" fill="${colour}"/>`).join('');
      out.push(`<g class="series dots" data-series="${name}">${dots}</g>`);
    }
  });
  out.push('</svg>');
  return out.join('\n');
}
