/**
 * `r1ts report` as a library: a run directory (or a folder of them) -> one self-contained HTML file. Everything is
 * inline: CSS, the charts as SVG (./svg.ts), the schedule's timeline; no script, no font, no network access is needed
 * to view it, and it prints. Each chart is a <figure class="plot"> whose `data-series` lists the series it must show
 * (JSON), so a browser test can check that every one was drawn.
 *
 * Not here: what is plotted (./plots.ts), reading the run (./runs.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic, writeAll } from '../io/atomic.js';
import { buildReport } from './build.js';
import type { Plot, Report, Section } from './plots.js';
import { readRunTree } from './runs.js';
import { PALETTE, esc, lineChart } from './svg.js';

const CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222; margin: 0 auto;
  max-width: 1140px; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 8px 0 4px; } h2 { font-size: 18px; margin: 32px 0 6px; border-bottom: 1px solid #ddd; }
h3 { font-size: 14px; margin: 14px 0 4px; }
.muted { color: #666; } code { font-size: 12px; }
nav ul { margin: 4px 0; padding-left: 20px; }
table { border-collapse: collapse; margin: 6px 0 10px; } td, th { padding: 2px 10px 2px 0; text-align: left; }
table.data td, table.data th { border-bottom: 1px solid #eee; text-align: right; padding: 3px 10px; }
table.data td:first-child, table.data th:first-child { text-align: left; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(530px, 1fr)); gap: 10px 16px; }
figure.plot { margin: 0; } figure.plot svg { max-width: 100%; height: auto; }
figcaption { font-weight: 600; margin: 4px 0 0; } .legend { font-weight: 400; font-size: 12px; }
.legend span { margin-right: 12px; white-space: nowrap; }
.swatch { display: inline-block; width: 14px; height: 3px; vertical-align: middle; margin-right: 4px; }
svg .tick { font-size: 10px; fill: #555; } svg .axis { font-size: 11px; fill: #444; }
.timeline { overflow-x: auto; border: 1px solid #eee; }
pre { background: #f7f7f7; padding: 8px; overflow-x: auto; font-size: 12px; }
`;

function plotFigure(p: Plot): string {
  const legend = p.series
    .map(
      (s, i) =>
        `<span><i class="swatch" style="background:${PALETTE[i % PALETTE.length]}"></i>${esc(s.name)}` +
        `${s.style === 'points' ? ' (dots)' : ''}</span>`,
    )
    .join('');
  const marks = [...new Set(p.markers.map((m) => m.kind))].map((k) => `<span>dashed: ${esc(k)}</span>`).join('');
  return (
    `<figure class="plot" id="${esc(p.id)}" data-series="${esc(JSON.stringify(p.series.map((s) => s.name)))}">` +
    `<figcaption>${esc(p.title)} <span class="legend muted">${esc(p.y)}</span>` +
    `<div class="legend">${legend}${marks}</div></figcaption>\n${lineChart(p)}</figure>`
  );
}

function table(head: string[], rows: string[][], cls = 'data'): string {
  const tr = (cells: string[], tag: string) => `<tr>${cells.map((c) => `<${tag}>${esc(c)}</${tag}>`).join('')}</tr>`;
  return `<table class="${cls}"><thead>${tr(head, 'th')}</thead><tbody>${rows.map((r) => tr(r, 'td')).join('')}</tbody></table>`;
}

function section(s: Section): string {
  const out = [
    `<section id="${esc(s.id)}"><h2>${esc(s.title)}</h2>`,
    `<p class="muted"><code>${esc(s.dir)}</code></p>`,
  ];
  if (s.facts.length)
    out.push(
      `<table class="facts">${s.facts.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>`,
    );
  for (const t of s.tables) out.push(`<h3>${esc(t.title)}</h3>`, table(t.head, t.rows));
  for (const f of s.figures) out.push(`<h3>${esc(f.title)}</h3><div class="timeline">${f.svg}</div>`);
  if (s.plots.length) out.push(`<div class="grid">${s.plots.map(plotFigure).join('\n')}</div>`);
  if (s.other.length)
    out.push(
      `<details><summary>other metrics (${s.other.length})</summary><div class="grid">${s.other.map(plotFigure).join('\n')}</div></details>`,
    );
  if (!s.plots.length && !s.other.length && !s.figures.length && !s.tables.length)
    out.push('<p class="muted">no metrics yet (metrics.jsonl is empty or absent)</p>');
  if (s.settings)
    out.push(
      `<details><summary>settings (run.json)</summary><pre>${esc(JSON.stringify(s.settings, null, 2))}</pre></details>`,
    );
  out.push('</section>');
  return out.join('\n');
}

/** The report as one HTML document. */
export function renderReport(r: Report, generated = new Date()): string {
  const nav = r.sections.map((s) => `<li><a href="#${esc(s.id)}">${esc(s.title)}</a></li>`).join('');
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(r.title)}</title><style>${CSS}</style></head><body>`,
    `<h1>${esc(r.title)}</h1>`,
    `<p class="muted">written by r1ts report on ${esc(generated.toISOString())}</p>`,
    `<nav><ul>${nav}</ul></nav>`,
    ...r.sections.map(section),
    '</body></html>',
    '',
  ].join('\n');
}

/** What `writeReport` wrote. */
export interface WrittenReport {
  file: string;
  sections: number;
  plots: number;
  report: Report;
}

/** Reads `dir` (a run directory or a folder of them) and writes its report to `out` (default DIR/report.html). */
export function writeReport(dir: string, out = path.join(dir, 'report.html')): WrittenReport {
  const report = buildReport(readRunTree(dir));
  const bytes = new TextEncoder().encode(renderReport(report));
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  writeFileAtomic(out, (fd) => writeAll(fd, bytes));
  const plots = report.sections.reduce((n, s) => n + s.plots.length + s.other.length, 0);
  return { file: out, sections: report.sections.length, plots, report };
}
