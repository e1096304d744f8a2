/**
 * A pairwise run from options to result, shared by the reward-model trainer (./rm_train.ts) and DPO (./dpo.ts): opens
 * the run directory (lock, --resume / --overwrite), resolves the inputs (given, or the run's on resume), lets the
 * method load its model(s), reads and splits the pairs (./pairs.ts), records the settings (or checks them against
 * run.json under the resume rule), encodes the pairs, leaving out and reporting those over the length limit, and runs
 * the loop (./pair_trainer.ts) on the method's objective.
 *
 * Not here: what a method computes (its `PairMethod`), the loop itself.
 */
import * as path from 'node:path';
import { RunDir } from '../train/run_dir.js';
import type { StopRequests } from '../train/signals.js';
import type { PreferenceExample } from './chat_data.js';
import {
  type PairObjective,
  type PairTrainConfig,
  type PairTrainResult,
  checkPairTrainConfig,
  pairResumeRule,
  trainPairs,
} from './pair_trainer.js';
import { encodePairs, loadPairSplit, skippedLine } from './pairs.js';

/** Default share of the prompts held out when no held-out file is given. */
export const DEFAULT_VAL_SHARE = 0.05;

/** The options every pairwise run takes (a method adds its own). */
export interface PairRunOptions {
  outDir: string;
  /** The model the run starts from; on resume, the run's. */
  model?: string;
  /** Preference pair files (JSONL or Parquet); on resume, the run's. */
  data?: string[];
  /** Held-out pair files (their prompts must not occur in `data`). */
  valData?: string[];
  /** Share of the prompts of `data` held out when there is no valData (default 0.05). */
  valShare?: number;
  /** Pairs whose longer side has more tokens are left out and reported (default: the model's context). */
  maxLength?: number;
  train?: Partial<PairTrainConfig>;
  resume?: boolean;
  overwrite?: boolean;
  /** Ctrl-C / SIGTERM handlers (the CLI's): the run stops at the end of a step with a checkpoint. */
  stops?: StopRequests;
  log?: (line: string) => void;
  /** Gets warnings (unused tensors, unknown config fields). */
  warn?: (line: string) => void;
}

/** run.json of a pairwise run: these settings, and the method's own. */
export interface PairRunSettings {
  model: string;
  data: string[];
  valData: string[] | null;
  valShare: number | null;
  maxLength: number;
  pairs: { train: number; val: number; fingerprint: { train: string; val: string } };
  train: PairTrainConfig;
  [key: string]: unknown;
}

/** What a method has once its model is loaded. */
export interface OpenedMethod<E> {
  /** The model's context (the default length limit). */
  context: number;
  /** The method's own settings for run.json (beta, the reference's fingerprint, ...). */
  settings: Record<string, unknown>;
  /** Flags of those settings, for resume messages. */
  flags?: Record<string, string>;
  /** A pair as the method reads it (errors name the pair's `file:line`). */
  encode(p: PreferenceExample): E;
  /** The longer side of an encoded pair, in tokens. */
  length(e: E): number;
  /** The objective over the encoded training and held-out pairs. */
  objective(train: readonly E[], val: readonly E[]): PairObjective;
  /** The line a new run starts with. */
  describe(pairs: { train: number; val: number; from: string }): string;
}

/** A pairwise method: its command name, its default loop settings, and how it loads its model. */
export interface PairMethod<E> {
  command: string;
  defaults: PairTrainConfig;
  /** Loads the model(s) from `model` with the run's loop settings; `recorded` is run.json's settings on a resume. */
  open(model: string, train: PairTrainConfig, recorded: PairRunSettings | null): OpenedMethod<E>;
}

/** `o` without its undefined values (so that spreading it over recorded settings changes only what was given). */
function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const absolute = (xs: readonly string[] | undefined) => xs?.map((x) => path.resolve(x));

/** Runs (or resumes) a pairwise method in `o.outDir` (see the file header). */
export async function runPairMethod<E>(
  o: PairRunOptions,
  m: PairMethod<E>,
): Promise<PairTrainResult & { settings: PairRunSettings }> {
  const log = o.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  const mode = o.resume ? 'resume' : o.overwrite ? 'overwrite' : 'new';
  const who = m.command;
  const run = RunDir.open({
    dir: o.outDir,
    command: who,
    mode,
    inputs: [o.model, ...(o.data ?? []), ...(o.valData ?? [])].filter((x): x is string => x !== undefined),
    log,
    stops: o.stops,
  });
  try {
    const rec = mode === 'resume' ? (run.settings as PairRunSettings) : null;
    const model = o.model !== undefined ? path.resolve(o.model) : rec?.model;
    const data = absolute(o.data) ?? rec?.data;
    if (!model) throw new Error(`${who}: --model is required`);
    if (!data?.length) throw new Error(`${who}: --data is required`);
    const valData = absolute(o.valData) ?? (o.valShare === undefined ? rec?.valData : null) ?? null;
    const valShare = valData ? null : (o.valShare ?? rec?.valShare ?? DEFAULT_VAL_SHARE);
    const train = checkPairTrainConfig({ ...m.defaults, ...rec?.train, ...defined(o.train ?? {}) }, who);
    const method = m.open(model, train, rec);
    const maxLength = o.maxLength ?? rec?.maxLength ?? method.context;
    const split = await loadPairSplit({ data, valData: valData ?? undefined, valShare: valShare ?? 0 }, who);
    const settings: PairRunSettings = {
      model,
      ...method.settings,
      data,
      valData,
      valShare,
      maxLength,
      pairs: { train: split.train.length, val: split.val.length, fingerprint: split.fingerprint },
      train,
    };
    if (rec) run.resume(settings, pairResumeRule(method.flags));
    const tr = encodePairs(split.train, method.encode, method.length, maxLength);
    const va = encodePairs(split.val, method.encode, method.length, maxLength);
    for (const l of [
      skippedLine('training', split.train.length, tr.skipped, maxLength),
      skippedLine('held-out', split.val.length, va.skipped, maxLength),
    ])
      if (l) log(l);
    if (!rec) {
      run.start(settings);
      const from = valData ? 'from --val-data' : `${valShare} of the prompts`;
      log(method.describe({ train: tr.pairs.length, val: va.pairs.length, from }));
    }
    const objective = method.objective(tr.pairs, va.pairs);
    const result = await trainPairs({ run, objective, trainPairs: tr.pairs.length, config: train, log });
    return { ...result, settings };
  } finally {
    run.close();
  }
}
