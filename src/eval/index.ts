/** Evaluation: pass@1 over k samples, cons@k (majority vote), greedy accuracy. */
export * from './eval.js';
