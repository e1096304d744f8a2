/**
 * `r1ts bench`: micro-benchmarks (not tests). `r1ts bench matmul` times the matmul kernel of each backend and prints
 * GFLOP/s (median of several runs). `npm run bench` runs every suite.
 */
import type { Command } from 'commander';
import { getBackend, listBackends, setBackend } from '../../backend/registry.js';
import { randn } from '../../tensor/creation.js';
import { matmul } from '../../tensor/ops/linalg.js';
import { registerBenchTrain } from './bench-train.js';
import { registerBenchKernels, runBenchKernels } from './bench-kernels.js';
import { flagsOf, ints, parseChoice } from '../flags.js';

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

interface MatmulFlags {
  sizes: number[];
  backend?: string;
  repeat: number;
  json?: boolean;
}

function runMatmul(opts: MatmulFlags): void {
  const { sizes, repeat } = opts;
  const backends = opts.backend ? [opts.backend] : listBackends().map((b) => b.name);
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

/** Matrix sizes of `bench matmul`: three float32 s x s matrices of at most 3 x 268 MB. */
const MATMUL_SIZES = ints(1, 8192);

export function registerBench(program: Command): void {
  const bench = program.command('bench').description('micro-benchmarks (GFLOP/s, medians); with no suite, runs all');
  const defaults: MatmulFlags = { sizes: [64, 128, 256], repeat: 5 };
  const matmul = bench.command('matmul').description('square float32 matmul GFLOP/s per backend (median of runs)');
  const f = flagsOf(matmul);
  matmul
    .addOption(f.numberList('--sizes <list>', 'square sizes m = k = n', MATMUL_SIZES, 32, defaults.sizes))
    .addOption(
      f
        .text('--backend <name>', 'only this backend, ts or native (default: every registered backend)')
        .argParser((v: string) =>
          parseChoice(
            'bench matmul',
            '--backend',
            v,
            listBackends().map((b) => b.name),
          ),
        ),
    )
    .addOption(f.int('--repeat <n>', 'timed runs per size (at least)', ints(1, 1000), defaults.repeat))
    .option('--json', 'print JSON')
    .action(runMatmul);
  registerBenchTrain(bench);
  registerBenchKernels(bench);
  bench.action(() => {
    runMatmul(defaults);
    runBenchKernels({ ifAvailable: true });
  });
}
