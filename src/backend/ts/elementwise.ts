/** Reference elementwise kernels: broadcasting binary ops, unary maps, activations and their fused backward rules. */
import type { BinaryKernel, Kernels, TensorData, UnaryKernel } from '../kernels.js';
import { type DType, type TypedArray, allocArray, isFloat, promoteTypes } from '../../tensor/dtype.js';
import { broadcastShapes, broadcastStrides, numel, sameShape, shapeStr } from '../../tensor/shape.js';
import { erf, floatOut, requireFloat, stridedOffsets } from './util.js';

type Fn2 = (x: number, y: number) => number;

function binary(name: string, fn: Fn2, outType: (a: DType, b: DType) => DType): BinaryKernel {
  return (a, b) => {
    const shape = broadcastShapes(a.shape, b.shape, name);
    const dtype = outType(a.dtype, b.dtype);
    const n = numel(shape);
    const o = allocArray(dtype, n);
    const x = a.data;
    const y = b.data;
    if (sameShape(a.shape, b.shape)) {
      for (let i = 0; i < n; i++) o[i] = fn(x[i], y[i]);
    } else if (y.length === 1 && x.length === n) {
      const v = y[0];
      for (let i = 0; i < n; i++) o[i] = fn(x[i], v);
    } else if (x.length === 1 && y.length === n) {
      const v = x[0];
      for (let i = 0; i < n; i++) o[i] = fn(v, y[i]);
    } else {
      const ia = stridedOffsets(shape, broadcastStrides(a.shape, shape));
      const ib = stridedOffsets(shape, broadcastStrides(b.shape, shape));
      for (let i = 0; i < n; i++) o[i] = fn(x[ia[i]], y[ib[i]]);
    }
    return { data: o, shape, dtype };
  };
}

const arith = (a: DType, b: DType): DType => {
  const t = promoteTypes(a, b);
  return t === 'bool' ? 'int32' : t;
};
const trueDiv = (a: DType, b: DType): DType => {
  const t = promoteTypes(a, b);
  return isFloat(t) ? t : 'float32';
};
const cmp = (): DType => 'bool';

function unary(name: string, fn: (x: number) => number, allowInt = false): UnaryKernel {
  return (x) => {
    if (!allowInt) requireFloat(name, x);
    const o = allocArray(x.dtype === 'bool' ? 'int32' : x.dtype, x.data.length);
    const d = x.data;
    for (let i = 0; i < d.length; i++) o[i] = fn(d[i]);
    return { data: o, shape: [...x.shape], dtype: x.dtype === 'bool' ? 'int32' : x.dtype };
  };
}

const sigmoid = (v: number) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));
const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 0.3989422804014327;
const GELU_C = 0.7978845608028654; // sqrt(2/pi)

function checkSame(kernel: string, a: TensorData, b: TensorData): void {
  if (!sameShape(a.shape, b.shape))
    throw new RangeError(`${kernel}: shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)} differ`);
}

