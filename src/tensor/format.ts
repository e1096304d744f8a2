/** PyTorch-style printing: `tensor([[ 1.0000, -2.5000], ...], dtype=float64, requiresGrad=true)`. */
import type { TypedArray, DType } from './dtype.js';

interface Printable {
  readonly data: TypedArray;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly requiresGrad: boolean;
  readonly gradFn: { readonly op: string } | null;
}

const THRESHOLD = 1000;
const EDGE = 3;

function chooseFormatter(values: number[], dtype: DType): (v: number) => string {
  if (dtype === 'bool') return (v) => (v ? 'true' : 'false');
  if (dtype === 'int32') return (v) => String(v);
  const finite = values.filter((v) => Number.isFinite(v));
  const allInt = finite.every((v) => Number.isInteger(v));
  const absMax = finite.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const absMin = finite.filter((v) => v !== 0).reduce((m, v) => Math.min(m, Math.abs(v)), Infinity);
  const special = (v: number) => (Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf');
  if (allInt && absMax < 1e8) return (v) => (Number.isFinite(v) ? `${v}.` : special(v));
  if (absMax >= 1e8 || (absMin < 1e-4 && absMin !== Infinity) || (absMax / absMin > 1000 && absMin < 0.01)) {
    return (v) => (Number.isFinite(v) ? v.toExponential(4).replace(/e([+-])(\d)$/, 'e$10$2') : special(v));
  }
  return (v) => (Number.isFinite(v) ? v.toFixed(4) : special(v));
}

/** Formats a tensor for humans; large tensors show the first and last 3 entries of each dim. */
export function formatTensor(t: Printable): string {
  const { data, shape, dtype } = t;
  const summarize = data.length > THRESHOLD;
  // Collect the values that will be shown, to pick one width.
  const shown: number[] = [];
  const visit = (dim: number, off: number, stride: number): void => {
    if (dim === shape.length) {
      shown.push(data[off]);
      return;
    }
    const n = shape[dim];
    const inner = stride / n;
    for (let i = 0; i < n; i++) {
      if (summarize && n > 2 * EDGE && i === EDGE) i = n - EDGE;
      visit(dim + 1, off + i * inner, inner);
    }
  };
  if (data.length > 0) visit(0, 0, data.length);
  const fmt = chooseFormatter(shown, dtype);
  const width = shown.reduce((w, v) => Math.max(w, fmt(v).length), 0);
  const cell = (v: number) => fmt(v).padStart(width);

  const prefix = 'tensor(';
  const render = (dim: number, off: number, stride: number, indent: string): string => {
    if (dim === shape.length) return cell(data[off]);
    const n = shape[dim];
    const inner = stride / n;
    const parts: string[] = [];
    for (let i = 0; i < n; i++) {
      if (summarize && n > 2 * EDGE && i === EDGE) {
        parts.push('...');
        i = n - EDGE;
      }
      parts.push(render(dim + 1, off + i * inner, inner, indent + ' '));
    }
    if (dim === shape.length - 1) return `[${parts.join(', ')}]`;
    const sep = ',' + '\n'.repeat(shape.length - 1 - dim) + indent + ' ';
    return `[${parts.join(sep)}]`;
  };
  let body: string;
  if (shape.length === 0) body = cell(data[0]);
  else if (data.length === 0) body = '[]';
  else body = render(0, 0, data.length, ' '.repeat(prefix.length));
  const extras: string[] = [];
  if (data.length === 0 && shape.length > 1) extras.push(`size=[${shape.join(', ')}]`);
  if (dtype !== 'float32') extras.push(`dtype=${dtype}`);
  if (t.gradFn) extras.push(`gradFn=<${t.gradFn.op}>`);
  else if (t.requiresGrad) extras.push('requiresGrad=true');
  return `${prefix}${body}${extras.length ? ', ' + extras.join(', ') : ''})`;
}
