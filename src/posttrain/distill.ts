/**
 * `r1ts distill` as a library function ([R1v1] 4.1, SPEC 6): a teacher's reasoning into a small dense student by SFT
 * alone. The teacher is rejection-sampled on the train split of the built-in tasks (k responses per problem, kept when
 * correct and readable: ./sample.ts), the kept responses are written with their provenance, and the student is
 * fine-tuned on them through the teacher's chat template (./sft_run.ts), in one run directory:
 *
 *   OUT/distill.jsonl   the distillation set: {"messages", "task", "id", "split", "model", "seed", ...} per kept response
 *   OUT/distill.json    its provenance: teacher, sampling settings, counts (what was dropped and why), seconds
 *   OUT/tokenizer/      the student's tokenizer.json with a tokenizer_config.json that carries the teacher's chat
 *                       template (R1's when the teacher has none), which SFT renders the records with
 *   OUT/run.json, metrics.jsonl, checkpoints/   the SFT run (resumable; run-directories.md)
 *   OUT/model/          the distilled student in Hugging Face layout (Qwen2/Llama names), with that tokenizer
 *
 * The set is written atomically after sampling; a run stopped while sampling samples again (same seeds, same set), and
 * a set whose provenance matches the settings is reused rather than sampled twice. Sampling settings and the teacher
 * may not change on resume; SFT's resume rule applies to the rest.
 *
 * Held out means held out: only the train split is sampled (rejectionSample refuses test prompts), and evaluation
 * draws the test split, which the tasks keep disjoint from train.
 *
 * Not here: the sampler (./sample.ts), the SFT trainer (./sft.ts), the comparison with RL (src/experiments).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { R1_CHAT_TEMPLATE } from '../data/chat.js';
import type { LangOption } from '../data/sft/index.js';
import { Tokenizer } from '../data/tokenizer.js';
import { writeAll, writeFileAtomic } from '../io/atomic.js';
import { loadModelAndTokenizer } from '../io/load.js';
import { readConfigFile } from '../io/model_dir.js';
import { checkSamplingParams } from '../infer/sampling.js';
import { RunDir, type ResumeRule } from '../train/run_dir.js';
import type { StopRequests } from '../train/signals.js';
import {
  DEFAULT_STOP,
  type SampleCounts,
  type SampleTemplate,
  describeCounts,
  parseFilters,
  parseKeepRule,
  recordsJsonl,
  rejectionSample,
} from './sample.js';
import { taskPrompts } from './sample_prompts.js';
import { DEFAULT_SFT_CONFIG, SFT_RESUME_RULE, type SftConfig, type SftStepMetrics, resolveSftConfig } from './sft.js';
import type { ProgressSink } from '../util/progress.js';
import { DEFAULT_SFT_EVAL, type SftRunResult, type SftSettings, defined, sftInRun } from './sft_run.js';

/** How the teacher is sampled. */
export interface DistillSampling {
  /** Built-in tasks (reasoning tasks, and SFT tasks for non-reasoning data). */
  tasks: string[];
  /** Train-split problems per task. */
  n: number;
  /** Samples per problem. */
  k: number;
  temperature: number;
  topP: number;
  maxTokens: number;
  /** How the teacher reads prompts: its chat template, or the R1-Zero prompt (a base pre-trained on it). */
  template: SampleTemplate;
  /** Stop strings, kept in the response (null: `</answer>` for r1-zero, none for chat: the template ends on EOS). */
  stop: string[] | null;
  /** Keep rule (./sample.ts): `correct` by default. */
  keep: string;
  /** Readability filters: `readable` (all) by default. */
  filters: string;
  lang: LangOption;
  /** Difficulty of the reasoning tasks (null: each task's). */
  difficulty: string | null;
  seed: number;
}

/**
 * Defaults that work at tiny scale: the six reasoning tasks, 200 problems each, 4 samples at R1's temperature 0.7 /
 * top-p 0.95, kept when correct and readable.
 */
export const DEFAULT_DISTILL_SAMPLING: DistillSampling = {
  tasks: ['lineq', 'add', 'mul', 'countdown', 'sort', 'modpow'],
  n: 200,
  k: 4,
  temperature: 0.7,
  topP: 0.95,
  maxTokens: 256,
  template: 'chat',
  stop: null,
  keep: 'correct',
  filters: 'readable',
  lang: 'en',
  difficulty: null,
  seed: 0,
};

/** SFT defaults for a tiny student: a far higher rate than R1's 5e-5 (as for the tiny base, docs/sft.md). */
export const DEFAULT_DISTILL_SFT: Partial<SftConfig> = { lr: 1e-3, epochs: 3, seqLen: 256, batch: 16, microBatch: 4 };

/** run.json of a distillation: the SFT run's settings (model = the student), the teacher and its sampling. */
export interface DistillSettings extends SftSettings {
  teacher: string;
  sampling: DistillSampling;
}

