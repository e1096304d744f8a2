/**
 * The CLI's flags, parsed and checked in one place. Two layers:
 *
 * - parsers, `parseX(cmd, flag, raw, ...)`: text -> value, or a one-line error naming the command, the flag and what
 *   is allowed: `generate: --n must be an integer in [1, 4096], got '1e8'`. Numbers: integers or decimals with an
 *   optional exponent, nothing else (no hex, no '', no 'Infinity'), checked against a `NumberRange`.
 * - option builders, `flagsOf(command).int(...)` etc.: commander Options that run those parsers while the command line
 *   is parsed (so a bad flag fails before any work), and whose help line shows the range and the default. A default
 *   is either a value (used when the flag is absent, shown as `(default: 1)`) or only a text, `shownDefault('the
 *   preset's')`, when the value depends on other flags or files and the action fills it in.
 *
 * Sizes are bounded (every flag that drives an allocation has a maximum); the library checks its settings with the
 * same ranges (SAMPLING_RANGES, GRPO_RANGES), which the builders take as they are. Worker threads are capped at the
 * machine's cores with a warning (the numbers do not depend on them, so a clamp loses nothing).
 * Output files get their parent folder created up front (`createParentDir`), before the work that produces them, and
 * an existing one is refused unless the command was given `--overwrite` (`f.output` records the flag, `f.overwrite`
 * adds `--overwrite`, and a preAction hook checks every recorded output before the action starts, so a refused
 * command has written nothing).
 *
 * Not here: what a command does with its flags (./commands), sampling parameters' cross-checks (src/infer/sampling.ts).
 */
import * as fs from 'node:fs';
import { notRegularKind } from '../util/files.js';
import { readJsonObject } from '../io/json.js';
import { WEIGHTS_IN_MEMORY } from '../io/model_dir.js';
import * as path from 'node:path';
import os from 'node:os';
import { type Command, Option } from 'commander';
import { type NumberRange, checkRange, inRange, rangeText } from '../tensor/range.js';
import { SAMPLING_NAMES, SAMPLING_RANGES, type SamplingParams } from '../infer/sampling.js';
import { formatBytes } from '../infer/memory.js';
import { warn } from './warn.js';
import { Progress, type ProgressStream } from '../util/progress.js';
import { StopRequests, type StopSignal, stopExitCode } from '../train/signals.js';

// ---- ranges ------------------------------------------------------------------------------------------------------

/** Integers in [min, max]. */
export function ints(min: number, max: number = Number.MAX_SAFE_INTEGER): NumberRange {
  return { min, max, integer: true };
}

/** Numbers in [min, max] (or (min, max] with `minExclusive`). */
export function nums(min: number, max = Infinity, minExclusive = false): NumberRange {
  return { min, max, minExclusive };
}

/** Seeds: any non-negative safe integer. */
export const SEED_RANGE = ints(0);
/** Optimizer or RL steps. */
export const STEPS_RANGE = ints(1, 10_000_000);
/** Problems of one evaluation (`eval --n`, `zero --n`). */
export const PROBLEMS_RANGE = ints(1, 100_000);
/** Worker threads before the cap at the machine's cores. */
export const WORKERS_RANGE = ints(1, 256);

// ---- parsers ------------------------------------------------------------------------------------------------------

const NUMBER_SYNTAX = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** A number in `range` (an integer when `range.integer`). */
export function parseNumber(cmd: string, flag: string, raw: string, range: NumberRange): number {
  const x = NUMBER_SYNTAX.test(raw.trim()) ? Number(raw) : Number.NaN;
  return checkRange(cmd, flag, x, range, `'${raw}'`);
}

/** One of `choices`. */
export function parseChoice<T extends string>(cmd: string, flag: string, raw: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(raw))
    throw new Error(`${cmd}: ${flag} must be one of ${choices.join(', ')}, got '${raw}'`);
  return raw as T;
}

/** 'auto' or a number in `range`. */
export function parseNumberOrAuto(cmd: string, flag: string, raw: string, range: NumberRange): number | 'auto' {
  if (raw === 'auto') return 'auto';
  const x = NUMBER_SYNTAX.test(raw.trim()) ? Number(raw) : Number.NaN;
  if (!inRange(x, range)) throw new RangeError(`${cmd}: ${flag} must be 'auto' or ${rangeText(range)}, got '${raw}'`);
  return x;
}

