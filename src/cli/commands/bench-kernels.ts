/**
 * `r1ts bench kernels [--json]`: the native backend's kernels against this CPU's peak, OpenBLAS and the reference.
 *
 * - sgemm: GFLOP/s (median of timed runs) for square 256..2048 and LLM shapes, percent of the machine's peak, and the
 *   ratio to OpenBLAS sgemm measured in the same run through Debian's python3-numpy (`np.matmul(a, b, out=c)`, both
 *   sides writing into a preallocated output, on the same number of threads). The numpy child runs with
 *   OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed, so OpenBLAS picks its kernel itself; threadpoolctl (when
 *   installed) reports which one. If that pick is not an AVX-512 kernel on an AVX-512 CPU (OpenBLAS 0.3.21 does not
 *   know recent Xeons and falls back to Prescott), the best AVX-512 kernel is measured too, forced with
 *   OPENBLAS_CORETYPE, and the ratio is against the faster of the two.
 * - peak = threads x clock x FLOP/cycle/core. The clock is measured (a chain of dependent multiplies); FLOP/cycle is
 *   2 (FMA) x vector lanes x FMA units, the units estimated from a measured FMA-throughput loop (1 or 2).
 * - attention forward + backward at T = 256, and a few row kernels, native against the TypeScript reference.
 * Not a test: numbers move with machine load (the load average is printed).
 */
import os from 'node:os';
import { spawnSync } from 'node:child_process';
import type { Command } from 'commander';
import type { Kernels, TensorData } from '../../backend/kernels.js';
import { getKernel } from '../../backend/registry.js';
import { nativeAddon, nativeInfo, nativeKernels, nativeLoadError } from '../../backend/native/index.js';
import '../../tensor/index.js';

export interface KernelsBenchOptions {
  json?: boolean;
  /** Timed runs per measurement (at least). */
  repeat?: string;
  /** OPENBLAS_CORETYPE to compare against as well ('none': only OpenBLAS's own pick). */
  openblasCoretype?: string;
  /** Print one line and return instead of failing when the native backend is unavailable (bare `r1ts bench`). */
  ifAvailable?: boolean;
}

interface SgemmRow {
  shape: string;
  m: number;
  k: number;
  n: number;
  transB: boolean;
  gflops: number;
  peakPct: number;
  openblasGflops: number | null;
  openblasForcedGflops: number | null;
  ratio: number | null;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Median ms of fn over at least `repeat` runs and at least minMs of total time, after one warm-up run. */
function timeMs(fn: () => void, repeat: number, minMs = 300): number {
  fn();
  const times: number[] = [];
  const t0 = performance.now();
  while (times.length < repeat || (performance.now() - t0 < minMs && times.length < 200)) {
    const s = performance.now();
    fn();
    times.push(performance.now() - s);
  }
  return median(times);
}

function rand(shape: number[], seed: number): TensorData {
  let s = seed >>> 0;
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    d[i] = s / 4294967296 - 0.5;
  }
  return { data: d, shape, dtype: 'float32' };
}

// ---- OpenBLAS through numpy ----------------------------------------------------------------------------------

const PY = String.raw`
import json, sys, time
try:
    import numpy as np
except ImportError:
    print(json.dumps({"error": "numpy"})); sys.exit(0)
arch = None
try:
    import threadpoolctl
    for i in threadpoolctl.threadpool_info():
        if i.get("internal_api") == "openblas":
            arch = "%s (OpenBLAS %s, %s threads)" % (i.get("architecture"), i.get("version"), i.get("num_threads"))
except Exception:
    pass
cfg = json.loads(sys.argv[1])
out = {"arch": arch, "gflops": []}
for (m, k, n, tb) in cfg["shapes"]:
    rng = np.random.default_rng(0)
    a = rng.random((m, k), dtype=np.float32) - 0.5
    b = (rng.random((n, k), dtype=np.float32) - 0.5).T if tb else rng.random((k, n), dtype=np.float32) - 0.5
    c = np.empty((m, n), dtype=np.float32)
    np.matmul(a, b, out=c)
    ts = []
    t0 = time.perf_counter()
    while len(ts) < cfg["repeat"] or (time.perf_counter() - t0 < cfg["minS"] and len(ts) < 200):
        s = time.perf_counter()
        np.matmul(a, b, out=c)
        ts.append(time.perf_counter() - s)
    ts.sort()
    med = ts[len(ts) // 2] if len(ts) % 2 else (ts[len(ts) // 2 - 1] + ts[len(ts) // 2]) / 2
    out["gflops"].append(2.0 * m * n * k / med / 1e9)
print(json.dumps(out))
`;

