/**
 * Pre-training batches: documents -> token ids -> packed fixed-length rows, with deterministic shuffling, a held-out
 * validation split and an exact, JSON-serialisable data position.
 *
 * Packing (as in DeepSeek-V3: packed, no cross-document attention mask): each document becomes
 * `[BOS] + encode(text) + [EOS]` (BOS when the tokenizer has one; EOS always) and documents are concatenated into one
 * stream. A row is T + 1 consecutive tokens; consecutive rows overlap by one token, so every token is a target exactly
 * once. A batch is B rows: `tokens` (B, T+1) int32, with `inputs = tokens[:, :-1]` and `targets = tokens[:, 1:]`.
 *
 * Shuffling: documents are read in windows of `shuffleWindow` documents; each window is permuted by a Generator
 * seeded from (seed, epoch, window). A corpus smaller than the window is fully shuffled, differently every epoch.
 *
 * Validation split: a document belongs to `val` when the hash of its text falls below `valFraction`, so the split is
 * fixed by content (independent of seed, order and file layout; duplicates land together). `train` skips val
 * documents, `val` keeps only them, `all` keeps everything.
 *
 * Position: `{epoch, window, windowStart, doc, token, fingerprint}`. Restoring re-reads one window from its start
 * (byte offset or Parquet row), re-shuffles it and continues at (doc, token), so the next batches equal those of an
 * uninterrupted run. The batch size may change between calls (V3's batch-size ramp): positions count tokens, not
 * batches. The fingerprint catches a restore with different data options; the tokenizer must be the same.
 *
 * `measureSplits` counts the documents and tokens of both splits before training, so that a trainer can say up front
 * whether the data holds what its settings need (src/train/pretrain.ts).
 */
import { tensor } from '../tensor/creation.js';
import { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  expandPaths,
  newReaderStats,
  readDocuments,
  START,
  type ReaderOptions,
  type ReaderStats,
  type SourceDoc,
  type SourcePos,
} from './readers.js';
import { hash32 } from './tasks/task.js';

/** What the loader needs from a tokenizer. */
export interface LoaderTokenizer {
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  readonly eosId: number | null;
  readonly bosId: number | null;
}

export type DataSplit = 'train' | 'val' | 'all';

export interface DataLoaderOptions extends Omit<ReaderOptions, 'stats'> {
  /** Files or directories (see readers.ts for formats). */
  paths: readonly string[];
  tokenizer: LoaderTokenizer;
  /** Rows per batch (B). */
  batchSize: number;
  /** Tokens per row of inputs (T); rows hold T + 1 tokens. */
  seqLen: number;
  /** Shuffle seed (default 0). */
  seed?: number;
  /** Default true for train/all, false for val. */
  shuffle?: boolean;
  /** Documents per shuffle window (default 8192). */
  shuffleWindow?: number;
  /** Default 'train'. */
  split?: DataSplit;
  /** Share of documents held out for validation (default 0.01). */
  valFraction?: number;
  /** Start again (next epoch) at the end of the data; default true for train/all, false for val. */
  loop?: boolean;
  /** Override the tokenizer's BOS (null: none) and EOS ids. */
  bos?: number | null;
  eos?: number;
  /** Resume here (from `position()` of an earlier loader with the same options). */
  position?: DataPosition;
}

/** Exact place in the token stream; plain JSON. */
export interface DataPosition {
  version: 1;
  fingerprint: string;
  epoch: number;
  window: number;
  windowStart: SourcePos;
  doc: number;
  token: number;
}

export interface Batch {
  /** (B, T+1) int32. */
  tokens: Tensor;
  /** (B, T) int32: tokens[:, :-1]. */
  inputs: Tensor;
  /** (B, T) int32: tokens[:, 1:]. */
  targets: Tensor;
  /** Position after this batch. */
  position: DataPosition;
}

export interface LoaderStats extends ReaderStats {
  /** Documents that went into the stream (this split). */
  used: number;
  /** Tokens emitted in rows (inputs). */
  tokens: number;
  epochs: number;
}

