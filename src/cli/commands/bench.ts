/**
 * `r1ts bench`: micro-benchmarks (not tests). `r1ts bench matmul` times the matmul kernel of each backend and prints
 * GFLOP/s (median of several runs). `npm run bench` runs every suite.
 */
import type { Command } from 'commander';
import { getBackend, listBackends, setBackend } from '../../backend/registry.js';
import { randn } from '../../tensor/creation.js';
import { matmul } from '../../tensor/ops/linalg.js';
import '../../tensor/index.js';
import { registerBenchTrain } from './bench-train.js';
import { registerBenchKernels, runBenchKernels } from './bench-kernels.js';

export interface MatmulBenchRow {
  backend: string;
  m: number;
  k: number;
  n: number;
  medianMs: number;
  gflops: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Times (m x k) @ (k x n) on `backend`: one warm-up, then `repeat` runs (at least `minMs` in total). */
export function benchMatmul(backend: string, m: number, k: number, n: number, repeat = 5, minMs = 200): MatmulBenchRow {
  const prev = getBackend();
  setBackend(backend);
  try {
    const a = randn([m, k]);
    const b = randn([k, n]);
    matmul(a, b);
    const times: number[] = [];
    const t0 = performance.now();
    while (times.length < repeat || (performance.now() - t0 < minMs && times.length < 1000)) {
      const s = performance.now();
      matmul(a, b);
      times.push(performance.now() - s);
    }
    const ms = median(times);
    return { backend, m, k, n, medianMs: ms, gflops: (2 * m * k * n) / (ms * 1e6) };
  } finally {
    setBackend(prev);
  }
}

function parseSizes(s: string): number[] {
  const v = s.split(',').map((x) => Number(x.trim()));
  if (v.some((x) => !Number.isInteger(x) || x <= 0))
    throw new Error(`bench: --sizes must be positive integers, got '${s}'`);
  return v;
}

function runMatmul(opts: { sizes: string; backend?: string; repeat: string; json?: boolean }): void {
  const sizes = parseSizes(opts.sizes);
  const backends = opts.backend ? [opts.backend] : listBackends().map((b) => b.name);
  const repeat = Number(opts.repeat);
  const rows: MatmulBenchRow[] = [];
  if (!opts.json) console.log('backend   size (m=k=n)   median ms    GFLOP/s');
  for (const backend of backends) {
    for (const s of sizes) {
      const r = benchMatmul(backend, s, s, s, repeat);
      rows.push(r);
      if (!opts.json) {
        console.log(
          `${backend.padEnd(9)} ${String(s).padStart(12)} ${r.medianMs.toFixed(2).padStart(12)} ${r.gflops.toFixed(2).padStart(10)}`,
        );
      }
    }
  }
  if (opts.json) console.log(JSON.stringify({ bench: 'matmul', rows }, null, 2));
}

export function registerBench(program: Command): void {
  const bench = program.command('bench').description('micro-benchmarks (GFLOP/s, medians); with no suite, runs all');
  const matmulOpts = { sizes: '64,128,256', repeat: '5' };
  bench
    .command('matmul')
    .description('square float32 matmul GFLOP/s per backend (median of runs)')
    .option('--sizes <list>', 'comma-separated square sizes', matmulOpts.sizes)
    .option('--backend <name>', 'only this backend (default: every registered backend)')
    .option('--repeat <n>', 'timed runs per size (at least)', matmulOpts.repeat)
    .option('--json', 'print JSON')
    .action(runMatmul);
  registerBenchTrain(bench);
  registerBenchKernels(bench);
  bench.action(() => {
    runMatmul(matmulOpts);
    runBenchKernels({ ifAvailable: true });
  });
}