interface OpenBlasResult {
  available: boolean;
  arch: string | null;
  gflops: number[];
  error?: string;
}

/** Times the shapes with numpy's OpenBLAS in a child process (`coretype` forces OPENBLAS_CORETYPE). */
function openblas(shapes: [number, number, number, boolean][], threads: number, repeat: number, coretype?: string): OpenBlasResult {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: String(threads) };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  if (coretype) env.OPENBLAS_CORETYPE = coretype;
  const cfg = JSON.stringify({ shapes, repeat, minS: 0.3 });
  const p = spawnSync('/usr/bin/python3', ['-c', PY, cfg], { env, encoding: 'utf8', timeout: 600_000 });
  if (p.error || p.status !== 0) {
    return { available: false, arch: null, gflops: [], error: p.error ? p.error.message : p.stderr.trim().split('\n').pop() };
  }
  const r = JSON.parse(p.stdout) as { error?: string; arch: string | null; gflops: number[] };
  if (r.error) return { available: false, arch: null, gflops: [], error: 'numpy is not installed' };
  return { available: true, arch: r.arch, gflops: r.gflops };
}

/** OpenBLAS kernels that use AVX-512 (a pick outside this list on an AVX-512 CPU is a fallback). */
const AVX512_KERNELS = ['SkylakeX', 'Cooperlake', 'SapphireRapids'];

// ---- the benchmark -------------------------------------------------------------------------------------------