/** Whether a document text is in the validation split for `fraction`. */
export function isValidationDoc(text: string, fraction: number): boolean {
  return fraction > 0 && hash32(`r1ts-val:${text}`) < fraction * 4294967296;
}

/** The sizes of a data set's splits as the loader streams them (tokens include each document's BOS and EOS). */
export interface SplitSizes {
  train: { docs: number; tokens: number; exact: boolean };
  val: { docs: number; tokens: number };
}

/**
 * Counts the documents and stream tokens of the train and validation splits of `opts.paths`, before training, so a
 * trainer can say up front whether the data is enough. Validation documents are all tokenized (the count is exact);
 * training documents are tokenized up to `sampleChars` characters and the rest is estimated from the tokens per
 * character so far (`train.exact` says whether it was needed).
 */
export async function measureSplits(
  opts: Pick<
    DataLoaderOptions,
    'paths' | 'tokenizer' | 'valFraction' | 'bos' | 'eos' | 'field' | 'textMode' | 'format'
  >,
  sampleChars = 1_000_000,
): Promise<SplitSizes> {
  const fraction = opts.valFraction ?? 0.01;
  const bos = opts.bos !== undefined ? opts.bos : opts.tokenizer.bosId;
  const special = (bos === null ? 0 : 1) + 1;
  const encode = (t: string) => opts.tokenizer.encode(t, { addSpecialTokens: false }).length + special;
  const train = { docs: 0, chars: 0, sampledChars: 0, sampledTokens: 0 };
  const val = { docs: 0, tokens: 0 };
  const readerOpts = { field: opts.field, textMode: opts.textMode, format: opts.format };
  for await (const d of readDocuments(await expandPaths(opts.paths), readerOpts)) {
    if (isValidationDoc(d.text, fraction)) {
      val.docs++;
      val.tokens += encode(d.text);
      continue;
    }
    train.docs++;
    train.chars += d.text.length;
    if (train.sampledChars < sampleChars) {
      train.sampledChars += d.text.length;
      train.sampledTokens += encode(d.text);
    }
  }
  const exact = train.sampledChars === train.chars;
  const tokens = exact
    ? train.sampledTokens
    : Math.round((train.chars * train.sampledTokens) / Math.max(1, train.sampledChars));
  return { train: { docs: train.docs, tokens, exact }, val };
}

/** Seed of the permutation of (seed, epoch, window): a safe integer. */
function windowSeed(seed: number, epoch: number, window: number): number {
  return hash32(`${seed}/${epoch}/${window}`) * 2097152 + (hash32(`${window}/${epoch}/${seed}`) >>> 11);
}

/** Streams packed batches; see the file header. Create with `DataLoader.open`. */
export class DataLoader {
  readonly stats: LoaderStats;
  private readonly files: string[];
  private readonly opts: DataLoaderOptions;
  private readonly split: DataSplit;
  private readonly fraction: number;
  private readonly shuffle: boolean;
  private readonly windowSize: number;
  private readonly loop: boolean;
  private readonly bos: number | null;
  private readonly eos: number;
  private readonly fingerprint: string;
  private readonly readerOpts: ReaderOptions;
  // stream state
  private epoch = 0;
  private window = 0;
  private windowStart: SourcePos = START;
  private windowEnd: SourcePos = START;
  private docs: string[] = [];
  private doc = 0;
  private token = 0;
  private cur: number[] | null = null;
  private source: AsyncGenerator<SourceDoc> | null = null;
  private sourceAt: SourcePos | null = null;
  /** The source ended while filling this window. */
  private lastWindow = false;
  /** Documents seen this epoch, and whether the epoch was read from its start (not restored midway). */
  private epochDocs = 0;
  private fullEpoch = true;

