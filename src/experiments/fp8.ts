/**
 * The FP8 validation experiment (DeepSeek-V3 §3.3 / App. B.1; SPEC §2 "Validation"): train the same model from the
 * same seed on the same data in high precision (fp32 or bf16) and in FP8, then compare the loss curves, EMA-smoothed
 * with 0.9 as the paper does, and report the saved-activation bytes of each mode (as the Linear ops account them, and
 * as measured: the ArrayBuffer bytes the autograd graph holds after one forward pass, `measureGraphMemory`) and the
 * K = 4096 accumulation error with and without promotion. `r1ts experiment fp8` prints it. With `outDir` each toy run
 * is a kept run directory (OUT/<label>: reused when complete, resumed when interrupted), which is how ./fp8_seeds.ts
 * repeats the experiment over seeds; without it they train in a temporary directory.
 * `runFp8PresetExperiment` does the same with a pre-training preset's model and corpus through `pretrain`, one kept
 * (and resumable) run directory per precision.
 *
 * The data is `SyntheticSource`: a deterministic token stream with a learnable structure (a first-order rule and a
 * skip-one rule that needs attention), so runs need no files. The default model is `EXPERIMENT_MODEL`: a small
 * DeepSeek-V3 (MLA, one dense and one MoE layer with a shared expert, MTP) whose Linear inputs are at least 64 wide,
 * so that 1x128 tiles are mostly full as at real scale. The FP8 run uses V3's recipe: FP8 GEMMs for every Linear but
 * the head, BF16 AdamW moments (`moments` to change).
 *
 * A yardstick: on a toy model any change of numerics moves the loss curve by tenths of a percent while the loss falls
 * fast (a run reaches the same loss a few steps earlier or later); the runs are not chaotic (the noise-floor run
 * below stays within about 1e-3 of the baseline over 400 steps, on seeds 0-4), they respond smoothly to finite perturbations. So the
 * experiment also trains the other high precision (BF16 when the baseline is FP32, else FP32) and reports its gap to
 * the baseline: the FP8 gap is to be read against it. And it trains the baseline once more with every initial weight
 * one ulp off (`TrainConfig.flipInitLastBit`): that run's gap to the baseline is the noise floor, how far rounding-sized
 * noise alone moves the curve. Where the noise floor is above the 0.25% target (a run whose loss drops in steep,
 * chaotically timed phase changes, as the tiny preset's does), no precision can be judged against the target on that
 * run, FP32 itself included. While the runs train, the native thread pool (when the addon is loaded) has one thread
 * (restored afterwards): some native kernels split their sums by thread count, so this keeps the numbers the same on
 * every machine, whatever its core count.
 *
 * It lives in experiments/ because it trains models (train/, io/); the numerics it measures are src/fp8.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Tensor } from '../tensor/tensor.js';
import { Generator, manualSeed } from '../tensor/random.js';
import { DeepseekV3 } from '../models/deepseek_v3.js';
import { type DeepseekConfig, parseConfig } from '../models/config.js';
import { countParams } from '../models/params.js';
import {
  DEFAULT_TRAIN_CONFIG,
  type BatchSource,
  type StepMetrics,
  type TrainConfig,
  type TrainResult,
  recordedTrainConfig,
  train,
  trainSummary,
} from '../train/trainer.js';
import { RunDir, type Settings, describeConflicts, readRunRecord, settingsDiff } from '../train/run_dir.js';
import { pretrain } from '../train/pretrain.js';
import { getPreset } from '../train/presets.js';
import { latestCheckpoint } from '../train/checkpoint.js';
import { readConfigFile } from '../io/model_dir.js';
import { loadSafetensors } from '../io/safetensors.js';
import { nativeInfo, setNativeThreads } from '../backend/native/index.js';
import { type AccumulationErrorResult, accumulationError } from '../fp8/gemm.js';
import { type Fp8LinearOptions, type SavedActivationStats, savedActivations } from '../fp8/linear.js';
import { type Precision, type PrecisionOptions, PRECISIONS, setModelPrecision } from '../fp8/precision.js';
import { heldArrayBufferBytes } from '../tensor/memory.js';

/** EMA-smoothed curve, s_0 = x_0, s_t = beta s_{t-1} + (1 - beta) x_t (the paper smooths with 0.9). */
export function emaCurve(xs: readonly number[], beta = 0.9): number[] {
  const out: number[] = [];
  let s = xs[0];
  for (const x of xs) {
    s = beta * s + (1 - beta) * x;
    out.push(s);
  }
  return out;
}

