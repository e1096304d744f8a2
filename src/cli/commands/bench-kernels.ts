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
import {
  type NativeAddon,
  type NativeInfo,
  nativeAddon,
  nativeInfo,
  nativeKernels,
  nativeLoadError,
  setNativeThreads,
} from '../../backend/native/index.js';
import { flagsOf, ints, shownDefault } from '../flags.js';

export interface KernelsBenchOptions {
  json?: boolean;
  /** Timed runs per measurement (at least; default 7). */
  repeat?: number;
  /** OPENBLAS_CORETYPE to compare against as well ('none': only OpenBLAS's own pick). */
  openblasCoretype?: string;
  /** Threads for native and OpenBLAS (default: the native pool's size, i.e. R1TS_THREADS or all cores). */
  threads?: number;
  /** Print one line and return instead of failing when the native backend is unavailable (bare `r1ts bench`). */
  ifAvailable?: boolean;
}

/** One sgemm shape. `cpu*` fields are FLOPs x threads / process CPU seconds (robust to other load on the machine). */
interface SgemmRow {
  shape: string;
  m: number;
  k: number;
  n: number;
  transB: boolean;
  gflops: number;
  cpuGflops: number;
  peakPct: number;
  cpuPeakPct: number;
  /** OpenBLAS with the kernel it picks itself. */
  openblas: { gflops: number; cpuGflops: number } | null;
  /** OpenBLAS with OPENBLAS_CORETYPE forced (see the header). */
  openblasForced: { gflops: number; cpuGflops: number } | null;
  /** native / the faster OpenBLAS, wall clock and CPU time. */
  ratio: number | null;
  cpuRatio: number | null;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

interface Timing {
  /** Median wall-clock ms per call. */
  wallMs: number;
  /** Median process CPU ms per call (all threads, spin-waits included). */
  cpuMs: number;
}

/**
 * Times fn: one warm-up call, then samples of `reps` calls (enough for ~3 ms per sample) until there are at least
 * `repeat` samples and minMs of total time; medians per call of wall-clock and of process CPU time.
 */
function timeIt(fn: () => void, repeat: number, minMs = 300): Timing {
  let t = performance.now();
  fn();
  const once = Math.max(performance.now() - t, 1e-3);
  const reps = Math.max(1, Math.min(1000, Math.floor(3 / once)));
  const wall: number[] = [];
  const cpu: number[] = [];
  const t0 = performance.now();
  while (wall.length < repeat || (performance.now() - t0 < minMs && wall.length < 200)) {
    const c = process.cpuUsage();
    t = performance.now();
    for (let i = 0; i < reps; i++) fn();
    wall.push((performance.now() - t) / reps);
    const d = process.cpuUsage(c);
    cpu.push((d.user + d.system) / 1000 / reps);
  }
  return { wallMs: median(wall), cpuMs: median(cpu) };
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
    libs = threadpoolctl.threadpool_info()
    for i in libs:
        if i.get("internal_api") == "openblas":
            arch = "%s (OpenBLAS %s, %s threads)" % (i.get("architecture"), i.get("version"), i.get("num_threads"))
    if arch is None:
        # Debian's numpy links libblas.so.3: the reference BLAS unless libopenblas0-pthread provides it
        arch = "NOT OpenBLAS (%s): apt-get install libopenblas0-pthread" % ([i.get("internal_api") for i in libs] or "reference BLAS")
except Exception:
    pass
def med(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2
cfg = json.loads(sys.argv[1])
out = {"arch": arch, "gflops": [], "cpuGflops": []}
for (m, k, n, tb) in cfg["shapes"]:
    rng = np.random.default_rng(0)
    a = rng.random((m, k), dtype=np.float32) - 0.5
    b = (rng.random((n, k), dtype=np.float32) - 0.5).T if tb else rng.random((k, n), dtype=np.float32) - 0.5
    c = np.empty((m, n), dtype=np.float32)
    s = time.perf_counter()
    np.matmul(a, b, out=c)
    reps = max(1, min(1000, int(0.003 / max(time.perf_counter() - s, 1e-6))))
    wall, cpu = [], []
    t0 = time.perf_counter()
    while len(wall) < cfg["repeat"] or (time.perf_counter() - t0 < cfg["minS"] and len(wall) < 200):
        s, cs = time.perf_counter(), time.process_time()
        for _ in range(reps):
            np.matmul(a, b, out=c)
        wall.append((time.perf_counter() - s) / reps)
        cpu.append((time.process_time() - cs) / reps)
    flops = 2.0 * m * n * k
    out["gflops"].append(flops / med(wall) / 1e9)
    out["cpuGflops"].append(flops * cfg["threads"] / max(med(cpu), 1e-9) / 1e9)
print(json.dumps(out))
`;

interface OpenBlasResult {
  available: boolean;
  arch: string | null;
  /** Wall-clock GFLOP/s per shape. */
  gflops: number[];
  /** FLOPs x threads / process CPU seconds per shape. */
  cpuGflops: number[];
  error?: string;
}

/** Times the shapes with numpy's OpenBLAS in a child process (`coretype` forces OPENBLAS_CORETYPE). */
function openblas(
  shapes: [number, number, number, boolean][],
  threads: number,
  repeat: number,
  coretype?: string,
): OpenBlasResult {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: String(threads) };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  if (coretype) env.OPENBLAS_CORETYPE = coretype;
  const cfg = JSON.stringify({ shapes, repeat, minS: 0.3, threads });
  const p = spawnSync('/usr/bin/python3', ['-c', PY, cfg], { env, encoding: 'utf8', timeout: 600_000 });
  if (p.error || p.status !== 0) {
    return {
      available: false,
      arch: null,
      gflops: [],
      cpuGflops: [],
      error: p.error ? p.error.message : p.stderr.trim().split('\n').pop(),
    };
  }
  const r = JSON.parse(p.stdout) as { error?: string; arch: string | null; gflops: number[]; cpuGflops: number[] };
  if (r.error) return { available: false, arch: null, gflops: [], cpuGflops: [], error: 'numpy is not installed' };
  return { available: true, arch: r.arch, gflops: r.gflops, cpuGflops: r.cpuGflops };
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
    throw new Error(
      `bench kernels: the native backend is not available (${nativeLoadError()}); build it with \`npx node-gyp rebuild\``,
    );
  }
  const repeat = opts.repeat ?? 7;
  const poolThreads = info.threads;
  const threads = opts.threads ?? poolThreads;
  if (threads !== poolThreads) setNativeThreads(threads);
  try {
    benchAll(opts, addon, info, threads, repeat);
  } finally {
    if (threads !== poolThreads) setNativeThreads(poolThreads);
  }
}

