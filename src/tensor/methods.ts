/** Attaches the ops as Tensor methods (`x.matmul(w).add(b).silu()`), PyTorch style. Imported once by the package root. */
import type { DType } from './dtype.js';
import * as ops from './ops/index.js';
import type { MatmulOptions, ReduceOptions, TensorLike } from './ops/index.js';
import { Tensor } from './tensor.js';

declare module './tensor.js' {
  interface Tensor {
    add(other: TensorLike): Tensor;
    sub(other: TensorLike): Tensor;
    mul(other: TensorLike): Tensor;
    div(other: TensorLike): Tensor;
    pow(other: TensorLike): Tensor;
    maximum(other: TensorLike): Tensor;
    minimum(other: TensorLike): Tensor;
    eq(other: TensorLike): Tensor;
    ne(other: TensorLike): Tensor;
    lt(other: TensorLike): Tensor;
    le(other: TensorLike): Tensor;
    gt(other: TensorLike): Tensor;
    ge(other: TensorLike): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    rsqrt(): Tensor;
    abs(): Tensor;
    tanh(): Tensor;
    sin(): Tensor;
    cos(): Tensor;
    sigmoid(): Tensor;
    silu(): Tensor;
    gelu(approximate?: 'none' | 'tanh'): Tensor;
    clamp(min?: number, max?: number): Tensor;
    cast(dtype: DType): Tensor;
    sum(axes?: number | readonly number[], opts?: ReduceOptions): Tensor;
    mean(axes?: number | readonly number[], opts?: ReduceOptions): Tensor;
    max(axes?: number | readonly number[], opts?: ReduceOptions): Tensor;
    min(axes?: number | readonly number[], opts?: ReduceOptions): Tensor;
    argmax(axis?: number, opts?: ReduceOptions): Tensor;
    reshape(shape: readonly number[]): Tensor;
    view(shape: readonly number[]): Tensor;
    flatten(start?: number, end?: number): Tensor;
    squeeze(axis?: number): Tensor;
    unsqueeze(axis: number): Tensor;
    permute(perm: readonly number[]): Tensor;
    transpose(a?: number, b?: number): Tensor;
    expand(shape: readonly number[]): Tensor;
    slice(ranges: readonly (readonly [number, number] | null | undefined)[]): Tensor;
    narrow(axis: number, start: number, length: number): Tensor;
    split(sizes: number | readonly number[], axis?: number): Tensor[];
    chunk(chunks: number, axis?: number): Tensor[];
    matmul(other: Tensor, opts?: MatmulOptions): Tensor;
    softmax(axis?: number): Tensor;
    logSoftmax(axis?: number): Tensor;
    gather(axis: number, index: Tensor): Tensor;
    indexSelect(axis: number, index: Tensor): Tensor;
    maskedFill(mask: Tensor, value: number): Tensor;
  }
}

const P = Tensor.prototype;
P.add = function (o) {
  return ops.add(this, o);
};
P.sub = function (o) {
  return ops.sub(this, o);
};
P.mul = function (o) {
  return ops.mul(this, o);
};
P.div = function (o) {
  return ops.div(this, o);
};
P.pow = function (o) {
  return ops.pow(this, o);
};
P.maximum = function (o) {
  return ops.maximum(this, o);
};
P.minimum = function (o) {
  return ops.minimum(this, o);
};
P.eq = function (o) {
  return ops.eq(this, o);
};
P.ne = function (o) {
  return ops.ne(this, o);
};
P.lt = function (o) {
  return ops.lt(this, o);
};
P.le = function (o) {
  return ops.le(this, o);
};
P.gt = function (o) {
  return ops.gt(this, o);
};
P.ge = function (o) {
  return ops.ge(this, o);
};
P.neg = function () {
  return ops.neg(this);
};
P.exp = function () {
  return ops.exp(this);
};
P.log = function () {
  return ops.log(this);
};
P.sqrt = function () {
  return ops.sqrt(this);
};
P.rsqrt = function () {
  return ops.rsqrt(this);
};
P.abs = function () {
  return ops.abs(this);
};
P.tanh = function () {
  return ops.tanh(this);
};
P.sin = function () {
  return ops.sin(this);
};
P.cos = function () {
  return ops.cos(this);
};
P.sigmoid = function () {
  return ops.sigmoid(this);
};
P.silu = function () {
  return ops.silu(this);
};
P.gelu = function (approximate) {
  return ops.gelu(this, approximate);
};
P.clamp = function (min, max) {
  return ops.clamp(this, min, max);
};
P.cast = function (dtype) {
  return ops.cast(this, dtype);
};
P.sum = function (axes, opts) {
  return ops.sum(this, axes, opts);
};
P.mean = function (axes, opts) {
  return ops.mean(this, axes, opts);
};
P.max = function (axes, opts) {
  return ops.max(this, axes, opts);
};
P.min = function (axes, opts) {
  return ops.min(this, axes, opts);
};
P.argmax = function (axis, opts) {
  return ops.argmax(this, axis, opts);
};
P.reshape = function (shape) {
  return ops.reshape(this, shape);
};
P.view = function (shape) {
  return ops.reshape(this, shape);
};
P.flatten = function (start, end) {
  return ops.flatten(this, start, end);
};
P.squeeze = function (axis) {
  return ops.squeeze(this, axis);
};
P.unsqueeze = function (axis) {
  return ops.unsqueeze(this, axis);
};
P.permute = function (perm) {
  return ops.permute(this, perm);
};
P.transpose = function (a, b) {
  return ops.transpose(this, a, b);
};
P.expand = function (shape) {
  return ops.expand(this, shape);
};
P.slice = function (ranges) {
  return ops.slice(this, ranges);
};
P.narrow = function (axis, start, length) {
  return ops.narrow(this, axis, start, length);
};
P.split = function (sizes, axis) {
  return ops.split(this, sizes, axis);
};
P.chunk = function (chunks, axis) {
  return ops.chunk(this, chunks, axis);
};
P.matmul = function (o, opts) {
  return ops.matmul(this, o, opts);
};
P.softmax = function (axis) {
  return ops.softmax(this, axis);
};
P.logSoftmax = function (axis) {
  return ops.logSoftmax(this, axis);
};
P.gather = function (axis, index) {
  return ops.gather(this, axis, index);
};
P.indexSelect = function (axis, index) {
  return ops.indexSelect(this, axis, index);
};
P.maskedFill = function (mask, value) {
  return ops.maskedFill(this, mask, value);
};