/**
 * A deterministic synthetic token stream: token t+1 is perm1[token t] with probability 0.6, perm2[token t-1] with
 * probability 0.3 (needs attention to the token before), otherwise uniform. Batch i is a pure function of (seed, i).
 */
export class SyntheticSource implements BatchSource {
  private counter = 0;
  private readonly perm1: Int32Array;
  private readonly perm2: Int32Array;
  constructor(
    private readonly seed: number,
    private readonly seqLen: number,
    private readonly vocab: number,
  ) {
    if (!(vocab >= 2) || !(seqLen >= 1))
      throw new RangeError(`SyntheticSource: need vocab >= 2 and seqLen >= 1 (got ${vocab}, ${seqLen})`);
    const g = new Generator(seed ^ 0x5eed);
    const perm = (): Int32Array => {
      const p = Int32Array.from({ length: vocab }, (_, i) => i);
      const u = g.uniform(vocab, 'float64');
      for (let i = vocab - 1; i > 0; i--) {
        const j = Math.floor(u[i] * (i + 1));
        [p[i], p[j]] = [p[j], p[i]];
      }
      return p;
    };
    this.perm1 = perm();
    this.perm2 = perm();
  }
  next(batch: number): { inputs: Tensor; targets: Tensor } {
    const T = this.seqLen;
    const V = this.vocab;
    const g = new Generator(this.seed);
    g.setState({ seed: this.seed, counter: this.counter * 4096 });
    this.counter++;
    const u = g.uniform(batch * (T + 1) * 2, 'float64');
    const inputs = new Int32Array(batch * T);
    const targets = new Int32Array(batch * T);
    for (let b = 0; b < batch; b++) {
      const seq = new Int32Array(T + 1);
      for (let t = 0; t <= T; t++) {
        const r = u[(b * (T + 1) + t) * 2];
        const v = u[(b * (T + 1) + t) * 2 + 1];
        if (t >= 2 && r < 0.6) seq[t] = this.perm1[seq[t - 1]];
        else if (t >= 2 && r < 0.9) seq[t] = this.perm2[seq[t - 2]];
        else seq[t] = Math.floor(v * V);
      }
      inputs.set(seq.subarray(0, T), b * T);
      targets.set(seq.subarray(1), b * T);
    }
    return { inputs: new Tensor(inputs, [batch, T], 'int32'), targets: new Tensor(targets, [batch, T], 'int32') };
  }
  position(): unknown {
    return { counter: this.counter };
  }
  restore(p: unknown): void {
    const c = (p as { counter?: unknown } | null)?.counter;
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 0)
      throw new Error(`SyntheticSource.restore: bad position ${JSON.stringify(p)}`);
    this.counter = c;
  }
}

/** The experiment's model: a small DeepSeek-V3 (142K parameters + 94K in its MTP module) with Linear inputs 64-128 wide. */
export function experimentModelConfig(): DeepseekConfig {
  return parseConfig({
    model_type: 'deepseek_v3',
    vocab_size: 64,
    hidden_size: 64,
    intermediate_size: 128,
    moe_intermediate_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    n_routed_experts: 4,
    n_group: 2,
    topk_group: 1,
    num_experts_per_tok: 2,
    n_shared_experts: 1,
    first_k_dense_replace: 1,
    q_lora_rank: null,
    kv_lora_rank: 64,
    qk_nope_head_dim: 32,
    qk_rope_head_dim: 16,
    v_head_dim: 32,
    num_nextn_predict_layers: 1,
    max_position_embeddings: 64,
  }).config as DeepseekConfig;
}

