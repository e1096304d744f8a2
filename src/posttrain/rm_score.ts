/**
 * `r1ts rm score` as a library function: a reward model's scores of the records of JSONL / Parquet files. A record
 * with `chosen` and `rejected` is a preference pair (both sides are scored, and the pair is correct when the chosen
 * side scores higher); any other record is a conversation (`messages`, or `prompt` + `completion`) whose last
 * assistant turns are scored as the response. Malformed records are `file:line` errors; records longer than the
 * limit are left out and listed, never silently.
 *
 * Not here: the reward model (./reward_model.ts), training it (./rm_train.ts).
 */
import { readRecords } from '../data/readers.js';
import { toChatExample, toPreferenceExample } from './chat_data.js';
import type { RewardModel } from './reward_model.js';

/** One scored record. */
export type ScoredRecord =
  | { where: string; type: 'pair'; chosen: number; rejected: number; correct: boolean; group?: string }
  | { where: string; type: 'response'; score: number; group?: string };

/** Pair accuracy (ties counting one half) and mean margin. */
export interface PairAccuracy {
  pairs: number;
  correct: number;
  ties: number;
  accuracy: number;
  margin: number;
}

export interface ScoreReport {
  records: ScoredRecord[];
  /** `file:line`s of records left out for length. */
  skipped: string[];
  /** Over the pair records (null when there are none). */
  pairs: PairAccuracy | null;
  /** Over the conversation records (null when there are none). */
  responses: { records: number; mean: number } | null;
  /** Pair accuracy per value of the record field `by`. */
  groups: Record<string, PairAccuracy> | null;
}

export interface ScoreFileOptions {
  /** Report pair accuracy per value of this record field (e.g. `kind`, `flaw` of the built-in pairs). */
  by?: string;
  /** Records with more tokens are left out and listed (default: the model's context). */
  maxLength?: number;
  /** Rows per forward pass. */
  batchSize?: number;
}

function accuracyOf(rs: readonly Extract<ScoredRecord, { type: 'pair' }>[]): PairAccuracy {
  const correct = rs.filter((r) => r.correct).length;
  const ties = rs.filter((r) => r.chosen === r.rejected).length;
  const margin = rs.reduce((s, r) => s + r.chosen - r.rejected, 0);
  const n = Math.max(1, rs.length);
  return { pairs: rs.length, correct, ties, accuracy: (correct + ties / 2) / n, margin: margin / n };
}

/** Scores every record of `paths` with `rm` (see the file header). */
export async function scoreRecords(
  rm: RewardModel,
  paths: readonly string[],
  o: ScoreFileOptions = {},
): Promise<ScoreReport> {
  const maxLength = o.maxLength ?? rm.config.max_position_embeddings;
  type Item = { where: string; rows: number[][]; group?: string };
  const items: Item[] = [];
  const skipped: string[] = [];
  for await (const r of readRecords(paths)) {
    const rec = r.value;
    const group = o.by !== undefined && rec[o.by] !== undefined ? String(rec[o.by]) : undefined;
    let rows: number[][];
    if (rec.chosen !== undefined || rec.rejected !== undefined) {
      const p = toPreferenceExample(rec, r.where);
      rows = [rm.encode(p.prompt, p.chosen, r.where), rm.encode(p.prompt, p.rejected, r.where)];
    } else {
      const c = toChatExample(rec, r.where);
      rows = [rm.encode(c.prompt, c.completion, r.where)];
    }
    if (rows.some((x) => x.length > maxLength)) skipped.push(r.where);
    else items.push({ where: r.where, rows, ...(group !== undefined ? { group } : {}) });
  }
  if (items.length === 0 && skipped.length === 0) throw new Error(`${paths.join(', ')}: no records`);
  const scores = rm.scoreIds(
    items.flatMap((it) => it.rows),
    { batchSize: o.batchSize },
  );
  let at = 0;
  const records: ScoredRecord[] = items.map((it) => {
    const g = it.group !== undefined ? { group: it.group } : {};
    if (it.rows.length === 2) {
      const chosen = scores[at++];
      const rejected = scores[at++];
      return { where: it.where, type: 'pair', chosen, rejected, correct: chosen > rejected, ...g };
    }
    return { where: it.where, type: 'response', score: scores[at++], ...g };
  });
  const pairs = records.filter((r): r is Extract<ScoredRecord, { type: 'pair' }> => r.type === 'pair');
  const responses = records.filter((r): r is Extract<ScoredRecord, { type: 'response' }> => r.type === 'response');
  let groups: Record<string, PairAccuracy> | null = null;
  if (o.by !== undefined && pairs.length) {
    const by = new Map<string, typeof pairs>();
    for (const p of pairs) by.set(p.group ?? '(none)', [...(by.get(p.group ?? '(none)') ?? []), p]);
    groups = Object.fromEntries([...by].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, accuracyOf(v)]));
  }
  return {
    records,
    skipped,
    pairs: pairs.length ? accuracyOf(pairs) : null,
    responses: responses.length
      ? { records: responses.length, mean: responses.reduce((s, r) => s + r.score, 0) / responses.length }
      : null,
    groups,
  };
}
