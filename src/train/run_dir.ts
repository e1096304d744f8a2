/**
 * The run-directory protocol that every trainer follows (pre-training, GRPO, and the trainers to come). A run
 * directory holds:
 *
 *   run.json        what was asked: `command`, the resolved settings (inputs included) at the top level, `status`
 *                   (running | stopped | finished), `summary` once finished, and `history`: every resume with the
 *                   settings it changed, every stop by a signal
 *   metrics.jsonl   one JSON object per step, each with a `step` number; appended
 *   checkpoints/    atomic checkpoints, the last K (./checkpoint.ts)
 *   model/          the final model (Hugging Face layout)
 *   run.lock        while a process writes the directory (../io/lock.ts)
 *
 * What it guarantees:
 * - One writer: `RunDir.open` takes the lock; a second writer gets "in use by pid P on HOST since T"; a stale lock
 *   (its process is gone) is taken over with a message.
 * - Existing work is never deleted silently: a new run in a directory that holds one is an error offering `--resume`
 *   or `--overwrite`; `--overwrite` removes the run's files (and says which), never an input of the new run.
 * - One resume rule: each trainer declares which settings may change on resume (`ResumeRule.mutable`); a changed
 *   immutable setting is an error naming its flag and both values, a changed mutable one is applied and recorded in
 *   run.json's history.
 * - A resume starts from the newest checkpoint that loads; corrupt newer ones (truncated safetensors, bad state.json)
 *   are moved aside to `checkpoints/corrupt-step-N` with a warning.
 * - metrics.jsonl on resume: an incomplete last line (a write cut short) is dropped with a message, lines after the
 *   checkpoint's step are dropped, and the file is rewritten atomically.
 * - Ctrl-C / SIGTERM (when the caller passes `stops`): the trainer stops at the end of the step, checkpoints, and the
 *   stop is recorded (./signals.ts).
 *
 * Not here: what a checkpoint holds (./checkpoint.ts), how a trainer restores its state from one, and the command
 * line (the CLI maps flags to settings and gives the flag names for messages).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeAll, writeFileAtomic } from '../io/atomic.js';
import { readJsonObject, writeJsonFile } from '../io/json.js';
import { FileLock } from '../io/lock.js';
import { type CheckpointInfo, type SaveCheckpointArgs, listCheckpoints, saveCheckpoint } from './checkpoint.js';
import type { StopRequests, StopSignal } from './signals.js';

/** The `format` of run.json files written by this protocol (files without one are read as settings only). */
export const RUN_FORMAT = 'r1ts-run-1';

/** run.json keys of the protocol; settings may not use them. */
const PROTOCOL_KEYS = ['format', 'command', 'created', 'status', 'summary', 'history'] as const;

/** The files a run directory holds (besides a command's extra entries). */
export const RUN_ENTRIES = ['run.json', 'metrics.jsonl', 'checkpoints', 'model'] as const;

/** Settings: JSON data. Nested objects are compared key by key (dotted paths), arrays as a whole. */
export type Settings = Record<string, unknown>;

/**
 * Which settings may change on resume. Paths are dotted (`train.steps`); a path covers everything below it. Settings
 * not covered are immutable.
 */
export interface ResumeRule {
  mutable: readonly string[];
  /** The command-line flag of a setting (path or a path above it), for messages: `{'train.peakLr': '--lr'}`. */
  flags?: Readonly<Record<string, string>>;
}

/** One setting that differs between the recorded run and a resume. */
export interface SettingChange {
  setting: string;
  /** Its flag as a user names it (`--lr`, `--config (model.hidden_size)`), or null when it has none. */
  flag: string | null;
  from: unknown;
  to: unknown;
}

export interface RunHistoryEntry {
  event: 'resume' | 'stop';
  /** ISO time. */
  at: string;
  /** resume: the checkpoint step it continued from; stop: the step that was saved. */
  step?: number;
  /** resume: the mutable settings it changed. */
  changed?: SettingChange[];
  /** stop: the signal. */
  signal?: StopSignal;
}

export type RunStatus = 'running' | 'stopped' | 'finished';

/** run.json, read. */
export interface RunRecord {
  command: string | null;
  created: string | null;
  settings: Settings;
  /** null for a run.json written before this protocol. */
  status: RunStatus | null;
  summary: Record<string, unknown> | null;
  history: RunHistoryEntry[];
}

/** How a run starts: a new run (the directory must not hold one), a resume, or a new run replacing the old one. */
export type RunMode = 'new' | 'resume' | 'overwrite';

