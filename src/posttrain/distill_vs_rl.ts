/**
 * R1's distillation-versus-RL comparison ([R1v1] 4.1 and 4.2, SPEC 6) at small scale: from the same pre-trained
 * student base, (a) distil the teacher into it (./distill.ts: SFT on the teacher's rejection-sampled responses) and
 * (b) train it with R1-Zero-style GRPO (src/rl) on the same tasks' train split; then evaluate teacher, student base,
 * distilled and RL-trained students on the same held-out test problems (pass@1 over k samples, cons@k, greedy, mean
 * length; src/eval). Each model is evaluated the way it reads prompts: the teacher, the base and the RL student
 * under the sampling template (`r1-zero` for bases pre-trained on it), the distilled student through its chat
 * template, exactly as its SFT rendered the records.
 *
 *   OUT/distill/          the distillation run (resumable; reused when finished with the same settings)
 *   OUT/grpo/             the GRPO run (resumable; reused when finished with the same settings)
 *   OUT/distill_vs_rl.json  the comparison (format r1ts-distill-vs-rl-1: task, n, k, a row per model), which
 *                         `r1ts report OUT` shows as a table above the two runs' curves
 *
 * GRPO runs a fixed number of steps (`rlSteps`); the wall-clock of both trainings is reported beside the table, so a
 * reader sees whether RL had at least the distillation's time (the paper's condition). Not here: the trainers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChatMessage } from '../data/chat.js';
import { type EvalResult, evaluate } from '../eval/eval.js';
import type { TextCodec } from '../infer/codec.js';
import { writeJsonFile } from '../io/json.js';
import { loadModelAndTokenizer } from '../io/load.js';
import { resolveGrpoConfig } from '../rl/config.js';
import { taskProblems, taskSource } from '../rl/problems.js';
import { GRPO_RESUME_RULE, runGrpoAsync } from '../rl/trainer.js';
import { RunDir, describeChange, readRunRecord, runFinished, settingsDiff } from '../train/run_dir.js';
import { DISTILL_RESUME_RULE, type DistillSampling, distill, distillSettings } from './distill.js';
import type { SftConfig } from './sft.js';
import { chatPromptIds } from './sft_eval.js';

/** How to open a run directory again: resume from a checkpoint, or start over when it holds none yet. */
function modeOf(dir: string): 'new' | 'resume' | 'overwrite' {
  if (!fs.existsSync(path.join(dir, 'run.json'))) return 'new';
  const ckpt = path.join(dir, 'checkpoints');
  return fs.existsSync(ckpt) && fs.readdirSync(ckpt).some((e) => e.startsWith('step-')) ? 'resume' : 'overwrite';
}

export interface DistillVsRlOptions {
  teacher: string;
  /** The pre-trained student base both trainings start from. */
  student: string;
  outDir: string;
  /** The task evaluated (and trained by RL); distillation samples `sampling.tasks` (default: this task). */
  task: string;
  difficulty?: string;
  /** Held-out test problems and samples per problem. */
  n: number;
  k: number;
  maxTokens: number;
  sampling?: Partial<DistillSampling>;
  sft?: Partial<SftConfig>;
  /** GRPO steps, prompts per step and group size. */
  rlSteps: number;
  rlPromptsPerStep?: number;
  rlGroupSize?: number;
  rlLr?: number;
  seed?: number;
  log?: (line: string) => void;
}

/** One row of the comparison. */
export interface ComparisonRow {
  model: 'teacher' | 'student base' | 'distilled' | 'rl';
  dir: string;
  'pass@1': number;
  'cons@k': number;
  greedy: number | null;
  meanLength: number;
  /** Parameters of the model. */
  params: number;
  /** Minutes of training that made it in this call (null for the teacher, the base and reused runs). */
  trainMinutes: number | null;
}

export interface DistillVsRlResult {
  task: string;
  n: number;
  k: number;
  rows: ComparisonRow[];
}

/** A codec whose prompts are rendered with the tokenizer's chat template (the question as the user turn). */
function chatCodec(tok: ReturnType<typeof loadModelAndTokenizer>['tok']): TextCodec {
  return {
    encode: (text: string) => chatPromptIds(tok, [{ role: 'user', content: text } satisfies ChatMessage]),
    decode: (ids) => tok.decode(ids),
    eosId: tok.eosId,
  };
}

