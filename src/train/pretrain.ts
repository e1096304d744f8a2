/**
 * `r1ts pretrain` as a library function: prepares the data (built-in corpus or user files), the tokenizer and the
 * model, checks up front that the data is enough for the settings, runs the trainer, and exports the final model in
 * Hugging Face layout (config.json, model.safetensors, tokenizer.json). The output is a run directory
 * (./run_dir.ts: lock, resume rule, no silent overwrite, Ctrl-C) holding everything needed to resume:
 *
 *   runs/NAME/run.json            the resolved settings (PretrainSettings), history of resumes and stops, status
 *   runs/NAME/data/corpus.jsonl   the generated corpus (when no --data is given)
 *   runs/NAME/tokenizer.json      the tokenizer the run uses
 *   runs/NAME/checkpoints/        atomic checkpoints (last K)
 *   runs/NAME/metrics.jsonl       one JSON object per step
 *   runs/NAME/model/              the final model (HF format + tokenizer.json)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '../data/tokenizer.js';
import { DataLoader, type DataLoaderOptions, type DataPosition, measureSplits } from '../data/loader.js';
import { expandPaths, readDocuments } from '../data/readers.js';
import { type CorpusStyle, DEFAULT_CORPUS_STYLE, writeCorpus } from '../data/corpus.js';
import { createModel, parseConfig, countParams, type ModelConfig } from '../models/index.js';
import { saveModelDir } from '../io/model_dir.js';
import { manualSeed } from '../tensor/random.js';
import {
  type BatchSource,
  type Batchish,
  type TrainConfig,
  type TrainResult,
  TRAIN_RESUME_RULE,
  recordedTrainConfig,
  train,
  trainRowsNeeded,
  trainSummary,
} from './trainer.js';
import { type ResumeRule, RunDir } from './run_dir.js';
import type { StopRequests } from './signals.js';
import { getPreset } from './presets.js';
import { autoWorkers } from './data_parallel.js';
import { checkTrainSizes } from './sizes.js';
import { type ProgressSink, progressOutput } from '../util/progress.js';

/** A DataLoader as a trainer BatchSource (restoring reopens the loader at the saved position). */
export class LoaderSource implements BatchSource {
  private constructor(
    private loader: DataLoader,
    private readonly opts: DataLoaderOptions,
  ) {}

  static async open(opts: DataLoaderOptions): Promise<LoaderSource> {
    return new LoaderSource(await DataLoader.open(opts), opts);
  }

  async next(batchSize: number): Promise<Batchish | null> {
    const b = await this.loader.next(batchSize);
    return b ? { inputs: b.inputs, targets: b.targets } : null;
  }

  position(): unknown {
    return this.loader.position();
  }

  async restore(position: unknown): Promise<void> {
    this.loader = await DataLoader.open({ ...this.opts, position: position as DataPosition });
  }
}

export interface PretrainOptions {
  outDir: string;
  /** A preset of ./presets.ts (default 'tiny'); on resume, given only to check that it is the run's. */
  preset?: string;
  /** HF config.json replacing the preset's model (vocab_size is still taken from the tokenizer if absent). */
  modelConfig?: Record<string, unknown>;
  /** Training files (JSONL/text/Parquet); default: a generated built-in corpus. */
  data?: string[];
  /** Use this tokenizer.json instead of training one. */
  tokenizer?: string;
  /** Style of the generated built-in corpus (default `templated`; see src/data/corpus.ts); not with `data`. */
  corpus?: CorpusStyle;
  steps?: number;
  /** Seed of corpus, init and shuffling (default 0). */
  seed?: number;
  /** Continue the run in outDir (PRETRAIN_RESUME_RULE says what may change). */
  resume?: boolean;
  /** Start a new run in outDir even if it holds one, removing it. Without it (or resume), such a directory is an error. */
  overwrite?: boolean;
  /** Overrides of the preset's TrainConfig. */
  overrides?: Partial<TrainConfig>;
  /**
   * Threads computing micro-batches (TrainConfig.workers; 'auto': see `autoWorkers`). Not part of the run: the numbers
   * do not depend on it, so it is not saved in run.json and a resume may use another value.
   */
  workers?: number | 'auto';
  /** Ctrl-C / SIGTERM handlers (the CLI's): the run stops at the end of a step with a checkpoint. */
  stops?: StopRequests;
  /** Messages; without `progress`, every step's line too (see TrainArgs.log). */
  log?: (line: string) => void;
  /** Step progress (a live line on a terminal, a line every N steps on a pipe); see TrainArgs.progress. */
  progress?: ProgressSink | null;
}

