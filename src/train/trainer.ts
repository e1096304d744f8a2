/**
 * The pre-training loop: gradient accumulation over micro-batches, V3's LR schedule and batch ramp (scaled to the run),
 * global-norm clipping, AdamW, the aux-loss-free router-bias update after every optimizer step, the MTP and
 * balance losses, periodic validation, atomic checkpoints with exact resume, and loss-spike / non-finite rollback.
 *
 * Rollback: when a step's loss is a spike (see spike.ts) or its gradient norm is not finite, the update is not applied;
 * the model, optimizer and trainer state go back to the last checkpoint, while the data stream keeps its current
 * position, so the offending batches are skipped. Each rollback is logged; too many in a row is an error.
 *
 * Data parallelism (`workers` > 1): the micro-batches of a step are computed by this thread and workers - 1 worker
 * threads holding replicas of the model (./data_parallel.ts), with the same numbers as `workers: 1` bit for bit;
 * everything else (data, clipping, AdamW, rollback, checkpoints, validation) stays in this thread.
 *
 * The output directory follows the run-directory protocol (./run_dir.ts): a lock, no silent overwrite, the resume
 * rule `TRAIN_RESUME_RULE`, metrics.jsonl repair, the fallback past a corrupt checkpoint, and a stop at a step
 * boundary on Ctrl-C / SIGTERM when the run directory watches signals.
 */
