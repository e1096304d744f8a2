/**
 * The training loop shared by the pairwise trainers (reward models: ./rm_train.ts; DPO: ./dpo.ts): epochs over the
 * training pairs in a seeded order per epoch, optimizer steps of `batchSize` pairs computed in micro-batches of
 * `microBatch` pairs (gradient accumulation), AdamW with linear warmup then linear decay to zero (TRL's default
 * schedule), global-norm clipping, held-out evaluation at the start, every `evalEvery` steps and at the end, and the
 * run-directory protocol (src/train/run_dir.ts): checkpoints every `checkpointEvery` steps with exact resume (the step
 * number is the whole data position), metrics.jsonl, a stop at a step boundary on Ctrl-C / SIGTERM.
 *
 * What a step computes is the objective's (`PairObjective`): the loop only sums its statistics. Models stay in eval
 * mode, as GRPO's policy does: DeepSeek-V3's router biases are frozen and no expert loads are counted.
 *
 * Not here: the losses (./pair_losses.ts), the data (./pairs.ts), what the final model is and where it goes (the
 * objective's `save`).
 */
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { AdamW, clipGradNorm } from '../optim/adamw.js';
import { loadCheckpoint, latestCheckpoint } from '../train/checkpoint.js';
import type { ResumeRule, RunDir } from '../train/run_dir.js';
import { type StopSignal, yieldToEventLoop } from '../train/signals.js';
import { type NumberRange, checkRange } from '../tensor/range.js';
import { drainBufferPool, withMicroBatchPool } from '../tensor/pool.js';
import { type ProgressSink, progressOutput } from '../util/progress.js';
import { type PairMetrics, type PairStats, addStats, noStats, pairMetrics } from './pair_losses.js';
import { batchesPerEpoch, stepBatch } from './pairs.js';

/** Settings of the loop. */
export interface PairTrainConfig {
  /** Passes over the training pairs. */
  epochs: number;
  /** Pairs per optimizer step (the last step of an epoch may have fewer). */
  batchSize: number;
  /** Pairs per forward/backward pass (gradient accumulation inside a step). */
  microBatch: number;
  /** Peak learning rate. */
  lr: number;
  /** Share of the steps spent warming up linearly to `lr` (then linear decay to 0). */
  warmup: number;
  weightDecay: number;
  maxGradNorm: number;
  /** Seed of the pair order (and of a new reward head). */
  seed: number;
  /** Held-out evaluation every N steps (0: at the start and the end only). */
  evalEvery: number;
  checkpointEvery: number;
  keepCheckpoints: number;
}

/** The ranges of the numeric settings (the CLI's flags use them). */
export const PAIR_TRAIN_RANGES: Readonly<Record<keyof PairTrainConfig, NumberRange>> = {
  epochs: { min: 1, max: 10_000, integer: true },
  batchSize: { min: 1, max: 65_536, integer: true },
  microBatch: { min: 1, max: 4096, integer: true },
  lr: { min: 0, max: 1, minExclusive: true },
  warmup: { min: 0, max: 0.5 },
  weightDecay: { min: 0, max: 1 },
  maxGradNorm: { min: 0, max: Infinity, minExclusive: true },
  seed: { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true },
  evalEvery: { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true },
  checkpointEvery: { min: 1, max: Number.MAX_SAFE_INTEGER, integer: true },
  keepCheckpoints: { min: 1, max: 1000, integer: true },
};

/** Checks every setting against PAIR_TRAIN_RANGES (errors name the setting). */
export function checkPairTrainConfig(c: PairTrainConfig, who: string): PairTrainConfig {
  for (const [k, r] of Object.entries(PAIR_TRAIN_RANGES)) checkRange(who, k, c[k as keyof PairTrainConfig], r);
  return c;
}

/**
 * What may change when a pairwise run resumes: its length (epochs), the learning rate, the micro-batch size, and the
 * evaluation and checkpoint settings. Flags are the CLI's.
 */
export const PAIR_RESUME_MUTABLE = [
  'train.epochs',
  'train.lr',
  'train.microBatch',
  'train.evalEvery',
  'train.checkpointEvery',
  'train.keepCheckpoints',
] as const;

/** The flags of the shared settings, for resume messages. */
export const PAIR_FLAGS: Readonly<Record<string, string>> = {
  model: '--model',
  data: '--data',
  valData: '--val-data',
  valShare: '--val-share',
  maxLength: '--max-length',
  'train.epochs': '--epochs',
  'train.batchSize': '--batch-size',
  'train.microBatch': '--micro-batch',
  'train.lr': '--lr',
  'train.warmup': '--warmup',
  'train.seed': '--seed',
  'train.evalEvery': '--eval-every',
};