/** Comma-separated items (at least one, at most `maxItems`), each parsed by `item` (its error names the position). */
export function parseList<T>(
  cmd: string,
  flag: string,
  raw: string,
  item: (text: string, name: string) => T,
  maxItems = 1 << 20,
): T[] {
  const parts = raw.split(',').map((s) => s.trim());
  if (parts.length > maxItems)
    throw new Error(`${cmd}: ${flag} must have at most ${maxItems} items, got ${parts.length}`);
  return parts.map((p, i) => item(p, `${flag} item ${i + 1}`));
}

/** Comma-separated numbers, each in `range`: `--sizes 64,128`. */
export function parseNumberList(
  cmd: string,
  flag: string,
  raw: string,
  range: NumberRange,
  maxItems?: number,
): number[] {
  return parseList(cmd, flag, raw, (p, name) => parseNumber(cmd, name, p, range), maxItems);
}

/** Comma-separated KEY=NUMBER items with keys from `keys` (any subset, each at most once): `--cost F=1,B=2`. */
export function parseKeyNumbers<K extends string>(
  cmd: string,
  flag: string,
  raw: string,
  keys: readonly K[],
  range: NumberRange,
): Partial<Record<K, number>> {
  const out: Partial<Record<K, number>> = {};
  parseList(cmd, flag, raw, (p, name) => {
    const eq = p.indexOf('=');
    const key = p.slice(0, eq).trim();
    if (eq < 0 || !(keys as readonly string[]).includes(key))
      throw new Error(`${cmd}: ${name} must be KEY=NUMBER with KEY one of ${keys.join(', ')}, got '${p}'`);
    if (key in out) throw new Error(`${cmd}: ${flag} sets ${key} twice`);
    out[key as K] = parseNumber(cmd, `${flag} ${key}`, p.slice(eq + 1).trim(), range);
  });
  return out;
}

export type PathKind = 'file' | 'dir' | 'file or dir';

/** `stat` of `p`, or why there is none: 'not found' (also for a file where a folder should be), or the error code. */
function statOf(p: string): fs.Stats | string {
  try {
    return fs.statSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'unreadable';
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'not found' : code;
  }
}

/** An existing path of the given kind (a regular file, a directory, or either). */
export function parseInputPath(cmd: string, flag: string, raw: string, kind: PathKind): string {
  let why: string | null = null;
  const st = raw === '' ? 'empty' : statOf(raw);
  if (typeof st === 'string') why = st;
  else if (kind === 'file' && st.isDirectory()) why = 'a directory';
  else if (kind === 'dir' && !st.isDirectory()) why = 'not a directory';
  else if (!st.isDirectory() && notRegularKind(st)) {
    // a FIFO or a device would hang or never end a reader: name what it is
    throw new Error(`${cmd}: ${flag}: ${raw} is ${notRegularKind(st)}, not a regular file`);
  }
  const what = { file: 'file', dir: 'directory', 'file or dir': 'file or directory' }[kind];
  if (why) throw new Error(`${cmd}: ${flag} must be an existing ${what}, got '${raw}' (${why})`);
  return raw;
}

/** A file to write: not an existing directory (its folder is created by `createParentDir` when the work starts). */
export function parseOutputFile(cmd: string, flag: string, raw: string): string {
  const st = raw === '' ? 'empty' : statOf(raw);
  const why =
    raw === '' ? 'empty' : raw.endsWith('/') || (typeof st !== 'string' && st.isDirectory()) ? 'a directory' : null;
  if (why) throw new Error(`${cmd}: ${flag} must be a file path, got '${raw}' (${why})`);
  return raw;
}

/** A JSON file holding an object: the object, or an error naming the flag and the file. */
export function parseJsonObjectFile(cmd: string, flag: string, raw: string): Record<string, unknown> {
  parseInputPath(cmd, flag, raw, 'file');
  return readJsonObject(raw, `${cmd}: ${flag}`);
}

/** Whether anything (a file, a folder, a link, even a dangling one) is at `p`. */
function occupied(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code !== 'ENOENT' && code !== 'ENOTDIR';
  }
}

