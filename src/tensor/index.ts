/** The tensor engine: Tensor, autograd, creation, ops (functional and as methods), random numbers. */
import '../backend/ts/index.js';
// registers the native backend when its addon loads; which backend is active is chosen by initBackend()
// (backend/select.ts), called by the CLI and the package root, not by importing this file
import '../backend/native/index.js';
import './methods.js';

export { Tensor, noGrad, enableGrad, isGradEnabled, type GradFn, type GradNode } from './tensor.js';
export * from './creation.js';
export * from './ops/index.js';
export { Generator, manualSeed, getDefaultGenerator, DEFAULT_SEED, type GeneratorState } from './random.js';
export type { DType, FloatDType, TypedArray } from './dtype.js';
export { type Shape, broadcastShapes, numel } from './shape.js';
export { gradcheck, type GradcheckOptions, type GradcheckResult } from './gradcheck.js';