/** SFT's resume rule, with the teacher and its sampling immutable. */
export const DISTILL_RESUME_RULE: ResumeRule = {
  mutable: SFT_RESUME_RULE.mutable,
  flags: {
    ...SFT_RESUME_RULE.flags,
    model: '--student',
    teacher: '--teacher',
    'sampling.tasks': '--task',
    'sampling.n': '--n',
    'sampling.k': '--k',
    'sampling.temperature': '--temperature',
    'sampling.topP': '--top-p',
    'sampling.maxTokens': '--max-tokens',
    'sampling.template': '--template',
    'sampling.stop': '--stop',
    'sampling.keep': '--keep',
    'sampling.filters': '--filters',
    'sampling.lang': '--lang',
    'sampling.difficulty': '--difficulty',
    'sampling.seed': '--seed',
  },
};

export interface DistillOptions {
  outDir: string;
  /** Required for a new run; on resume, given only to check that they are the run's. */
  teacher?: string;
  student?: string;
  sampling?: Partial<DistillSampling>;
  /** SFT settings over DEFAULT_DISTILL_SFT. */
  config?: Partial<SftConfig>;
  /** Share of the set held out for the SFT's held-out loss (by content; default 0.05). */
  valShare?: number;
  resume?: boolean;
  overwrite?: boolean;
  stops?: StopRequests;
  log?: (line: string) => void;
  onStep?: (m: SftStepMetrics) => void;
  /** The SFT phase's step progress (a live line on a terminal, a line every N steps on a pipe); messages then go to
   * `log`, or above the live line without one. */
  progress?: ProgressSink | null;
}

/** What `distill` reports: the SFT run's result and the distillation set's counts. */
export interface DistillResult extends SftRunResult {
  setFile: string;
  counts: SampleCounts;
}

/** distill.json: where the set came from. */
interface SetProvenance {
  teacher: string;
  sampling: DistillSampling;
  counts: SampleCounts;
  seconds: number;
}

const SET = 'distill.jsonl';
const PROVENANCE = 'distill.json';
const TOKENIZER = 'tokenizer';

/** The run.json settings a new distillation with these options records (checked as `distill` checks them). */
export function distillSettings(o: DistillOptions): DistillSettings {
  if (!o.teacher) throw new Error('distill: --teacher is required for a new run');
  if (!o.student) throw new Error('distill: --student is required for a new run');
  const { config: student } = readConfigFile(o.student);
  const over = { ...DEFAULT_DISTILL_SFT, ...o.config };
  const seqLen = Math.min(over.seqLen ?? DEFAULT_SFT_CONFIG.seqLen, student.max_position_embeddings);
  const sampling = { ...DEFAULT_DISTILL_SAMPLING, ...defined(o.sampling ?? {}) };
  parseKeepRule(sampling.keep, 'distill: --keep');
  parseFilters(sampling.filters, 'distill: --filters');
  if (sampling.tasks.length === 0) throw new Error('distill: --task names no task');
  const dir = path.resolve(o.outDir);
  return {
    model: path.resolve(o.student),
    tokenizer: path.join(dir, TOKENIZER, 'tokenizer.json'),
    data: [path.join(dir, SET)],
    valData: null,
    valShare: o.valShare ?? 0.05,
    skipBad: false,
    config: resolveSftConfig({ ...over, seqLen }),
    eval: DEFAULT_SFT_EVAL,
    teacher: path.resolve(o.teacher),
    sampling,
  };
}

/** Distils `teacher` into `student` (or resumes the run in `outDir`); see the file header. */
export async function distill(o: DistillOptions): Promise<DistillResult> {
  const progress = o.progress ?? null;
  const log = o.log ?? (progress ? (l: string) => progress.line(l) : (l: string) => process.stdout.write(`${l}\n`));
  if (o.resume && o.overwrite) throw new Error('distill: --resume and --overwrite exclude each other');
  const mode = o.resume ? 'resume' : o.overwrite ? 'overwrite' : 'new';
  const asked = mode === 'resume' ? null : distillSettings(o);
  const dir = RunDir.open({
    dir: o.outDir,
    command: 'distill',
    mode,
    extraEntries: [SET, PROVENANCE, TOKENIZER],
    inputs: [o.teacher, o.student].filter((x) => x !== undefined),
    log,
    stops: o.stops,
  });
  try {
    const s =
      asked ??
      dir.resume<DistillSettings>(
        (rec) => ({
          ...rec,
          ...defined({
            model: o.student !== undefined ? path.resolve(o.student) : undefined,
            teacher: o.teacher !== undefined ? path.resolve(o.teacher) : undefined,
          }),
          sampling: { ...rec.sampling, ...defined(o.sampling ?? {}) },
          config: resolveSftConfig(o.config ?? {}, rec.config),
        }),
        DISTILL_RESUME_RULE,
      );
    const counts = sampleTeacher(s, dir.dir, log);
    if (dir.stopRequested()) throw new Error('distill: stopped while sampling the teacher; run the same command again');
    writeStudentTokenizer(s, dir.dir);
    const r = await sftInRun(dir, s, log, o.onStep, progress);
    return { ...r, setFile: path.join(dir.dir, SET), counts };
  } finally {
    dir.close();
  }
}

