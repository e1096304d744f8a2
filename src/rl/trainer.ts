/**
 * The GRPO loop (R1-Zero): per step, sample G responses for each of P problems, score them with rule-based rewards,
 * compute group advantages, and take mu x miniBatches optimizer steps on the clipped surrogate with the k3 KL to a
 * frozen reference (grpo.ts). Logs one line per step plus metrics.jsonl, checkpoints atomically (src/train/checkpoint:
 * policy, reference, AdamW moments, RNG state, step) and resumes exactly.
 *
 * Against the usual failures:
 * - reward stuck at zero: a pre-run sanity check prints the base model's pass, format and truncation rates and warns
 *   when no group has reward variance (RL cannot start); every step logs how many groups carry signal, and a warning
 *   repeats while none does.
 * - "loss is 0": the loss value is ~0 by construction (see grpo.ts); the line shows reward, accuracy, KL, clip fraction
 *   and the gradient norm, which are the progress signals.
 * - entropy collapse: mean token entropy is logged and warned about below a quarter of the first step's;
 *   clip-higher (epsilonHigh) is the DAPO remedy.
 * - length blow-up: stop strings, the token budget, the truncation rate in every line (warned above 50%), overlong
 *   masking or penalty, and the length-unbiased 'dr-grpo' aggregation.
 *
 * The output directory follows the run-directory protocol (src/train/run_dir.ts): a lock, no silent overwrite, the
 * resume rule `GRPO_RESUME_RULE`, metrics.jsonl repair, the fallback past a corrupt checkpoint. `runGrpoAsync` yields to
 * the event loop after every step, so that Ctrl-C / SIGTERM (when the run directory watches them) stop the run at a
 * step boundary with a checkpoint; `runGrpo` is the same loop, synchronous.
 *
 * Samples that cannot change the gradient are skipped: with beta = 0, a sample with zero advantage contributes
 * exactly zero, so it is not run through the training passes (the aggregation weights still count it). Entropy, clip
 * fraction and KL are measured on the tokens that train. The G responses of a group share their prompt, which runs
 * once per micro-batch (logprobs.ts).
 */
import { availableParallelism } from 'node:os';
import { Module } from '../nn/module.js';
import { noGrad } from '../tensor/tensor.js';
import { drainBufferPool, withBufferPool, withMicroBatchPool } from '../tensor/pool.js';
import { Generator, type GeneratorState } from '../tensor/random.js';
import { createModel, type CausalLM } from '../models/index.js';
import { AdamW, clipGradNorm } from '../optim/adamw.js';
import { latestCheckpoint, loadCheckpoint } from '../train/checkpoint.js';
import { type ResumeRule, RunDir } from '../train/run_dir.js';
import { type StopSignal, yieldToEventLoop } from '../train/signals.js';
import { saveModelDir } from '../io/model_dir.js';
import type { FinishReason, TextCodec } from '../infer/generate.js';
import { GenerationWorkers } from '../infer/workers.js';
import { groupAdvantages, policyLoss, tokenWeights } from './grpo.js';
import { sharedPromptLogProbs } from './logprobs.js';
import { type GrpoConfig, grpoPlan, maxTokensAt, refResetAfter } from './config.js';
import type { ProblemSource, RLProblem } from './problems.js';
import {
  type ResponseScorer,
  type RewardFn,
  type WeightedReward,
  builtinReward,
  parseRewardModelName,
  rewardModelReward,
  scoreRewards,
} from './rewards.js';
import { rewardInputs, rollout, rolloutSplit, type Rollout, type RolloutOptions } from './rollout.js';
import { type ProgressSink, progressOutput } from '../util/progress.js';
import { reflectionRate } from './reflection.js';

/** Metrics of one GRPO step (one line of metrics.jsonl). */
export interface GrpoStepMetrics {
  step: number;
  /** Mean total reward. */
  reward: number;
  /** Mean of each reward function (unweighted). */
  rewards: Record<string, number>;
  /** Mean accuracy reward (pass rate), null when accuracy is not among the rewards. */
  accuracy: number | null;
  /** Share of responses in the R1 format. */
  formatRate: number;
  /** Share of responses that hit the token budget. */
  truncationRate: number;
  /** Mean response length in tokens. */
  responseLength: number;
  /** Share of responses that re-check a result or redo a step (reflection.ts). */
  reflectionRate: number;
  /** Groups whose rewards differ (the only ones that carry a policy gradient). */
  signalGroups: number;
  groups: number;
  loss: number;
  kl: number;
  clipFrac: number;
  /** Mean token entropy (nats) of the policy on trained tokens; null when nothing trained. */
  entropy: number | null;
  gradNorm: number;
  lr: number;
  optimizerSteps: number;
  msGeneration: number;
  msTraining: number;
  refReset?: boolean;
  warnings?: string[];
}