export interface Fp8ExperimentOptions {
  /** Optimizer steps per run (default 400: the loss is still falling, but slowly enough for a stable gap). */
  steps?: number;
  /** The high-precision run (default 'fp32'). */
  baseline?: 'fp32' | 'bf16';
  /** Seed of the init, the data and the default RNG (default 0). */
  seed?: number;
  /** Sequences per step (default 8) and tokens per sequence (default 32). */
  batch?: number;
  seqLen?: number;
  /** Peak learning rate (default 3e-3; warm-up over the first 10% of steps). */
  lr?: number;
  /** AdamW moments of the FP8 run (default 'bf16', as V3; the baseline keeps fp32). */
  moments?: 'fp32' | 'bf16';
  /** Also train the reference run (the other high precision; default true). */
  reference?: boolean;
  /** Also train the noise-floor run (the baseline with every initial weight one ulp off; default true). */
  noiseFloor?: boolean;
  /** Model config (default `experimentModelConfig()`). */
  config?: DeepseekConfig;
  /** FP8 GEMM options (scales, accumulator, N_C). */
  fp8?: Fp8LinearOptions;
  /** V3's FP8 special cases (E5M6 attention-output cache, SwiGLU recompute, FP8 dispatch; default true). */
  specialCases?: boolean;
  /** K of the accumulation check (default 4096). */
  gemmK?: number;
  /**
   * Where the runs go, one run directory per run (OUT/<label>), kept: a completed run there is reused, an interrupted
   * one resumed from its last checkpoint, and a directory holding another run is an error that names the difference.
   * Default: a temporary directory, removed afterwards.
   */
  outDir?: string;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface Fp8RunSummary {
  /** The run's name: its precision, or `<baseline>-ulp` for the noise-floor run. */
  label: string;
  precision: Precision;
  moments: 'fp32' | 'bf16';
  /** Main next-token loss of every step. */
  losses: number[];
  finalLoss: number;
  finalEma: number;
  msPerStep: number;
  /** Linear inputs kept for backward in one training forward pass (one micro-batch). */
  saved: SavedActivationStats;
}

/** What one training forward pass keeps for the backward pass, in one precision. */
export interface GraphMemory {
  precision: Precision;
  /**
   * Bytes of ArrayBuffers (tensor data, FP8 codes, scales) that stay alive after the forward pass while the loss is
   * referenced: forced full GC before and after (src/tensor/memory.ts). Everything the graph keeps: Linear inputs,
   * attention, norms, logits, the FP8 weight copies.
   */
  graphBytes: number;
  /** The Linear inputs' share, as the Linear ops account it (`savedActivations`). */
  saved: SavedActivationStats;
}

/**
 * Measures what the autograd graph of `model.computeLoss(inputs, targets)` holds in `precision` (switches the model's
 * precision). One unmeasured pass first, so that one-time caches are not counted.
 */
export function measureGraphMemory(
  model: DeepseekV3,
  precision: Precision,
  inputs: Tensor,
  targets: Tensor,
  opts: PrecisionOptions = {},
): GraphMemory {
  setModelPrecision(model, precision, opts);
  const forward = (): Tensor => model.computeLoss(inputs, targets).loss;
  forward();
  savedActivations.reset();
  const { bytes } = heldArrayBufferBytes(forward);
  return { precision, graphBytes: bytes, saved: savedActivations.get() };
}

/** `measureGraphMemory` for fp32, bf16 and fp8 on fresh models of `config` (seed `seed`), one batch. */
export function graphMemoryByPrecision(
  config: DeepseekConfig,
  inputs: Tensor,
  targets: Tensor,
  seed: number,
  opts: PrecisionOptions = {},
): GraphMemory[] {
  return PRECISIONS.map((p) => {
    manualSeed(seed);
    return measureGraphMemory(new DeepseekV3(config, { seed }), p, inputs, targets, opts);
  });
}

export interface Fp8ExperimentResult {
  /** What was trained on what: the synthetic toy, or `preset NAME` on the built-in corpus. */
  setup: string;
  /** The run directories (kept), by run label; null for toy runs in a temporary directory. */
  runDirs: Record<string, string> | null;
  steps: number;
  /** The model's size as `r1ts params` and `pretrain` count it (SPEC 1.5): without the MTP modules... */
  parameters: number;
  /** ...whose unique parameters are counted here. */
  mtpParameters: number;
  tokensPerStep: number;
  baseline: Fp8RunSummary;
  fp8: Fp8RunSummary;
  /** Relative loss differences (fp8 - baseline) / baseline: last step raw, last step EMA, max and mean |.| of EMA. */
  gap: LossGap;
  /** The reference run (the other high precision) and its gap to the baseline (the yardstick), unless disabled. */
  reference: Fp8RunSummary | null;
  referenceGap: LossGap | null;
  /** The noise-floor run (the baseline, every initial weight one ulp off) and its gap to the baseline, unless disabled. */
  noiseFloor: Fp8RunSummary | null;
  noiseFloorGap: LossGap | null;
  /** Saved Linear-input bytes, baseline / fp8. */
  savedRatio: number;
  /** Bytes the autograd graph holds after one forward pass of the same batch, measured, per precision (fp32, bf16, fp8). */
  memory: GraphMemory[];
  /** Measured graph bytes, baseline / fp8. */
  graphRatio: number;
  /** K-deep GEMM accumulation error, normal and uniform random data. */
  gemm: { normal: AccumulationErrorResult; uniform: AccumulationErrorResult };
}

/** Relative differences of two loss curves. */
export interface LossGap {
  /** (b - a) / a at the last step, raw losses. */
  final: number;
  /** The same on the EMA(0.9) curves. */
  finalEma: number;
  /** Max and mean |(b - a) / a| along the EMA curves. */
  maxAbsEma: number;
  meanAbsEma: number;
  /** Mean (b - a) / a along the EMA curves, signed: the gap of the curve as a whole. */
  meanEma: number;
}

/** The relative gap of curve `b` to curve `a` (same steps). */
export function lossGap(a: readonly number[], b: readonly number[]): LossGap {
  const ea = emaCurve(a);
  const eb = emaCurve(b);
  const n = Math.min(ea.length, eb.length);
  const rel = Array.from({ length: n }, (_, i) => (eb[i] - ea[i]) / ea[i]);
  const last = n - 1;
  return {
    final: (b[last] - a[last]) / a[last],
    finalEma: rel[last],
    maxAbsEma: Math.max(...rel.map(Math.abs)),
    meanAbsEma: rel.reduce((s, v) => s + Math.abs(v), 0) / n,
    meanEma: rel.reduce((s, v) => s + v, 0) / n,
  };
}

/** The K-deep accumulation check on normal and uniform data. */
function gemmCheck(
  K: number,
  seed: number,
  fp8: Fp8LinearOptions | undefined,
  log: (l: string) => void,
): Fp8ExperimentResult['gemm'] {
  log(`accumulation check: K = ${K}`);
  return {
    normal: accumulationError({ K, dist: 'normal', seed, accumulator: fp8?.accumulator }),
    uniform: accumulationError({ K, dist: 'uniform', seed, accumulator: fp8?.accumulator }),
  };
}

/** Flags of the toy's settings, for the message when a directory holds another run (the others follow from them). */
const TOY_FLAGS: Readonly<Record<string, string>> = {
  seed: '--seed',
  model: 'the model',
  'fp8.scaleFmt': '--scale-fmt',
  'fp8.promoteEvery': '--promote-every',
  specialCases: '--no-special-cases',
  'train.steps': '--steps',
  'train.seqLen': '--seq-len',
  'train.batchStart': '--batch',
  'train.peakLr': '--lr',
  'train.optimizerMoments': '--moments',
};

/**
 * One toy run in its run directory (the run-directory protocol, src/train/run_dir.ts): a new run where there is none;
 * a directory whose run.json records the same `settings` is reused when finished (returns false: nothing trained) and
 * otherwise resumed from its last checkpoint (or started over when it has none); other settings are an error naming
 * what differs.
 */
async function trainInRunDir(
  dir: string,
  settings: Settings,
  log: (line: string) => void,
  go: (run: RunDir) => Promise<TrainResult>,
): Promise<boolean> {
  const rec = readRunRecord(dir);
  if (rec) {
    const diff = settingsDiff(rec.settings, settings, { flags: TOY_FLAGS });
    if (diff.length) {
      const named = diff.filter((c) => c.flag !== null);
      throw new Error(
        `experiment fp8: ${dir} holds another run (${describeConflicts(named.length ? named : diff)}); use another --out or remove it`,
      );
    }
    if (rec.status === 'finished') {
      log(`reusing the completed run in ${dir}`);
      return false;
    }
  }
  const resume = rec !== null && latestCheckpoint(path.join(dir, 'checkpoints')) !== null;
  if (rec) log(resume ? `resuming the run in ${dir}` : `restarting the run in ${dir} (no checkpoint)`);
  const run = RunDir.open({ dir, command: 'experiment fp8', mode: resume ? 'resume' : rec ? 'overwrite' : 'new', log });
  try {
    if (resume) run.resume(settings, { mutable: [] });
    else run.start(settings);
    run.markFinished(trainSummary(await go(run)));
  } finally {
    run.close();
  }
  return true;
}

/** Runs the FP8-vs-high-precision experiment (see the file header). */
export async function runFp8Experiment(o: Fp8ExperimentOptions = {}): Promise<Fp8ExperimentResult> {
  const steps = o.steps ?? 400;
  const seed = o.seed ?? 0;
  const batch = o.batch ?? 8;
  const seqLen = o.seqLen ?? 32;
  const cfg = o.config ?? experimentModelConfig();
  const log = o.log ?? (() => {});
  if (!Number.isInteger(steps) || steps < 1)
    throw new RangeError(`experiment fp8: steps must be a positive integer (got ${steps})`);
  const tmp = o.outDir ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'r1ts-fp8-experiment-'));
  const root = o.outDir ?? tmp!;
  const dirs: Record<string, string> = {};
  const run = async (precision: Precision, moments: 'fp32' | 'bf16', flip = false): Promise<Fp8RunSummary> => {
    const label = flip ? `${precision}-ulp` : precision;
    const dir = path.join(root, label);
    dirs[label] = dir;
    const config: TrainConfig = {
      ...DEFAULT_TRAIN_CONFIG,
      steps,
      seqLen,
      batchStart: batch,
      batchEnd: batch,
      microBatch: batch,
      peakLr: o.lr ?? 3e-3,
      warmupSteps: Math.max(1, Math.round(steps / 10)),
      // checkpoints only for a resume (the toy has no rollbacks: no loss spikes); the last one is kept
      checkpointEvery: Math.max(1, Math.round(steps / 10)),
      keepCheckpoints: 1,
      optimizerMoments: moments,
      ...(flip ? { flipInitLastBit: true } : {}),
    };
    // everything the run's numbers depend on; the FP8 options only where they apply
    const settings: Settings = {
      experiment: 'fp8 toy',
      seed,
      precision,
      ...(precision === 'fp8' ? { fp8: o.fp8 ?? {}, specialCases: o.specialCases ?? true } : {}),
      model: cfg,
      train: recordedTrainConfig(config),
    };
    manualSeed(seed);
    const model = new DeepseekV3(cfg, { seed });
    // here rather than TrainConfig.precision, to pass the FP8 options
    setModelPrecision(model, precision, { fp8: o.fp8, v3SpecialCases: o.specialCases });
    const trained = await trainInRunDir(
      dir,
      settings,
      (l) => log(`${label}: ${l}`),
      (runDir) =>
        train({
          run: runDir,
          model,
          train: new SyntheticSource(seed, seqLen, cfg.vocab_size),
          log: () => {},
          onStep: (m: StepMetrics) => {
            if (m.step % Math.max(1, Math.floor(steps / 10)) === 0 || m.step === steps) {
              log(
                `${label}: step ${m.step}/${steps}  loss ${m.mainLoss.toFixed(4)}  ${Math.round(m.msPerStep)} ms/step`,
              );
            }
          },
          config,
        }),
    );
    if (!trained) {
      // a reused run: its final weights, for the measured forward pass below
      const last = latestCheckpoint(path.join(dir, 'checkpoints'));
      if (last?.step !== steps) throw new Error(`experiment fp8: ${dir} has no checkpoint of step ${steps}`);
      model.loadStateDict(loadSafetensors(path.join(last.dir, 'model.safetensors')));
    }
    // one measured forward pass on a fresh batch, as in training (graph recorded)
    savedActivations.reset();
    const { inputs, targets } = new SyntheticSource(seed + 1, seqLen, cfg.vocab_size).next(batch);
    model.computeLoss(inputs, targets);
    const saved = savedActivations.get();
    const m = readRunMetrics(dir);
    const losses = m.losses.slice(0, steps);
    return {
      label,
      precision,
      moments,
      losses,
      finalLoss: losses[losses.length - 1],
      finalEma: emaCurve(losses)[losses.length - 1],
      msPerStep: m.msPerStep,
      saved,
    };
  };
  const threads = nativeInfo()?.threads ?? null; // null without the addon; on the ts backend the pool is idle anyway
  if (threads !== null && threads > 1) setNativeThreads(1);
  try {
    const baselinePrecision = o.baseline ?? 'fp32';
    const baseline = await run(baselinePrecision, 'fp32');
    const fp8 = await run('fp8', o.moments ?? 'bf16');
    const reference = o.reference === false ? null : await run(baselinePrecision === 'fp32' ? 'bf16' : 'fp32', 'fp32');
    const gap = lossGap(baseline.losses, fp8.losses);
    const referenceGap = reference ? lossGap(baseline.losses, reference.losses) : null;
    const noiseFloor = o.noiseFloor === false ? null : await run(baselinePrecision, 'fp32', true);
    const noiseFloorGap = noiseFloor ? lossGap(baseline.losses, noiseFloor.losses) : null;
    const gemm = gemmCheck(o.gemmK ?? 4096, seed, o.fp8, log);
    log('graph memory: one forward pass per precision');
    const mb = new SyntheticSource(seed + 1, seqLen, cfg.vocab_size).next(batch);
    const memory = graphMemoryByPrecision(cfg, mb.inputs, mb.targets, seed, {
      fp8: o.fp8,
      v3SpecialCases: o.specialCases,
    });
    const graphOf = (p: Precision): number => memory.find((m) => m.precision === p)!.graphBytes;
    return {
      setup: `DeepSeek-V3 toy, synthetic data${o.specialCases === false ? ', FP8 without the V3 special cases' : ''}`,
      runDirs: tmp ? null : dirs,
      steps,
      parameters: countParams(cfg).total,
      mtpParameters: countParams(cfg).mtp,
      tokensPerStep: batch * seqLen,
      baseline,
      fp8,
      gap,
      reference,
      referenceGap,
      noiseFloor,
      noiseFloorGap,
      savedRatio: baseline.saved.bytes / fp8.saved.bytes,
      memory,
      graphRatio: graphOf(baselinePrecision) / graphOf('fp8'),
      gemm,
    };
  } finally {
    if (threads !== null && threads > 1) setNativeThreads(threads);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export interface Fp8PresetExperimentOptions {
  /** A pre-training preset (`tiny`): its model, corpus and schedule. */
  preset: string;
  /** Run directories go to OUT/<precision>; completed ones are reused, interrupted ones resumed. */
  outDir: string;
  /** Optimizer steps per run (default: the preset's). */
  steps?: number;
  baseline?: 'fp32' | 'bf16';
  seed?: number;
  /** AdamW moments of the FP8 run (default 'bf16'). */
  moments?: 'fp32' | 'bf16';
  /** Also train the other high precision as the yardstick (default true). */
  reference?: boolean;
  /** Also train the noise-floor run, OUT/<baseline>-ulp (default true). */
  noiseFloor?: boolean;
  /** K of the accumulation check (default 4096). */
  gemmK?: number;
  /** Data-parallel worker threads of each run (`pretrain`'s; the numbers are those of 1 worker). Default 1. */
  workers?: number | 'auto';
  /** As `pretrain`'s: training files instead of the built-in corpus, another model, TrainConfig overrides (tests). */
  data?: string[];
  modelConfig?: Record<string, unknown>;
  overrides?: Partial<TrainConfig>;
  log?: (line: string) => void;
}

/** Main losses of a run's metrics.jsonl (rollback events left out), with its mean ms/step and total tokens. */
export function readRunMetrics(dir: string): { losses: number[]; msPerStep: number; tokens: number; lastStep: number } {
  const file = path.join(dir, 'metrics.jsonl');
  if (!fs.existsSync(file)) return { losses: [], msPerStep: NaN, tokens: 0, lastStep: 0 };
  const rows = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as StepMetrics)
    .filter((m) => !m.event);
  const last = rows[rows.length - 1];
  return {
    losses: rows.map((m) => m.mainLoss),
    msPerStep: rows.reduce((a, m) => a + m.msPerStep, 0) / Math.max(1, rows.length),
    tokens: last?.tokens ?? 0,
    lastStep: last?.step ?? 0,
  };
}