import type { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../tensor/tensor.js';
import { getDefaultGenerator, type GeneratorState } from '../tensor/random.js';
import type { CausalLM } from '../models/causal_lm.js';
import { AdamW, clipGradNorm } from '../optim/adamw.js';
import { type ScheduleConfig, batchSizeAt, gammaAt, lrAt, mtpLambdaAt, scaledV3Schedule } from '../optim/schedule.js';
import { SpikeDetector, type SpikeOptions, type SpikeState } from './spike.js';
import { type Precision, setModelPrecision } from '../fp8/precision.js';
import { latestCheckpoint, loadCheckpoint } from './checkpoint.js';
import { DataParallel, type MicroBatch, runMicroBatch } from './data_parallel.js';
import { type ResumeRule, RunDir } from './run_dir.js';
import { type StopSignal, yieldToEventLoop } from './signals.js';
import { type ProgressSink, progressOutput } from '../util/progress.js';
import { drainBufferPool } from '../tensor/pool.js';

/** A deterministic stream of (inputs, targets) batches whose position can be saved and restored. */
export interface BatchSource {
  /** The next batch, or null when a finite source (a validation split) is exhausted. */
  next(batchSize: number): Batchish | null | Promise<Batchish | null>;
  position(): unknown;
  restore(position: unknown): void | Promise<void>;
}

export interface Batchish {
  inputs: Tensor;
  targets: Tensor;
}

export interface TrainConfig {
  /** Optimizer steps. */
  steps: number;
  /** Tokens per sequence. */
  seqLen: number;
  /** Sequences per optimizer step at the start and after the ramp (V3 ramps 3072 -> 15360). */
  batchStart: number;
  batchEnd: number;
  /** Sequences per forward pass (gradient accumulation splits a batch into these). */
  microBatch: number;
  peakLr: number;
  warmupSteps: number;
  /** Router bias speed; null = the schedule's (0.001, then 0 for the last 500B/14.8T of the run). */
  gamma: number | null;
  /** Sequence-wise balance loss weight (V3: 0.0001). */
  balanceAlpha: number;
  /** MTP weight; null = the schedule's (0.3, then 0.1). */
  mtpLambda: number | null;
  weightDecay: number;
  clip: number;
  evalEvery: number;
  evalBatches: number;
  checkpointEvery: number;
  keepCheckpoints: number;
  spike: SpikeOptions & { maxRollbacks: number };
  /** GEMMs of the Linear layers (src/fp8/precision.ts): 'fp32' (default), 'bf16' or 'fp8' (DeepSeek-V3's FP8). */
  precision?: Precision;
  /** AdamW moment storage: 'fp32' (default) or 'bf16' (DeepSeek-V3). */
  optimizerMoments?: 'fp32' | 'bf16';
  /**
   * Threads that compute micro-batches (default 1: this thread only). N > 1: this thread and N - 1 worker threads with
   * replicas of the model, one-thread kernels each; the same numbers as 1 (./data_parallel.ts).
   */
  workers?: number;
  /**
   * Flip the last mantissa bit of every initial weight before step 0 (a one-ulp nudge, zeros left alone;
   * `flipLastBits`): a run that differs from the unflipped one only in rounding-sized noise. The FP8 experiment trains
   * it to measure how far such noise alone moves the loss curve (its noise floor). Default false.
   */
  flipInitLastBit?: boolean;
}

export const DEFAULT_TRAIN_CONFIG: Omit<
  TrainConfig,
  'steps' | 'seqLen' | 'batchStart' | 'batchEnd' | 'microBatch' | 'peakLr' | 'warmupSteps'
> = {
  gamma: null,
  balanceAlpha: 0.0001,
  mtpLambda: null,
  weightDecay: 0.1,
  clip: 1.0,
  evalEvery: 50,
  evalBatches: 4,
  checkpointEvery: 50,
  keepCheckpoints: 3,
  spike: { maxRollbacks: 5 },
};

export interface StepMetrics {
  step: number;
  tokens: number;
  loss: number;
  mainLoss: number;
  mtpLoss: number | null;
  balanceLoss: number;
  lr: number;
  batch: number;
  gradNorm: number;
  tokensPerSec: number;
  msPerStep: number;
  imbalance: number | null;
  valLoss?: number;
  event?: string;
}

export interface TrainArgs {
  /** The run directory; train() opens it (command 'train', settings `{ train: config }`) and closes it. */
  outDir?: string;
  /**
   * Instead of outDir: a run directory the caller opened (and closes), whose settings it checked; its mode says whether
   * this is a new run or a resume (`resume` is then ignored).
   */
  run?: RunDir;
  model: CausalLM;
  train: BatchSource;
  val?: BatchSource;
  config: TrainConfig;
  /** Continue from the latest checkpoint in outDir/checkpoints. */
  resume?: boolean;
  /** Start a new run in outDir even if it holds one (removing it). Without it, such a directory is an error. */
  overwrite?: boolean;
  /**
   * Human-readable lines. Without `progress`, every step's line too (one per step); with it, only the other messages
   * (default: the sink's). With neither, a terminal progress line on stdout (src/util/progress.ts).
   */
  log?: (line: string) => void;
  /** Where step progress goes (a live line on a terminal, a line every N steps on a pipe); see `log`. */
  progress?: ProgressSink | null;
  /** The name of the progress phase (default: the run directory's command, e.g. 'pretrain'). */
  phase?: string;
  /** Called after every step (tests use it to kill or inspect a run). */
  onStep?: (m: StepMetrics) => void;
  /** Extra JSON saved in each checkpoint (e.g. the CLI's options, to check a resume uses the same run). */
  meta?: Record<string, unknown>;
}

export interface TrainResult {
  steps: number;
  tokens: number;
  /** Main loss of the last step of the run (also when this call resumed a finished run and trained no step). */
  finalLoss: number;
  finalValLoss: number | null;
  rollbacks: number;
  /** The steps this call trained. */
  history: StepMetrics[];
  /** The signal that stopped the run before its last step (a checkpoint of `steps` was saved), or null. */
  stopped: StopSignal | null;
}

/**
 * What may change when a pre-training run resumes (run.json paths under `train`): its length, the peak learning
 * rate, the micro-batch (memory; the data position counts tokens) and the evaluation, checkpoint and rollback
 * settings. Everything else (sequence length, batch ramp, precision, optimizer, losses, ...) may not. `workers` is not
 * part of a run (the numbers do not depend on it) and is not recorded.
 */
export const TRAIN_RESUME_RULE: ResumeRule = {
  mutable: [
    'train.steps',
    'train.peakLr',
    'train.microBatch',
    'train.evalEvery',
    'train.evalBatches',
    'train.checkpointEvery',
    'train.keepCheckpoints',
    'train.spike.maxRollbacks',
  ],
};

/** The TrainConfig as run.json records it (without `workers`). */
export function recordedTrainConfig(c: TrainConfig): Omit<TrainConfig, 'workers'> {
  const { workers: _, ...rest } = c;
  return rest;
}

interface TrainerState {
  step: number;
  tokens: number;
  rng: GeneratorState;
  data: unknown;
  spike: SpikeState;
  rollbacks: number;
  lastValLoss: number | null;
}

/** Mean cross-entropy over `n` batches from a fixed starting position of the validation stream. */
export async function validationLoss(
  model: CausalLM,
  val: BatchSource,
  start: unknown,
  n: number,
  batch: number,
): Promise<number> {
  await val.restore(start);
  let s = 0;
  let count = 0;
  const wasTraining = model.training;
  model.eval();
  try {
    for (let i = 0; i < n; i++) {
      const b = await val.next(batch);
      if (!b) break;
      s += noGrad(() => model.computeLoss(b.inputs, b.targets)).mainLoss;
      count++;
    }
  } finally {
    model.train(wasTraining);
  }
  if (count === 0) throw new Error('train: the validation data is empty (no batch of the requested size)');
  return s / count;
}

/**
 * XORs the lowest mantissa bit of every float32 element of `tensors`, in place: each value moves by one ulp (up or
 * down, as its last bit says). Zeros and the smallest subnormal (which would become zero) are left alone, so that
 * flipping twice restores every value. `TrainConfig.flipInitLastBit`.
 */
export function flipLastBits(tensors: readonly Tensor[]): void {
  for (const t of tensors) {
    if (!(t.data instanceof Float32Array)) throw new TypeError(`flipLastBits: float32 tensors only (got ${t.dtype})`);
    const u = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
    for (let i = 0; i < u.length; i++) if ((u[i] & 0x7fffffff) > 1) u[i] ^= 1;
  }
}

/** Runs (or resumes) pre-training. */
export async function train(a: TrainArgs): Promise<TrainResult> {
  const { log, progress } = progressOutput(a.log, a.progress);
  if (a.run) return trainIn(a.run, a, log, progress);
  if (!a.outDir) throw new Error('train: give outDir or run');
  const run = RunDir.open({
    dir: a.outDir,
    command: 'train',
    mode: a.resume ? 'resume' : a.overwrite ? 'overwrite' : 'new',
    log,
  });
  try {
    const settings = { train: recordedTrainConfig(a.config) };
    if (a.resume) run.resume(settings, TRAIN_RESUME_RULE);
    else run.start(settings);
    const r = await trainIn(run, a, log, progress);
    if (!r.stopped) run.markFinished(trainSummary(r));
    return r;
  } finally {
    run.close();
  }
}

/**
 * The LR / batch / gamma / MTP schedule of a run: V3's, scaled to its length (the ramp covers the same fraction of the
 * run as V3's 469B of 14.8T, measured in steps of the full batch).
 */
export function runSchedule(c: TrainConfig): ScheduleConfig {
  return scaledV3Schedule({
    totalTokens: c.steps * c.batchEnd * c.seqLen,
    peakLr: c.peakLr,
    warmupSteps: c.warmupSteps,
    batchStart: c.batchStart,
    batchEnd: c.batchEnd,
  });
}

/** Training rows (sequences of seqLen + 1 tokens) that `c.steps` steps read, batch ramp included. */
export function trainRowsNeeded(c: TrainConfig): number {
  const schedule = runSchedule(c);
  let rows = 0;
  let tokens = 0;
  for (let s = 0; s < c.steps; s++) {
    const b = batchSizeAt(schedule, tokens);
    rows += b;
    tokens += b * c.seqLen;
  }
  return rows;
}

/** run.json's summary of a finished pre-training run. */
export function trainSummary(r: TrainResult): Record<string, unknown> {
  return {
    steps: r.steps,
    tokens: r.tokens,
    finalLoss: r.finalLoss,
    finalValLoss: r.finalValLoss,
    rollbacks: r.rollbacks,
  };
}

/** The key numbers of a step for a progress line. */
function progressFields(m: StepMetrics): Record<string, string> {
  return {
    loss: m.mainLoss.toFixed(4),
    ...(m.mtpLoss !== null ? { mtp: m.mtpLoss.toFixed(4) } : {}),
    ...(m.valLoss !== undefined ? { val: m.valLoss.toFixed(4) } : {}),
    'tok/s': Math.round(m.tokensPerSec).toLocaleString('en-US'),
    lr: m.lr.toExponential(2),
  };
}

async function trainIn(
  run: RunDir,
  a: TrainArgs,
  log: (line: string) => void,
  progress: ProgressSink | null,
): Promise<TrainResult> {
  const c = a.config;
  const model = a.model;
  const ckptRoot = run.checkpointsDir;
  const schedule = runSchedule(c);
  if (c.precision) setModelPrecision(model, c.precision);
  const params = model.namedParameters();
  const opt = new AdamW(params, { lr: c.peakLr, weightDecay: c.weightDecay, moments: c.optimizerMoments });
  const detector = new SpikeDetector(c.spike);
  const valStart = a.val?.position();

  let st: TrainerState = {
    step: 0,
    tokens: 0,
    rng: getDefaultGenerator().getState(),
    data: a.train.position(),
    spike: detector.state,
    rollbacks: 0,
    lastValLoss: null,
  };

  const snapshotState = (): Record<string, unknown> => ({
    trainer: { ...st, rng: getDefaultGenerator().getState(), data: a.train.position(), spike: { ...detector.state } },
    modelConfig: model.config,
    trainConfig: c,
    meta: a.meta ?? {},
  });

  const loadFrom = (dir: string): { trainer: TrainerState } => {
    const s = loadCheckpoint(dir, model, opt) as unknown as { trainer?: TrainerState };
    if (!s.trainer) throw new Error(`checkpoint ${dir}/state.json has no "trainer" state`);
    return s as { trainer: TrainerState };
  };
  const restoreFrom = async (dir: string | { trainer: TrainerState }, keepData: boolean): Promise<void> => {
    const s = typeof dir === 'string' ? loadFrom(dir) : dir;
    const dataPos = a.train.position();
    st = { ...s.trainer };
    getDefaultGenerator().setState(st.rng);
    detector.state = { ...st.spike };
    if (keepData) st.data = dataPos;
    else await a.train.restore(st.data);
  };

  // metrics of the steps before this call (a resume): the final loss of a resumed finished run comes from them
  let earlier: StepMetrics[] = [];
  if (run.mode === 'resume') {
    const last = run.loadLatestCheckpoint(loadFrom);
    await restoreFrom(last.value, false);
    if (c.steps < st.step)
      throw new Error(`${run.command} --resume: --steps ${c.steps} is below step ${st.step}, where the run resumes`);
    // drop metrics written after the checkpoint, so the resumed file reads like an uninterrupted run's
    earlier = run.prepareMetrics(st.step) as unknown as StepMetrics[];
    run.resumed(last.dir, st.step, ` (${st.tokens.toLocaleString('en-US')} tokens)`);
  } else {
    if (c.flipInitLastBit) flipLastBits(params.map(([, p]) => p));
    // step-0 checkpoint: the first rollback target
    run.saveCheckpoint({ step: 0, model, optimizer: opt, state: snapshotState(), keep: c.keepCheckpoints });
  }

  const history: StepMetrics[] = [];
  const writeMetrics = (m: StepMetrics) => run.appendMetrics(m);
  const save = () =>
    run.saveCheckpoint({ step: st.step, model, optimizer: opt, state: snapshotState(), keep: c.keepCheckpoints });
  let stopped: StopSignal | null = null;
  let consecutiveRollbacks = 0;
  progress?.begin(a.phase ?? run.command, c.steps, { from: st.step });
  const dp =
    (c.workers ?? 1) > 1 ? await DataParallel.create({ model, workers: c.workers!, precision: c.precision }) : null;
  try {
    while (st.step < c.steps) {
      // Ctrl-C / SIGTERM (when the run directory watches them): stop between steps, with a checkpoint of this one
      if (run.handlesSignals) {
        await yieldToEventLoop();
        stopped = run.stopRequested();
        if (stopped) {
          if (latestCheckpoint(ckptRoot)?.step !== st.step) save();
          progress?.end();
          run.markStopped(stopped, st.step);
          break;
        }
      }
      const t0 = performance.now();
      const batch = batchSizeAt(schedule, st.tokens);
      const lr = lrAt(schedule, st.step, st.tokens);
      const lambda = c.mtpLambda ?? mtpLambdaAt(schedule, st.tokens);
      const gamma = c.gamma ?? gammaAt(schedule, st.tokens);
      let loss = 0;
      let main = 0;
      let mtp = 0;
      let bal = 0;
      let hasMtp = false;
      model.train();
      const micro: MicroBatch[] = [];
      for (let done = 0; done < batch; ) {
        const mb = Math.min(c.microBatch, batch - done);
        const b = await a.train.next(mb);
        if (!b) throw new Error('train: the training data ran out (the source returned no batch)');
        micro.push({ inputs: b.inputs, targets: b.targets, weight: mb / batch });
        done += mb;
      }
      const settings = { balanceAlpha: c.balanceAlpha, mtpLambda: lambda };
      const results = dp ? await dp.run(micro, settings) : micro.map((m) => runMicroBatch(model, m, settings));
      results.forEach((r, i) => {
        const w = micro[i].weight;
        loss += r.loss * w;
        main += r.mainLoss * w;
        bal += r.balanceLoss * w;
        if (r.mtpLoss !== null) {
          hasMtp = true;
          mtp += r.mtpLoss * w;
        }
      });
      const gradNorm = clipGradNorm(
        params.map(([, p]) => p),
        c.clip,
      );
      const spike = detector.isSpike(main) || !Number.isFinite(gradNorm);
      if (spike) {
        opt.zeroGrad();
        const last = latestCheckpoint(ckptRoot);
        consecutiveRollbacks++;
        const why = !Number.isFinite(main)
          ? `non-finite loss ${main}`
          : !Number.isFinite(gradNorm)
            ? `non-finite gradient norm ${gradNorm}`
            : `loss ${main.toFixed(4)} far above its running mean ${detector.state.mean.toFixed(4)}`;
        if (consecutiveRollbacks > c.spike.maxRollbacks || !last) {
          throw new Error(
            `train: step ${st.step + 1}: ${why}; gave up after ${consecutiveRollbacks - 1} rollbacks in a row`,
          );
        }
        const skippedAt = st.step + 1;
        await restoreFrom(last.dir, true);
        st.rollbacks++;
        const ev: StepMetrics = {
          step: skippedAt,
          tokens: st.tokens,
          loss,
          mainLoss: main,
          mtpLoss: hasMtp ? mtp : null,
          balanceLoss: bal,
          lr,
          batch,
          gradNorm,
          tokensPerSec: 0,
          msPerStep: performance.now() - t0,
          imbalance: null,
          event: `rollback to step ${last.step}: ${why}; skipped the batch(es) of step ${skippedAt}`,
        };
        log(`step ${skippedAt}: SPIKE (${why}) -> rolled back to step ${last.step}, skipping its batch(es)`);
        writeMetrics(ev);
        history.push(ev);
        continue;
      }
      consecutiveRollbacks = 0;
      opt.step(lr);
      opt.zeroGrad();
      const { imbalance } = model.afterStep({ gamma });
      detector.observe(main);
      st.step++;
      st.tokens += batch * c.seqLen;
      const ms = performance.now() - t0;
      const m: StepMetrics = {
        step: st.step,
        tokens: st.tokens,
        loss,
        mainLoss: main,
        mtpLoss: hasMtp ? mtp : null,
        balanceLoss: bal,
        lr,
        batch,
        gradNorm,
        tokensPerSec: (batch * c.seqLen) / (ms / 1000),
        msPerStep: ms,
        imbalance,
      };
      if (a.val && (st.step % c.evalEvery === 0 || st.step === c.steps)) {
        m.valLoss = await validationLoss(model, a.val, valStart, c.evalBatches, c.microBatch);
        st.lastValLoss = m.valLoss;
      }
      writeMetrics(m);
      history.push(m);
      const line =
        `step ${String(st.step).padStart(String(c.steps).length)}/${c.steps}  loss ${main.toFixed(4)}` +
        (m.mtpLoss !== null ? `  mtp ${m.mtpLoss.toFixed(4)}` : '') +
        (m.valLoss !== undefined ? `  val ${m.valLoss.toFixed(4)}` : '') +
        `  lr ${lr.toExponential(2)}  ${Math.round(m.tokensPerSec)} tok/s  ${Math.round(ms)} ms/step` +
        (imbalance !== null ? `  imbalance ${imbalance.toFixed(2)}` : '');
      if (progress) progress.update(st.step, progressFields(m), line, m.valLoss !== undefined);
      else log(line);
      a.onStep?.(m);
      if (st.step % c.checkpointEvery === 0 || st.step === c.steps) save();
    }
    const last = [...history].reverse().find((h) => !h.event);
    if (!stopped && last)
      progress?.end(
        `loss ${last.mainLoss.toFixed(4)}${st.lastValLoss !== null ? `, val ${st.lastValLoss.toFixed(4)}` : ''}` +
          `, ${st.tokens.toLocaleString('en-US')} tokens, ${st.rollbacks} rollback(s)`,
      );
  } finally {
    await dp?.close();
    drainBufferPool(); // the recycled activations of the last micro-batch
    progress?.end(); // an error: clears the live line (a no-op once the phase has ended)
  }
  const lastTrain = [...earlier, ...history].reverse().find((h) => !h.event);
  return {
    steps: st.step,
    tokens: st.tokens,
    finalLoss: lastTrain?.mainLoss ?? NaN,
    finalValLoss: st.lastValLoss,
    rollbacks: st.rollbacks,
    history,
    stopped,
  };
}
