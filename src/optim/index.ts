/** Optimizers and schedules. */
export { AdamW, clipGradNorm, type AdamWOptions, type AdamWState } from './adamw.js';
export { adamwStep, type AdamWHyper } from './adamw-kernel.js';
export * from './schedule.js';
