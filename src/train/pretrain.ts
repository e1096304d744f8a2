/**
 * `r1ts pretrain` as a library function: prepares the data (built-in corpus or user files), the tokenizer and the
 * model, runs the trainer, and exports the final model in Hugging Face layout (config.json, model.safetensors,
 * tokenizer.json). A run directory holds everything needed to resume:
 *
 *   runs/NAME/run.json            the resolved options (a resume must match them)
 *   runs/NAME/data/corpus.jsonl   the generated corpus (when no --data is given)
 *   runs/NAME/tokenizer.json      the tokenizer the run uses
 *   runs/NAME/checkpoints/        atomic checkpoints (last K)
 *   runs/NAME/metrics.jsonl       one JSON object per step
 *   runs/NAME/model/              the final model (HF format + tokenizer.json)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '../data/tokenizer.js';
import { DataLoader, type DataLoaderOptions, type DataPosition } from '../data/loader.js';
import { expandPaths, readDocuments } from '../data/readers.js';
import { writeCorpus } from '../data/corpus.js';
import { createModel, parseConfig, countParams, type ModelConfig } from '../models/index.js';
import { saveModelDir } from '../io/model_dir.js';
import { writeFileAtomic, writeAll } from '../io/atomic.js';
import { manualSeed } from '../tensor/random.js';
import { type BatchSource, type Batchish, type TrainConfig, type TrainResult, train } from './trainer.js';
import { getPreset } from './presets.js';
import { autoWorkers } from './data_parallel.js';
import { checkTrainSizes } from './sizes.js';

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
  preset: string;
  /** HF config.json replacing the preset's model (vocab_size is still taken from the tokenizer if absent). */
  modelConfig?: Record<string, unknown>;
  /** Training files (JSONL/text/Parquet); default: a generated built-in corpus. */
  data?: string[];
  /** Use this tokenizer.json instead of training one. */
  tokenizer?: string;
  steps?: number;
  seed?: number;
  resume?: boolean;
  /** Overrides of the preset's TrainConfig. */
  overrides?: Partial<TrainConfig>;
  /**
   * Threads computing micro-batches (TrainConfig.workers; 'auto': see `autoWorkers`). Not part of the run: the numbers
   * do not depend on it, so it is not saved in run.json and a resume may use another value.
   */
  workers?: number | 'auto';
  log?: (line: string) => void;
}

export interface PretrainResult extends TrainResult {
  modelDir: string;
  config: ModelConfig;
  params: number;
}

interface RunFile {
  preset: string;
  data: string[];
  tokenizer: string;
  seed: number;
  model: Record<string, unknown>;
  train: TrainConfig;
}

function writeJson(file: string, obj: unknown): void {
  writeFileAtomic(file, (fd) => writeAll(fd, new TextEncoder().encode(JSON.stringify(obj, null, 2) + '\n')));
}

async function* texts(files: string[]): AsyncGenerator<string> {
  for await (const d of readDocuments(files)) yield d.text;
}

export async function pretrain(o: PretrainOptions): Promise<PretrainResult> {
  const log = o.log ?? ((l: string) => process.stdout.write(l + '\n'));
  const runFile = path.join(o.outDir, 'run.json');
  let run: RunFile;
  if (o.resume) {
    if (!fs.existsSync(runFile)) throw new Error(`pretrain: --resume: ${runFile} does not exist (nothing to resume)`);
    run = JSON.parse(fs.readFileSync(runFile, 'utf8')) as RunFile;
    if (o.steps !== undefined) run.train.steps = o.steps;
  } else {
    const preset = getPreset(o.preset);
    const trainConfig = {
      ...preset.train,
      ...(o.overrides ?? {}),
      ...(o.steps !== undefined ? { steps: o.steps } : {}),
    };
    checkTrainSizes(trainConfig, 'pretrain'); // before the corpus and the tokenizer are built
    fs.mkdirSync(o.outDir, { recursive: true });
    const seed = o.seed ?? 0;
    let data = o.data;
    if (!data?.length) {
      const corpus = path.join(o.outDir, 'data', 'corpus.jsonl');
      fs.mkdirSync(path.dirname(corpus), { recursive: true });
      const t0 = performance.now();
      const stats = await writeCorpus(corpus, { ...preset.corpus, n: preset.corpusDocs, seed });
      log(
        `corpus: ${stats.docs.toLocaleString('en-US')} documents (${(stats.bytes / 1e6).toFixed(1)} MB) of the built-in tasks -> ${corpus} (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
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
    run = {
      preset: o.preset,
      data: data.map((d) => path.resolve(d)),
      tokenizer: tokPath,
      seed,
      model: o.modelConfig ?? preset.model,
      train: trainConfig,
    };
    writeJson(runFile, run);
  }
  const tokenizer = Tokenizer.load(run.tokenizer);
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
  manualSeed(run.seed);
  const model = createModel(config, { seed: run.seed });
  const params = countParams(config);
  log(
    `model: ${config.model_type}, ${params.total.toLocaleString('en-US')} parameters (${params.activated.toLocaleString('en-US')} activated per token, MTP ${params.mtp.toLocaleString('en-US')})`,
  );
  const workers = o.workers === 'auto' ? autoWorkers(config, run.train) : o.workers;
  const c: TrainConfig = { ...run.train, ...(workers !== undefined ? { workers } : {}) };
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
    outDir: o.outDir,
    model,
    train: trainSrc,
    val: valSrc,
    config: c,
    resume: o.resume,
    log,
    meta: { preset: run.preset },
  });
  const modelDir = path.join(o.outDir, 'model');
  saveModelDir(modelDir, model);
  tokenizer.saveDir(modelDir);
  log(
    `done: ${result.steps} steps, ${result.tokens.toLocaleString('en-US')} tokens, final loss ${result.finalLoss.toFixed(4)}${result.finalValLoss !== null ? `, val ${result.finalValLoss.toFixed(4)}` : ''}${result.rollbacks ? `, ${result.rollbacks} rollback(s)` : ''}; model -> ${modelDir}`,
  );
  return { ...result, modelDir, config, params: params.total };
}
