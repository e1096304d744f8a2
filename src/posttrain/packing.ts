/**
 * Packing tokenized chat samples (ids + an assistant-only loss mask, `tokenizeChat` of ./chat_data.ts) several per row
 * of T positions, with segment ids so that attention and positions stay inside each sample (src/models/packing.ts):
 * what V3's SFT calls packing with "sample masking".
 *
 * The layout of a sample of n tokens: it takes n - 1 positions of a row, its tokens 0..n-2 as inputs and 1..n-1 as
 * targets (a pre-training row of T + 1 tokens is the same thing). Its last token (the end-of-sequence token) is only a
 * target, so no target ever belongs to another sample, and a sample fits a row when n <= T + 1. A target carries loss
 * (is the token id) where the mask marks the token an assistant token, and is -100 elsewhere: prompt, system turns,
 * role headers and padding carry none. Padding (the rest of a row) is a segment of its own with target -100.
 *
 * Order: every epoch shuffles the samples with the seed (Threefry stream of (seed, epoch)), then packs them first-fit
 * into a window of `window` open rows: a sample goes into the first open row with room, else a new row opens, and
 * when more than `window` rows are open the oldest is closed (emitted). The rows of an epoch are a function of the
 * samples' lengths, the seed and the epoch, so a data position (epoch, row) restores exactly by packing that epoch
 * again. An optimizer step takes the next `batch` rows of its epoch (the last step of an epoch may take fewer).
 *
 * Not here: reading and tokenizing records (./sft_data.ts), the training loop (./sft.ts).
 */
import { Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';

/** A tokenized sample: token ids with the loss mask of `tokenizeChat`, and the record it came from. */
export interface SftSample {
  ids: Int32Array;
  /** 1 where the token is trained (an assistant token), else 0; same length as ids. */
  loss: Uint8Array;
  /** `file:line` of the record. */
  where: string;
}

/** Targets equal to this carry no loss (PyTorch's default ignore_index). */
export const IGNORE_INDEX = -100;

/** Positions a sample takes in a row: n - 1 for n tokens. */
export function samplePositions(s: SftSample): number {
  return s.ids.length - 1;
}

/** Tokens of `s` that are trained targets: assistant tokens after the first token. */
export function trainedTokens(s: SftSample): number {
  let n = 0;
  for (let i = 1; i < s.loss.length; i++) n += s.loss[i];
  return n;
}

/** A sample that did not fit as it is, and what happened to it. */
export interface FitReport {
  where: string;
  /** Its length in tokens. */
  tokens: number;
}

export interface FitResult {
  /** The samples to train on (truncated ones included, cut to T + 1 tokens). */
  kept: SftSample[];
  /** Longer than T + 1 tokens and dropped (or truncated to no trained token). */
  skipped: FitReport[];
  /** Longer than T + 1 tokens and cut to their first T + 1 (`truncate`). */
  truncated: FitReport[];
  /** Samples without any trained target (nothing to learn), dropped. */
  empty: FitReport[];
}

/**
 * Sorts samples by whether they fit rows of `seqLen` positions: a sample of more than seqLen + 1 tokens is skipped,
 * or with `truncate` cut to its first seqLen + 1 tokens when those still hold a trained token (else skipped).
 */
export function fitSamples(samples: readonly SftSample[], seqLen: number, truncate = false): FitResult {
  const out: FitResult = { kept: [], skipped: [], truncated: [], empty: [] };
  for (const s of samples) {
    if (trainedTokens(s) === 0) {
      out.empty.push({ where: s.where, tokens: s.ids.length });
      continue;
    }
    if (samplePositions(s) <= seqLen) {
      out.kept.push(s);
      continue;
    }
    const cut: SftSample = { ids: s.ids.slice(0, seqLen + 1), loss: s.loss.slice(0, seqLen + 1), where: s.where };
    if (truncate && trainedTokens(cut) > 0) {
      out.kept.push(cut);
      out.truncated.push({ where: s.where, tokens: s.ids.length });
    } else out.skipped.push({ where: s.where, tokens: s.ids.length });
  }
  return out;
}

/** The order of `n` samples in `epoch`: a Fisher-Yates shuffle on the Threefry stream of (seed, epoch). */
export function epochOrder(n: number, seed: number, epoch: number): number[] {
  const rng = new Generator(seed).setState({ seed, counter: epoch * 2 ** 32 });
  const u = rng.uniform(Math.max(0, n - 1), 'float64');
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(u[n - 1 - i] * (i + 1)));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/**
 * Rows of sample indices: the samples in `order` (each `positions[i]` long, at most `seqLen`) packed first-fit into a
 * window of `window` open rows, rows emitted as they close (see the file header).
 */
export function packFirstFit(
  positions: readonly number[],
  order: readonly number[],
  seqLen: number,
  window: number,
): number[][] {
  const rows: number[][] = [];
  const open: { items: number[]; free: number }[] = [];
  for (const i of order) {
    const len = positions[i];
    if (len > seqLen || len < 1)
      throw new RangeError(`packing: sample ${i} takes ${len} positions, rows hold ${seqLen}`);
    const row = open.find((r) => r.free >= len);
    if (row) {
      row.items.push(i);
      row.free -= len;
      continue;
    }
    if (open.length >= window) rows.push(open.shift()!.items);
    open.push({ items: [i], free: seqLen - len });
  }
  for (const r of open) rows.push(r.items);
  return rows;
}

/** One micro-batch of packed rows. */
export interface PackedBatch {
  /** (B, T) int32 input ids. */
  inputs: Tensor;
  /** (B, T) int32 next-token targets, -100 where no loss. */
  targets: Tensor;
  /** (B, T) int32 sample ids per row (padding is a segment of its own). */
  segments: Tensor;
  /** Targets that carry loss. */
  lossTokens: number;
  /** Positions holding a sample (not padding). */
  filled: number;
}

/** The tensors of `rows` (each a list of samples, at most `seqLen` positions in all), padded with `padId`. */
export function buildBatch(rows: readonly (readonly SftSample[])[], seqLen: number, padId = 0): PackedBatch {
  const B = rows.length;
  const T = seqLen;
  const inputs = new Int32Array(B * T).fill(padId);
  const targets = new Int32Array(B * T).fill(IGNORE_INDEX);
  const segments = new Int32Array(B * T);
  let lossTokens = 0;
  let filled = 0;
  rows.forEach((row, b) => {
    let at = b * T;
    row.forEach((s, k) => {
      const n = samplePositions(s);
      if (at + n > (b + 1) * T) throw new RangeError(`packing: row ${b} holds more than ${T} positions`);
      for (let t = 0; t < n; t++) {
        inputs[at + t] = s.ids[t];
        segments[at + t] = k;
        if (s.loss[t + 1]) {
          targets[at + t] = s.ids[t + 1];
          lossTokens++;
        }
      }
      at += n;
      filled += n;
    });
    segments.fill(row.length, at, (b + 1) * T); // padding: one more segment
  });
  return {
    inputs: new Tensor(inputs, [B, T], 'int32'),
    targets: new Tensor(targets, [B, T], 'int32'),
    segments: new Tensor(segments, [B, T], 'int32'),
    lossTokens,
    filled,
  };
}

/** Where a packed stream stands: the epoch and the next row of that epoch's packing. */
export interface PackPosition {
  epoch: number;
  row: number;
}

export interface PackOptions {
  /** Positions per row (T). */
  seqLen: number;
  /** Rows per optimizer step. */
  batch: number;
  /** Epochs to run. */
  epochs: number;
  seed: number;
  /** Open rows of first-fit packing (default 16). */
  window?: number;
}

/** The rows of one optimizer step. */
export interface PackedStep {
  /** Epoch (0-based) the rows belong to. */
  epoch: number;
  rows: SftSample[][];
  /** Epochs done after this step (fractional: 1.5 = half-way through the second). */
  epochsDone: number;
}

/**
 * The training stream: epochs of shuffled, packed rows, `batch` rows per step, with a position that saves and
 * restores exactly.
 */
export class PackedStream {
  private readonly positions: number[];
  private readonly window: number;
  private cache: { epoch: number; rows: number[][] } | null = null;
  private pos: PackPosition = { epoch: 0, row: 0 };

  constructor(
    readonly samples: readonly SftSample[],
    readonly opts: PackOptions,
  ) {
    if (samples.length === 0) throw new Error('packing: no samples to train on');
    this.positions = samples.map(samplePositions);
    this.window = opts.window ?? 16;
  }

  /** Row indices (into `samples`) of `epoch`'s packing. */
  epochRows(epoch: number): number[][] {
    if (this.cache?.epoch !== epoch) {
      const order = epochOrder(this.samples.length, this.opts.seed, epoch);
      this.cache = { epoch, rows: packFirstFit(this.positions, order, this.opts.seqLen, this.window) };
    }
    return this.cache.rows;
  }

  /** Optimizer steps of each epoch. */
  stepsPerEpoch(): number[] {
    return Array.from({ length: this.opts.epochs }, (_, e) => Math.ceil(this.epochRows(e).length / this.opts.batch));
  }

  /** The next step's rows, or null after the last epoch. */
  next(): PackedStep | null {
    if (this.pos.epoch >= this.opts.epochs) return null;
    const rows = this.epochRows(this.pos.epoch);
    const end = Math.min(rows.length, this.pos.row + this.opts.batch);
    const step: PackedStep = {
      epoch: this.pos.epoch,
      rows: rows.slice(this.pos.row, end).map((r) => r.map((i) => this.samples[i])),
      epochsDone: this.pos.epoch + end / rows.length,
    };
    this.pos = end === rows.length ? { epoch: this.pos.epoch + 1, row: 0 } : { epoch: this.pos.epoch, row: end };
    return step;
  }

  position(): PackPosition {
    return { ...this.pos };
  }

  restore(p: PackPosition): void {
    if (!Number.isInteger(p?.epoch) || !Number.isInteger(p?.row) || p.epoch < 0 || p.row < 0)
      throw new Error(`packing: invalid data position ${JSON.stringify(p)}`);
    if (p.epoch < this.opts.epochs && p.row >= this.epochRows(p.epoch).length)
      throw new Error(`packing: data position ${JSON.stringify(p)} is past the end of its epoch`);
    this.pos = { ...p };
  }
}

/** `samples` packed once (epoch 0's order) into micro-batches of `microBatch` rows: the validation set. */
export function packedBatches(
  samples: readonly SftSample[],
  o: { seqLen: number; microBatch: number; seed: number; window?: number; padId?: number },
): PackedBatch[] {
  if (samples.length === 0) return [];
  const rows = packFirstFit(
    samples.map(samplePositions),
    epochOrder(samples.length, o.seed, 0),
    o.seqLen,
    o.window ?? 16,
  );
  const out: PackedBatch[] = [];
  for (let i = 0; i < rows.length; i += o.microBatch)
    out.push(
      buildBatch(
        rows.slice(i, i + o.microBatch).map((r) => r.map((j) => samples[j])),
        o.seqLen,
        o.padId,
      ),
    );
  return out;
}
