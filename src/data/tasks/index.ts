/**
 * Built-in verifiable tasks (see task.ts for the contract and the train/test split) and their registry.
 *
 * | task      | difficulty d                                        |
 * |-----------|-----------------------------------------------------|
 * | add       | two d-digit numbers                                 |
 * | mul       | d-digit times ceil(d/2)-digit                       |
 * | countdown | d + 2 numbers, reach the target with + - * /        |
 * | lineq     | 1: ax+b=c small, 2: larger, 3: x on both sides      |
 * | sort      | d + 3 numbers                                       |
 * | modpow    | a^k mod m with growing a, k, m                      |
 */
import { addTask, mulTask } from './arithmetic.js';
import { countdownTask } from './countdown.js';
import { lineqTask } from './lineq.js';
import { modpowTask, sortTask } from './more.js';
import type { Task } from './task.js';

export * from './answer.js';
export * from './exact.js';
export * from './task.js';
export * from './template.js';
export { addTask, mulTask, type BinaryData } from './arithmetic.js';
export { countdownTask, type CountdownData } from './countdown.js';
export { lineqTask, type LinEqData } from './lineq.js';
export { sortTask, modpowTask, parseIntList, type SortData, type ModPowData } from './more.js';

/** Every built-in task by name. */
export const TASKS: Readonly<Record<string, Task<never>>> = Object.freeze({
  add: addTask,
  mul: mulTask,
  countdown: countdownTask,
  lineq: lineqTask,
  sort: sortTask,
  modpow: modpowTask,
} as unknown as Record<string, Task<never>>);

/** The task called `name`; the error lists the known ones. */
export function getTask(name: string): Task<unknown> {
  const t = Object.hasOwn(TASKS, name) ? TASKS[name] : undefined;
  if (!t) throw new Error(`unknown task '${name}' (known: ${Object.keys(TASKS).join(', ')})`);
  return t as unknown as Task<unknown>;
}
