/**
 * `r1ts sft` as a library function: loads a model directory with its tokenizer, reads and tokenizes the chat records
 * with the model's own chat template, splits off held-out samples, reports what does not fit, runs the trainer
 * (./sft.ts) in a run directory and exports the final model in Hugging Face layout with its tokenizer files. With
 * `eval.tasks`, the built-in SFT tasks' quality checks run on the base before training and on the result after it.
 *
 *   OUT/run.json        the resolved settings (SftSettings), history of resumes and stops, status, summary
 *   OUT/metrics.jsonl   step 0 (held-out loss and quality of the base), then one line per optimizer step
 *   OUT/checkpoints/    atomic checkpoints (last K)
 *   OUT/model/          the final model: config.json, model.safetensors, tokenizer.json, tokenizer_config.json
 *
 * Not here: the training loop (./sft.ts), the command line (src/cli/commands/sft.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type LangOption, getSftTask } from '../data/sft/index.js';
import { loadModelAndTokenizer } from '../io/load.js';
import { readConfigFile, saveModelDir } from '../io/model_dir.js';
import { RunDir } from '../train/run_dir.js';
import type { StopRequests } from '../train/signals.js';
import { type ProgressSink, progressOutput } from '../util/progress.js';
import { type FitReport, PackedStream, fitSamples, trainedTokens } from './packing.js';
import {
  DEFAULT_SFT_CONFIG,
  SFT_RESUME_RULE,
  type SftConfig,
  type SftResult,
  type SftStepMetrics,
  resolveSftConfig,
  runSft,
} from './sft.js';
import { type ReadSample, overlapping, readSftSamples, samplesFingerprint, splitByContent } from './sft_data.js';
import { type TaskEvalResult, describeTaskEval, evaluateSftTasks } from './sft_eval.js';

/** The quality evaluation of the built-in SFT tasks (none when `tasks` is empty). */
export interface SftEvalSettings {
  tasks: string[];
  /** Held-out items per task. */
  n: number;
  maxTokens: number;
  lang: LangOption;
  seed: number;
}

export const DEFAULT_SFT_EVAL: SftEvalSettings = { tasks: [], n: 50, maxTokens: 64, lang: 'mix', seed: 0 };

/** run.json of an SFT run. */
export interface SftSettings {
  /** The base model directory (absolute). */
  model: string;
  /** A tokenizer.json (or its folder) instead of the model's, or null. */
  tokenizer: string | null;
  /** Training files (absolute). */
  data: string[];
  /** Held-out files (absolute), or null. */
  valData: string[] | null;
  /** Share of the training records held out by content hash (when no valData), or null. */
  valShare: number | null;
  /** Skip malformed records (counted) instead of stopping at the first. */
  skipBad: boolean;
  config: SftConfig;
  eval: SftEvalSettings;
  [key: string]: unknown;
}

export interface SftOptions {
  outDir: string;
  /** Required for a new run; on resume, given only to check that it is the run's. */
  model?: string;
  tokenizer?: string;
  data?: string[];
  valData?: string[];
  valShare?: number;
  skipBad?: boolean;
  config?: Partial<SftConfig>;
  eval?: Partial<SftEvalSettings>;
  resume?: boolean;
  overwrite?: boolean;
  stops?: StopRequests;
  /** Messages; without `progress`, a step line every ~total/40 steps too. With neither, a progress line on stdout. */
  log?: (line: string) => void;
  /** Step progress (a live line on a terminal, a line every N steps on a pipe); messages then go to `log`. */
  progress?: ProgressSink | null;
  /** Called after every optimizer step (tests use it to kill or inspect a run). */
  onStep?: (m: SftStepMetrics) => void;
}

export interface SftRunResult extends SftResult {
  /** The final model (written unless the run was stopped). */
  modelDir: string;
  /** Quality checks of the base and the result (empty without eval tasks). */
  evalBefore: TaskEvalResult[];
  evalAfter: TaskEvalResult[];
}

/** `o` without its undefined fields (options over recorded settings). */
export function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const abs = (ps: readonly string[] | undefined) => (ps?.length ? ps.map((p) => path.resolve(p)) : undefined);

