/**
 * Training checkpoints: one directory per step (`step-00000100/`) holding the model state (r1ts names, buffers
 * included), the optimizer moments, and `state.json` (step, tokens, RNG and data positions, configs, trainer state).
 *
 * Atomic: everything is written into a hidden temporary directory next to the final one (`.tmp-step-N-PID`), each
 * file fsync'ed, then the directory is renamed into place (and the parent fsync'ed). A crash leaves either the previous
 * checkpoints or the new one complete. Temporary directories are removed only by their owner: a save removes its own
 * process's and those of processes that no longer run, never another live writer's. The last `keep` checkpoints are
 * kept. Which checkpoint a resume loads (and the fallback past a corrupt one) is ./run_dir.ts's job.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Tensor } from '../tensor/tensor.js';
import { Tensor as T } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import type { AdamW } from '../optim/adamw.js';
import { loadSafetensors, saveSafetensors } from '../io/safetensors.js';
import { fsyncDir, writeFileAtomic, writeAll } from '../io/atomic.js';
import { readJsonObject } from '../io/json.js';
import { pidAlive } from '../io/lock.js';

export const CHECKPOINT_PREFIX = 'step-';

export interface CheckpointInfo {
  step: number;
  dir: string;
}

function stepDirName(step: number): string {
  return `${CHECKPOINT_PREFIX}${String(step).padStart(8, '0')}`;
}

/** Checkpoints in `root`, oldest first (complete ones only). */
export function listCheckpoints(root: string): CheckpointInfo[] {
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .filter((n) => n.startsWith(CHECKPOINT_PREFIX) && fs.existsSync(path.join(root, n, 'state.json')))
    .map((n) => ({ step: Number(n.slice(CHECKPOINT_PREFIX.length)), dir: path.join(root, n) }))
    .filter((c) => Number.isInteger(c.step))
    .sort((a, b) => a.step - b.step);
}

export function latestCheckpoint(root: string): CheckpointInfo | null {
  const all = listCheckpoints(root);
  return all.length ? all[all.length - 1] : null;
}

export interface SaveCheckpointArgs {
  root: string;
  step: number;
  model: Module;
  optimizer: AdamW;
  /** JSON-serialisable trainer state (tokens seen, RNG states, data position, configs, ...). */
  state: Record<string, unknown>;
  /** Checkpoints to keep (default 3). */
  keep?: number;
}

/**
 * Removes the temporary directories in `root` left by this process or by processes that no longer run (the pid is
 * the name's last part); a live writer's are left alone.
 */
export function removeStaleTemporaries(root: string): void {
  if (!fs.existsSync(root)) return;
  for (const n of fs.readdirSync(root)) {
    const owner = /^\.tmp-.*-(\d+)$/.exec(n);
    if (owner && (Number(owner[1]) === process.pid || !pidAlive(Number(owner[1]))))
      fs.rmSync(path.join(root, n), { recursive: true, force: true });
  }
}

/** Writes a checkpoint atomically and prunes old ones. Returns its directory. */
export function saveCheckpoint(a: SaveCheckpointArgs): string {
  fs.mkdirSync(a.root, { recursive: true });
  removeStaleTemporaries(a.root);
  const final = path.join(a.root, stepDirName(a.step));
  const tmp = path.join(a.root, `.tmp-${stepDirName(a.step)}-${process.pid}`);
  fs.mkdirSync(tmp);
  try {
    saveSafetensors(path.join(tmp, 'model.safetensors'), a.model.stateDict());
    const opt = a.optimizer.stateDict();
    const moments = new Map<string, Tensor>();
    for (const [n, m] of opt.m) moments.set(`m.${n}`, new T(m, [m.length]));
    for (const [n, v] of opt.v) moments.set(`v.${n}`, new T(v, [v.length]));
    saveSafetensors(path.join(tmp, 'optimizer.safetensors'), moments);
    const json = JSON.stringify(
      { format: 'r1ts-checkpoint-1', step: a.step, optimizerStep: opt.step, ...a.state },
      null,
      1,
    );
    writeFileAtomic(path.join(tmp, 'state.json'), (fd) => writeAll(fd, new TextEncoder().encode(json)));
    fsyncDir(tmp);
    if (fs.existsSync(final)) fs.rmSync(final, { recursive: true, force: true });
    fs.renameSync(tmp, final);
    fsyncDir(a.root);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const keep = a.keep ?? 3;
  const all = listCheckpoints(a.root);
  for (const c of all.slice(0, Math.max(0, all.length - keep))) fs.rmSync(c.dir, { recursive: true, force: true });
  return final;
}

/** Restores model and optimizer from a checkpoint directory and returns its state.json content. */
export function loadCheckpoint(
  dir: string,
  model: Module,
  optimizer: AdamW,
): Record<string, unknown> & { step: number } {
  const statePath = path.join(dir, 'state.json');
  const state = readJsonObject(statePath, 'checkpoint') as Record<string, unknown> & {
    step: number;
    optimizerStep: number;
    format: string;
  };
  if (state.format !== 'r1ts-checkpoint-1')
    throw new Error(`checkpoint: ${statePath} has unknown format ${JSON.stringify(state.format)}`);
  model.loadStateDict(loadSafetensors(path.join(dir, 'model.safetensors')));
  const moments = loadSafetensors(path.join(dir, 'optimizer.safetensors'));
  const m = new Map<string, Float32Array>();
  const v = new Map<string, Float32Array>();
  for (const [k, t] of moments) {
    const data = t.data as Float32Array;
    if (k.startsWith('m.')) m.set(k.slice(2), data);
    else if (k.startsWith('v.')) v.set(k.slice(2), data);
  }
  optimizer.loadStateDict({ step: state.optimizerStep, m, v });
  return state;
}