/** Result of the pre-run sanity check. */
export interface SanityReport {
  problems: number;
  samples: number;
  passRate: number;
  formatRate: number;
  truncationRate: number;
  signalGroups: number;
  warnings: string[];
}

export interface GrpoArgs {
  /** The run directory; runGrpo opens it (command 'grpo', settings `{ config }`) and closes it. */
  outDir?: string;
  /**
   * Instead of outDir: a run directory the caller opened (and closes) and whose settings it recorded or checked
   * (GRPO_RESUME_RULE); its mode says whether this is a new run or a resume (`resume` is then ignored).
   */
  run?: RunDir;
  policy: CausalLM;
  codec: TextCodec;
  source: ProblemSource;
  config: GrpoConfig;
  /** User reward functions by name (loadRewardModule); weights come from config.rewards. */
  userRewards?: Record<string, RewardFn>;
  /** The reward models of config.rewards' `rm:PATH[@part]` names, by that name (loadRewardModel(PATH)). */
  rewardModels?: Record<string, ResponseScorer>;
  resume?: boolean;
  /** Start a new run in outDir even if it holds one (removing it). Without it, such a directory is an error. */
  overwrite?: boolean;
  /** Run the sanity check before step 1 (default true unless config.sanityPrompts is 0). */
  sanity?: boolean;
  /** Messages; without `progress`, every step's line too. With neither, a progress line on stdout. */
  log?: (line: string) => void;
  /** Step progress (a live line on a terminal, a line every N steps on a pipe); messages then go to `log`. */
  progress?: ProgressSink | null;
  onStep?: (m: GrpoStepMetrics) => void;
  meta?: Record<string, unknown>;
  /**
   * Threads that generate the rollouts of `runGrpoAsync`, the main one included, the rows split between them
   * (src/infer/workers.ts; the same rollouts, sooner). Default `defaultRolloutWorkers(policy)`. `runGrpo` (not async)
   * always generates on the main thread.
   */
  rolloutWorkers?: number;
}

/**
 * Rollout threads by default: 2 on a machine with two cores or more for models up to hidden size 256 (whose decoding
 * steps are too small to share within a kernel; the tiny and small presets) held in float32, else 1 (the kernels'
 * own threads).
 */
export function defaultRolloutWorkers(policy: CausalLM, cores = availableParallelism()): number {
  const floats = [...policy.stateDict().values()].every((t) => t.dtype === 'float32' || t.dtype === 'float64');
  return cores >= 2 && policy.config.hidden_size <= 256 && floats ? 2 : 1;
}

/** What the GRPO loop asks its driver for: the rollouts of one step. */
interface RolloutRequest {
  problems: RLProblem[];
  opts: RolloutOptions & { seed: number };
}

export interface GrpoResult {
  steps: number;
  history: GrpoStepMetrics[];
  sanity: SanityReport | null;
  /** The final policy in Hugging Face layout (plus the tokenizer when the codec can save itself); not written when stopped. */
  modelDir: string;
  /** The signal that stopped the run before its last step (a checkpoint of `steps` was saved), or null. */
  stopped: StopSignal | null;
}

/**
 * What may change when a GRPO run resumes (run.json paths): its length, the learning rate, the response budget
 * (R1 raised it mid-run), the micro-batch sizes of training and generation, and the checkpoint and sanity-check
 * settings. The model, task, tokenizer, rewards, seed, group size, prompts per step, clipping, KL, loss and sampling
 * settings may not.
 */
export const GRPO_RESUME_RULE: ResumeRule = {
  mutable: [
    'config.steps',
    'config.lr',
    'config.maxTokens',
    'config.maxTokensRaise',
    'config.microBatch',
    'config.genBatch',
    'config.checkpointEvery',
    'config.keepCheckpoints',
    'config.sanityPrompts',
  ],
  flags: {
    model: '--model',
    task: '--task',
    tokenizer: '--tokenizer',
    rewardModules: '--reward-module',
    rewardModels: '--rewards (its reward model paths)',
    ...Object.fromEntries(
      [
        'steps',
        'groupSize',
        'promptsPerStep',
        'miniBatches',
        'mu',
        'lr',
        'beta',
        'epsilon',
        'epsilonHigh',
        'loss',
        'maxTokens',
        'temperature',
        'rewards',
        'overlong',
        'difficulty',
        'seed',
      ].map((k) => [`config.${k}`, `--${k.replace(/[A-Z]/g, (x) => `-${x.toLowerCase()}`)}`]),
    ),
  },
};