export interface PretrainResult extends TrainResult {
  /** The final model's directory (written unless the run was stopped). */
  modelDir: string;
  config: ModelConfig;
  params: number;
}

/** run.json of a pre-training run: what was asked, resolved. */
export interface PretrainSettings {
  preset: string;
  /** Training files (absolute paths). */
  data: string[];
  /** The run's tokenizer (OUT/tokenizer.json). */
  tokenizer: string;
  /** Where the tokenizer came from: a --tokenizer file (absolute path), or null when trained on the data. */
  tokenizerFrom?: string | null;
  /** Style of the generated built-in corpus; absent when the data was given (and in runs before styles: templated). */
  corpus?: CorpusStyle;
  seed: number;
  /** HF config fields of the model. */
  model: Record<string, unknown>;
  train: Omit<TrainConfig, 'workers'>;
  [key: string]: unknown;
}

/**
 * What may change when a pre-training run resumes: TRAIN_RESUME_RULE's (steps, --lr, --micro-batch, evaluation,
 * checkpoint and rollback settings). The preset, data, tokenizer, seed, model and the rest of the TrainConfig
 * (--precision among them) may not.
 */
export const PRETRAIN_RESUME_RULE: ResumeRule = {
  mutable: TRAIN_RESUME_RULE.mutable,
  flags: {
    preset: '--preset',
    data: '--data',
    tokenizerFrom: '--tokenizer',
    corpus: '--corpus',
    seed: '--seed',
    model: '--config',
    'train.steps': '--steps',
    'train.peakLr': '--lr',
    'train.microBatch': '--micro-batch',
    'train.precision': '--precision',
    'train.optimizerMoments': '--precision (AdamW moments)',
  },
};

async function* texts(files: string[]): AsyncGenerator<string> {
  for await (const d of readDocuments(files)) yield d.text;
}

/** `o` without its undefined values (so that spreading it over recorded settings changes only what was given). */
function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Checks before training that the data holds what the settings need: a validation split with at least one row
 * (else an error: the first evaluation would fail), and says when validation gets fewer rows than asked or the
 * training split is smaller than the tokens the steps read (it then repeats).
 */
async function checkDataSize(
  run: PretrainSettings,
  c: TrainConfig,
  tokenizer: Tokenizer,
  log: (line: string) => void,
): Promise<void> {
  const sizes = await measureSplits({ paths: run.data, tokenizer });
  const T = c.seqLen;
  const where = `preset ${run.preset}'s seqLen ${T}`;
  const docs = sizes.train.docs + sizes.val.docs;
  if (sizes.train.docs === 0)
    throw new Error(`pretrain: the data has no training documents (${docs} in all, all in the validation split)`);
  const valRows = sizes.val.tokens > T ? Math.floor((sizes.val.tokens - 1) / T) : 0;
  if (valRows === 0) {
    throw new Error(
      `pretrain: the validation split (the ~1% of documents chosen by content hash) holds ${sizes.val.docs} document(s), ` +
        `${sizes.val.tokens} tokens, but one row needs seqLen + 1 = ${T + 1} (${where}); ` +
        `give more data (${docs} documents now) or a shorter seqLen`,
    );
  }
  const valWant = c.evalBatches * c.microBatch;
  if (valRows < valWant) {
    log(
      `warning: the validation split holds ${valRows} row(s) of ${T} tokens; evalBatches ${c.evalBatches} x --micro-batch ${c.microBatch} ask for ${valWant}: each evaluation uses the ${valRows} there are`,
    );
  }
  const need = trainRowsNeeded(c) * T;
  if (sizes.train.tokens < need) {
    const have = `${sizes.train.exact ? '' : '~'}${sizes.train.tokens.toLocaleString('en-US')}`;
    log(
      `warning: the training split holds ${have} tokens (${sizes.train.docs} documents) but --steps ${c.steps} of ${c.batchStart}->${c.batchEnd} rows x ${T} tokens read ${need.toLocaleString('en-US')}: the data repeats ~${(need / sizes.train.tokens).toFixed(1)} times`,
    );
  }
}

