/**
 * Finite-difference gradient checking (like torch.autograd.gradcheck). Use float64 inputs.
 * The outputs are projected onto fixed random weights so one backward pass checks the whole Jacobian-vector product;
 * every element of every input that requires grad is then perturbed by +-eps (central differences).
 */
import { Generator } from './random.js';
import { shapeStr } from './shape.js';
import { Tensor, enableGrad, noGrad } from './tensor.js';
import { add, mul } from './ops/elementwise.js';
import { sum } from './ops/reduce.js';

export interface GradcheckOptions {
  /** Perturbation (default 1e-6). */
  eps?: number;
  /** Absolute tolerance (default 1e-6). */
  atol?: number;
  /** Relative tolerance (default 1e-4). */
  rtol?: number;
  /** Seed for the projection weights (default 0). */
  seed?: number;
}

export interface GradcheckResult {
  ok: boolean;
  maxAbsError: number;
  /** The worst element, for the failure message. */
  worst: { input: number; index: number; analytic: number; numeric: number } | null;
  message: string;
}

type Fn = (...xs: Tensor[]) => Tensor | readonly Tensor[];

function projected(
  fn: Fn,
  inputs: Tensor[],
  weights: Tensor[] | null,
  gen: Generator,
): { loss: Tensor; weights: Tensor[] } {
  const out = fn(...inputs);
  const outs = Array.isArray(out) ? (out as Tensor[]) : [out as Tensor];
  const floats = outs.filter((o) => o.dtype === 'float64' || o.dtype === 'float32');
  const w = weights ?? floats.map((o) => new Tensor(gen.normal(o.size, 'float64'), o.shape, 'float64'));
  let loss: Tensor | null = null;
  floats.forEach((o, i) => {
    const term = sum(mul(o, w[i]));
    loss = loss ? add(loss as Tensor, term) : term;
  });
  if (!loss) throw new Error('gradcheck: the function returned no float output');
  return { loss, weights: w };
}

/** Compares autograd gradients of `fn` at `inputs` with central finite differences. */
export function gradcheck(fn: Fn, inputs: Tensor[], opts: GradcheckOptions = {}): GradcheckResult {
  const eps = opts.eps ?? 1e-6;
  const atol = opts.atol ?? 1e-6;
  const rtol = opts.rtol ?? 1e-4;
  const gen = new Generator(opts.seed ?? 0);
  for (const x of inputs) {
    if (x.requiresGrad && x.dtype !== 'float64')
      throw new TypeError(`gradcheck: inputs must be float64 (got ${x.dtype} ${shapeStr(x.shape)})`);
    x.grad = null;
  }
  const { loss, weights } = enableGrad(() => projected(fn, inputs, null, gen));
  loss.backward();
  const analytic = inputs.map((x) =>
    x.requiresGrad ? (x.grad ? Float64Array.from(x.grad.data) : new Float64Array(x.size)) : null,
  );

  let worst: GradcheckResult['worst'] = null;
  let maxAbs = 0;
  let ok = true;
  noGrad(() => {
    inputs.forEach((x, i) => {
      const a = analytic[i];
      if (!a) return;
      for (let j = 0; j < x.size; j++) {
        const orig = x.data[j];
        x.data[j] = orig + eps;
        const lp = projected(fn, inputs, weights, gen).loss.item();
        x.data[j] = orig - eps;
        const lm = projected(fn, inputs, weights, gen).loss.item();
        x.data[j] = orig;
        const num = (lp - lm) / (2 * eps);
        const err = Math.abs(a[j] - num);
        const bad = !(err <= atol + rtol * Math.abs(num));
        if (bad) ok = false;
        if (err > maxAbs || (bad && worst === null) || Number.isNaN(err)) {
          maxAbs = Number.isNaN(err) ? Infinity : Math.max(maxAbs, err);
          worst = { input: i, index: j, analytic: a[j], numeric: num };
        }
      }
    });
  });
  const w = worst as GradcheckResult['worst'];
  const message = ok
    ? `gradcheck passed (max |analytic - numeric| = ${maxAbs.toExponential(2)})`
    : `gradcheck failed: input ${w?.input} ${shapeStr(inputs[w?.input ?? 0].shape)} element ${w?.index}: analytic ${w?.analytic} vs numeric ${w?.numeric} (max abs error ${maxAbs.toExponential(3)})`;
  return { ok, maxAbsError: maxAbs, worst: w, message };
}
