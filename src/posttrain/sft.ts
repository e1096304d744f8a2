import type { CausalLM, LossResult } from '../models/causal_lm.js';
import { AdamW, clipGradNorm } from '../optim/adamw.js';
import { lrAt, scaledV3Schedule, warmupCosineLrAt } from '../optim/schedule.js';
import { mul } from '../tensor/ops/elementwise.js';
import { crossEntropy } from '../tensor/ops/nn.js';
import { getDefaultGenerator, type GeneratorState } from '../tensor/random.js';
import { noGrad } from '../tensor/tensor.js';
import { type NumberRange, checkRange } from '../tensor/range.js';
import { drainBufferPool, withMicroBatchPool } from '../tensor/pool.js';
import { latestCheckpoint, loadCheckpoint } from '../train/checkpoint.js';
import type { ResumeRule, RunDir } from '../train/run_dir.js';
import { type StopSignal, yieldToEventLoop } from '../train/signals.js';
import { type ProgressSink, progressOutput } from '../util/progress.js';
import {
  type PackPosition,
  type PackedBatch,
  PackedStream,
  type SftSample,
  buildBatch,
  packedBatches,
} from './packing.js';

/** The learning-rate schedules: R1/V3's SFT cosine, a constant rate, or V3's pre-training schedule scaled to the run. */
export const LR_SCHEDULES = ['cosine', 'constant', 'v3'] as const;
export type LrSchedule = (typeof LR_SCHEDULES)[number];

export interface SftConfig {
  /** Positions per packed row, T (a sample of n tokens takes n - 1). */
  seqLen: number;
  /** Rows per optimizer step. */
  batch: number;
  /** Rows per forward pass (gradient accumulation over the rest of the step). */
  microBatch: number;
  /** Passes over the training samples, each in a new shuffled order (R1's stage 3: 2). */
  epochs: number;
  /** Stop after this many optimizer steps (null: when the epochs end). */
  maxSteps: number | null;
  /** Peak learning rate (R1's SFT: 5e-5 for the 671B model; tiny models need far more). */
  lr: number;
  schedule: LrSchedule;
  /** Warm-up as a share of the run's steps. */
  warmup: number;
  /** `cosine` ends at lr * minLrRatio (R1: 5e-5 -> 5e-6, 0.1). */
  minLrRatio: number;
  weightDecay: number;
  /** Global gradient-norm clip. */
  clip: number;
  /** DeepSeek-V3's MTP loss weight (ignored by models without MTP). */
  mtpLambda: number;
  /** DeepSeek-V3's router-bias update speed (0 freezes the bias). */
  gamma: number;
  /** DeepSeek-V3's sequence-wise balance loss weight (a packed row counts as the sequence). */
  balanceAlpha: number;
  /** Seed of the epochs' shuffles. */
  seed: number;
  /** Open rows of the first-fit packing. */
  window: number;
  /** Validation every N steps (and before the first and after the last). */
  evalEvery: number;
  checkpointEvery: number;
  keepCheckpoints: number;
  /** Samples longer than seqLen + 1 tokens: cut to their first seqLen + 1 (true) or skipped (false). */
  truncate: boolean;
}

export const DEFAULT_SFT_CONFIG: SftConfig = {
  seqLen: 1024,
  batch: 8,
  microBatch: 2,
  epochs: 2,
  maxSteps: null,
  lr: 5e-5,
  schedule: 'cosine',
  warmup: 0.03,
  minLrRatio: 0.1,
  weightDecay: 0.1,
  clip: 1.0,
  mtpLambda: 0.1,
  gamma: 0.001,
  balanceAlpha: 0.0001,
  seed: 0,
  window: 16,
  evalEvery: 50,
  checkpointEvery: 50,
  keepCheckpoints: 3,
  truncate: false,
};