/** The resume rule of a pairwise command, with its own extra flags. */
export function pairResumeRule(extraFlags: Record<string, string> = {}): ResumeRule {
  return { mutable: PAIR_RESUME_MUTABLE, flags: { ...PAIR_FLAGS, ...extraFlags } };
}

/** The learning rate of (0-based) step `s` of `steps`: linear warmup over `warmup` x steps, then linear decay to 0. */
export function pairLrAt(c: Pick<PairTrainConfig, 'lr' | 'warmup'>, s: number, steps: number): number {
  const warm = Math.round(c.warmup * steps);
  if (s < warm) return (c.lr * (s + 1)) / warm;
  return (c.lr * (steps - s)) / Math.max(1, steps - warm);
}

/** What one pairwise method computes; the loop drives it. */
export interface PairObjective {
  /** What a checkpoint holds. */
  module: Module;
  /** The parameters the optimizer updates (names as in `module`'s state dict). */
  params: [string, Tensor][];
  /** Forward and backward of training pairs `idx`, the loss scaled by `weight` before backward; the pairs' stats. */
  trainMicro(idx: readonly number[], weight: number): PairStats;
  /** Statistics of the held-out pairs (no gradient), or null when there are none. */
  evaluate(): PairStats | null;
  /** Writes the final model into `dir`. */
  save(dir: string): void;
  /** Short name in logs ('rm', 'dpo'). */
  name: string;
  /** What the per-pair values are called in logs: 'score' (reward model), 'reward' (DPO's implicit reward). */
  valueName: string;
}

/** One line of metrics.jsonl. */
export interface PairStepMetrics extends PairMetrics {
  step: number;
  epoch: number;
  lr: number;
  gradNorm: number;
  ms: number;
  /** Held-out statistics, on evaluation steps. */
  val?: PairMetrics;
}

export interface PairTrainArgs {
  run: RunDir;
  objective: PairObjective;
  /** Number of training pairs. */
  trainPairs: number;
  config: PairTrainConfig;
  /** Messages; without `progress`, a step line every ~steps/25 steps too. With neither, a progress line on stdout. */
  log?: (line: string) => void;
  /** Step progress (a live line on a terminal, a line every N steps on a pipe); messages then go to `log`. */
  progress?: ProgressSink | null;
}

