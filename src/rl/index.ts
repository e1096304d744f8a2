/** R1-Zero reinforcement learning: rewards, problems, rollouts, GRPO math, configuration and the training loop. */
export * from './rewards.js';
export * from './problems.js';
export * from './rollout.js';
export * from './grpo.js';
export * from './config.js';
export * from './trainer.js';
export * from './reflection.js';
