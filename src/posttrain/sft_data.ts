/**
 * The data side of SFT: records (JSONL lines or Parquet rows, `{"messages"}` or `{"prompt", "completion"}`) read,
 * checked and rendered with the model's chat template into tokenized samples with their assistant-only loss mask
 * (./chat_data.ts); a validation share split off by content hash; the samples that do not fit a row reported; a
 * fingerprint that tells a resume whether the data changed.
 *
 * Malformed records are errors naming `file:line`, or with `skipBad` counted and skipped (the first few named).
 *
 * Not here: packing (./packing.ts), the training loop (./sft.ts).
 */
import { readRecords, newReaderStats } from '../data/readers.js';
import { hash32 } from '../data/tasks/task.js';
import { type ChatRenderer, toChatExample, tokenizeChat } from './chat_data.js';
import type { SftSample } from './packing.js';

/** A tokenized sample with what the split and the held-out checks need. */
export interface ReadSample extends SftSample {
  /** Content hash of the conversation (role and content of every turn): equal conversations, equal keys. */
  key: number;
  /** The user turns' texts (to check that evaluation prompts are not trained on). */
  users: string[];
}

export interface ReadSamplesResult {
  samples: ReadSample[];
  /** Records read (bad ones included). */
  records: number;
  /** Malformed records skipped (`skipBad`). */
  bad: number;
  /** The first few problems of skipped records, `file:line: ...`. */
  badExamples: string[];
  /** Earlier assistant turns left without loss because the template rewrites them (R1's drops their reasoning). */
  untrainedTurns: number;
}

/** How many skipped records are named in messages. */
export const NAMED_PROBLEMS = 5;

/** The content key of a conversation. */
export function conversationKey(messages: readonly { role: string; content: string }[]): number {
  return hash32(`r1ts-sft:${JSON.stringify(messages.map((m) => [m.role, m.content]))}`);
}

/**
 * Reads the records of `files` and tokenizes each conversation with `tok`'s chat template. A malformed record (bad
 * JSON, missing roles, an empty assistant turn, a template that fails) throws `file:line: ...`, or with `skipBad` is
 * counted and skipped.
 */
export async function readSftSamples(
  files: readonly string[],
  tok: ChatRenderer,
  opts: { skipBad?: boolean } = {},
): Promise<ReadSamplesResult> {
  const stats = newReaderStats();
  const out: ReadSamplesResult = { samples: [], records: 0, bad: 0, badExamples: [], untrainedTurns: 0 };
  const bad = (msg: string) => {
    out.bad++;
    if (out.badExamples.length < NAMED_PROBLEMS) out.badExamples.push(msg);
  };
  for await (const rec of readRecords(files, { onError: opts.skipBad ? 'skip' : 'throw', stats })) {
    out.records++;
    try {
      const ex = toChatExample(rec.value, rec.where);
      const messages = [...ex.prompt, ...ex.completion];
      const t = tokenizeChat(tok, messages, rec.where);
      out.untrainedTurns += t.untrainedTurns;
      out.samples.push({
        ids: Int32Array.from(t.ids),
        loss: t.loss,
        where: rec.where,
        key: conversationKey(messages),
        users: messages.filter((m) => m.role === 'user').map((m) => m.content),
      });
    } catch (e) {
      if (!opts.skipBad) throw e;
      bad((e as Error).message);
    }
  }
  // lines the reader itself skipped (not JSON, not an object)
  out.records += stats.skipped;
  out.bad += stats.skipped;
  for (const e of stats.errors) if (out.badExamples.length < NAMED_PROBLEMS) out.badExamples.push(e);
  return out;
}

/**
 * Splits samples by content hash: a sample is held out when its key falls in the first `share` of the hash range, so
 * the split depends on the conversation only (never on its file, line or order) and copies of a conversation land on
 * the same side.
 */
export function splitByContent<S extends { key: number }>(
  samples: readonly S[],
  share: number,
): { train: S[]; val: S[] } {
  if (!(share >= 0 && share < 1)) throw new RangeError(`sft: the validation share must be in [0, 1), got ${share}`);
  const cut = Math.round(share * 2 ** 32);
  const train: S[] = [];
  const val: S[] = [];
  for (const s of samples) (s.key < cut ? val : train).push(s);
  return { train, val };
}

/** A fingerprint of the samples (ids, masks and order), for a resume to check that the data is the run's. */
export function samplesFingerprint(samples: readonly SftSample[]): string {
  let h = 0x811c9dc5;
  const mix = (x: number) => {
    h ^= x;
    h = Math.imul(h, 0x01000193);
  };
  for (const s of samples) {
    mix(s.ids.length);
    for (let i = 0; i < s.ids.length; i++) mix(s.ids[i] * 2 + s.loss[i]);
  }
  return `${samples.length}:${(h >>> 0).toString(16)}`;
}

/**
 * Samples of `val` whose conversation (key) is also in `train`, with the first one's `file:line`: held-out data
 * that is not held out.
 */
export function overlapping(
  train: readonly ReadSample[],
  val: readonly ReadSample[],
): { n: number; first: string | null } {
  const keys = new Set(train.map((s) => s.key));
  const dup = val.filter((s) => keys.has(s.key));
  return { n: dup.length, first: dup[0]?.where ?? null };
}