/** The settings of a new run; `seqLen` defaults to min(1024, the model's max_position_embeddings). */
function newSettings(o: SftOptions): SftSettings {
  if (!o.model) throw new Error('sft: --model is required for a new run');
  if (!o.data?.length) throw new Error('sft: --data is required for a new run');
  if (o.valData?.length && o.valShare !== undefined)
    throw new Error('sft: --val-data and --val-share exclude each other (held-out data from a file, or a share)');
  const { config: model } = readConfigFile(o.model);
  const seqLen = o.config?.seqLen ?? Math.min(DEFAULT_SFT_CONFIG.seqLen, model.max_position_embeddings);
  return {
    model: path.resolve(o.model),
    tokenizer: o.tokenizer ? path.resolve(o.tokenizer) : null,
    data: abs(o.data)!,
    valData: abs(o.valData) ?? null,
    valShare: o.valShare ?? null,
    skipBad: o.skipBad ?? false,
    config: resolveSftConfig({ ...o.config, seqLen }),
    eval: { ...DEFAULT_SFT_EVAL, ...defined(o.eval ?? {}) },
  };
}

/** Checks what the settings ask of the model and the built-in tasks, before any work. */
function checkSettings(s: SftSettings, maxPositions: number): void {
  if (s.config.seqLen > maxPositions)
    throw new Error(
      `sft: --seq-len ${s.config.seqLen} is more than the model's max_position_embeddings ${maxPositions} (${s.model})`,
    );
  for (const t of s.eval.tasks) getSftTask(t);
  if (s.valShare !== null && !(s.valShare > 0 && s.valShare < 1))
    throw new Error(`sft: --val-share must be in (0, 1), got ${s.valShare}`);
}

/** "a.jsonl:3 (612 tokens), b.jsonl:9 (700 tokens) and 12 more" */
function named(rs: readonly FitReport[], max = 5): string {
  const head = rs.slice(0, max).map((r) => `${r.where} (${r.tokens} tokens)`);
  return head.join(', ') + (rs.length > max ? ` and ${rs.length - max} more` : '');
}

const count = (n: number) => n.toLocaleString('en-US');

/** Prepares and runs (or resumes) an SFT run in `o.outDir`. */
export async function sft(o: SftOptions): Promise<SftRunResult> {
  const { log, progress } = progressOutput(o.log, o.progress);
  const mode = o.resume ? 'resume' : o.overwrite ? 'overwrite' : 'new';
  if (o.resume && o.overwrite) throw new Error('sft: --resume and --overwrite exclude each other');
  const asked = mode === 'resume' ? null : newSettings(o);
  const dir = RunDir.open({
    dir: o.outDir,
    command: 'sft',
    mode,
    inputs: [o.model, o.tokenizer, ...(o.data ?? []), ...(o.valData ?? [])].filter((x) => x !== undefined),
    log,
    stops: o.stops,
  });
  try {
    const s =
      asked ??
      dir.resume<SftSettings>(
        (rec) => ({
          ...rec,
          ...defined({
            model: o.model !== undefined ? path.resolve(o.model) : undefined,
            tokenizer: o.tokenizer !== undefined ? path.resolve(o.tokenizer) : undefined,
            data: abs(o.data),
            valData: abs(o.valData),
            valShare: o.valShare,
            skipBad: o.skipBad,
          }),
          config: resolveSftConfig(o.config ?? {}, rec.config),
          eval: { ...rec.eval, ...defined(o.eval ?? {}) },
        }),
        SFT_RESUME_RULE,
      );
    return await sftInRun(dir, s, log, o.onStep, progress);
  } finally {
    dir.close();
  }
}

/**
 * Runs (or resumes) SFT in an open run directory with resolved settings: `sft` above, and commands that prepare their
 * own data first (`distill`), call it. Starts the run (writes run.json) unless it is a resume.
 */