function benchAll(
  opts: KernelsBenchOptions,
  addon: NativeAddon,
  info: NativeInfo,
  threads: number,
  repeat: number,
): void {
  const log = (s: string) => {
    if (!opts.json) console.log(s);
  };
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
    [256, 256, 256, false],
    [512, 512, 512, false],
    [1024, 1024, 1024, false],
    [2048, 2048, 2048, false],
    [2048, 256, 1024, false],
    [2048, 1024, 256, false],
    [64, 256, 128, false],
    [2048, 256, 1024, true],
    [2048, 1024, 256, true],
    [64, 256, 128, true],
  ];
  // Decide once whether OpenBLAS's own pick needs an AVX-512 comparison as well.
  const probe = openblas([[64, 64, 64, false]], threads, 1);
  const autoKernel = probe.arch?.split(' ')[0] ?? null;
  let forcedType: string | null = null;
  if (opts.openblasCoretype && opts.openblasCoretype !== 'none') forcedType = opts.openblasCoretype;
  else if (
    opts.openblasCoretype !== 'none' &&
    probe.available &&
    info.isas.includes('avx512') &&
    autoKernel &&
    autoKernel !== 'NOT' &&
    !AVX512_KERNELS.includes(autoKernel)
  ) {
    forcedType = 'SkylakeX';
  }
  let forcedArch: string | null = null;
  let forcedError: string | null = null;
  const round = (x: number, d = 1) => Number(x.toFixed(d));
  // Shape by shape, native then OpenBLAS (own pick, then forced), so both see the same machine load.
  const rows: SgemmRow[] = shapes.map(([m, k, n, tb]) => {
    const a = rand([m, k], 1);
    const b = rand(tb ? [n, k] : [k, n], 2);
    const c = new Float32Array(m * n);
    const off = new Int32Array(1);
    const t = timeIt(
      () => addon.matmul(a.data as Float32Array, off, b.data as Float32Array, off, c, 1, m, n, k, false, tb),
      repeat,
    );
    const flops = 2 * m * n * k;
    const wall = flops / (t.wallMs * 1e6);
    const cpu = (flops * threads) / (t.cpuMs * 1e6);
    const one = (coretype?: string) => {
      const r = openblas([[m, k, n, tb]], threads, repeat, coretype);
      if (coretype) {
        forcedArch = r.arch;
        forcedError = r.error ?? null;
      }
      return r.available ? { gflops: round(r.gflops[0]), cpuGflops: round(r.cpuGflops[0]) } : null;
    };
    const ob = probe.available ? one() : null;
    const obF = forcedType ? one(forcedType) : null;
    const bestWall = Math.max(ob?.gflops ?? 0, obF?.gflops ?? 0);
    const bestCpu = Math.max(ob?.cpuGflops ?? 0, obF?.cpuGflops ?? 0);
    return {
      shape: `${m}x${k}x${n}${tb ? ' (B^T)' : ''}`,
      m,
      k,
      n,
      transB: tb,
      gflops: round(wall),
      cpuGflops: round(cpu),
      peakPct: round((100 * wall) / peak),
      cpuPeakPct: round((100 * cpu) / peak),
      openblas: ob,
      openblasForced: obF,
      ratio: bestWall > 0 ? round(wall / bestWall, 2) : null,
      cpuRatio: bestCpu > 0 ? round(cpu / bestCpu, 2) : null,
    };
  });
  const na = (x: number | null | undefined, d = 1) => (x === null || x === undefined ? 'n/a' : x.toFixed(d));
  log('');
  log(
    `sgemm (M x K x N, float32, ${threads} threads, medians of >= ${repeat} samples; OpenBLAS: numpy np.matmul(a, b, out=c))`,
  );
  if (probe.available)
    log(
      `  OpenBLAS own pick (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE unset): ${probe.arch ?? 'kernel unknown (apt-get install python3-threadpoolctl to see it)'}`,
    );
  else
    log(
      `  OpenBLAS: n/a (${probe.error ?? 'numpy missing'}; install it with \`apt-get install python3-numpy libopenblas0-pthread\`)`,
    );
  if (forcedType)
    log(
      `  OpenBLAS forced: OPENBLAS_CORETYPE=${forcedType}: ${forcedError ? `failed (${forcedError})` : (forcedArch ?? 'kernel unknown')}`,
    );
  log('  wall = GFLOP/s by the clock; cpu = FLOP x threads / process CPU time (both sides count spin-waits), which');
  log('  holds up when other processes share the cores; ratio = native / the faster OpenBLAS');
  const F = forcedType ? 'forced' : '';
  log(
    `${'shape'.padEnd(21)} | ${'wall'.padStart(6)} ${'%peak'.padStart(5)} ${'OpenBLAS'.padStart(8)} ${F.padStart(6)} ${'ratio'.padStart(5)}` +
      ` | ${'cpu'.padStart(6)} ${'%peak'.padStart(5)} ${'OpenBLAS'.padStart(8)} ${F.padStart(6)} ${'ratio'.padStart(5)}`,
  );
  for (const r of rows) {
    log(
      `${r.shape.padEnd(21)} | ${r.gflops.toFixed(1).padStart(6)} ${r.peakPct.toFixed(0).padStart(5)} ${na(r.openblas?.gflops).padStart(8)} ` +
        `${(forcedType ? na(r.openblasForced?.gflops) : '').padStart(6)} ${na(r.ratio, 2).padStart(5)}` +
        ` | ${r.cpuGflops.toFixed(1).padStart(6)} ${r.cpuPeakPct.toFixed(0).padStart(5)} ${na(r.openblas?.cpuGflops).padStart(8)} ` +
        `${(forcedType ? na(r.openblasForced?.cpuGflops) : '').padStart(6)} ${na(r.cpuRatio, 2).padStart(5)}`,
    );
  }

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
  const attnNative = timeIt(fwdBwd(nat as typeof ref), repeat);
  const attnRef = timeIt(fwdBwd(ref), 3, 0);
  // causal: half the score matrix; forward 2 products, backward 5 (recomputed S, dP, dV, dQ, dK)
  const attnFlops = (7 * 2 * attnCfg.B * attnCfg.H * attnCfg.T * attnCfg.T * attnCfg.D) / 2;
  const attention = {
    shape: `B=${attnCfg.B} H=${attnCfg.H} T=${attnCfg.T} D=${attnCfg.D} causal`,
    nativeMs: round(attnNative.wallMs, 3),
    referenceMs: round(attnRef.wallMs),
    speedup: round(attnRef.wallMs / attnNative.wallMs),
    nativeGflops: round(attnFlops / (attnNative.wallMs * 1e6)),
    // the reference runs on one thread: its CPU time is its unloaded wall time; native's is CPU time / threads
    cpuSpeedup: round(attnRef.cpuMs / (attnNative.cpuMs / threads)),
    cpuGflops: round((attnFlops * threads) / (attnNative.cpuMs * 1e6)),
  };
  log('');
  log(`attention forward + backward, ${attention.shape}`);
  log(
    `  wall: native ${attention.nativeMs} ms (${attention.nativeGflops} GFLOP/s), reference ${attention.referenceMs} ms, speedup ${attention.speedup}x`,
  );
  log(
    `  cpu:  native ${attention.cpuGflops} GFLOP/s, speedup ${attention.cpuSpeedup}x (reference CPU time / (native CPU time / ${threads}))`,
  );

  // row kernels --------------------------------------------------------------------------------------------------
  const x = rand([2048, 1024], 7);
  const gate = rand([2048, 1024], 8);
  const w = rand([1024], 9);
  const logits = rand([512, 4096], 10);
  const targets: TensorData = {
    data: Int32Array.from({ length: 512 }, (_, i) => (i * 37) % 4096),
    shape: [512],
    dtype: 'int32',
  };
  const cases: [string, (kern: typeof ref) => () => unknown][] = [
    ['softmax 2048x1024', (kern) => () => kern('softmax')(x, { axis: 1 })],
    ['rmsNorm 2048x1024', (kern) => () => kern('rmsNorm')(x, w, { eps: 1e-6 })],
    ['swiglu 2048x1024', (kern) => () => kern('swiglu')(x, gate)],
    ['crossEntropy 512x4096', (kern) => () => kern('crossEntropy')(logits, targets, { ignoreIndex: -100 })],
    ['add 2048x1024', (kern) => () => kern('add')(x, gate)],
  ];
  const kernels = cases.map(([name, mk]) => {
    const n = timeIt(mk(nat as typeof ref), repeat, 200);
    const r = timeIt(mk(ref), 3, 0);
    return {
      kernel: name,
      nativeMs: round(n.wallMs, 3),
      referenceMs: round(r.wallMs, 2),
      speedup: round(r.wallMs / n.wallMs),
      cpuSpeedup: round(r.cpuMs / (n.cpuMs / threads)),
    };
  });
  log('');
  log(`row kernels through the kernel API (fresh output arrays included)`);
  log(
    `${'kernel (float32)'.padEnd(24)} ${'native ms'.padStart(10)} ${'ref ms'.padStart(9)} ${'speedup'.padStart(8)} ${'cpu'.padStart(7)}`,
  );
  for (const r of kernels) {
    log(
      `${r.kernel.padEnd(24)} ${r.nativeMs.toFixed(3).padStart(10)} ${r.referenceMs.toFixed(2).padStart(9)} ` +
        `${(r.speedup.toFixed(1) + 'x').padStart(8)} ${(r.cpuSpeedup.toFixed(1) + 'x').padStart(7)}`,
    );
  }

  if (opts.json) {
    const openblasInfo = {
      auto: { available: probe.available, kernel: probe.arch, error: probe.error ?? null },
      forced: forcedType ? { coretype: forcedType, kernel: forcedArch, error: forcedError } : null,
    };
    console.log(
      JSON.stringify({ bench: 'kernels', machine, openblas: openblasInfo, sgemm: rows, attention, kernels }, null, 2),
    );
  }
}

export function registerBenchKernels(bench: Command): void {
  const cmd = bench
    .command('kernels')
    .description(
      'native kernels: sgemm GFLOP/s vs peak and OpenBLAS (numpy), attention and row kernels vs the reference',
    );
  const f = flagsOf(cmd);
  cmd
    .addOption(f.int('--repeat <n>', 'timed runs per measurement (at least)', ints(1, 1000), 7))
    .addOption(
      f.int(
        '--threads <n>',
        'threads for native and OpenBLAS',
        ints(1, 256),
        shownDefault('R1TS_THREADS or all cores'),
      ),
    )
    .option(
      '--openblas-coretype <name>',
      "also time OpenBLAS with this OPENBLAS_CORETYPE ('none' to skip) (default: SkylakeX when OpenBLAS falls back to a non-AVX-512 kernel on an AVX-512 CPU)",
    )
    .option('--json', 'print JSON')
    .action((opts: KernelsBenchOptions) => runBenchKernels(opts));
}