/**
 * Refuses to replace an existing `file` (written for `flag`) unless `overwrite`: `data sft: --out a.jsonl already
 * exists; use --overwrite to replace it, or another --out`. Called before any work, so a refusal changes nothing.
 */
export function checkOutputFree(cmd: string, flag: string, file: string, overwrite: boolean | undefined): void {
  if (!overwrite && occupied(file))
    throw new Error(`${cmd}: ${flag} ${file} already exists; use --overwrite to replace it, or another ${flag}`);
}

/** Creates the folder that `file` will be written into (before the work that produces it). */
export function createParentDir(cmd: string, flag: string, file: string): void {
  const dir = path.dirname(file);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new Error(`${cmd}: ${flag} ${file}: cannot create the folder ${dir} (${(e as NodeJS.ErrnoException).code})`);
  }
}

/**
 * Worker threads for `--workers N`: N, or the machine's cores when N is larger (with a warning on stderr). More
 * threads than cores only time-slice; data-parallel results do not depend on the count.
 */
export function capWorkers(cmd: string, flag: string, n: number, cores: number = os.availableParallelism()): number {
  if (n <= cores) return n;
  warn(`${cmd}: ${flag} ${n} is more than this machine's ${cores} cores; using ${cores}`);
  return cores;
}

// ---- options --------------------------------------------------------------------------------------------------------

/** A default that is only described in the help (the action computes the value). */
export interface ShownDefault {
  shown: string;
}

/** `(default: text)` in the help, no value: for defaults that depend on other flags or on files. */
export function shownDefault(text: string): ShownDefault {
  return { shown: text };
}

type Default<T> = T | ShownDefault | undefined;

/** The command's name as messages show it: `generate`, `data corpus`, `bench train`. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ') || cmd.name();
}

/** The long flag of commander flags: '--max-tokens <n>' -> '--max-tokens'. */
function longFlag(flags: string): string {
  const m = /--[\w-]+/.exec(flags);
  if (!m) throw new Error(`flags: '${flags}' has no long flag`);
  return m[0];
}

function withDefault<T>(opt: Option, d: Default<T>): Option {
  if (d === undefined) return opt;
  if (typeof d === 'object' && d !== null && 'shown' in d) {
    opt.description = `${opt.description} (default: ${d.shown})`;
    return opt;
  }
  return Array.isArray(d) ? opt.default(d, d.join(',')) : opt.default(d);
}

/** The file outputs (`f.output`) of each command, checked by its preAction hook. */
const FILE_OUTPUTS = new WeakMap<Command, Option[]>();

/** Records `opt` as a file output of `command`; the first one installs the hook that checks them all. */
function recordFileOutput(command: Command, opt: Option): void {
  const outputs = FILE_OUTPUTS.get(command);
  if (outputs) {
    outputs.push(opt);
    return;
  }
  FILE_OUTPUTS.set(command, [opt]);
  command.hook('preAction', (_hooked, actionCommand) => {
    if (actionCommand === command) checkFileOutputs(command);
  });
}

/** Refuses the command's existing output files unless `--overwrite` was given (before its action runs). */
function checkFileOutputs(command: Command): void {
  const opts = command.opts();
  for (const opt of FILE_OUTPUTS.get(command) ?? []) {
    const file = opts[opt.attributeName()];
    if (typeof file === 'string') checkOutputFree(commandPath(command), longFlag(opt.flags), file, opts.overwrite);
  }
}

/** The file-output flags (`f.output`) of `command`: `['--out', '--config-out']`. */
export function fileOutputFlags(command: Command): string[] {
  return (FILE_OUTPUTS.get(command) ?? []).map((o) => longFlag(o.flags));
}

/**
 * Throws when `command` has file outputs (`f.output`) but no `--overwrite` flag to replace them with (`f.overwrite`):
 * `buildProgram` calls it on every command, so a command cannot forget the flag.
 */
export function checkOverwriteFlag(command: Command): void {
  const outputs = fileOutputFlags(command);
  if (outputs.length && !command.options.some((o) => o.long === '--overwrite'))
    throw new Error(
      `flags: '${commandPath(command)}' writes ${outputs.join(', ')} but has no --overwrite (add f.overwrite())`,
    );
}

/** Option builders for one command; each parses and checks its flag while the command line is parsed. */
export class Flags {
  constructor(private readonly command: Command) {}