export interface PairTrainResult {
  steps: number;
  /** Held-out statistics before the first step (null without held-out pairs). */
  before: PairMetrics | null;
  /** Held-out statistics after the last step (null without held-out pairs, or when stopped). */
  after: PairMetrics | null;
  history: PairStepMetrics[];
  stopped: StopSignal | null;
  modelDir: string;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** "acc 93.8%  margin 2.41 (chosen 1.20, rejected -1.21)" */
export function describeMetrics(m: PairMetrics, valueName: string): string {
  return `loss ${m.loss.toFixed(4)}  acc ${pct(m.accuracy)}  margin ${m.margin.toFixed(3)} (${valueName} chosen ${m.chosen.toFixed(3)}, rejected ${m.rejected.toFixed(3)})`;
}

/** The key numbers of a step for a progress line (held-out accuracy on evaluation steps). */
function progressFields(m: PairStepMetrics): Record<string, string> {
  return {
    loss: m.loss.toFixed(4),
    acc: pct(m.accuracy),
    margin: m.margin.toFixed(3),
    ...(m.val ? { 'val acc': pct(m.val.accuracy) } : {}),
    lr: m.lr.toExponential(2),
  };
}

/** Runs (or resumes) the loop in `a.run`, whose settings the caller has recorded or checked. */
export async function trainPairs(a: PairTrainArgs): Promise<PairTrainResult> {
  const { run, objective: obj, config: c } = a;
  const { log, progress } = progressOutput(a.log, a.progress);
  const N = a.trainPairs;
  if (N === 0) throw new Error(`${obj.name}: no training pairs`);
  const steps = c.epochs * batchesPerEpoch(N, c.batchSize);
  const opt = new AdamW(obj.params, { lr: c.lr, weightDecay: c.weightDecay });
  let step = 0;
  let before: PairMetrics | null = null;
  const evaluate = (): PairMetrics | null => {
    const s = obj.evaluate();
    return s ? pairMetrics(s) : null;
  };
  if (run.mode === 'resume') {
    const last = run.loadLatestCheckpoint((dir) => {
      const s = loadCheckpoint(dir, obj.module, opt) as unknown as { pairs?: { step: number } };
      if (!s.pairs) throw new Error(`checkpoint ${dir}/state.json has no "pairs" state`);
      return s.pairs.step;
    });
    step = last.value;
    if (steps < step)
      throw new Error(
        `${run.command} --resume: --epochs ${c.epochs} makes ${steps} steps, below step ${step} where the run resumes`,
      );
    const kept = run.prepareMetrics(step);
    before = (kept.find((r) => r.step === 0)?.val as PairMetrics | undefined) ?? null;
    run.resumed(last.dir, step);
  } else {
    log(
      `${obj.name}: ${N} training pairs, ${c.epochs} epoch(s) of ${batchesPerEpoch(N, c.batchSize)} steps of ${c.batchSize} pairs (micro-batches of ${c.microBatch}), lr ${c.lr}, warmup ${c.warmup}`,
    );
    before = evaluate();
    if (before) {
      log(`held-out before: ${describeMetrics(before, obj.valueName)} (${before.pairs} pairs)`);
      const row: { step: number; val: PairMetrics } = { step: 0, val: before };
      run.appendMetrics(row);
    }
  }
  const save = () =>
    run.saveCheckpoint({
      step,
      model: obj.module,
      optimizer: opt,
      state: { pairs: { step }, config: c },
      keep: c.keepCheckpoints,
    });
  const history: PairStepMetrics[] = [];
  const logEvery = Math.max(1, Math.round(steps / 25));
  const params = obj.params.map(([, p]) => p);
  let lastVal: PairMetrics | null = null;
  progress?.begin(obj.name, steps, { from: step });
  try {
    while (step < steps) {
      if (run.handlesSignals) {
        await yieldToEventLoop();
        const stop = run.stopRequested();
        if (stop) {
          if (latestCheckpoint(run.checkpointsDir)?.step !== step) save();
          progress?.end();
          run.markStopped(stop, step);
          return { steps: step, before, after: null, history, stopped: stop, modelDir: run.modelDir };
        }
      }
      const t0 = performance.now();
      const { epoch, idx } = stepBatch(N, c.batchSize, c.seed, step);
      let stats = noStats();
      for (let s = 0; s < idx.length; s += c.microBatch) {
        const part = idx.slice(s, s + c.microBatch);
        stats = addStats(
          stats,
          withMicroBatchPool(params, () => obj.trainMicro(part, part.length / idx.length)),
        );
      }
      const gradNorm = clipGradNorm(params, c.maxGradNorm);
      if (!Number.isFinite(gradNorm))
        throw new Error(`${obj.name}: non-finite gradient norm at step ${step + 1} (lower --lr?)`);
      const lr = pairLrAt(c, step, steps);
      opt.step(lr);
      opt.zeroGrad();
      step++;
      const m: PairStepMetrics = { step, epoch, ...pairMetrics(stats), lr, gradNorm, ms: performance.now() - t0 };
      const evalNow = (c.evalEvery > 0 && step % c.evalEvery === 0) || step === steps;
      if (evalNow) {
        lastVal = evaluate();
        if (lastVal) m.val = lastVal;
      }
      run.appendMetrics(m);
      history.push(m);
      const line =
        `step ${String(step).padStart(String(steps).length)}/${steps}  epoch ${epoch + 1}  ${describeMetrics(m, obj.valueName)}  lr ${lr.toExponential(2)}  |g| ${gradNorm.toFixed(3)}  ${Math.round(m.ms)} ms` +
        (m.val ? `\n  held-out: ${describeMetrics(m.val, obj.valueName)} (${m.val.pairs} pairs)` : '');
      if (progress) progress.update(step, progressFields(m), line, m.val !== undefined);
      else if (step % logEvery === 0 || step === 1 || step === steps || m.val) log(line);
      if (step % c.checkpointEvery === 0 || step === steps) save();
    }
    const lastStep = history.at(-1);
    progress?.end(
      lastStep
        ? `loss ${lastStep.loss.toFixed(4)}, acc ${pct(lastStep.accuracy)}` +
            (lastVal ? `; held-out ${describeMetrics(lastVal, obj.valueName)}` : '')
        : 'nothing left to train',
    );
  } finally {
    drainBufferPool(); // the recycled activations of the last micro-batch
    progress?.end(); // an error: clears the live line (a no-op once the phase has ended)
  }
  const after = lastVal ?? evaluate();
  obj.save(run.modelDir);
  run.markFinished({
    steps: step,
    ...(before ? { before } : {}),
    ...(after ? { after } : {}),
    modelDir: run.modelDir,
  });
  return { steps: step, before, after, history, stopped: null, modelDir: run.modelDir };
}
