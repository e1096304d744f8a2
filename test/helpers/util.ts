/** Test helpers: float64 random inputs, closeness checks that print max |Δ|, gradient-check assertion. */
import assert from 'node:assert/strict';
import { Generator, type GradFn, Tensor, gradcheck, randn, rand, type GradcheckOptions } from '../../src/index.js';
import { getBackend, listBackends, setBackend } from '../../src/backend/registry.js';

/** A deterministic generator per test. */
export function gen(seed = 1): Generator {
  return new Generator(seed);
}

/** float64 N(0,1) leaf that requires grad. */
export function r64(shape: number[], g: Generator, requiresGrad = true): Tensor {
  return randn(shape, { dtype: 'float64', generator: g, requiresGrad });
}

/** float64 leaf with values in [lo, hi). */
export function u64(shape: number[], g: Generator, lo: number, hi: number, requiresGrad = true): Tensor {
  const t = rand(shape, { dtype: 'float64', generator: g });
  for (let i = 0; i < t.size; i++) t.data[i] = lo + (hi - lo) * t.data[i];
  t.requiresGrad = requiresGrad;
  return t;
}

/** Asserts the finite-difference gradient check passes, with its message on failure. */
export function assertGrad(
  fn: (...xs: Tensor[]) => Tensor | readonly Tensor[],
  inputs: Tensor[],
  opts?: GradcheckOptions,
): void {
  const r = gradcheck(fn, inputs, opts);
  assert.ok(r.ok, r.message);
}

/** Asserts two arrays/tensors are elementwise close: |a - b| <= atol + rtol * |b|. Reports the worst element. */
export function assertClose(
  actual: Tensor | ArrayLike<number>,
  expected: Tensor | ArrayLike<number>,
  atol = 1e-6,
  rtol = 1e-5,
  what = 'values',
): void {
  const a = actual instanceof Tensor ? actual.data : actual;
  const b = expected instanceof Tensor ? expected.data : expected;
  if (actual instanceof Tensor && expected instanceof Tensor) {
    assert.deepEqual([...actual.shape], [...expected.shape], `${what}: shape mismatch`);
  }
  assert.equal(a.length, b.length, `${what}: length ${a.length} != ${b.length}`);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i] - b[i]);
    const bothNaN = Number.isNaN(a[i]) && Number.isNaN(b[i]);
    const same = a[i] === b[i];
    if (!bothNaN && !same && !(err <= atol + rtol * Math.abs(b[i]))) {
      if (worst < 0 || err > worstErr || Number.isNaN(err)) {
        worst = i;
        worstErr = err;
      }
    }
  }
  if (worst >= 0) {
    assert.fail(
      `${what}: element ${worst}: ${a[worst]} vs expected ${b[worst]} (|Δ| = ${worstErr}, atol ${atol}, rtol ${rtol})`,
    );
  }
}

/** Runs fn with backend `name` active, restoring the active one after. */
export function onBackend<T>(name: string, fn: () => T): T {
  const prev = getBackend();
  setBackend(name);
  try {
    return fn();
  } finally {
    setBackend(prev);
  }
}

/** mulberry32: a small seeded generator of numbers in [0, 1), so every run sees the same inputs. */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs fn under every registered backend, restoring the active one after. */
export function eachBackend(fn: (backend: string) => void): void {
  const was = getBackend();
  try {
    for (const { name } of listBackends()) {
      setBackend(name);
      fn(name);
    }
  } finally {
    setBackend(was);
  }
}

/**
 * Golden comparison: null when max |actual - expected| <= rtol x max |expected| (over the whole tensor), else a line
 * naming the tensor with its largest |Δ|, so that a test can list every tensor that is off.
 */
export function goldenDiff(
  what: string,
  actual: Tensor | ArrayLike<number>,
  expected: Tensor,
  rtol: number,
): string | null {
  const a = 'data' in actual ? actual.data : actual;
  const b = expected.data;
  assert.equal(a.length, b.length, `${what}: ${a.length} values vs ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num <= rtol * Math.max(den, 1e-6)
    ? null
    : `${what}: max |Δ| ${num.toExponential(3)} > ${rtol} x max |ref| ${den.toExponential(3)}`;
}

/** The ops recorded in the backward graph of `outs` (every node reachable from them). */
export function opsIn(outs: Tensor | readonly Tensor[]): Set<string> {
  const seen = new Set<string>();
  const visited = new Set<GradFn>();
  const stack: GradFn[] = (Array.isArray(outs) ? (outs as Tensor[]) : [outs as Tensor]).flatMap((t) =>
    t.gradFn ? [t.gradFn] : [],
  );
  while (stack.length) {
    const fn = stack.pop()!;
    if (visited.has(fn)) continue;
    visited.add(fn);
    seen.add(fn.op);
    for (const n of fn.next) if (n && !(n instanceof Tensor)) stack.push(n);
  }
  return seen;
}