/** Prepares and runs (or resumes) a pre-training run in `o.outDir`. */
export async function pretrain(o: PretrainOptions): Promise<PretrainResult> {
  const { log, progress } = progressOutput(o.log, o.progress);
  const mode = o.resume ? 'resume' : o.overwrite ? 'overwrite' : 'new';
  // a new run's sizes before anything is written (a resume's, once run.json is read)
  if (mode !== 'resume') checkTrainSizes(askedTrainConfig(o), 'pretrain');
  const dir = RunDir.open({
    dir: o.outDir,
    command: 'pretrain',
    mode,
    extraEntries: ['data', 'tokenizer.json'],
    inputs: [...(o.data ?? []), ...(o.tokenizer ? [o.tokenizer] : [])],
    log,
    stops: o.stops,
  });
  try {
    const run = mode === 'resume' ? resumeSettings(dir, o) : await newSettings(o, log);
    return await pretrainIn(dir, run, o, log, progress);
  } finally {
    dir.close();
  }
}

/** The TrainConfig a new run asks for: the preset's under the options. */
function askedTrainConfig(o: PretrainOptions): TrainConfig {
  return { ...getPreset(o.preset ?? 'tiny').train, ...defined(o.overrides ?? {}), ...defined({ steps: o.steps }) };
}

/** The settings of a resume: run.json's, with what `o` asks applied under the resume rule. */
function resumeSettings(dir: RunDir, o: PretrainOptions): PretrainSettings {
  const run = dir.resume<PretrainSettings>(
    (rec) => ({
      ...rec,
      ...defined({
        preset: o.preset,
        data: o.data?.length ? o.data.map((d) => path.resolve(d)) : undefined,
        tokenizerFrom: o.tokenizer !== undefined ? path.resolve(o.tokenizer) : undefined,
        seed: o.seed,
        model: o.modelConfig,
        corpus: o.corpus,
      }),
      train: { ...rec.train, ...defined(o.overrides ?? {}), ...defined({ steps: o.steps }) },
    }),
    PRETRAIN_RESUME_RULE,
  );
  checkTrainSizes(run.train, 'pretrain'); // a resume may change --micro-batch
  return run;
}

/**
 * The settings of a new run: generates the corpus (unless data is given) and the tokenizer. They are recorded in
 * run.json once the data is checked, so a run refused for too little data leaves no run behind.
 */