/** Policy and (optional) reference as one module, so one checkpoint holds both. */
class PolicyAndReference extends Module {
  constructor(policy: CausalLM, ref: CausalLM | null) {
    super();
    this.child('policy', policy);
    if (ref) this.child('ref', ref);
  }
}

/** A frozen copy of `model`. */
export function copyModel(model: CausalLM): CausalLM {
  const c = createModel(model.config);
  c.loadStateDict(model.stateDict());
  c.eval();
  return c;
}

/**
 * The weighted rewards of a configuration: built-in ones, user functions by name, and reward models (`rm:PATH[@part]`
 * names, whose loaded models `models` holds by name) as batched rewards.
 */
export function configuredRewards(
  c: Pick<GrpoConfig, 'rewards' | 'language'>,
  user: Record<string, RewardFn> = {},
  models: Record<string, ResponseScorer> = {},
): WeightedReward[] {
  return Object.entries(c.rewards).map(([name, weight]) => {
    const rm = parseRewardModelName(name);
    if (rm) {
      const scorer = models[name];
      if (!scorer)
        throw new Error(
          `grpo: reward '${name}' needs its reward model (the grpo command loads ${rm.path}; in the library, pass loadRewardModel(path) in rewardModels)`,
        );
      const batch = rewardModelReward(scorer, rm.part);
      return { name, weight, batch, fn: (x) => batch([x])[0] };
    }
    const fn = user[name] ?? builtinReward(name, { language: c.language });
    if (!fn)
      throw new Error(
        `grpo: reward '${name}' is neither built-in (accuracy, format, language) nor loaded from a module`,
      );
    return { name, fn, weight };
  });
}

function rolloutOptions(c: GrpoConfig, maxTokens: number): RolloutOptions {
  return {
    template: c.template,
    responsePrefix: c.responsePrefix,
    maxTokens,
    temperature: c.temperature,
    topP: c.topP,
    topK: c.topK,
    stop: c.stop,
    batchSize: c.genBatch,
  };
}

function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return xs.length ? s / xs.length : 0;
}

/** Groups (of G consecutive values) whose values are not all equal. */
function signalGroups(total: ArrayLike<number>, G: number): number {
  let n = 0;
  for (let g = 0; g < total.length; g += G) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = g; i < g + G; i++) {
      lo = Math.min(lo, total[i]);
      hi = Math.max(hi, total[i]);
    }
    if (hi > lo) n++;
  }
  return n;
}

/**
 * Samples the first `n` problems of the source G times with the run's settings and reports pass, format and
 * truncation rates, with warnings when RL cannot start or is likely to struggle.
 */
