/**
 * R1TS_PROFILE_KERNELS: wall time and call count per native addon function, printed to stderr when the process exits.
 * Set to 1 for the table; set to a function's name (e.g. `stridedCopy`) to also split that function's time by the
 * JavaScript call sites that reached it (six frames each). Timing wraps every call in two `performance.now()` reads
 * (about 0.1 us), so it is for finding where a run's time goes, not for benchmarks. Set to `shapes` to also split the
 * float32 matrix products' (`matmul`'s) time by shape (M x N x K, transposed operands, products per call).
 */

type Fn = (...args: unknown[]) => unknown;

/** The addon's functions wrapped to time themselves; `setting` is R1TS_PROFILE_KERNELS's value. */
export function profiledAddon<T extends object>(addon: T, setting: string): T {
  const totals = new Map<string, { ms: number; calls: number }>();
  const add = (key: string, ms: number) => {
    const e = totals.get(key);
    if (e) {
      e.ms += ms;
      e.calls++;
    } else totals.set(key, { ms, calls: 1 });
  };
  const fns = addon as Record<string, unknown>;
  const out: Record<string, unknown> = { ...fns };
  for (const [name, f] of Object.entries(fns)) {
    if (typeof f !== 'function') continue;
    const traced = setting === name;
    out[name] = (...args: unknown[]) => {
      const t = performance.now();
      const r = (f as Fn)(...args);
      const ms = performance.now() - t;
      add(name, ms);
      if (traced) add(`${name} < ${callSites()}`, ms);
      if (name === 'matmul' && setting === 'shapes') add(matmulShape(args), ms);
      return r;
    };
  }
  process.on('exit', () => {
    const rows = [...totals].sort((a, b) => b[1].ms - a[1].ms);
    process.stderr.write('native kernels (R1TS_PROFILE_KERNELS): wall ms, calls\n');
    for (const [key, { ms, calls }] of rows)
      process.stderr.write(`${ms.toFixed(1).padStart(10)} ${String(calls).padStart(8)}  ${key}\n`);
  });
  return out as T;
}

/** `matmul M x N x K [tA] [tB] [batch n]` from the addon's matmul arguments (A, offA, B, offB, C, batch, M, N, K, tA, tB). */
function matmulShape(args: unknown[]): string {
  const [batch, M, N, K, tA, tB] = args.slice(5);
  return `matmul ${M} x ${N} x ${K}${tA ? ' tA' : ''}${tB ? ' tB' : ''}${batch === 1 ? '' : ` batch ${batch}`}`;
}

/** Six JavaScript frames above the wrapper, paths relative to src/, joined by ' < '. */
function callSites(): string {
  return (new Error().stack ?? '')
    .split('\n')
    .slice(3, 9)
    .map((l) =>
      l
        .trim()
        .replace(/^at /, '')
        .replace(/\(.*\/src\//, '('),
    )
    .join(' < ');
}