/** Samples the teacher into OUT/distill.jsonl and OUT/distill.json, unless a set with the same provenance is there. */
function sampleTeacher(s: DistillSettings, out: string, log: (line: string) => void): SampleCounts {
  const setFile = path.join(out, SET);
  const provFile = path.join(out, PROVENANCE);
  if (fs.existsSync(setFile) && fs.existsSync(provFile)) {
    const prov = JSON.parse(fs.readFileSync(provFile, 'utf8')) as SetProvenance;
    if (prov.teacher === s.teacher && JSON.stringify(prov.sampling) === JSON.stringify(s.sampling)) {
      log(`distill: the distillation set ${setFile} is there (${prov.counts.kept} records): not sampled again`);
      return prov.counts;
    }
  }
  const p = s.sampling;
  const sampling = checkSamplingParams(
    {
      n: p.k,
      temperature: p.temperature,
      topP: p.topP,
      maxTokens: p.maxTokens,
      seed: p.seed,
      stop: p.stop ?? [...DEFAULT_STOP[p.template]],
    },
    {
      who: 'distill',
      names: { n: '--k', temperature: '--temperature', topP: '--top-p', maxTokens: '--max-tokens', stop: '--stop' },
    },
  );
  const prompts = taskPrompts(p.tasks, {
    split: 'train',
    n: p.n,
    lang: p.lang,
    ...(p.difficulty !== null ? { difficulty: p.difficulty } : {}),
  });
  const { model, tok, warnings } = loadModelAndTokenizer(s.teacher);
  for (const w of warnings) log(`warning: ${w}`);
  log(
    `distill: sampling the teacher ${s.teacher}: ${prompts.length} train problems (${p.tasks.join(',')}) x k=${p.k}, ` +
      `template ${p.template}, T ${p.temperature}, top-p ${p.topP}, max ${p.maxTokens} tokens, keep ${p.keep}, filters ${p.filters}`,
  );
  const t0 = performance.now();
  const r = rejectionSample(model, tok, prompts, {
    ...sampling,
    k: p.k,
    template: p.template,
    keep: parseKeepRule(p.keep, 'distill: --keep'),
    filters: parseFilters(p.filters, 'distill: --filters'),
    model: s.teacher,
    progressEvery: Math.max(1, Math.ceil(prompts.length / 10)),
    onProgress: (q) =>
      log(
        `distill: sampled ${q.done}/${q.total} problems, kept ${q.kept} of ${q.samples} responses (${q.seconds.toFixed(0)} s)`,
      ),
  });
  const seconds = (performance.now() - t0) / 1000;
  for (const line of describeCounts(r.counts)) log(line);
  if (r.records.length === 0)
    throw new Error(
      `distill: the teacher ${s.teacher} got no response kept (${r.counts.samples} sampled); check --template (r1-zero for a base pre-trained on the R1-Zero prompt) and --keep`,
    );
  const prov: SetProvenance = { teacher: s.teacher, sampling: s.sampling, counts: r.counts, seconds };
  fs.rmSync(setFile, { force: true }); // the set is valid only once both files are written
  writeFileAtomic(provFile, (fd) => writeAll(fd, Buffer.from(`${JSON.stringify(prov, null, 2)}\n`)));
  writeFileAtomic(setFile, (fd) => writeAll(fd, Buffer.from(recordsJsonl(r.records))));
  log(`distill: wrote ${r.records.length} records to ${setFile} (${seconds.toFixed(1)} s)`);
  return r.counts;
}

/**
 * OUT/tokenizer/: the student's tokenizer.json and tokenizer_config.json, with the teacher's chat template (R1's when
 * the teacher has none), so that SFT renders the records, and the exported student chats, as the teacher's template
 * does.
 */
function writeStudentTokenizer(s: DistillSettings, out: string): void {
  const dir = path.join(out, TOKENIZER);
  const teacherTemplate = Tokenizer.load(s.teacher).config.chat_template ?? R1_CHAT_TEMPLATE;
  const studentDir = s.model;
  const cfgFile = path.join(studentDir, 'tokenizer_config.json');
  const cfg = fs.existsSync(cfgFile) ? (JSON.parse(fs.readFileSync(cfgFile, 'utf8')) as Record<string, unknown>) : {};
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(studentDir, 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
  const json = `${JSON.stringify({ ...cfg, chat_template: teacherTemplate }, null, 2)}\n`;
  writeFileAtomic(path.join(dir, 'tokenizer_config.json'), (fd) => writeAll(fd, Buffer.from(json)));
}