export function runBenchKernels(opts: KernelsBenchOptions): void {
  const addon = nativeAddon();
  const info = nativeInfo();
  if (!addon || !info || !nativeKernels) {
    if (opts.ifAvailable) {
      console.log(`bench kernels: skipped, the native backend is not available (${nativeLoadError()})`);
      return;
    }
    throw new Error(`bench kernels: the native backend is not available (${nativeLoadError()}); build it with \`npx node-gyp rebuild\``);
  }
  const repeat = Number(opts.repeat ?? '7');
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`bench kernels: --repeat must be a positive integer, got '${opts.repeat}'`);
  const log = (s: string) => {
    if (!opts.json) console.log(s);
  };
  const threads = info.threads;
  const ghz = addon.cpuGhz(0.3);
  const fma1 = Math.max(addon.fmaPeak(0.15), addon.fmaPeak(0.15), addon.fmaPeak(0.15));
  const lanes = info.vectorFloats;
  const fmaUnits = Math.max(1, Math.min(2, Math.round(fma1 / (ghz * 2 * lanes))));
  const flopsPerCycle = 2 * lanes * fmaUnits;
  const peak = threads * ghz * flopsPerCycle;
  const machine = {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    threads,
    isa: info.isa,
    ghz: Number(ghz.toFixed(2)),
    fmaGflopsPerCore: Number(fma1.toFixed(1)),
    fmaUnits,
    peakGflops: Number(peak.toFixed(1)),
    loadAverage: os.loadavg().map((x) => Number(x.toFixed(2))),
  };
  log(`cpu: ${machine.cpu}, ${threads} threads, native ISA ${info.isa}, load average ${machine.loadAverage.join(' ')}`);
  log(
    `peak: ${threads} threads x ${ghz.toFixed(2)} GHz (measured) x ${flopsPerCycle} FLOP/cycle ` +
      `(2 per FMA x ${lanes} lanes x ${fmaUnits} FMA unit${fmaUnits > 1 ? 's' : ''}; measured FMA loop ${fma1.toFixed(1)} GFLOP/s/core) ` +
      `= ${peak.toFixed(0)} GFLOP/s`,
  );

  // sgemm ------------------------------------------------------------------------------------------------------
  const shapes: [number, number, number, boolean][] = [
    [256, 256, 256, false], [512, 512, 512, false], [1024, 1024, 1024, false], [2048, 2048, 2048, false],
    [2048, 256, 1024, false], [2048, 1024, 256, false], [64, 256, 128, false],
    [2048, 256, 1024, true], [2048, 1024, 256, true], [64, 256, 128, true],
  ];
  const ours = shapes.map(([m, k, n, tb]) => {
    const a = rand([m, k], 1);
    const b = rand(tb ? [n, k] : [k, n], 2);
    const c = new Float32Array(m * n);
    const off = new Int32Array(1);
    const ms = timeMs(() => addon.matmul(a.data as Float32Array, off, b.data as Float32Array, off, c, 1, m, n, k, false, tb), repeat);
    return (2 * m * n * k) / (ms * 1e6);
  });
  const auto = openblas(shapes, threads, repeat);
  const autoKernel = auto.arch?.split(' ')[0] ?? null;
  let forcedType: string | null = null;
  if (opts.openblasCoretype && opts.openblasCoretype !== 'none') forcedType = opts.openblasCoretype;
  else if (opts.openblasCoretype !== 'none' && auto.available && info.isas.includes('avx512') && autoKernel && !AVX512_KERNELS.includes(autoKernel)) {
    forcedType = 'SkylakeX';
  }
  const forced = forcedType ? openblas(shapes, threads, repeat, forcedType) : null;
  const rows: SgemmRow[] = shapes.map(([m, k, n, tb], i) => {
    const ob = auto.available ? auto.gflops[i] : null;
    const obF = forced?.available ? forced.gflops[i] : null;
    const best = Math.max(ob ?? 0, obF ?? 0);
    return {
      shape: `${m}x${k}x${n}${tb ? ' (B^T)' : ''}`,
      m, k, n, transB: tb,
      gflops: Number(ours[i].toFixed(1)),
      peakPct: Number(((100 * ours[i]) / peak).toFixed(1)),
      openblasGflops: ob === null ? null : Number(ob.toFixed(1)),
      openblasForcedGflops: obF === null ? null : Number(obF.toFixed(1)),
      ratio: best > 0 ? Number((ours[i] / best).toFixed(2)) : null,
    };
  });
  const na = (x: number | null, d = 1) => (x === null ? 'n/a' : x.toFixed(d));
  log('');
  log(`sgemm (M x K x N, float32, ${threads} threads, median of >= ${repeat} runs; OpenBLAS via numpy np.matmul(out=))`);
  if (auto.available) log(`  OpenBLAS as it picks itself: ${auto.arch ?? 'kernel unknown (pip/apt install threadpoolctl to see it)'}`);
  else log(`  OpenBLAS: n/a (${auto.error ?? 'numpy missing'}; install it with \`apt-get install python3-numpy\`)`);
  if (forced) log(`  OpenBLAS forced with OPENBLAS_CORETYPE=${forcedType}: ${forced.available ? forced.arch ?? 'ok' : `failed (${forced.error})`}`);
  const hdr = `${'shape'.padEnd(22)} ${'GFLOP/s'.padStart(8)} ${'% peak'.padStart(7)} ${'OpenBLAS'.padStart(9)}${forced ? ` ${('forced').padStart(8)}` : ''} ${'ratio'.padStart(6)}`;
  log(hdr);
  for (const r of rows) {
    log(
      `${r.shape.padEnd(22)} ${r.gflops.toFixed(1).padStart(8)} ${r.peakPct.toFixed(1).padStart(7)} ${na(r.openblasGflops).padStart(9)}` +
        `${forced ? ` ${na(r.openblasForcedGflops).padStart(8)}` : ''} ${na(r.ratio, 2).padStart(6)}`,
    );
  }
  if (forced) log('  ratio = native / the faster OpenBLAS column');

  // attention ----------------------------------------------------------------------------------------------------
  const ref = <K extends keyof Kernels>(name: K) => getKernel('ts', name)!;
  const nat = <K extends keyof Kernels>(name: K) => nativeKernels![name]!;
  const attnCfg = { B: 1, H: 8, T: 256, D: 64 };
  const q = rand([attnCfg.B, attnCfg.H, attnCfg.T, attnCfg.D], 3);
  const k = rand([attnCfg.B, attnCfg.H, attnCfg.T, attnCfg.D], 4);
  const v = rand([attnCfg.B, attnCfg.H, attnCfg.T, attnCfg.D], 5);
  const dout = rand([attnCfg.B, attnCfg.H, attnCfg.T, attnCfg.D], 6);
  const attrs = { causal: true, scale: 1 / Math.sqrt(attnCfg.D) };
  const fwdBwd = (kern: typeof ref) => () => {
    const f = kern('attention')(q, k, v, attrs);
    kern('attentionBackward')(q, k, v, f.out, f.lse, dout, attrs);
  };
  const attnNative = timeMs(fwdBwd(nat as typeof ref), repeat);
  const attnRef = timeMs(fwdBwd(ref), 3, 0);
  // causal: half the score matrix; forward 2 products, backward 5 (recomputed S, dP, dV, dQ, dK)
  const attnFlops = (7 * 2 * attnCfg.B * attnCfg.H * attnCfg.T * attnCfg.T * attnCfg.D) / 2;
  const attention = {
    shape: `B=${attnCfg.B} H=${attnCfg.H} T=${attnCfg.T} D=${attnCfg.D} causal`,
    nativeMs: Number(attnNative.toFixed(3)),
    referenceMs: Number(attnRef.toFixed(1)),
    speedup: Number((attnRef / attnNative).toFixed(1)),
    nativeGflops: Number((attnFlops / (attnNative * 1e6)).toFixed(1)),
  };
  log('');
  log(`attention forward + backward, ${attention.shape}`);
  log(`  native ${attention.nativeMs} ms (${attention.nativeGflops} GFLOP/s)   reference ${attention.referenceMs} ms   speedup ${attention.speedup}x`);

  // row kernels --------------------------------------------------------------------------------------------------
  const x = rand([2048, 1024], 7);
  const gate = rand([2048, 1024], 8);
  const w = rand([1024], 9);
  const logits = rand([512, 4096], 10);
  const targets: TensorData = { data: Int32Array.from({ length: 512 }, (_, i) => (i * 37) % 4096), shape: [512], dtype: 'int32' };
  const cases: [string, (kern: typeof ref) => () => unknown][] = [
    ['softmax 2048x1024', (kern) => () => kern('softmax')(x, { axis: 1 })],
    ['rmsNorm 2048x1024', (kern) => () => kern('rmsNorm')(x, w, { eps: 1e-6 })],
    ['swiglu 2048x1024', (kern) => () => kern('swiglu')(x, gate)],
    ['crossEntropy 512x4096', (kern) => () => kern('crossEntropy')(logits, targets, { ignoreIndex: -100 })],
    ['add 2048x1024', (kern) => () => kern('add')(x, gate)],
  ];
  const kernels = cases.map(([name, mk]) => {
    const n = timeMs(mk(nat as typeof ref), repeat, 200);
    const r = timeMs(mk(ref), 3, 0);
    return { kernel: name, nativeMs: Number(n.toFixed(3)), referenceMs: Number(r.toFixed(2)), speedup: Number((r / n).toFixed(1)) };
  });
  log('');
  log(`${'kernel (float32)'.padEnd(24)} ${'native ms'.padStart(10)} ${'ref ms'.padStart(9)} ${'speedup'.padStart(8)}`);
  for (const r of kernels) {
    log(`${r.kernel.padEnd(24)} ${r.nativeMs.toFixed(3).padStart(10)} ${r.referenceMs.toFixed(2).padStart(9)} ${(r.speedup.toFixed(1) + 'x').padStart(8)}`);
  }

  if (opts.json) {
    const openblasInfo = {
      auto: { available: auto.available, kernel: auto.arch, error: auto.error ?? null },
      forced: forced ? { coretype: forcedType, available: forced.available, kernel: forced.arch, error: forced.error ?? null } : null,
    };
    console.log(JSON.stringify({ bench: 'kernels', machine, openblas: openblasInfo, sgemm: rows, attention, kernels }, null, 2));
  }
}

export function registerBenchKernels(bench: Command): void {
  bench
    .command('kernels')
    .description('native kernels: sgemm GFLOP/s vs peak and OpenBLAS (numpy), attention and row kernels vs the reference')
    .option('--repeat <n>', 'timed runs per measurement (at least)', '7')
    .option('--openblas-coretype <name>', "also time OpenBLAS with this OPENBLAS_CORETYPE ('none' to skip; default: SkylakeX when OpenBLAS falls back to a non-AVX-512 kernel on an AVX-512 CPU)")
    .option('--json', 'print JSON')
    .action((opts: KernelsBenchOptions) => runBenchKernels(opts));
}