  private constructor(files: string[], opts: DataLoaderOptions) {
    this.files = files;
    this.opts = opts;
    this.split = opts.split ?? 'train';
    if (!['train', 'val', 'all'].includes(this.split))
      throw new Error(`data: split must be train, val or all, got '${this.split}'`);
    this.fraction = opts.valFraction ?? 0.01;
    if (!(this.fraction >= 0 && this.fraction < 1))
      throw new Error(`data: valFraction must be in [0, 1), got ${this.fraction}`);
    this.shuffle = opts.shuffle ?? this.split !== 'val';
    this.windowSize = opts.shuffleWindow ?? 8192;
    if (!Number.isInteger(this.windowSize) || this.windowSize < 1)
      throw new Error(`data: shuffleWindow must be a positive integer, got ${this.windowSize}`);
    this.loop = opts.loop ?? this.split !== 'val';
    for (const [k, v] of [
      ['batchSize', opts.batchSize],
      ['seqLen', opts.seqLen],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`data: ${k} must be a positive integer, got ${v}`);
    }
    this.bos = opts.bos !== undefined ? opts.bos : opts.tokenizer.bosId;
    const eos = opts.eos ?? opts.tokenizer.eosId;
    if (eos === null || eos === undefined) throw new Error('data: the tokenizer has no EOS token (pass eos)');
    this.eos = eos;
    this.stats = { ...newReaderStats(), used: 0, tokens: 0, epochs: 0 };
    this.readerOpts = {
      field: opts.field,
      textMode: opts.textMode,
      onError: opts.onError,
      format: opts.format,
      stats: this.stats,
    };
    this.fingerprint = hash32(
      JSON.stringify([
        files,
        opts.field ?? 'text',
        opts.textMode ?? 'blocks',
        opts.format ?? null,
        opts.seed ?? 0,
        this.shuffle,
        this.windowSize,
        this.split,
        this.fraction,
        this.bos,
        this.eos,
      ]),
    ).toString(16);
  }

  /** Opens a loader (expands directories, restores `opts.position` if given). */
  static async open(opts: DataLoaderOptions): Promise<DataLoader> {
    const loader = new DataLoader(await expandPaths(opts.paths), opts);
    if (opts.position) await loader.restore(opts.position);
    else await loader.fillWindow();
    return loader;
  }

  /** The current position (JSON-safe copy). */
  position(): DataPosition {
    return {
      version: 1,
      fingerprint: this.fingerprint,
      epoch: this.epoch,
      window: this.window,
      windowStart: { ...this.windowStart },
      doc: this.doc,
      token: this.token,
    };
  }

  private async restore(p: DataPosition): Promise<void> {
    if (!p || p.version !== 1) throw new Error('data: unsupported data position (version)');
    if (p.fingerprint !== this.fingerprint) {
      throw new Error(
        `data: the data position was saved with other data options (fingerprint ${p.fingerprint}, now ${this.fingerprint})`,
      );
    }
    this.epoch = p.epoch;
    this.window = p.window;
    this.windowStart = { ...p.windowStart };
    this.stats.epochs = p.epoch;
    this.fullEpoch = p.window === 0;
    await this.fillWindow();
    if (p.doc > this.docs.length || (p.doc === this.docs.length && p.token > 0)) {
      throw new Error(
        `data: the data position does not match the data (window ${p.window} has ${this.docs.length} documents, position says ${p.doc})`,
      );
    }
    this.doc = p.doc;
    this.token = p.token;
    this.cur = null;
  }

  /** Reads the window starting at windowStart into `docs` (shuffled), setting windowEnd. */
  private async fillWindow(): Promise<void> {
    const at = this.windowStart;
    if (!this.source || !this.sourceAt || this.sourceAt.file !== at.file || this.sourceAt.offset !== at.offset) {
      await this.source?.return(undefined);
      this.source = readDocuments(this.files, this.readerOpts, at);
    }
    const docs: string[] = [];
    let end = at;
    let done = false;
    while (docs.length < this.windowSize) {
      const r = await this.source.next();
      if (r.done) {
        done = true;
        break;
      }
      end = r.value.next;
      const val = isValidationDoc(r.value.text, this.fraction);
      if (this.split === 'all' || (this.split === 'val') === val) docs.push(r.value.text);
    }
    this.sourceAt = end;
    if (this.shuffle && docs.length > 1) {
      const u = new Generator(windowSeed(this.opts.seed ?? 0, this.epoch, this.window)).uniform(docs.length, 'float64');
      for (let i = docs.length - 1; i > 0; i--) {
        const j = Math.min(i, Math.floor(u[i] * (i + 1)));
        [docs[i], docs[j]] = [docs[j], docs[i]];
      }
    }
    this.docs = docs;
    this.epochDocs += docs.length;
    this.lastWindow = done;
    this.windowEnd = end;
    this.doc = 0;
    this.token = 0;
    this.cur = null;
  }