export interface OpenRunOptions {
  dir: string;
  /** The command, for run.json and messages ('pretrain', 'grpo', 'train'). */
  command: string;
  mode: RunMode;
  /** Entries the command writes besides RUN_ENTRIES (pretrain: 'data', 'tokenizer.json'); --overwrite removes them. */
  extraEntries?: readonly string[];
  /** Input files of the run: --overwrite refuses to delete an entry that holds one. */
  inputs?: readonly string[];
  log?: (line: string) => void;
  /**
   * Installed SIGINT/SIGTERM handlers (./signals.ts; owned by the caller, which may span several runs): the trainer
   * stops at a step boundary when they have fired. Default none: Node's default behaviour.
   */
  stops?: StopRequests;
}

/** A setting's value for messages: strings bare, others as JSON, absent as 'the default'. */
export function showSetting(v: unknown): string {
  return v === undefined ? 'the default' : typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * "--precision is fp8 but the run used fp32; --config differs in 22 settings (model.model_type is qwen2 but the run
 * used deepseek_v3, ...)": changes grouped by flag, a group of more than two summarised.
 */
export function describeConflicts(changes: readonly SettingChange[]): string {
  const groups = new Map<string, SettingChange[]>();
  for (const c of changes) {
    const key = c.flag?.split(' (')[0] ?? c.setting;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  const one = (c: SettingChange, label = settingLabel(c)) =>
    `${label} is ${showSetting(c.to)} but the run used ${showSetting(c.from)}`;
  return [...groups]
    .map(([key, cs]) =>
      cs.length <= 2
        ? cs.map((c) => one(c)).join('; ')
        : `${key} differs in ${cs.length} settings (${one(cs[0], cs[0].setting)}, ...)`,
    )
    .join('; ');
}

/** Settings as JSON data (undefined dropped, as in run.json). */
function normalise<S>(s: S): S {
  return JSON.parse(JSON.stringify(s)) as S;
}

function leaves(v: unknown, prefix: string, out: Map<string, string>): void {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const keys = Object.keys(v);
    if (keys.length === 0 && prefix) out.set(prefix, '{}');
    for (const k of keys) leaves((v as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k, out);
  } else if (v !== undefined) out.set(prefix, JSON.stringify(v));
}

function covered(setting: string, paths: Iterable<string>): string | null {
  let best: string | null = null;
  for (const p of paths)
    if ((setting === p || setting.startsWith(`${p}.`)) && (best === null || p.length > best.length)) best = p;
  return best;
}

/**
 * The settings that differ between `from` and `to` (leaf by leaf, dotted paths), each with its flag as a user names
 * it: `--lr`, or `--config (model.hidden_size)` below a flag that covers a subtree.
 */
export function settingsDiff(from: Settings, to: Settings, rule?: Pick<ResumeRule, 'flags'>): SettingChange[] {
  const a = new Map<string, string>();
  const b = new Map<string, string>();
  leaves(normalise(from), '', a);
  leaves(normalise(to), '', b);
  const flags = rule?.flags ?? {};
  const out: SettingChange[] = [];
  for (const k of new Set([...a.keys(), ...b.keys()])) {
    if (a.get(k) === b.get(k)) continue;
    const by = covered(k, Object.keys(flags));
    out.push({
      setting: k,
      flag: by === null ? null : by === k ? flags[by] : `${flags[by]} (${k})`,
      from: a.has(k) ? JSON.parse(a.get(k)!) : undefined,
      to: b.has(k) ? JSON.parse(b.get(k)!) : undefined,
    });
  }
  return out;
}

/** `--lr`, `--config (model.hidden_size)`, or `'train.seqLen'` for a setting without a flag. */
export function settingLabel(c: SettingChange): string {
  return c.flag ?? `'${c.setting}'`;
}

/** "--steps 30 -> 45" */
export function describeChange(c: SettingChange): string {
  return `${settingLabel(c)} ${showSetting(c.from)} -> ${showSetting(c.to)}`;
}

/** Reads run.json of `dir` (null when there is none); errors name the file. */
export function readRunRecord(dir: string): RunRecord | null {
  const file = path.join(dir, 'run.json');
  if (!fs.existsSync(file)) return null;
  const raw = readJsonObject(file, 'run.json');
  if (raw.format === undefined) {
    // written before this protocol: all of it is settings
    return { command: null, created: null, settings: raw, status: null, summary: null, history: [] };
  }
  if (raw.format !== RUN_FORMAT) throw new Error(`run.json ${file}: unknown format ${JSON.stringify(raw.format)}`);
  const settings: Settings = {};
  for (const [k, v] of Object.entries(raw)) if (!(PROTOCOL_KEYS as readonly string[]).includes(k)) settings[k] = v;
  const status = raw.status;
  if (status !== 'running' && status !== 'stopped' && status !== 'finished')
    throw new Error(`run.json ${file}: "status" must be running, stopped or finished, got ${JSON.stringify(status)}`);
  if (!Array.isArray(raw.history)) throw new Error(`run.json ${file}: "history" must be an array`);
  return {
    command: typeof raw.command === 'string' ? raw.command : null,
    created: typeof raw.created === 'string' ? raw.created : null,
    settings,
    status,
    summary: (raw.summary as Record<string, unknown> | undefined) ?? null,
    history: raw.history as RunHistoryEntry[],
  };
}

/**
 * Whether the run in `dir` finished: run.json says so (or, for a run.json older than this protocol, a final model
 * exists) and its final model is there.
 */
export function runFinished(dir: string): boolean {
  const rec = readRunRecord(dir);
  const model = fs.existsSync(path.join(dir, 'model', 'config.json'));
  return rec !== null && model && (rec.status === 'finished' || rec.status === null);
}

/** What of a run `dir` holds, for messages ("run.json, 3 checkpoints (last step 30), metrics.jsonl"); [] if nothing. */
export function runContents(dir: string): string[] {
  const out: string[] = [];
  for (const e of RUN_ENTRIES) {
    const p = path.join(dir, e);
    if (!fs.existsSync(p)) continue;
    if (e === 'checkpoints') {
      const c = listCheckpoints(p);
      if (c.length) out.push(`${c.length} checkpoint${c.length > 1 ? 's' : ''} (last step ${c[c.length - 1].step})`);
    } else out.push(e === 'model' ? 'model/' : e);
  }
  return out;
}

/** An open run directory: holds the lock until `close()`. */
export class RunDir {
  readonly runFile: string;
  readonly metricsFile: string;
  readonly checkpointsDir: string;
  readonly modelDir: string;
  private rec: RunRecord | null;
  private closed = false;

  private constructor(
    readonly dir: string,
    readonly command: string,
    readonly mode: RunMode,
    private readonly lock: FileLock,
    readonly log: (line: string) => void,
    private readonly stops: StopRequests | null,
  ) {
    this.runFile = path.join(dir, 'run.json');
    this.metricsFile = path.join(dir, 'metrics.jsonl');
    this.checkpointsDir = path.join(dir, 'checkpoints');
    this.modelDir = path.join(dir, 'model');
    this.rec = null;
  }

  /**
   * Opens `o.dir` for a run: takes its lock, then (mode 'new') refuses a directory that holds a run, (mode
   * 'overwrite') removes the run it holds, or (mode 'resume') reads its run.json. On any error the lock is released.
   */
  static open(o: OpenRunOptions): RunDir {
    const log = o.log ?? ((l: string) => process.stdout.write(l + '\n'));
    const runFile = path.join(o.dir, 'run.json');
    const nothing = () => new Error(`${o.command}: --resume: ${runFile} does not exist (nothing to resume)`);
    if (o.mode === 'resume' && !fs.existsSync(runFile)) throw nothing();
    fs.mkdirSync(o.dir, { recursive: true });
    const lock = FileLock.acquire(path.join(o.dir, 'run.lock'), `run directory ${o.dir}`, o.command, log);
    let run: RunDir | null = null;
    try {
      run = new RunDir(o.dir, o.command, o.mode, lock, log, o.stops ?? null);
      if (o.mode === 'new') {
        const held = runContents(o.dir);
        if (held.length)
          throw new Error(
            `${o.command}: ${o.dir} already holds a run (${held.join(', ')}); continue it with --resume, or start over with --overwrite (deletes them)`,
          );
      } else if (o.mode === 'overwrite') {
        run.clear(o.extraEntries ?? [], o.inputs ?? []);
      } else {
        run.rec = readRunRecord(o.dir);
        if (!run.rec) throw nothing();
      }
      return run;
    } catch (e) {
      run?.close();
      lock.release();
      throw e;
    }
  }

  /** --overwrite: removes the run's entries (never an input of the new run), saying what went. */
  private clear(extra: readonly string[], inputs: readonly string[]): void {
    const gone: string[] = [];
    for (const e of [...RUN_ENTRIES, ...extra]) {
      const p = path.resolve(this.dir, e);
      if (!fs.existsSync(p)) continue;
      for (const input of inputs) {
        const i = path.resolve(input);
        if (i === p || i.startsWith(p + path.sep))
          throw new Error(
            `${this.command}: --overwrite would delete ${input}, an input of this run (in ${path.join(this.dir, e)}); move it out of ${this.dir} first`,
          );
      }
      gone.push(e);
    }
    if (!gone.length) return;
    for (const e of gone) fs.rmSync(path.join(this.dir, e), { recursive: true, force: true });
    this.log(`overwrite: removed ${gone.join(', ')} from ${this.dir}`);
  }

  /** run.json as read or last written (null before `start` of a new run). */
  get record(): RunRecord | null {
    return this.rec;
  }

  /** The run's settings (after `start` or `resume`). */
  get settings(): Settings {
    if (!this.rec) throw new Error(`${this.command}: run directory ${this.dir} has no settings yet (start or resume)`);
    return this.rec.settings;
  }

  private write(): void {
    const r = this.rec!;
    writeJsonFile(this.runFile, {
      format: RUN_FORMAT,
      command: r.command ?? this.command,
      created: r.created ?? new Date().toISOString(),
      ...r.settings,
      status: r.status ?? 'running',
      ...(r.summary ? { summary: r.summary } : {}),
      history: r.history,
    });
  }

  /** Records the settings of a new run in run.json (status running). Returns them as JSON data. */
  start<S extends Settings>(settings: S): S {
    if (this.mode === 'resume') throw new Error(`${this.command}: start() on a resumed run`);
    for (const k of PROTOCOL_KEYS)
      if (k in settings) throw new Error(`${this.command}: setting '${k}' clashes with a run.json field`);
    const s = normalise(settings);
    this.rec = {
      command: this.command,
      created: new Date().toISOString(),
      settings: s,
      status: 'running',
      summary: null,
      history: [],
    };
    this.write();
    return s;
  }

  /**
   * Applies the resume rule: `next` (the settings asked for now, or a function of the recorded ones) is compared with
   * run.json's. A changed setting not in `rule.mutable` is an error naming its flag and both values; changed mutable
   * ones are applied. Returns the settings to run with. run.json is written (with the changes in its history) when the
   * trainer has restored its checkpoint and calls `resumed`.
   */
  resume<S extends Settings>(next: S | ((recorded: S) => S), rule: ResumeRule): S {
    if (this.mode !== 'resume' || !this.rec) throw new Error(`${this.command}: resume() on a run not opened to resume`);
    const recorded = this.rec.settings as S;
    const want = normalise(typeof next === 'function' ? next(structuredClone(recorded)) : next);
    const changes = settingsDiff(recorded, want, rule);
    const fixed = changes.filter((c) => !covered(c.setting, rule.mutable));
    if (fixed.length) {
      throw new Error(
        `${this.command} --resume: ${describeConflicts(fixed)} (${fixed.length > 1 ? 'these' : 'it'} cannot change on resume; start a new run with another --out, or --overwrite)`,
      );
    }
    this.rec = {
      ...this.rec,
      settings: want,
      status: 'running',
      summary: null,
      history: [
        ...this.rec.history,
        { event: 'resume', at: new Date().toISOString(), ...(changes.length ? { changed: changes } : {}) },
      ],
    };
    return want;
  }

  /** The mutable settings this resume changed. */
  get resumeChanges(): SettingChange[] {
    const last = this.rec?.history[this.rec.history.length - 1];
    return this.mode === 'resume' && last?.event === 'resume' ? (last.changed ?? []) : [];
  }

  /**
   * Loads the newest checkpoint that `load` accepts (it restores the trainer's state from a checkpoint directory and
   * throws when a file is corrupt). Newer ones that failed are moved aside to `checkpoints/corrupt-step-N`, with a
   * warning; when none loads, the error lists why each failed.
   */
  loadLatestCheckpoint<T>(load: (dir: string) => T): CheckpointInfo & { value: T } {
    const all = listCheckpoints(this.checkpointsDir).reverse();
    if (!all.length) throw new Error(`${this.command} --resume: no checkpoint in ${this.checkpointsDir}`);
    const failed: [CheckpointInfo, string][] = [];
    for (const c of all) {
      let value: T;
      try {
        value = load(c.dir);
      } catch (e) {
        failed.push([c, (e as Error).message]);
        continue;
      }
      for (const [bad, why] of failed) {
        let aside = path.join(this.checkpointsDir, `corrupt-${path.basename(bad.dir)}`);
        for (let i = 2; fs.existsSync(aside); i++)
          aside = path.join(this.checkpointsDir, `corrupt-${path.basename(bad.dir)}-${i}`);
        fs.renameSync(bad.dir, aside);
        this.log(
          `warning: checkpoint ${bad.dir} is unreadable (${why}); resuming from step ${c.step} instead (the bad one is kept as ${aside})`,
        );
      }
      return { ...c, value };
    }
    throw new Error(
      `${this.command} --resume: no checkpoint in ${this.checkpointsDir} can be read: ${failed.map(([c, why]) => `${path.basename(c.dir)}: ${why}`).join('; ')}`,
    );
  }

  /**
   * Commits a resume once the trainer has restored the checkpoint of `step`: writes run.json (the new settings, the
   * history entry with the step) and prints the standard lines: where it continues, and the settings it changed.
   */
  resumed(checkpointDir: string, step: number, detail = ''): void {
    const last = this.rec?.history[this.rec.history.length - 1];
    if (this.mode !== 'resume' || last?.event !== 'resume')
      throw new Error(`${this.command}: resumed() without resume()`);
    last.step = step;
    this.write();
    this.log(`resumed from ${checkpointDir} at step ${step}${detail}`);
    const changes = this.resumeChanges;
    if (changes.length) this.log(`changed on resume: ${changes.map(describeChange).join(', ')} (recorded in run.json)`);
  }

  /**
   * metrics.jsonl for a resume from `step`: drops an incomplete last line (a write cut short by a kill or a full disk)
   * and the lines after `step`, saying so, and rewrites the file atomically when anything was dropped. Returns the
   * rows kept. A bad line elsewhere is an error naming file and line.
   */
  prepareMetrics(step: number): Record<string, unknown>[] {
    if (!fs.existsSync(this.metricsFile)) return [];
    const text = fs.readFileSync(this.metricsFile, 'utf8');
    const lines = text.split('\n');
    const torn = lines.pop()!; // '' when the file ends with a newline
    if (torn !== '')
      this.log(
        `${this.metricsFile}: dropped an incomplete last line (${Buffer.byteLength(torn)} bytes, a write cut short)`,
      );
    const rows: Record<string, unknown>[] = [];
    let later = 0;
    lines.forEach((l, i) => {
      if (!l.trim()) return;
      let row: Record<string, unknown>;
      try {
        row = JSON.parse(l) as Record<string, unknown>;
      } catch (e) {
        throw new Error(`${this.metricsFile}:${i + 1}: not valid JSON (${(e as Error).message})`);
      }
      if (typeof row?.step !== 'number') throw new Error(`${this.metricsFile}:${i + 1}: no "step" number`);
      if (row.step <= step) rows.push(row);
      else later++;
    });
    if (later)
      this.log(`${this.metricsFile}: dropped ${later} line(s) after step ${step} (written after the checkpoint)`);
    if (torn !== '' || later) {
      const bytes = new TextEncoder().encode(rows.map((r) => JSON.stringify(r) + '\n').join(''));
      writeFileAtomic(this.metricsFile, (fd) => writeAll(fd, bytes));
    }
    return rows;
  }

  /** Appends one step's metrics. */
  appendMetrics(row: { step: number }): void {
    fs.appendFileSync(this.metricsFile, JSON.stringify(row) + '\n');
  }

  /** Saves a checkpoint into checkpoints/ (atomic, last `keep` kept). */
  saveCheckpoint(a: Omit<SaveCheckpointArgs, 'root'>): string {
    return saveCheckpoint({ ...a, root: this.checkpointsDir });
  }

  /** The signal that asked the run to stop, or null (always null without `stops`). */
  stopRequested(): StopSignal | null {
    return this.stops?.requested ?? null;
  }

  /** Whether SIGINT/SIGTERM handlers watch the run (trainers then yield to the event loop once per step). */
  get handlesSignals(): boolean {
    return this.stops !== null;
  }

  /** Records a stop by `signal` after the checkpoint of `step` (status stopped). */
  markStopped(signal: StopSignal, step: number): void {
    const r = this.rec!;
    this.rec = {
      ...r,
      status: 'stopped',
      history: [...r.history, { event: 'stop', at: new Date().toISOString(), step, signal }],
    };
    this.write();
    this.log(
      `stopped by ${signal} after step ${step}; checkpoint saved in ${this.checkpointsDir}. Continue with the same command and --resume`,
    );
  }

  /** Records that the run finished, with a summary (final step, losses, ...). */
  markFinished(summary: Record<string, unknown>): void {
    this.rec = { ...this.rec!, status: 'finished', summary: normalise(summary) };
    this.write();
  }

  /** Releases the lock. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.lock.release();
  }
}
