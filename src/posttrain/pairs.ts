/**
 * Preference pairs for the pairwise trainers (reward models, DPO): read from JSONL / Parquet records through
 * `readRecords` and `toPreferenceExample` (every problem is one `file:line: ...` error), split into training and
 * held-out pairs, fingerprinted for the resume rule, and batched in a seeded order per epoch.
 *
 * The held-out share (`--val-share`) is chosen by a hash of the prompt, so that every pair of one prompt lands on the
 * same side: a held-out prompt is never seen in training, whatever its responses.
 *
 * Not here: how a pair becomes token ids (the reward model renders prompt + response with its own chat template;
 * DPO needs tokenizeChat's loss mask), the losses and the training loop (./pair_trainer.ts).
 */
import { createHash } from 'node:crypto';
import { readRecords } from '../data/readers.js';
import { hash32 } from '../data/tasks/task.js';
import { Generator } from '../tensor/random.js';
import { type PreferenceExample, toPreferenceExample } from './chat_data.js';

/** Reads every record of `paths` (files or directories) as a preference pair; errors name the file and line. */
export async function readPreferencePairs(paths: readonly string[]): Promise<PreferenceExample[]> {
  const out: PreferenceExample[] = [];
  for await (const r of readRecords(paths)) out.push(toPreferenceExample(r.value, r.where));
  if (out.length === 0) throw new Error(`${paths.join(', ')}: no preference pairs (an empty file?)`);
  return out;
}

/** The prompt of a pair as one string (the key of the held-out split and of fingerprints). */
function promptKey(p: Pick<PreferenceExample, 'prompt'>): string {
  return JSON.stringify(p.prompt.map((m) => [m.role, m.content]));
}

/** Whether a pair's prompt falls in the held-out share `share` (in [0, 1)), by a hash of the prompt. */
export function heldOutByPrompt(p: Pick<PreferenceExample, 'prompt'>, share: number): boolean {
  return hash32(`r1ts-pairs:${promptKey(p)}`) / 2 ** 32 < share;
}

/** Pairs split into training and held-out ones by prompt hash (`share` of the prompts held out). */
export function splitPairs(
  pairs: readonly PreferenceExample[],
  share: number,
): { train: PreferenceExample[]; val: PreferenceExample[] } {
  const train: PreferenceExample[] = [];
  const val: PreferenceExample[] = [];
  for (const p of pairs) (heldOutByPrompt(p, share) ? val : train).push(p);
  return { train, val };
}

/**
 * Pairs of `val` whose prompt also occurs in `train` (held-out data must be held out): the first few, as `where`s.
 */
export function sharedPrompts(train: readonly PreferenceExample[], val: readonly PreferenceExample[]): string[] {
  const seen = new Set(train.map(promptKey));
  return val.filter((p) => seen.has(promptKey(p))).map((p) => p.where);
}

/** sha256 of the pairs' content (prompt, chosen, rejected), in order: what a resume checks the data against. */
export function pairsFingerprint(pairs: readonly PreferenceExample[]): string {
  const h = createHash('sha256');
  for (const p of pairs) h.update(JSON.stringify([p.prompt, p.chosen, p.rejected])).update('\n');
  return h.digest('hex').slice(0, 16);
}

/** The order of `n` pairs in `epoch` (0-based): a Fisher-Yates shuffle seeded by (seed, epoch). */
export function epochOrder(n: number, seed: number, epoch: number): Int32Array {
  const g = new Generator(hash32(`r1ts-epoch:${seed}:${epoch}`));
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const u = g.uniform(n, 'float64');
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(u[i] * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

/** Batches per epoch of `n` pairs in batches of `batch` (the last one may be smaller). */
export function batchesPerEpoch(n: number, batch: number): number {
  return Math.ceil(n / batch);
}

/** The pair indices of (0-based) optimizer step `step`: its epoch's order, its slice. */
export function stepBatch(n: number, batch: number, seed: number, step: number): { epoch: number; idx: number[] } {
  const per = batchesPerEpoch(n, batch);
  const epoch = Math.floor(step / per);
  const b = step % per;
  const order = epochOrder(n, seed, epoch);
  return { epoch, idx: Array.from(order.subarray(b * batch, Math.min(n, (b + 1) * batch))) };
}

/** Where the pairs come from: training files, and held-out files or a held-out share of the prompts. */
export interface PairSources {
  data: readonly string[];
  /** Held-out pairs from these files (then `valShare` is not used). */
  valData?: readonly string[];
  /** Share of the prompts of `data` held out (by prompt hash) when there is no `valData`. */
  valShare: number;
}

/** Pairs read and split, with their fingerprints (what a resume checks the data against). */
export interface PairSplit {
  train: PreferenceExample[];
  val: PreferenceExample[];
  fingerprint: { train: string; val: string };
}

/**
 * Reads and splits the pairs of `s`. Held-out pairs whose prompt also occurs in the training pairs are an error (the
 * held-out numbers would not be held out), naming the first few.
 */
export async function loadPairSplit(s: PairSources, who: string): Promise<PairSplit> {
  const all = await readPreferencePairs(s.data);
  const { train, val } = s.valData?.length
    ? { train: all, val: await readPreferencePairs(s.valData) }
    : splitPairs(all, s.valShare);
  const shared = sharedPrompts(train, val);
  if (shared.length)
    throw new Error(
      `${who}: ${shared.length} held-out pair(s) have a prompt that is also in the training pairs (${shared.slice(0, 3).join(', ')}${shared.length > 3 ? ', ...' : ''}); held-out pairs must be held out`,
    );
  if (train.length === 0) throw new Error(`${who}: no training pairs (all ${val.length} are held out)`);
  return { train, val, fingerprint: { train: pairsFingerprint(train), val: pairsFingerprint(val) } };
}

/** Tokenized pairs that fit, and the `where`s of those that did not. */
export interface EncodedPairs<E> {
  pairs: E[];
  /** Sources (`file:line`) of pairs left out for length. */
  skipped: string[];
}

/**
 * Encodes every pair with `encode` (which throws `file:line` errors) and leaves out, never silently, the pairs whose
 * longer side has more than `maxLength` tokens (`length` of an encoded pair).
 */
export function encodePairs<E>(
  pairs: readonly PreferenceExample[],
  encode: (p: PreferenceExample) => E,
  length: (e: E) => number,
  maxLength: number,
): EncodedPairs<E> {
  const out: E[] = [];
  const skipped: string[] = [];
  for (const p of pairs) {
    const e = encode(p);
    if (length(e) > maxLength) skipped.push(p.where);
    else out.push(e);
  }
  return { pairs: out, skipped };
}

/** "left out 3 of 400 training pairs longer than --max-length 512 tokens (a.jsonl:7, ...)", or null. */
export function skippedLine(what: string, total: number, skipped: readonly string[], maxLength: number): string | null {
  if (!skipped.length) return null;
  return `left out ${skipped.length} of ${total} ${what} pairs longer than --max-length ${maxLength} tokens (${skipped.slice(0, 3).join(', ')}${skipped.length > 3 ? ', ...' : ''})`;
}