  /** Makes (doc, token) point at an existing token, moving to later documents, windows and epochs; false at the end. */
  private async settle(): Promise<boolean> {
    for (;;) {
      if (this.doc < this.docs.length) {
        if (!this.cur) {
          const ids = this.opts.tokenizer.encode(this.docs[this.doc], { addSpecialTokens: false });
          this.cur = this.bos === null ? [...ids, this.eos] : [this.bos, ...ids, this.eos];
          if (this.token === 0) this.stats.used++;
        }
        if (this.token < this.cur.length) return true;
        this.doc++;
        this.token = 0;
        this.cur = null;
        continue;
      }
      if (!this.lastWindow) {
        this.window++;
        this.windowStart = this.windowEnd;
        await this.fillWindow();
        continue;
      }
      // end of the data
      if (this.fullEpoch && this.epochDocs === 0)
        throw new Error(`data: no documents in the ${this.split} split of ${this.files.join(', ')}`);
      if (!this.loop) return false;
      this.epoch++;
      this.stats.epochs = this.epoch;
      this.window = 0;
      this.windowStart = START;
      this.fullEpoch = true;
      this.epochDocs = 0;
      await this.fillWindow();
    }
  }

  /** Copies `n` tokens into `out` at `at`, advancing; false if the data ended first. */
  private async take(out: Int32Array, at: number, n: number): Promise<boolean> {
    while (n > 0) {
      if (!(await this.settle())) return false;
      const cur = this.cur as number[];
      const k = Math.min(n, cur.length - this.token);
      for (let i = 0; i < k; i++) out[at + i] = cur[this.token + i];
      this.token += k;
      at += k;
      n -= k;
    }
    return true;
  }

  /**
   * The next batch of `batchSize` rows (default: the loader's), or null when a non-looping stream has fewer than
   * T + 1 tokens left. A non-looping stream's last batch may have fewer rows; its incomplete last row is dropped.
   */
  async next(batchSize: number = this.opts.batchSize): Promise<Batch | null> {
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new Error(`data: batch size must be a positive integer, got ${batchSize}`);
    const T = this.opts.seqLen;
    const buf = new Int32Array(batchSize * (T + 1));
    let rows = 0;
    for (; rows < batchSize; rows++) {
      const o = rows * (T + 1);
      // T tokens, then a peek at the next one (the first token of the next row); an incomplete last row is dropped
      if (!(await this.take(buf, o, T)) || !(await this.settle())) break;
      buf[o + T] = (this.cur as number[])[this.token];
      this.stats.tokens += T;
    }
    if (rows === 0) return null;
    const inp = new Int32Array(rows * T);
    const tgt = new Int32Array(rows * T);
    for (let r = 0; r < rows; r++) {
      inp.set(buf.subarray(r * (T + 1), r * (T + 1) + T), r * T);
      tgt.set(buf.subarray(r * (T + 1) + 1, (r + 1) * (T + 1)), r * T);
    }
    return {
      tokens: tensor(rows === batchSize ? buf : buf.slice(0, rows * (T + 1)), { shape: [rows, T + 1], dtype: 'int32' }),
      inputs: tensor(inp, { shape: [rows, T], dtype: 'int32' }),
      targets: tensor(tgt, { shape: [rows, T], dtype: 'int32' }),
      position: this.position(),
    };
  }

  /** Stops reading (closes the open file). */
  async close(): Promise<void> {
    await this.source?.return(undefined);
    this.source = null;
  }
}