export async function sftInRun(
  dir: RunDir,
  asked: SftSettings,
  log: (line: string) => void,
  onStep?: (m: SftStepMetrics) => void,
  /** Step progress (default none: `log` gets a step line every few steps). */
  progress: ProgressSink | null = null,
): Promise<SftRunResult> {
  let s = asked;
  const c = s.config;
  const { model, config, tok, warnings } = loadModelAndTokenizer(s.model, s.tokenizer ?? undefined);
  for (const w of warnings) log(`warning: ${w}`);
  checkSettings(s, config.max_position_embeddings);

  // ---- data: records -> tokenized samples with their loss masks -> held-out split -> what fits a row
  const t0 = performance.now();
  const read = await readSftSamples(s.data, tok, { skipBad: s.skipBad });
  let trainRead: ReadSample[] = read.samples;
  let valRead: ReadSample[] = [];
  let bad = read.bad;
  const badExamples = [...read.badExamples];
  if (s.valData) {
    const v = await readSftSamples(s.valData, tok, { skipBad: s.skipBad });
    valRead = v.samples;
    bad += v.bad;
    badExamples.push(...v.badExamples);
    const dup = overlapping(trainRead, valRead);
    if (dup.n)
      log(
        `warning: ${dup.n} held-out sample(s) of --val-data are also in the training data (first: ${dup.first}); the held-out loss is not held out`,
      );
  } else if (s.valShare !== null) {
    ({ train: trainRead, val: valRead } = splitByContent(read.samples, s.valShare));
  }
  if (bad) log(`skipped ${bad} malformed record(s) (--skip-bad): ${badExamples.slice(0, 5).join('; ')}`);
  const fit = fitSamples(trainRead, c.seqLen, c.truncate);
  const vfit = fitSamples(valRead, c.seqLen, c.truncate);
  const T1 = c.seqLen + 1;
  const tooLong = [...fit.skipped, ...vfit.skipped];
  if (tooLong.length)
    log(
      `skipped ${tooLong.length} sample(s) longer than --seq-len ${c.seqLen} + 1 = ${T1} tokens${c.truncate ? ' (no assistant token in their first ' + T1 + ')' : ' (--truncate keeps their first ' + T1 + ' tokens)'}: ${named(tooLong)}`,
    );
  const cut = [...fit.truncated, ...vfit.truncated];
  if (cut.length) log(`truncated ${cut.length} sample(s) to their first ${T1} tokens (--truncate): ${named(cut)}`);
  const empty = [...fit.empty, ...vfit.empty];
  if (empty.length) log(`skipped ${empty.length} sample(s) with no assistant token to learn: ${named(empty)}`);
  if (fit.kept.length === 0)
    throw new Error(`sft: no training sample left (${read.records} records; see the lines above)`);
  const stream = new PackedStream(fit.kept, { seqLen: c.seqLen, batch: c.batch, epochs: c.epochs, seed: c.seed });
  const rows = stream.epochRows(0);
  const positions = fit.kept.reduce((n, x) => n + x.ids.length - 1, 0);
  const perEpoch = stream.stepsPerEpoch();
  const total = Math.min(
    perEpoch.reduce((a, b) => a + b, 0),
    c.maxSteps ?? Number.POSITIVE_INFINITY,
  );
  const assistant = fit.kept.reduce((n, x) => n + trainedTokens(x), 0);
  log(
    `sft: ${count(read.records)} records; train ${count(fit.kept.length)} samples (${count(fit.skipped.length)} skipped, ${count(fit.truncated.length)} truncated), ` +
      `${count(assistant)} assistant tokens in ${count(rows.length)} rows of ${c.seqLen} (${((100 * positions) / (rows.length * c.seqLen)).toFixed(0)}% filled); ` +
      `held out ${count(vfit.kept.length)} samples; ${c.epochs} epoch(s), ${total} steps of ${c.batch} rows` +
      ` (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );

  if (dir.mode !== 'resume') s = dir.start(s);
  const evalOf = (): TaskEvalResult[] =>
    s.eval.tasks.length
      ? evaluateSftTasks(model, tok, {
          tasks: s.eval.tasks,
          n: s.eval.n,
          lang: s.eval.lang,
          seed: s.eval.seed,
          maxTokens: s.eval.maxTokens,
          exclude: new Set(read.samples.flatMap((x) => x.users)),
        })
      : [];
  let evalBefore: TaskEvalResult[] = [];
  if (dir.mode !== 'resume' && s.eval.tasks.length) {
    evalBefore = evalOf();
    log(`quality of the base (greedy, held-out test split): ${describeTaskEval(evalBefore)}`);
    const left = evalBefore.reduce((n, r) => n + r.excluded, 0);
    if (left) log(`(${left} held-out prompt(s) left out of the evaluation: they are in the training data)`);
  }
  log(
    `run: ${model.config.model_type}, lr ${c.lr} (${c.schedule}${c.schedule === 'cosine' ? ` to x${c.minLrRatio}` : ''}, warm-up ${Math.round(c.warmup * total)} steps), ` +
      `${c.batch} rows per step in micro-batches of ${c.microBatch}, out ${dir.dir}`,
  );
  const t1 = performance.now();
  const r = await runSft({
    run: dir,
    model,
    train: fit.kept,
    val: vfit.kept,
    config: c,
    padId: tok.padId ?? 0,
    fingerprint: samplesFingerprint(fit.kept),
    initial: evalBefore.length ? { eval: evalBefore } : undefined,
    log,
    progress,
    onStep,
  });
  if (dir.mode === 'resume') evalBefore = (r.initial?.eval as TaskEvalResult[] | undefined) ?? [];
  const modelDir = dir.modelDir;
  if (r.stopped) return { ...r, modelDir, evalBefore, evalAfter: [] };
  saveModelDir(modelDir, model);
  copyTokenizerFiles(s.tokenizer ?? s.model, modelDir);
  const evalAfter = evalOf();
  const valBefore = (r.initial?.valLoss as number | undefined) ?? null;
  dir.markFinished({
    steps: r.steps,
    finalLoss: r.finalLoss,
    valLossBefore: valBefore,
    valLossAfter: r.finalValLoss,
    ...(evalAfter.length ? { evalBefore, evalAfter } : {}),
    modelDir,
  });
  const first = r.history[0]?.loss;
  log(
    `done: ${r.steps} steps in ${((performance.now() - t1) / 60_000).toFixed(1)} min; train loss ${first !== undefined ? `${first.toFixed(4)} -> ` : ''}${r.finalLoss.toFixed(4)}` +
      (valBefore !== null && r.finalValLoss !== null
        ? `; held-out loss ${valBefore.toFixed(4)} -> ${r.finalValLoss.toFixed(4)}`
        : '') +
      `; model -> ${modelDir}`,
  );
  if (evalAfter.length) log(qualityTable(evalBefore, evalAfter));
  return { ...r, modelDir, evalBefore, evalAfter };
}

/** The before/after table of the quality checks. */
export function qualityTable(before: readonly TaskEvalResult[], after: readonly TaskEvalResult[]): string {
  const cell = (r: TaskEvalResult | undefined) =>
    r ? `${r.passed}/${r.n} ${r.n ? ((100 * r.passed) / r.n).toFixed(1) : '-'}%` : '-';
  const lines = ['task        base            sft'];
  for (const a of after) {
    const b = before.find((x) => x.task === a.task);
    lines.push(`${a.task.padEnd(10)}  ${cell(b).padEnd(14)}  ${cell(a)}`);
  }
  return lines.join('\n');
}

/**
 * Copies the tokenizer files that belong to a model (tokenizer.json, tokenizer_config.json, generation_config.json)
 * from `from` (a model folder, or a tokenizer.json whose folder holds the others) into `dir`, so that the exported
 * model loads with its own template and special tokens.
 */
export function copyTokenizerFiles(from: string, dir: string): string[] {
  const isDir = fs.statSync(from).isDirectory();
  const folder = isDir ? from : path.dirname(from);
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(isDir ? path.join(folder, 'tokenizer.json') : from, path.join(dir, 'tokenizer.json'));
  const copied = ['tokenizer.json'];
  for (const f of ['tokenizer_config.json', 'generation_config.json']) {
    if (!fs.existsSync(path.join(folder, f))) continue;
    fs.copyFileSync(path.join(folder, f), path.join(dir, f));
    copied.push(f);
  }
  return copied;
}