  private option<T>(flags: string, description: string, parse: (raw: string, flag: string) => T): Option {
    const flag = longFlag(flags);
    return new Option(flags, description).argParser((raw: string) => parse(raw, flag));
  }

  private get who(): string {
    return commandPath(this.command);
  }

  /** An integer in `range`. */
  int(flags: string, description: string, range: NumberRange, d?: Default<number>): Option {
    const r = { ...range, integer: true };
    return withDefault(
      this.option(flags, `${description}; ${rangeText(r)}`, (raw, f) => parseNumber(this.who, f, raw, r)),
      d,
    );
  }

  /** A number in `range`. */
  num(flags: string, description: string, range: NumberRange, d?: Default<number>): Option {
    return withDefault(
      this.option(flags, `${description}; ${rangeText(range)}`, (raw, f) => parseNumber(this.who, f, raw, range)),
      d,
    );
  }

  /** One of `choices`. */
  choice<T extends string>(flags: string, description: string, choices: readonly T[], d?: Default<T>): Option {
    return withDefault(
      this.option(flags, `${description}: ${choices.join('|')}`, (raw, f) => parseChoice(this.who, f, raw, choices)),
      d,
    );
  }

  /** `--weights`: how a loaded model keeps its weight matrices in memory (src/io/model_dir.ts), default auto. */
  weights(): Option {
    return this.choice(
      '--weights <storage>',
      'weight matrices in memory (auto = bfloat16 when the checkpoint stores BF16 and the model is dense; ' +
        'bfloat16 is inference only, half the memory of float32)',
      WEIGHTS_IN_MEMORY,
      'auto',
    );
  }

  /** Worker threads: 'auto' (when `auto`) or an integer in WORKERS_RANGE, capped at the machine's cores. */
  workers(flags: string, description: string, d?: Default<number | 'auto'>, auto = true): Option {
    const text = `${description}; ${auto ? "'auto' or " : ''}${rangeText(WORKERS_RANGE)}, at most the cores`;
    return withDefault(
      this.option(flags, text, (raw, f) => {
        const n = auto
          ? parseNumberOrAuto(this.who, f, raw, WORKERS_RANGE)
          : parseNumber(this.who, f, raw, WORKERS_RANGE);
        return n === 'auto' ? n : capWorkers(this.who, f, n);
      }),
      d,
    );
  }

  /** Comma-separated numbers in `range`. */
  numberList(flags: string, description: string, range: NumberRange, maxItems: number, d?: Default<number[]>): Option {
    const text = `${description}; comma-separated, each ${rangeText(range)}, at most ${maxItems}`;
    return withDefault(
      this.option(flags, text, (raw, f) => parseNumberList(this.who, f, raw, range, maxItems)),
      d,
    );
  }

  /** An existing file or directory; repeatable (or variadic, `<file...>`) when `many`. */
  input(flags: string, description: string, kind: PathKind, many = false, d?: ShownDefault): Option {
    const flag = longFlag(flags);
    const opt = new Option(flags, description).argParser((raw: string, prev: string[] | string | undefined) => {
      const p = parseInputPath(this.who, flag, raw, kind);
      return many ? [...((prev as string[] | undefined) ?? []), p] : p;
    });
    return withDefault(opt, d);
  }

  /**
   * A file to write (not a directory); call `createParentDir` when the work starts. An existing file is refused before
   * the action runs unless the command has `--overwrite` (add `this.overwrite()`) and was given it.
   */
  output(flags: string, description: string, d?: ShownDefault): Option {
    const opt = withDefault(
      this.option(flags, description, (raw, f) => parseOutputFile(this.who, f, raw)),
      d,
    );
    recordFileOutput(this.command, opt);
    return opt;
  }

  /** `--overwrite`: replace the command's existing output files (`output`) instead of refusing them. */
  overwrite(description = 'replace the output file if it exists'): Option {
    return new Option('--overwrite', description);
  }

  /** A JSON file holding an object, read and parsed. */
  json(flags: string, description: string, d?: ShownDefault): Option {
    return withDefault(
      this.option(flags, description, (raw, f) => parseJsonObjectFile(this.who, f, raw)),
      d,
    );
  }