/** Ranges of the numeric settings (the CLI's flags use the same). */
export const SFT_RANGES: Readonly<Record<string, NumberRange>> = {
  seqLen: { min: 2, max: 1 << 20, integer: true },
  batch: { min: 1, max: 1 << 16, integer: true },
  microBatch: { min: 1, max: 4096, integer: true },
  epochs: { min: 1, max: 10_000, integer: true },
  maxSteps: { min: 1, max: 10_000_000, integer: true },
  lr: { min: 0, max: Infinity, minExclusive: true },
  warmup: { min: 0, max: 1 },
  minLrRatio: { min: 0, max: 1 },
  weightDecay: { min: 0, max: Infinity },
  clip: { min: 0, max: Infinity, minExclusive: true },
  mtpLambda: { min: 0, max: Infinity },
  gamma: { min: 0, max: Infinity },
  balanceAlpha: { min: 0, max: Infinity },
  seed: { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true },
  window: { min: 1, max: 4096, integer: true },
  evalEvery: { min: 1, max: 10_000_000, integer: true },
  checkpointEvery: { min: 1, max: 10_000_000, integer: true },
  keepCheckpoints: { min: 1, max: 1000, integer: true },
};

/** `--seq-len` for `seqLen`: the CLI flag of a setting. */
export function sftFlag(key: string): string {
  return `--${key.replace(/[A-Z]/g, (x) => `-${x.toLowerCase()}`)}`;
}

/**
 * `base` with `over` applied (undefined values ignored), checked: unknown keys, wrong types and values out of range
 * are one-line errors naming the setting by its flag (`sft: --micro-batch must be ...`).
 */
export function resolveSftConfig(over: Partial<SftConfig>, base: SftConfig = DEFAULT_SFT_CONFIG): SftConfig {
  const c: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    if (!(k in DEFAULT_SFT_CONFIG))
      throw new Error(`sft: unknown setting '${k}' (known: ${Object.keys(DEFAULT_SFT_CONFIG).join(', ')})`);
    c[k] = v;
  }
  const r = c as unknown as SftConfig;
  for (const [k, range] of Object.entries(SFT_RANGES)) {
    const v = c[k];
    if (v === null && k === 'maxSteps') continue;
    if (typeof v !== 'number') throw new Error(`sft: ${sftFlag(k)} must be a number, got ${JSON.stringify(v)}`);
    checkRange('sft', sftFlag(k), v, range);
  }
  if (!(LR_SCHEDULES as readonly string[]).includes(r.schedule))
    throw new Error(`sft: --schedule must be one of ${LR_SCHEDULES.join(', ')}, got ${JSON.stringify(r.schedule)}`);
  if (typeof r.truncate !== 'boolean') throw new Error(`sft: 'truncate' must be true or false`);
  if (r.microBatch > r.batch)
    throw new Error(`sft: --micro-batch ${r.microBatch} is more than --batch ${r.batch} (rows per step)`);
  return r;
}

/**
 * What may change when an SFT run resumes (run.json paths): its length (--epochs, --max-steps; the schedule stretches
 * to the new length), --lr, --micro-batch (memory; the sum over micro-batches is reordered), the validation and
 * checkpoint intervals and the quality evaluation. The model, data, tokenizer, packing, seed and the rest of the
 * objective may not.
 */
export const SFT_RESUME_RULE: ResumeRule = {
  mutable: [
    'config.epochs',
    'config.maxSteps',
    'config.lr',
    'config.microBatch',
    'config.evalEvery',
    'config.checkpointEvery',
    'config.keepCheckpoints',
    'eval',
  ],
  flags: {
    model: '--model',
    tokenizer: '--tokenizer',
    data: '--data',
    valData: '--val-data',
    valShare: '--val-share',
    skipBad: '--skip-bad',
    'eval.tasks': '--eval-tasks',
    'eval.n': '--eval-n',
    'eval.maxTokens': '--eval-max-tokens',
    ...Object.fromEntries(Object.keys(DEFAULT_SFT_CONFIG).map((k) => [`config.${k}`, sftFlag(k)])),
  },
};

/** Learning rate at optimizer step `step` (0-based) of a run of `totalSteps`. */
export function sftLrAt(
  c: Pick<SftConfig, 'lr' | 'schedule' | 'warmup' | 'minLrRatio'>,
  step: number,
  totalSteps: number,
): number {
  const warmupSteps = Math.round(c.warmup * totalSteps);
  if (c.schedule === 'cosine')
    return warmupCosineLrAt({ totalSteps, peakLr: c.lr, warmupSteps, minRatio: c.minLrRatio }, step);
  if (c.schedule === 'constant') return step < warmupSteps ? (c.lr * (step + 1)) / warmupSteps : c.lr;
  // V3's pre-training phases compressed to the run, in steps (one "token" per step)
  const s = scaledV3Schedule({ totalTokens: totalSteps, peakLr: c.lr, warmupSteps, batchStart: 1, batchEnd: 1 });
  return lrAt(s, step, step);
}