export const elementwiseKernels: Partial<Kernels> = {
  add: binary('add', (x, y) => x + y, arith),
  sub: binary('sub', (x, y) => x - y, arith),
  mul: binary('mul', (x, y) => x * y, arith),
  div: binary('div', (x, y) => x / y, trueDiv),
  pow: binary('pow', (x, y) => x ** y, arith),
  maximum: binary('maximum', (x, y) => (x !== x || y !== y ? NaN : x > y ? x : y), arith),
  minimum: binary('minimum', (x, y) => (x !== x || y !== y ? NaN : x < y ? x : y), arith),
  eq: binary('eq', (x, y) => (x === y ? 1 : 0), cmp),
  ne: binary('ne', (x, y) => (x !== y ? 1 : 0), cmp),
  lt: binary('lt', (x, y) => (x < y ? 1 : 0), cmp),
  le: binary('le', (x, y) => (x <= y ? 1 : 0), cmp),
  gt: binary('gt', (x, y) => (x > y ? 1 : 0), cmp),
  ge: binary('ge', (x, y) => (x >= y ? 1 : 0), cmp),

  neg: unary('neg', (v) => -v, true),
  abs: unary('abs', Math.abs, true),
  sign: unary('sign', Math.sign, true),
  exp: unary('exp', Math.exp),
  log: unary('log', Math.log),
  sqrt: unary('sqrt', Math.sqrt),
  rsqrt: unary('rsqrt', (v) => 1 / Math.sqrt(v)),
  tanh: unary('tanh', Math.tanh),
  sin: unary('sin', Math.sin),
  cos: unary('cos', Math.cos),
  erf: unary('erf', erf),
  sigmoid: unary('sigmoid', sigmoid),
  silu: unary('silu', (v) => v * sigmoid(v)),

  clamp: (x, { min, max }) => {
    const o = allocArray(x.dtype, x.data.length);
    const d = x.data;
    for (let i = 0; i < d.length; i++) {
      const v = d[i];
      o[i] = v < min ? min : v > max ? max : v;
    }
    return { data: o, shape: [...x.shape], dtype: x.dtype };
  },

  cast: (x, { dtype }) => {
    const o: TypedArray = allocArray(dtype, x.data.length);
    const d = x.data;
    if (dtype === 'bool') for (let i = 0; i < d.length; i++) o[i] = d[i] !== 0 ? 1 : 0;
    else if (dtype === 'int32') for (let i = 0; i < d.length; i++) o[i] = Math.trunc(d[i]);
    else o.set(d);
    return { data: o, shape: [...x.shape], dtype };
  },

  gelu: (x, { approximate }) => {
    requireFloat('gelu', x);
    const o = floatOut(x, x.shape);
    const d = x.data;
    if (approximate === 'tanh') {
      for (let i = 0; i < d.length; i++) {
        const v = d[i];
        o.data[i] = 0.5 * v * (1 + Math.tanh(GELU_C * (v + 0.044715 * v * v * v)));
      }
    } else {
      for (let i = 0; i < d.length; i++) o.data[i] = 0.5 * d[i] * (1 + erf(d[i] * SQRT1_2));
    }
    return o;
  },

  geluBackward: (x, dy, { approximate }) => {
    requireFloat('geluBackward', x, dy);
    checkSame('geluBackward', x, dy);
    const o = floatOut(x, x.shape);
    const d = x.data;
    const g = dy.data;
    if (approximate === 'tanh') {
      for (let i = 0; i < d.length; i++) {
        const v = d[i];
        const u = GELU_C * (v + 0.044715 * v * v * v);
        const t = Math.tanh(u);
        const du = GELU_C * (1 + 3 * 0.044715 * v * v);
        o.data[i] = g[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * du);
      }
    } else {
      for (let i = 0; i < d.length; i++) {
        const v = d[i];
        o.data[i] = g[i] * (0.5 * (1 + erf(v * SQRT1_2)) + v * INV_SQRT_2PI * Math.exp(-0.5 * v * v));
      }
    }
    return o;
  },

  swiglu: (a, b) => {
    requireFloat('swiglu', a, b);
    checkSame('swiglu', a, b);
    const o = floatOut(a, a.shape);
    for (let i = 0; i < a.data.length; i++) {
      const v = a.data[i];
      o.data[i] = v * sigmoid(v) * b.data[i];
    }
    return o;
  },

  swigluBackward: (a, b, dy) => {
    requireFloat('swigluBackward', a, b, dy);
    checkSame('swigluBackward', a, b);
    checkSame('swigluBackward', a, dy);
    const da = floatOut(a, a.shape);
    const db = floatOut(a, a.shape);
    for (let i = 0; i < a.data.length; i++) {
      const v = a.data[i];
      const s = sigmoid(v);
      const silu = v * s;
      const g = dy.data[i];
      db.data[i] = g * silu;
      da.data[i] = g * b.data[i] * (s + silu * (1 - s));
    }
    return { da, db };
  },
};