/** Runs (or reuses) both trainings and evaluates the four models; see the file header. */
export async function distillVsRl(o: DistillVsRlOptions): Promise<DistillVsRlResult> {
  const log = o.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  const seed = o.seed ?? 0;
  const template = o.sampling?.template ?? 'r1-zero';
  const sampling = {
    tasks: [o.task],
    template,
    maxTokens: o.maxTokens,
    difficulty: o.difficulty ?? null,
    ...o.sampling,
    seed,
  };
  const dDir = path.join(o.outDir, 'distill');
  const minutes = (t0: number) => (performance.now() - t0) / 60_000;

  // (a) distillation
  let t0 = performance.now();
  let distillMinutes: number | null = null;
  if (runFinished(dDir)) {
    // reused only as it was asked for (another teacher, set size or SFT is another experiment)
    const asked = distillSettings({ outDir: dDir, teacher: o.teacher, student: o.student, sampling, config: o.sft });
    const diff = settingsDiff(readRunRecord(dDir)?.settings ?? {}, asked, DISTILL_RESUME_RULE);
    if (diff.length)
      throw new Error(
        `experiment distill-vs-rl: ${dDir} holds a finished distillation with other settings (${diff.map(describeChange).join(', ')}); use another --out`,
      );
    log(`[1/3] reusing the finished distillation in ${dDir} (same settings)`);
  } else {
    log(`[1/3] distilling ${o.teacher} into ${o.student}`);
    const r = await distill({
      outDir: dDir,
      teacher: o.teacher,
      student: o.student,
      sampling,
      config: o.sft,
      resume: modeOf(dDir) === 'resume',
      overwrite: modeOf(dDir) === 'overwrite',
      log: (l) => log(`      ${l}`),
    });
    if (r.stopped) throw new Error('experiment distill-vs-rl: the distillation was stopped');
    distillMinutes = minutes(t0);
  }

  // (b) R1-Zero GRPO from the same base
  const rlDir = path.join(o.outDir, 'grpo');
  const config = resolveGrpoConfig({
    steps: o.rlSteps,
    seed,
    difficulty: o.difficulty,
    lr: o.rlLr,
    promptsPerStep: o.rlPromptsPerStep,
    groupSize: o.rlGroupSize,
    maxTokens: o.maxTokens,
  });
  t0 = performance.now();
  let rlMinutes: number | null = null;
  const spec = { model: path.resolve(o.student), task: o.task, tokenizer: null, rewardModules: [], config };
  if (runFinished(rlDir)) {
    // a finished run is reused only as it was asked for (other steps, seed or sizes are another experiment)
    const diff = settingsDiff(readRunRecord(rlDir)?.settings ?? {}, spec, GRPO_RESUME_RULE);
    if (diff.length)
      throw new Error(
        `experiment distill-vs-rl: ${rlDir} holds a finished GRPO run with other settings (${diff.map(describeChange).join(', ')}); use another --out`,
      );
    log(`[2/3] reusing the finished GRPO run in ${rlDir} (same settings)`);
  } else {
    log(`[2/3] R1-Zero GRPO of the student base: ${o.rlSteps} steps on ${o.task} (train split)`);
    const { model, tok } = loadModelAndTokenizer(o.student);
    const mode = modeOf(rlDir);
    const run = RunDir.open({ dir: rlDir, command: 'grpo', mode, inputs: [o.student], log });
    try {
      if (mode === 'resume') run.resume(spec, GRPO_RESUME_RULE);
      else run.start(spec);
      const r = await runGrpoAsync({
        run,
        policy: model,
        codec: tok,
        source: taskSource(o.task, { split: 'train', seed, difficulty: o.difficulty }),
        config,
        log: (l) => log(`      ${l}`),
      });
      if (r.stopped) throw new Error('experiment distill-vs-rl: the GRPO run was stopped');
    } finally {
      run.close();
    }
    rlMinutes = minutes(t0);
  }

  // evaluation on the held-out test split
  const problems = taskProblems(o.task, o.n, { split: 'test', seed, difficulty: o.difficulty });
  log(`[3/3] evaluating 4 models on ${problems.length} held-out ${o.task} problems (k=${o.k}, T 0.6, top-p 0.95)`);
  const evalOpts = { k: o.k, temperature: 0.6, topP: 0.95, seed, maxTokens: o.maxTokens };
  const row = (
    model: ComparisonRow['model'],
    dir: string,
    chat: boolean,
    trainMinutes: number | null,
  ): ComparisonRow => {
    const { model: m, tok } = loadModelAndTokenizer(dir);
    const r: EvalResult = chat
      ? evaluate(m, chatCodec(tok), problems, { ...evalOpts, template: '{prompt}' })
      : evaluate(m, tok, problems, evalOpts);
    return {
      model,
      dir,
      'pass@1': r['pass@1'],
      'cons@k': r['cons@k'],
      greedy: r.greedy,
      meanLength: r.meanLength,
      params: m.numParameters(),
      trainMinutes,
    };
  };
  const zero = template === 'r1-zero';
  const rows = [
    row('teacher', o.teacher, !zero, null),
    row('student base', o.student, false, null),
    row('distilled', path.join(dDir, 'model'), true, distillMinutes),
    row('rl', path.join(rlDir, 'model'), false, rlMinutes),
  ];
  const result = { task: o.task, n: problems.length, k: o.k, rows };
  writeJsonFile(path.join(o.outDir, COMPARISON_FILE), { format: COMPARISON_FORMAT, ...result });
  return result;
}

/** The comparison's file in OUT and its format (src/report/runs.ts reads it). */
export const COMPARISON_FILE = 'distill_vs_rl.json';
export const COMPARISON_FORMAT = 'r1ts-distill-vs-rl-1';

/** The comparison as a table. */
export function comparisonTable(r: DistillVsRlResult): string {
  const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(1)}%`).padStart(8);
  const lines = [
    `${r.task}, ${r.n} held-out problems, k=${r.k}`,
    'model          pass@1   cons@k   greedy  mean len      params  train min',
  ];
  for (const x of r.rows)
    lines.push(
      `${x.model.padEnd(13)}${pct(x['pass@1'])} ${pct(x['cons@k'])} ${pct(x.greedy)} ${x.meanLength.toFixed(1).padStart(9)} ${x.params.toLocaleString('en-US').padStart(11)}  ${x.trainMinutes === null ? '-' : x.trainMinutes.toFixed(1)}`,
    );
  return lines.join('\n');
}