  /** A plain text value (validated by the library). */
  text(flags: string, description: string, d?: Default<string>): Option {
    return withDefault(new Option(flags, description), d);
  }
}

// ---- sampling and memory --------------------------------------------------------------------------------------------

/** The CLI's names of the sampling parameters: `--top-p` for topP (eval calls n `--k`). */
export const SAMPLING_FLAG_NAMES: Readonly<Record<keyof SamplingParams, string>> = Object.fromEntries(
  Object.entries(SAMPLING_NAMES).map(([k, v]) => [k, `--${v}`]),
) as Record<keyof SamplingParams, string>;

type SamplingFlag = 'maxTokens' | 'temperature' | 'topP' | 'topK' | 'seed';

const SAMPLING_FLAG_HELP: Record<SamplingFlag, [string, string]> = {
  maxTokens: ['--max-tokens <n>', 'new tokens per sample at most'],
  temperature: ['--temperature <t>', 'softmax temperature, 0 = greedy'],
  topP: ['--top-p <p>', 'nucleus mass, 1 = off'],
  topK: ['--top-k <k>', 'keep the k most likely tokens, 0 = off'],
  seed: ['--seed <s>', 'seed of the sampling streams'],
};

/**
 * Options for the sampling flags with `defaults` (values, or `shownDefault` texts), in the order given; their ranges
 * are the library's SAMPLING_RANGES. The action maps them to a SamplingParams and calls `checkSamplingParams`.
 */
export function samplingOptions(f: Flags, defaults: Partial<Record<SamplingFlag, number | ShownDefault>>): Option[] {
  return (Object.keys(defaults) as SamplingFlag[]).map((k) => {
    const [flags, help] = SAMPLING_FLAG_HELP[k];
    const range = SAMPLING_RANGES[k];
    return range.integer ? f.int(flags, help, range, defaults[k]) : f.num(flags, help, range, defaults[k]);
  });
}

/**
 * Refuses work whose big buffers (`bytes`, an estimate such as `generationBytes`) exceed this machine's memory,
 * before anything is allocated: `${cmd}: ${what} need about 2.4 TB, more than this machine's 25 GB of memory`.
 */
export function checkFits(cmd: string, bytes: number, what: string, total: number = os.totalmem()): void {
  if (bytes > total)
    throw new Error(
      `${cmd}: ${what} need about ${formatBytes(bytes)}, more than this machine's ${formatBytes(total)} of memory`,
    );
}

/** Option builders for `command`. */
export function flagsOf(command: Command): Flags {
  return new Flags(command);
}

// ---- progress -------------------------------------------------------------------------------------------------------

/** The progress flags of a long command, parsed. */
export interface ProgressFlags {
  logEvery?: number;
  quiet?: boolean;
}

/** `--log-every N` and `--quiet` (src/util/progress.ts). */
export function progressOptions(f: Flags, unit = 'steps'): Option[] {
  return [
    f.int(
      '--log-every <n>',
      `when the output is not a terminal: a progress line every n ${unit} (on a terminal one line is redrawn in place)`,
      STEPS_RANGE,
      shownDefault('about 20 lines per phase'),
    ),
    new Option('--quiet', 'no progress and no messages but warnings; results are still printed'),
  ];
}

/** The Progress of a command's flags, on `stream` (default stdout; NO_COLOR and TERM are read from the environment). */
export function progressFor(o: ProgressFlags, stream: ProgressStream = process.stdout): Progress {
  return new Progress({ stream, logEvery: o.logEvery, quiet: o.quiet === true });
}

/**
 * Runs a resumable trainer under Ctrl-C / SIGTERM stop requests: a stopped run sets the exit status of its signal;
 * with `--quiet` (which drops the trainer's messages, the last of which gives the result) the result line is printed.
 */
export async function runStoppable(
  o: { quiet?: boolean },
  train: (stops: StopRequests) => Promise<{ stopped?: StopSignal | null; steps: number; modelDir: string }>,
): Promise<void> {
  const stops = new StopRequests((l) => process.stderr.write(`${l}\n`));
  try {
    const r = await train(stops);
    if (r.stopped) process.exitCode = stopExitCode(r.stopped);
    else if (o.quiet) console.log(`done: ${r.steps} steps; model -> ${r.modelDir}`);
  } finally {
    stops.dispose();
  }
}