interface RunJson {
  preset: string;
  seed: number;
  data: string[];
  model: Record<string, unknown>;
  train: TrainConfig;
}

/** The corpus files and tokenizer of a pretrain run directory (the later runs of the experiment train on them). */
function dataOf(dir: string): { data: string[]; tokenizer: string } {
  const run = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as RunJson;
  return { data: run.data, tokenizer: path.join(dir, 'tokenizer.json') };
}

/**
 * The FP8 experiment on a pre-training preset (`r1ts experiment fp8 --preset tiny`): `pretrain()` of the preset in the
 * baseline precision and in FP8 (and the yardstick precision), same seed, same corpus and tokenizer (the later runs
 * reuse the first run's), into OUT/<precision>; then the relative gap of the EMA(0.9) main-loss curves from their
 * metrics.jsonl, the saved-activation and graph bytes of one micro-batch of the preset's model, and the accumulation
 * check. A completed run directory (its metrics reach the requested step and its model was exported) is reused and an
 * interrupted one resumed, so giving the same OUT again continues; a directory holding a different run is an error.
 * The native backend keeps its thread count here (runs are long; both precisions run on the same threads).
 */
export async function runFp8PresetExperiment(o: Fp8PresetExperimentOptions): Promise<Fp8ExperimentResult> {
  const preset = getPreset(o.preset);
  const steps = o.steps ?? preset.train.steps;
  const seed = o.seed ?? 0;
  const log = o.log ?? (() => {});
  if (!Number.isInteger(steps) || steps < 1)
    throw new RangeError(`experiment fp8: steps must be a positive integer (got ${steps})`);
  const baselinePrecision = o.baseline ?? 'fp32';
  interface Arm {
    label: string;
    precision: Precision;
    moments: 'fp32' | 'bf16';
    flip: boolean;
  }
  const plan: Arm[] = [
    { label: baselinePrecision, precision: baselinePrecision, moments: 'fp32', flip: false },
    { label: 'fp8', precision: 'fp8', moments: o.moments ?? 'bf16', flip: false },
  ];
  const refPrecision = baselinePrecision === 'fp32' ? 'bf16' : 'fp32';
  if (o.reference !== false) plan.push({ label: refPrecision, precision: refPrecision, moments: 'fp32', flip: false });
  if (o.noiseFloor !== false)
    plan.push({ label: `${baselinePrecision}-ulp`, precision: baselinePrecision, moments: 'fp32', flip: true });
  const dirs: Record<string, string> = {};
  let shared: { data: string[]; tokenizer: string } | null = null;
  const trainOf = (a: Arm): TrainConfig => ({
    ...preset.train,
    ...(o.overrides ?? {}),
    steps,
    precision: a.precision,
    optimizerMoments: a.moments,
    ...(a.flip ? { flipInitLastBit: true } : {}),
  });
  for (const arm of plan) {
    const { label, precision, moments } = arm;
    const dir = path.join(o.outDir, label);
    dirs[label] = dir;
    const runFile = path.join(dir, 'run.json');
    const plog = (l: string): void => log(`[${label}] ${l}`);
    let resume = false;
    if (fs.existsSync(runFile)) {
      // the same run or an error: preset, seed, model and every TrainConfig field
      const run = JSON.parse(fs.readFileSync(runFile, 'utf8')) as RunJson;
      const want: Record<string, unknown> = {
        preset: o.preset,
        seed,
        model: o.modelConfig ?? preset.model,
        ...trainOf(arm),
      };
      const have: Record<string, unknown> = { preset: run.preset, seed: run.seed, model: run.model, ...run.train };
      const str = (v: unknown): string => JSON.stringify(v) ?? 'unset';
      const diff = [...new Set([...Object.keys(want), ...Object.keys(have)])].filter(
        (k) => str(want[k]) !== str(have[k]),
      );
      if (diff.length) {
        const what = diff
          .map((k) => (k === 'model' ? 'another model' : `${k} ${str(have[k])}, not ${str(want[k])}`))
          .join('; ');
        throw new Error(`experiment fp8: ${dir} holds another run (${what}); use another --out or remove it`);
      }
      const done = readRunMetrics(dir).lastStep >= steps && fs.existsSync(path.join(dir, 'model', 'config.json'));
      resume = !done && latestCheckpoint(path.join(dir, 'checkpoints')) !== null;
      plog(
        done
          ? `reusing the completed run in ${dir}`
          : resume
            ? `resuming the run in ${dir}`
            : `restarting the run in ${dir}`,
      );
      if (done) {
        shared ??= dataOf(dir);
        continue;
      }
    }
    await pretrain({
      outDir: dir,
      preset: o.preset,
      modelConfig: o.modelConfig,
      steps,
      seed,
      resume,
      // a run directory with run.json but nothing to resume from is restarted (logged above), explicitly
      overwrite: !resume && fs.existsSync(runFile),
      workers: o.workers,
      // the corpus of the measured numbers: the templated style (the plain default came later)
      ...(shared && !resume ? shared : o.data ? { data: o.data } : resume ? {} : { corpus: 'templated' as const }),
      overrides: {
        ...(o.overrides ?? {}),
        precision,
        optimizerMoments: moments,
        ...(arm.flip ? { flipInitLastBit: true } : {}),
      },
      log: plog,
    });
    shared ??= dataOf(dir);
  }
  const summary = (a: Arm | undefined): Fp8RunSummary | null => {
    if (!a) return null;
    const m = readRunMetrics(dirs[a.label]);
    const losses = m.losses.slice(0, steps);
    return {
      label: a.label,
      precision: a.precision,
      moments: a.moments,
      saved: savedOf(a.precision),
      losses,
      finalLoss: losses[losses.length - 1],
      finalEma: emaCurve(losses)[losses.length - 1],
      msPerStep: m.msPerStep,
    };
  };
  const config = readConfigFile(path.join(dirs[baselinePrecision]!, 'model', 'config.json')).config as DeepseekConfig;
  log('graph memory: one forward pass of one micro-batch per precision');
  const tc = trainOf(plan[0]);
  const mb = new SyntheticSource(seed + 1, tc.seqLen, config.vocab_size).next(tc.microBatch);
  const memory = graphMemoryByPrecision(config, mb.inputs, mb.targets, seed);
  const savedOf = (p: Precision): SavedActivationStats => memory.find((m) => m.precision === p)!.saved;
  const graphOf = (p: Precision): number => memory.find((m) => m.precision === p)!.graphBytes;
  const baseline = summary(plan[0])!;
  const fp8 = summary(plan[1])!;
  const reference = summary(plan.find((a) => a.label === refPrecision));
  const noiseFloor = summary(plan.find((a) => a.flip));
  const tokens = readRunMetrics(dirs[baselinePrecision]!).tokens;
  manualSeed(seed);
  return {
    setup: `preset ${o.preset}, built-in corpus`,
    runDirs: dirs,
    steps,
    parameters: countParams(config).total,
    mtpParameters: countParams(config).mtp,
    tokensPerStep: Math.round(tokens / steps),
    baseline,
    fp8,
    gap: lossGap(baseline.losses, fp8.losses),
    reference,
    referenceGap: reference ? lossGap(baseline.losses, reference.losses) : null,
    noiseFloor,
    noiseFloorGap: noiseFloor ? lossGap(baseline.losses, noiseFloor.losses) : null,
    savedRatio: baseline.saved.bytes / fp8.saved.bytes,
    memory,
    graphRatio: graphOf(baselinePrecision) / graphOf('fp8'),
    gemm: gemmCheck(o.gemmK ?? 4096, seed, undefined, log),
  };
}
