/** Optimizers and schedules. */
export { AdamW, adamwStep, clipGradNorm, type AdamWHyper, type AdamWOptions, type AdamWState } from './adamw.js';
export * from './schedule.js';