/** One line of metrics.jsonl. */
export interface SftStepMetrics {
  step: number;
  /** Epochs done (1.5: half-way through the second). */
  epoch: number;
  /** Mean cross-entropy over the step's assistant tokens. */
  loss: number;
  /** DeepSeek-V3's MTP loss (token-weighted over micro-batches), null without MTP. */
  mtpLoss: number | null;
  balanceLoss: number;
  lr: number;
  /** Gradient norm before clipping. */
  gradNorm: number;
  /** Assistant tokens (targets with loss) of the step. */
  tokens: number;
  /** Non-padding positions of the step per second. */
  tokensPerSec: number;
  msPerStep: number;
  /** DeepSeek-V3's expert load imbalance (max / mean), null without MoE. */
  imbalance: number | null;
  /** Mean cross-entropy over the held-out samples' assistant tokens. */
  valLoss?: number;
}

/**
 * The SFT objective of one packed micro-batch: the mean cross-entropy over its assistant tokens, plus DeepSeek-V3's
 * MTP loss (lambda-weighted; the model masks MTP targets across samples) and balance loss (a row is the sequence).
 */
export function sftLoss(model: CausalLM, b: PackedBatch, c: Pick<SftConfig, 'mtpLambda' | 'balanceAlpha'>): LossResult {
  return model.computeLoss(b.inputs, b.targets, {
    segments: b.segments,
    mtpLambda: c.mtpLambda,
    balanceAlpha: c.balanceAlpha,
  });
}

/** Mean cross-entropy over the assistant tokens of `batches` (token-weighted), without gradient. */
export function heldOutLoss(model: CausalLM, batches: readonly PackedBatch[]): number {
  const wasTraining = model.training;
  model.eval();
  let sum = 0;
  let n = 0;
  try {
    for (const b of batches) {
      // the main head only (no MTP pass): reduction 'sum' over the assistant tokens
      const ce = noGrad(() =>
        crossEntropy(model.forward(b.inputs, { segments: b.segments }).logits, b.targets, { reduction: 'sum' }).item(),
      );
      sum += ce;
      n += b.lossTokens;
    }
  } finally {
    model.train(wasTraining);
  }
  return n ? sum / n : Number.NaN;
}

export interface SftTrainArgs {
  /** The run directory (opened by the caller, which records or checks the settings); its mode says new or resume. */
  run: RunDir;
  model: CausalLM;
  train: readonly SftSample[];
  /** Held-out samples (validation loss), or none. */
  val?: readonly SftSample[];
  config: SftConfig;
  /** Input id of padding positions (default 0; they carry no loss and attend only to themselves). */
  padId?: number;
  /** A fingerprint of the training data: a resume with other data is refused (./sft_data.ts samplesFingerprint). */
  fingerprint?: string;
  /** Extra fields of the step-0 metrics row of a new run (e.g. the base model's quality checks). */
  initial?: Record<string, unknown>;
  /** Messages; without `progress`, a step line every ~total/40 steps too. With neither, a progress line on stdout. */
  log?: (line: string) => void;
  /** Step progress (a live line on a terminal, a line every N steps on a pipe); messages then go to `log`. */
  progress?: ProgressSink | null;
  onStep?: (m: SftStepMetrics) => void;
}

export interface SftResult {
  /** Optimizer steps done (the run's total unless stopped). */
  steps: number;
  totalSteps: number;
  /** The steps this call trained. */
  history: SftStepMetrics[];
  /** The step-0 row: validation loss before training (and the caller's `initial` fields). */
  initial: Record<string, unknown> | null;
  /** Loss of the last step of the run, NaN when none. */
  finalLoss: number;
  /** Validation loss after the last step, null without validation. */
  finalValLoss: number | null;
  /** The signal that stopped the run before its last step (a checkpoint was saved), or null. */
  stopped: StopSignal | null;
}

interface SftState {
  step: number;
  data: PackPosition;
  rng: GeneratorState;
  fingerprint: string | null;
  lastValLoss: number | null;
}