async function newSettings(o: PretrainOptions, log: (line: string) => void): Promise<PretrainSettings> {
  const presetName = o.preset ?? 'tiny';
  const preset = getPreset(presetName);
  const trainConfig = askedTrainConfig(o);
  const seed = o.seed ?? 0;
  let data = o.data;
  if (data?.length && o.corpus !== undefined)
    throw new Error('pretrain: --corpus chooses the built-in corpus; it cannot go with --data');
  const corpusStyle = data?.length ? undefined : (o.corpus ?? DEFAULT_CORPUS_STYLE);
  if (!data?.length) {
    const corpus = path.join(o.outDir, 'data', 'corpus.jsonl');
    fs.mkdirSync(path.dirname(corpus), { recursive: true });
    const t0 = performance.now();
    const stats = await writeCorpus(corpus, { ...preset.corpus, style: corpusStyle, n: preset.corpusDocs, seed });
    log(
      `corpus: ${stats.docs.toLocaleString('en-US')} documents (${(stats.bytes / 1e6).toFixed(1)} MB) of the built-in tasks (${corpusStyle} style) -> ${corpus} (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
    data = [corpus];
  }
  const tokPath = path.join(o.outDir, 'tokenizer.json');
  if (o.tokenizer) {
    fs.copyFileSync(o.tokenizer, tokPath);
  } else {
    const t0 = performance.now();
    const tok = await Tokenizer.train(texts(await expandPaths(data)), { vocabSize: preset.vocabSize });
    tok.save(tokPath);
    log(
      `tokenizer: byte-level BPE, ${tok.vocabSize} tokens -> ${tokPath} (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
  }
  return {
    preset: presetName,
    data: data.map((d) => path.resolve(d)),
    tokenizer: tokPath,
    tokenizerFrom: o.tokenizer ? path.resolve(o.tokenizer) : null,
    ...(corpusStyle ? { corpus: corpusStyle } : {}),
    seed,
    model: o.modelConfig ?? preset.model,
    train: recordedTrainConfig(trainConfig),
  };
}

async function pretrainIn(
  dir: RunDir,
  asked: PretrainSettings,
  o: PretrainOptions,
  log: (line: string) => void,
  progress: ProgressSink | null,
): Promise<PretrainResult> {
  let run = asked;
  const tokenizer = Tokenizer.load(path.join(o.outDir, 'tokenizer.json'));
  const { config, warnings } = parseConfig(
    { vocab_size: tokenizer.vocabSize, bos_token_id: tokenizer.bosId, eos_token_id: tokenizer.eosId, ...run.model },
    'model config',
  );
  for (const w of warnings) log(`warning: ${w}`);
  if (config.vocab_size < tokenizer.vocabSize) {
    throw new Error(
      `pretrain: model vocab_size ${config.vocab_size} is smaller than the tokenizer's ${tokenizer.vocabSize}`,
    );
  }
  const workers = o.workers === 'auto' ? autoWorkers(config, run.train) : o.workers;
  const c: TrainConfig = { ...run.train, ...(workers !== undefined ? { workers } : {}) };
  await checkDataSize(run, c, tokenizer, log);
  if (dir.mode !== 'resume') run = dir.start(run);
  manualSeed(run.seed);
  const model = createModel(config, { seed: run.seed });
  const params = countParams(config);
  log(
    `model: ${config.model_type}, ${params.total.toLocaleString('en-US')} parameters (${params.activated.toLocaleString('en-US')} activated per token, MTP ${params.mtp.toLocaleString('en-US')})`,
  );
  const loaderOpts: DataLoaderOptions = {
    paths: run.data,
    tokenizer,
    batchSize: c.microBatch,
    seqLen: c.seqLen,
    seed: run.seed,
  };
  const trainSrc = await LoaderSource.open({ ...loaderOpts, split: 'train' });
  const valSrc = await LoaderSource.open({ ...loaderOpts, split: 'val' });
  log(
    `run: ${c.steps} steps of ${c.batchStart}->${c.batchEnd} x ${c.seqLen} tokens, peak lr ${c.peakLr}, ${c.workers ?? 1} worker${(c.workers ?? 1) > 1 ? 's' : ''}, out ${o.outDir}`,
  );
  const result = await train({
    run: dir,
    model,
    train: trainSrc,
    val: valSrc,
    config: c,
    log,
    progress,
    meta: { preset: run.preset },
  });
  const modelDir = dir.modelDir;
  if (result.stopped) return { ...result, modelDir, config, params: params.total };
  saveModelDir(modelDir, model);
  tokenizer.saveDir(modelDir);
  dir.markFinished({ ...trainSummary(result), modelDir });
  log(
    `done: ${result.steps} steps, ${result.tokens.toLocaleString('en-US')} tokens, final loss ${result.finalLoss.toFixed(4)}${result.finalValLoss !== null ? `, val ${result.finalValLoss.toFixed(4)}` : ''}${result.rollbacks ? `, ${result.rollbacks} rollback(s)` : ''}; model -> ${modelDir}`,
  );
  return { ...result, modelDir, config, params: params.total };
}