export function sanityCheck(
  policy: CausalLM,
  codec: TextCodec,
  problems: readonly RLProblem[],
  c: GrpoConfig,
  rewards: readonly WeightedReward[],
): SanityReport {
  const rolls = rollout(policy, codec, problems, c.groupSize, {
    ...rolloutOptions(c, maxTokensAt(c, 0)),
    seed: c.seed + 7919,
  });
  const inputs = rewardInputs(rolls);
  const scores = scoreRewards(rewards, inputs);
  const acc = scoreRewards([{ name: 'accuracy', fn: builtinReward('accuracy')!, weight: 1 }], inputs).total;
  const fmt = scoreRewards([{ name: 'format', fn: builtinReward('format')!, weight: 1 }], inputs).total;
  const trunc = rolls.map((r) => (r.gen.finish === 'length' ? 1 : 0));
  const rep: SanityReport = {
    problems: problems.length,
    samples: rolls.length,
    passRate: mean(acc),
    formatRate: mean(fmt),
    truncationRate: mean(trunc),
    signalGroups: signalGroups(scores.total, c.groupSize),
    warnings: [],
  };
  if (rep.signalGroups === 0) {
    rep.warnings.push(
      `RL cannot start: all ${problems.length} groups have equal rewards (pass ${pct(rep.passRate)}, format ${pct(rep.formatRate)}, ` +
        `truncated ${pct(rep.truncationRate)}). Check the template and stop strings, raise --max-tokens, add a format reward, ` +
        'use an easier --difficulty, or pre-train the base model more.',
    );
  }
  if (rep.formatRate === 0 && rewards.some((r) => r.name === 'format'))
    rep.warnings.push('no response has the <think>...</think><answer>...</answer> format');
  if (rep.truncationRate > 0.5)
    rep.warnings.push(
      `${pct(rep.truncationRate)} of responses hit the ${maxTokensAt(c, 0)}-token budget: answers are cut off`,
    );
  return rep;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

interface RunState {
  step: number;
  optimizerSteps: number;
  rng: GeneratorState;
  quietSteps: number;
  /** The first step's policy entropy (the yardstick of the collapse warning); absent in older checkpoints. */
  firstEntropy?: number;
}

/** The entropy warning fires when the policy's entropy falls below this share of the first step's. */
export const ENTROPY_COLLAPSE_SHARE = 0.25;

/**
 * The warnings of a step as [key, text]. Entropy is judged against the run's own first step, not an absolute level:
 * a base trained on worked solutions starts near 0.05-0.1 nats per token (most tokens are determined by the problem),
 * and a healthy run halves that while its accuracy rises; a collapse takes it to a small fraction.
 */
export function stepWarnings(
  m: GrpoStepMetrics,
  quietSteps: number,
  firstEntropy: number | undefined,
  maxTokens: number,
): [string, string][] {
  const warnings: [string, string][] = [];
  if (m.signalGroups === 0)
    warnings.push(['signal', `no group has reward variance (${quietSteps} step(s) in a row): nothing to learn from`]);
  if (m.entropy !== null && firstEntropy !== undefined && m.entropy < ENTROPY_COLLAPSE_SHARE * firstEntropy) {
    warnings.push([
      'entropy',
      `entropy ${m.entropy.toFixed(3)} nats, down from ${firstEntropy.toFixed(3)} at the first step: the policy is collapsing ` +
        '(try --epsilon-high, a lower lr or a higher temperature)',
    ]);
  }
  if (m.truncationRate > 0.5)
    warnings.push(['length', `${pct(m.truncationRate)} of responses truncated at ${maxTokens} tokens`]);
  return warnings;
}

/** Runs (or resumes) GRPO, synchronously (no Ctrl-C handling: see runGrpoAsync). */
export function runGrpo(a: GrpoArgs): GrpoResult {
  const out = progressOutput(a.log, a.progress);
  return withRun(a, (run) => {
    const steps = grpoSteps(run, a, out);
    try {
      let r = steps.next();
      while (!r.done)
        r = steps.next(r.value ? rollout(a.policy, a.codec, r.value.problems, a.config.groupSize, r.value.opts) : null);
      return r.value;
    } finally {
      out.progress?.end(); // an error: clears the live line (a no-op once the phase has ended)
    }
  });
}

/**
 * Runs (or resumes) GRPO, yielding to the event loop after every step: when the run directory watches signals
 * (`RunDir.open({ stops })`), Ctrl-C / SIGTERM stop it at the end of a step with a checkpoint (`stopped` says so).
 */
export async function runGrpoAsync(a: GrpoArgs): Promise<GrpoResult> {
  const run = a.run ?? openRun(a);
  const out = progressOutput(a.log, a.progress);
  let workers: GenerationWorkers | null = null;
  try {
    const ranks = a.rolloutWorkers ?? defaultRolloutWorkers(a.policy);
    if (!Number.isInteger(ranks) || ranks < 1)
      throw new Error(`grpo: rolloutWorkers must be a positive integer, got ${ranks}`);
    if (ranks > 1) workers = await GenerationWorkers.create(a.policy, { ranks, codec: a.codec });
    const steps = grpoSteps(run, a, out);
    let r = steps.next();
    while (!r.done) {
      if (r.value) {
        const { problems, opts } = r.value;
        const G = a.config.groupSize;
        r = steps.next(
          workers
            ? await rolloutSplit(workers, a.policy, a.codec, problems, G, opts)
            : rollout(a.policy, a.codec, problems, G, opts),
        );
        continue;
      }
      await yieldToEventLoop();
      r = steps.next(run.stopRequested());
    }
    return r.value;
  } finally {
    out.progress?.end(); // an error: clears the live line (a no-op once the phase has ended)
    await workers?.close();
    if (!a.run) run.close();
  }
}

/** Opens `a.outDir` as a GRPO run directory (settings `{ config }`), checking a resume against GRPO_RESUME_RULE. */
function openRun(a: GrpoArgs): RunDir {
  if (!a.outDir) throw new Error('grpo: give outDir or run');
  const run = RunDir.open({
    dir: a.outDir,
    command: 'grpo',
    mode: a.resume ? 'resume' : a.overwrite ? 'overwrite' : 'new',
    log: a.log,
  });
  try {
    if (a.resume) run.resume({ config: a.config }, GRPO_RESUME_RULE);
    else run.start({ config: a.config });
    return run;
  } catch (e) {
    run.close();
    throw e;
  }
}

function withRun<T>(a: GrpoArgs, f: (run: RunDir) => T): T {
  const run = a.run ?? openRun(a);
  try {
    return f(run);
  } finally {
    if (!a.run) run.close();
  }
}

/**
 * The GRPO loop as a generator: it yields nothing before each step and receives the signal that asks it to stop
 * (null: go on), and it yields each step's rollout request and receives the rollouts. Returns the result.
 */
function* grpoSteps(
  run: RunDir,
  a: GrpoArgs,
  { log, progress }: ReturnType<typeof progressOutput>,
): globalThis.Generator<RolloutRequest | undefined, GrpoResult, StopSignal | null | Rollout[]> {
  const c = a.config;
  const { policy, codec, source } = a;
  const G = c.groupSize;
  const P = c.promptsPerStep;
  const plan = grpoPlan(c);
  const rewards = configuredRewards(c, a.userRewards, a.rewardModels);
  policy.eval();
  const ref = c.beta > 0 ? copyModel(policy) : null;
  const both = new PolicyAndReference(policy, ref);
  const params = policy.namedParameters();
  const opt = new AdamW(params, { lr: c.lr, weightDecay: c.weightDecay });
  const rng = new Generator(c.seed);
  let st: RunState = { step: 0, optimizerSteps: 0, rng: rng.getState(), quietSteps: 0 };
  const snapshot = (): Record<string, unknown> => ({
    grpo: { ...st, rng: rng.getState() },
    config: c,
    modelConfig: policy.config,
    meta: a.meta ?? {},
  });
  let sanity: SanityReport | null = null;

  if (run.mode === 'resume') {
    // the settings were checked against run.json (GRPO_RESUME_RULE) when the run directory was opened
    const last = run.loadLatestCheckpoint((dir) => {
      const s = loadCheckpoint(dir, both, opt) as unknown as { grpo?: RunState };
      if (!s.grpo) throw new Error(`checkpoint ${dir}/state.json has no "grpo" state`);
      return s.grpo;
    });
    st = { ...last.value };
    if (c.steps < st.step)
      throw new Error(`${run.command} --resume: --steps ${c.steps} is below step ${st.step}, where the run resumes`);
    rng.setState(st.rng);
    run.prepareMetrics(st.step);
    run.resumed(last.dir, st.step);
  } else {
    log(
      `grpo: ${P} problems x ${G} samples = ${plan.samplesPerStep} per step, ${plan.optimizerStepsPerStep} optimizer step(s) of ` +
        `${plan.samplesPerOptimizerStep}; loss ${c.loss}, beta ${c.beta}, eps ${c.epsilon}/${c.epsilonHigh ?? c.epsilon}, lr ${c.lr}, ` +
        `max ${c.maxTokens} tokens, rewards ${rewards.map((r) => `${r.name}=${r.weight}`).join(',')}`,
    );
    if ((a.sanity ?? true) && c.sanityPrompts > 0) {
      const probs = Array.from({ length: c.sanityPrompts }, (_, i) => source.at(i));
      sanity = sanityCheck(policy, codec, probs, c, rewards);
      log(
        `sanity check (${sanity.problems} problems x ${G}): pass ${pct(sanity.passRate)}, format ${pct(sanity.formatRate)}, ` +
          `truncated ${pct(sanity.truncationRate)}, groups with reward variance ${sanity.signalGroups}/${sanity.problems}`,
      );
      for (const w of sanity.warnings) log(`WARNING: ${w}`);
    }
  }

  const history: GrpoStepMetrics[] = [];
  const warned: Record<string, number> = {};
  const save = () =>
    run.saveCheckpoint({ step: st.step, model: both, optimizer: opt, state: snapshot(), keep: c.keepCheckpoints });
  progress?.begin('grpo', c.steps, { from: st.step });
  while (st.step < c.steps) {
    // the driver passes the signal that asks the run to stop (runGrpoAsync); stop between steps with a checkpoint
    const stop = (yield) as StopSignal | null;
    if (stop) {
      if (latestCheckpoint(run.checkpointsDir)?.step !== st.step) save();
      progress?.end();
      run.markStopped(stop, st.step);
      return { steps: st.step, history, sanity, modelDir: run.modelDir, stopped: stop };
    }
    const maxTokens = maxTokensAt(c, st.step);
    const stepSeed = rng.integers(1, 0, 2 ** 31 - 1)[0];
    // ---- rollout
    const t0 = performance.now();
    const problems = Array.from({ length: P }, (_, j) => source.at(st.step * P + j));
    // the driver generates them (on the rollout threads when it has them)
    const rolls = (yield { problems, opts: { ...rolloutOptions(c, maxTokens), seed: stepSeed } }) as Rollout[];
    const msGeneration = performance.now() - t0;
    // ---- rewards and advantages
    const t1 = performance.now();
    const scores = scoreRewards(rewards, rewardInputs(rolls));
    const total = Float64Array.from(scores.total);
    if (c.overlong === 'penalty') rolls.forEach((r, i) => r.gen.finish === 'length' && (total[i] += c.overlongPenalty));
    const adv = groupAdvantages(total, G, { scale: c.scaleAdvantages ?? c.loss !== 'dr-grpo' });
    const train = trainOnRollouts(policy, ref, opt, rolls, adv, c, maxTokens);
    st.optimizerSteps += train.optimizerSteps;
    st.step++;
    let refReset = false;
    if (ref && refResetAfter(c, st.step)) {
      ref.loadStateDict(policy.stateDict());
      refReset = true;
    }
    const msTraining = performance.now() - t1;
    // ---- metrics
    const fmt = scoreRewards([{ name: 'format', fn: builtinReward('format')!, weight: 1 }], rewardInputs(rolls)).total;
    const sig = signalGroups(total, G);
    st.quietSteps = sig === 0 ? st.quietSteps + 1 : 0;
    const m: GrpoStepMetrics = {
      step: st.step,
      reward: mean(total),
      rewards: Object.fromEntries(Object.entries(scores.per).map(([k, v]) => [k, mean(v)])),
      accuracy: scores.per.accuracy ? mean(scores.per.accuracy) : null,
      formatRate: mean(fmt),
      truncationRate: mean(rolls.map((r) => (r.gen.finish === 'length' ? 1 : 0))),
      responseLength: mean(rolls.map((r) => r.gen.tokens.length)),
      reflectionRate: reflectionRate(rolls.map((r) => r.response)),
      signalGroups: sig,
      groups: P,
      loss: train.loss,
      kl: train.kl,
      clipFrac: train.clipFrac,
      entropy: train.entropy,
      gradNorm: train.gradNorm,
      lr: c.lr,
      optimizerSteps: st.optimizerSteps,
      msGeneration,
      msTraining,
    };
    if (refReset) m.refReset = true;
    if (st.firstEntropy === undefined && m.entropy !== null) st.firstEntropy = m.entropy;
    const warnings = stepWarnings(m, st.quietSteps, st.firstEntropy, maxTokens);
    if (warnings.length) m.warnings = warnings.map(([, w]) => w);
    run.appendMetrics(m);
    history.push(m);
    if (progress) progress.update(st.step, progressFields(m), stepLine(m, c.steps));
    else log(stepLine(m, c.steps));
    // a warning prints when it appears and every 10 steps while it lasts (metrics.jsonl has all of them)
    for (const key of Object.keys(warned)) if (!warnings.some(([k]) => k === key)) delete warned[key];
    for (const [key, w] of warnings) {
      if (warned[key] === undefined || st.step - warned[key] >= 10) {
        warned[key] = st.step;
        log(`WARNING: ${w}`);
      }
    }
    a.onStep?.(m);
    if (st.step % c.checkpointEvery === 0 || st.step === c.steps) save();
  }
  const modelDir = run.modelDir;
  saveModelDir(modelDir, policy);
  const saver = codec as Partial<{ saveDir(dir: string): void }>;
  if (typeof saver.saveDir === 'function') saver.saveDir(modelDir);
  const last = history[history.length - 1];
  if (last)
    progress?.end(
      `reward ${last.reward.toFixed(3)}${last.accuracy !== null ? `, accuracy ${pct(last.accuracy)}` : ''}` +
        `, length ${last.responseLength.toFixed(1)}`,
    );
  run.markFinished({ steps: st.step, ...(last ? { reward: last.reward, accuracy: last.accuracy } : {}), modelDir });
  return { steps: st.step, history, sanity, modelDir, stopped: null };
}

/** The key numbers of a step for a progress line. */
function progressFields(m: GrpoStepMetrics): Record<string, string> {
  return {
    reward: m.reward.toFixed(3),
    ...(m.accuracy !== null ? { acc: pct(m.accuracy) } : {}),
    len: m.responseLength.toFixed(1),
    fmt: pct(m.formatRate),
    refl: pct(m.reflectionRate),
    kl: m.kl.toExponential(1),
  };
}

/** The readable line of a step. */
export function stepLine(m: GrpoStepMetrics, steps: number): string {
  const per = Object.entries(m.rewards)
    .map(([k, v]) => `${k} ${v.toFixed(3)}`)
    .join(' ');
  return (
    `step ${String(m.step).padStart(String(steps).length)}/${steps}  reward ${m.reward.toFixed(3)} (${per})` +
    (m.accuracy !== null ? `  acc ${pct(m.accuracy)}` : '') +
    `  fmt ${pct(m.formatRate)}  trunc ${pct(m.truncationRate)}  len ${m.responseLength.toFixed(1)}` +
    `  refl ${pct(m.reflectionRate)}` +
    `  groups ${m.signalGroups}/${m.groups}  kl ${m.kl.toExponential(2)}  clip ${pct(m.clipFrac)}` +
    `  ent ${m.entropy === null ? '-' : m.entropy.toFixed(3)}  |g| ${m.gradNorm.toFixed(3)}` +
    `  gen ${Math.round(m.msGeneration)} ms  train ${Math.round(m.msTraining)} ms` +
    (m.refReset ? '  (reference reset)' : '')
  );
}

interface TrainOutcome {
  loss: number;
  kl: number;
  clipFrac: number;
  entropy: number | null;
  gradNorm: number;
  optimizerSteps: number;
}

/**
 * Which response tokens train, (N, Rmax) row-major: every generated token, except that overlong 'mask' drops the
 * responses that hit the token budget ('penalty' is applied to the reward instead).
 */
export function responseMask(
  finish: readonly FinishReason[],
  lengths: readonly number[],
  Rmax: number,
  overlong: GrpoConfig['overlong'],
): Float64Array {
  const mask = new Float64Array(finish.length * Rmax);
  finish.forEach((f, i) => {
    if (overlong === 'mask' && f === 'length') return;
    for (let k = 0; k < lengths[i]; k++) mask[i * Rmax + k] = 1;
  });
  return mask;
}

/**
 * Micro-batches of the rows in `idx` (ascending): rows of one group only (they share the prompt, which then runs once),
 * at most `micro` rows each.
 */
function groupChunks(idx: readonly number[], G: number, micro: number): number[][] {
  const out: number[][] = [];
  for (let s = 0; s < idx.length; ) {
    const g = Math.floor(idx[s] / G);
    let e = s;
    while (e < idx.length && Math.floor(idx[e] / G) === g && e - s < micro) e++;
    out.push(idx.slice(s, e));
    s = e;
  }
  return out;
}

/**
 * Response log-probs of rows (one group per chunk) under `model`, without gradient. Each chunk runs in a buffer-pool
 * scope, as a training micro-batch does (the same numbers, no fresh arrays for the collector): only copies leave it.
 */
function frozenLogProbs(
  model: CausalLM,
  rolls: readonly Rollout[],
  chunks: readonly number[][],
  temperature: number,
): Map<number, Float32Array> {
  const out = new Map<number, Float32Array>();
  for (const part of chunks) {
    withBufferPool(
      () =>
        noGrad(() => {
          const { logp, R } = sharedPromptLogProbs(
            model,
            rolls[part[0]].promptIds,
            part.map((i) => rolls[i].gen.tokens),
            { temperature },
          );
          part.forEach((i, j) =>
            out.set(i, Float32Array.from(logp.data.subarray(j * R, j * R + rolls[i].gen.tokens.length))),
          );
        }),
      () => [],
    );
  }
  return out;
}

/** The policy update of one rollout: mu inner epochs over miniBatches mini-batches of whole groups. */
function trainOnRollouts(
  policy: CausalLM,
  ref: CausalLM | null,
  opt: AdamW,
  rolls: readonly Rollout[],
  adv: Float64Array,
  c: GrpoConfig,
  maxTokens: number,
): TrainOutcome {
  const N = rolls.length;
  const G = c.groupSize;
  const len = rolls.map((r) => r.gen.tokens.length);
  const Rmax = Math.max(1, ...len);
  const mask = responseMask(
    rolls.map((r) => r.gen.finish),
    len,
    Rmax,
    c.overlong,
  );
  const trains = (i: number) => mask[i * Rmax] > 0 && (adv[i] !== 0 || c.beta > 0);
  const trainIdx = Array.from({ length: N }, (_, i) => i).filter(trains);
  const needOld = c.mu > 1 || c.miniBatches > 1;
  const allChunks = groupChunks(trainIdx, G, c.microBatch);
  // the ratio and the KL use the distribution the rollouts were sampled from (softmax of logits / temperature)
  const oldLp = needOld ? frozenLogProbs(policy, rolls, allChunks, c.temperature) : null;
  const refLp = ref ? frozenLogProbs(ref, rolls, allChunks, c.temperature) : null;
  const params = policy.parameters();
  const mbRows = N / c.miniBatches;
  let lossSum = 0;
  let klSum = 0;
  let clipSum = 0;
  let tokSum = 0;
  let entSum = 0;
  let entN = 0;
  let gradNorm = 0;
  let steps = 0;
  for (let it = 0; it < c.mu; it++) {
    for (let mb = 0; mb < c.miniBatches; mb++) {
      const lo = mb * mbRows;
      const w = tokenWeights(mask.subarray(lo * Rmax, (lo + mbRows) * Rmax), mbRows, Rmax, c.loss, maxTokens);
      const idx = trainIdx.filter((i) => i >= lo && i < lo + mbRows);
      if (idx.length === 0) continue;
      for (const part of groupChunks(idx, G, c.microBatch)) {
        withMicroBatchPool(params, () => {
          const { logp, entropy, R } = sharedPromptLogProbs(
            policy,
            rolls[part[0]].promptIds,
            part.map((i) => rolls[i].gen.tokens),
            { entropy: it === 0, temperature: c.temperature },
          );
          const n = part.length;
          const oldA = needOld ? new Float32Array(n * R) : Float32Array.from(logp.data);
          const refA = refLp ? new Float32Array(n * R) : null;
          const wA = new Float64Array(n * R);
          const advA = new Float64Array(n);
          part.forEach((i, j) => {
            advA[j] = adv[i];
            if (oldLp) oldA.set(oldLp.get(i)!, j * R);
            if (refA) refA.set(refLp!.get(i)!, j * R);
            for (let k = 0; k < len[i]; k++) wA[j * R + k] = w[(i - lo) * Rmax + k];
          });
          const { loss, stats } = policyLoss({
            logp,
            oldLogp: oldA,
            refLogp: refA,
            advantages: advA,
            weights: wA,
            epsLow: c.epsilon,
            epsHigh: c.epsilonHigh ?? c.epsilon,
            beta: c.beta,
          });
          loss.backward();
          lossSum += loss.item();
          klSum += stats.kl * stats.tokens;
          clipSum += stats.clipFrac * stats.tokens;
          tokSum += stats.tokens;
          if (it === 0) {
            for (let t = 0; t < n * R; t++) {
              if (wA[t] > 0) {
                entSum += entropy[t];
                entN++;
              }
            }
          }
        });
      }
      gradNorm = clipGradNorm(params, c.maxGradNorm);
      if (!Number.isFinite(gradNorm)) throw new Error(`grpo: non-finite gradient norm ${gradNorm} (lower --lr?)`);
      opt.step(c.lr);
      opt.zeroGrad();
      steps++;
    }
  }
  // the rollouts of the next step do not use the pool, and its lengths will differ: let the arrays go
  drainBufferPool();
  return {
    loss: steps ? lossSum / steps : 0,
    kl: tokSum ? klSum / tokSum : 0,
    clipFrac: tokSum ? clipSum / tokSum : 0,
    entropy: entN ? entSum / entN : null,
    gradNorm,
    optimizerSteps: steps,
  };
}