/** Runs (or resumes) SFT in an open run directory; see the file header. */
export async function runSft(a: SftTrainArgs): Promise<SftResult> {
  const { run, model } = a;
  const c = a.config;
  const { log, progress } = progressOutput(a.log, a.progress);
  const padId = a.padId ?? 0;
  const stream = new PackedStream(a.train, {
    seqLen: c.seqLen,
    batch: c.batch,
    epochs: c.epochs,
    seed: c.seed,
    window: c.window,
  });
  const total = Math.min(
    stream.stepsPerEpoch().reduce((s, n) => s + n, 0),
    c.maxSteps ?? Number.POSITIVE_INFINITY,
  );
  const val = a.val?.length
    ? packedBatches(a.val, { seqLen: c.seqLen, microBatch: c.microBatch, seed: c.seed, window: c.window, padId })
    : null;
  const params = model.namedParameters();
  const trainable = params.map(([, p]) => p);
  const opt = new AdamW(params, { lr: c.lr, weightDecay: c.weightDecay });
  let st: SftState = {
    step: 0,
    data: stream.position(),
    rng: getDefaultGenerator().getState(),
    fingerprint: a.fingerprint ?? null,
    lastValLoss: null,
  };
  const snapshot = (): Record<string, unknown> => ({
    sft: { ...st, data: stream.position(), rng: getDefaultGenerator().getState() },
    config: c,
    modelConfig: model.config,
  });
  const save = () =>
    run.saveCheckpoint({ step: st.step, model, optimizer: opt, state: snapshot(), keep: c.keepCheckpoints });

  let initial: Record<string, unknown> | null = null;
  let earlier: SftStepMetrics[] = [];
  if (run.mode === 'resume') {
    const last = run.loadLatestCheckpoint((dir) => {
      const s = loadCheckpoint(dir, model, opt) as unknown as { sft?: SftState };
      if (!s.sft) throw new Error(`checkpoint ${dir}/state.json has no "sft" state`);
      return s.sft;
    });
    st = { ...last.value };
    if (a.fingerprint && st.fingerprint && a.fingerprint !== st.fingerprint)
      throw new Error(
        `${run.command} --resume: the training samples differ from the run's (fingerprint ${a.fingerprint}, the run had ${st.fingerprint}): the data files, tokenizer or template changed`,
      );
    if (total < st.step)
      throw new Error(
        `${run.command} --resume: the run now has ${total} steps, below step ${st.step}, where it resumes`,
      );
    stream.restore(st.data);
    getDefaultGenerator().setState(st.rng);
    const rows = run.prepareMetrics(st.step);
    initial = rows.find((r) => r.step === 0) ?? null;
    earlier = rows.filter((r) => (r.step as number) > 0) as unknown as SftStepMetrics[];
    run.resumed(last.dir, st.step, ` of ${total}`);
  } else {
    initial = { step: 0, ...(val ? { valLoss: heldOutLoss(model, val) } : {}), ...a.initial };
    st.lastValLoss = (initial.valLoss as number | undefined) ?? null;
    run.appendMetrics(initial as { step: number });
    save(); // step 0: a run killed before its first checkpoint resumes from here
  }

  const history: SftStepMetrics[] = [];
  const every = Math.max(1, Math.ceil(total / 40)); // tens of lines per run on a pipe (without a progress sink)
  let stopped: StopSignal | null;
  progress?.begin(run.command, total, { from: st.step });
  try {
    stopped = await sftLoop();
  } finally {
    drainBufferPool(); // the recycled activations of the last micro-batch
    progress?.end(); // an error or a stop: clears the live line (a no-op once the phase has ended)
  }
  async function sftLoop(): Promise<StopSignal | null> {
    while (st.step < total) {
      if (run.handlesSignals) {
        await yieldToEventLoop();
        const stop = run.stopRequested();
        if (stop) {
          if (latestCheckpoint(run.checkpointsDir)?.step !== st.step) save();
          progress?.end();
          run.markStopped(stop, st.step);
          return stop;
        }
      }
      const t0 = performance.now();
      const step = stream.next();
      if (!step) throw new Error(`sft: the data ran out at step ${st.step + 1} of ${total}`);
      const micro: PackedBatch[] = [];
      for (let i = 0; i < step.rows.length; i += c.microBatch)
        micro.push(buildBatch(step.rows.slice(i, i + c.microBatch), c.seqLen, padId));
      const tokens = micro.reduce((s, b) => s + b.lossTokens, 0);
      const lr = sftLrAt(c, st.step, total);
      let loss = 0;
      let mtp = 0;
      let hasMtp = false;
      let bal = 0;
      model.train();
      for (const b of micro) {
        const w = b.lossTokens / tokens;
        const r = withMicroBatchPool(trainable, () => {
          const l = sftLoss(model, b, c);
          mul(l.loss, w).backward();
          return { mainLoss: l.mainLoss, balanceLoss: l.balanceLoss, mtpLosses: l.mtpLosses };
        });
        loss += r.mainLoss * w;
        bal += r.balanceLoss * w;
        if (r.mtpLosses.length) {
          hasMtp = true;
          mtp += (r.mtpLosses.reduce((s, x) => s + x, 0) / r.mtpLosses.length) * w;
        }
      }
      const gradNorm = clipGradNorm(trainable, c.clip);
      if (!Number.isFinite(gradNorm) || !Number.isFinite(loss))
        throw new Error(
          `sft: step ${st.step + 1}: loss ${loss}, gradient norm ${gradNorm} (not finite; lower --lr?). The last checkpoint is in ${run.checkpointsDir}`,
        );
      opt.step(lr);
      opt.zeroGrad();
      const { imbalance } = model.afterStep({ gamma: c.gamma });
      st.step++;
      const ms = performance.now() - t0;
      const filled = micro.reduce((s, b) => s + b.filled, 0);
      const m: SftStepMetrics = {
        step: st.step,
        epoch: step.epochsDone,
        loss,
        mtpLoss: hasMtp ? mtp : null,
        balanceLoss: bal,
        lr,
        gradNorm,
        tokens,
        tokensPerSec: filled / (ms / 1000),
        msPerStep: ms,
        imbalance,
      };
      if (val && (st.step % c.evalEvery === 0 || st.step === total)) {
        m.valLoss = heldOutLoss(model, val);
        st.lastValLoss = m.valLoss;
      }
      run.appendMetrics(m);
      history.push(m);
      if (progress) progress.update(st.step, progressFields(m), stepLine(m, total), m.valLoss !== undefined);
      else if (st.step % every === 0 || st.step === total || m.valLoss !== undefined) log(stepLine(m, total));
      a.onStep?.(m);
      if (st.step % c.checkpointEvery === 0 || st.step === total) save();
    }
    const lastStep = history.at(-1);
    progress?.end(
      lastStep
        ? `loss ${lastStep.loss.toFixed(4)}${st.lastValLoss !== null ? `, held-out ${st.lastValLoss.toFixed(4)}` : ''}, ` +
            `${history.reduce((n, h) => n + h.tokens, 0).toLocaleString('en-US')} assistant tokens`
        : 'nothing left to train',
    );
    return null;
  }
  const last = [...earlier, ...history].at(-1);
  return {
    steps: st.step,
    totalSteps: total,
    history,
    initial,
    finalLoss: last?.loss ?? Number.NaN,
    finalValLoss: st.lastValLoss,
    stopped,
  };
}

/** The key numbers of a step for a progress line. */
function progressFields(m: SftStepMetrics): Record<string, string> {
  return {
    loss: m.loss.toFixed(4),
    ...(m.valLoss !== undefined ? { val: m.valLoss.toFixed(4) } : {}),
    'tok/s': Math.round(m.tokensPerSec).toLocaleString('en-US'),
    lr: m.lr.toExponential(2),
  };
}

/** The readable line of a step. */
export function stepLine(m: SftStepMetrics, total: number): string {
  return (
    `step ${String(m.step).padStart(String(total).length)}/${total}  epoch ${m.epoch.toFixed(2)}  loss ${m.loss.toFixed(4)}` +
    (m.mtpLoss !== null ? `  mtp ${m.mtpLoss.toFixed(4)}` : '') +
    (m.valLoss !== undefined ? `  val ${m.valLoss.toFixed(4)}` : '') +
    `  lr ${m.lr.toExponential(2)}  |g| ${m.gradNorm.toFixed(3)}  ${m.tokens} tok  ${Math.round(m.tokensPerSec)} tok/s` +
    (m.imbalance !== null ? `  imbalance ${m.imbalance.toFixed(2)}` : '')
  );
}
