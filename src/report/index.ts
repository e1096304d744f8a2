/**
 * Reports of runs: `r1ts report RUN_DIR` writes one self-contained HTML file with the plots a run directory's
 * metrics call for (./plots.ts), read from run.json and metrics.jsonl (./runs.ts), drawn as inline SVG (./svg.ts,
 * ./html.ts).
 */
export * from './runs.js';
export * from './plots.js';
export * from './experiments.js';
export * from './build.js';
export * from './svg.js';
export * from './html.js';
