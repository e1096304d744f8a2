/**
 * What a long command shows while it works: one live progress line per phase on a terminal, plain lines on a pipe.
 *
 * - On a terminal (the stream is a TTY and TERM is not `dumb`): one line per phase, redrawn in place with `\r` and
 *   erase-to-end-of-line (at most every `redrawMs`, and always for the last step): the phase, percent, a bar,
 *   step / total, elapsed < ETA and the key numbers (loss, tokens/s; reward, accuracy, length), cut to the terminal's
 *   width. Messages (`line`) print above it. When the phase ends the live line is replaced by a one-line summary.
 * - On a pipe or a file: the full line of a step (what the trainer would log) with elapsed time and ETA, for the first
 *   step, every `logEvery` steps (default `autoLogEvery(total)`: about 20 lines per phase; when updates skip steps, the
 *   first update past each multiple) and the last; then the summary. A default run prints tens of lines, not thousands.
 * - Colour only on a terminal and only when NO_COLOR is unset or empty (the no-color.org convention).
 * - `quiet`: no live line, no step lines, no summaries and no messages but warnings (lines that start with
 *   `warning` or `WARNING`); a command's results are printed by the command itself, not through here.
 *
 * Trainers take an optional `ProgressSink` next to their `log` callback (`progressOutput` decides who gets what).
 * metrics.jsonl is written by the trainers, every step, whatever is shown here.
 *
 * Node's own TTY support is enough (a TTY stream has `isTTY` and `columns`; `\r` and `ESC[K` work in every terminal
 * emulator), so no library is used. This file imports nothing but Node's built-ins (it sits in util/, the lowest
 * layer, so that train/, rl/, eval/ and posttrain/ can all use it). Not here: what a phase's numbers are (each
 * trainer chooses its fields and writes its own step line).
 */

/** Where progress goes: process.stdout / process.stderr, or a fake terminal in tests. */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  /** The terminal's width (TTY streams have it). */
  columns?: number;
}

/** The progress of one command: phases of steps, and messages. */
export interface ProgressSink {
  /**
   * A phase of `total` steps begins (`from` of them already done: a resumed run). A phase still open is ended first,
   * without a summary. `unit` names the steps in the summary (default 'steps').
   */
  begin(name: string, total: number, opts?: { from?: number; unit?: string }): void;
  /**
   * `done` steps of the phase are done. `fields` are the key numbers of the live line (label -> formatted value, in
   * order); `line` is the step's full line, which a pipe prints (default: the fields). `keep`: a step whose numbers
   * must be shown (a held-out evaluation): a pipe prints its line even between every-N steps, a terminal redraws the
   * live line at once.
   */
  update(done: number, fields?: Readonly<Record<string, string>>, line?: string, keep?: boolean): void;
  /**
   * Ends the phase: the live line is replaced by `name: done/total unit in TIME; summary`. Without a summary the live
   * line is only cleared (an error or a stop). A no-op when no phase is open.
   */
  end(summary?: string): void;
  /** A message (a trainer's `log` line): printed above the live line, which is then redrawn. */
  line(text: string): void;
}

export interface ProgressOptions {
  /** Default process.stdout. */
  stream?: ProgressStream;
  /** 'live' (redraw in place) or 'lines'; default 'live' on a TTY whose TERM is not 'dumb', else 'lines'. */
  mode?: 'live' | 'lines';
  /** Only warnings (see the file header). */
  quiet?: boolean;
  /** 'lines' mode: a line every N steps (default `autoLogEvery(total)` per phase). */
  logEvery?: number;
  /** Colour (default: in 'live' mode when NO_COLOR is unset or empty). */
  color?: boolean;
  /** Environment read for TERM and NO_COLOR (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Clock in milliseconds (default performance.now). */
  now?: () => number;
  /** Least time between two redraws of the live line, in ms (default 100; the last step always draws). */
  redrawMs?: number;
}

/** The step interval of 'lines' mode for a phase of `total` steps: the least of 1, 2, 5 x 10^k >= total / 20. */
export function autoLogEvery(total: number): number {
  const x = total / 20;
  if (!(x > 1)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  return [1, 2, 5, 10].map((m) => m * p).find((v) => v >= x - 1e-9) ?? 10 * p;
}

/** A duration for people: `850ms`, `12s`, `5m03s`, `2h07m`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

const ESC = '\x1b[';
const CLEAR_LINE = `\r${ESC}K`;
const BAR_WIDTH = 12;

/** A piece of the live line and its colour (an SGR code), if any. */
type Piece = [text: string, sgr?: string];

interface Phase {
  name: string;
  total: number;
  from: number;
  unit: string;
  started: number;
  done: number;
  /** Updates so far. */
  updates: number;
  fields: Readonly<Record<string, string>>;
  every: number;
  lastDraw: number;
}

const isWarning = (text: string): boolean => /^\s*(warning|WARNING)\b/.test(text);

/** The ProgressSink of a terminal or a pipe (see the file header). */
export class Progress implements ProgressSink {
  readonly mode: 'live' | 'lines';
  readonly color: boolean;
  private readonly stream: ProgressStream;
  private readonly now: () => number;
  private phase: Phase | null = null;
  /** Whether the live line is on the screen (the cursor is at its end). */
  private shown = false;
  /** Characters of the live line on screen (what clearing without escapes overwrites). */
  private shownWidth = 0;

  constructor(private readonly o: ProgressOptions = {}) {
    this.stream = o.stream ?? process.stdout;
    const env = o.env ?? process.env;
    this.mode = o.mode ?? (this.stream.isTTY === true && env.TERM !== 'dumb' ? 'live' : 'lines');
    this.color = o.color ?? (this.mode === 'live' && !env.NO_COLOR);
    this.now = o.now ?? (() => performance.now());
    if (o.logEvery !== undefined && !(Number.isInteger(o.logEvery) && o.logEvery >= 1))
      throw new RangeError(`progress: logEvery must be a positive integer, got ${o.logEvery}`);
  }

  begin(name: string, total: number, opts: { from?: number; unit?: string } = {}): void {
    if (this.phase) this.end();
    const from = opts.from ?? 0;
    this.phase = {
      name,
      total,
      from,
      unit: opts.unit ?? 'steps',
      started: this.now(),
      done: from,
      updates: 0,
      fields: {},
      every: this.o.logEvery ?? autoLogEvery(total - from),
      lastDraw: -Infinity,
    };
    if (this.mode === 'live' && !this.o.quiet) this.draw();
  }

  update(done: number, fields: Readonly<Record<string, string>> = {}, line?: string, keep = false): void {
    const p = this.phase;
    if (!p) return;
    const prev = p.done;
    p.done = done;
    p.fields = fields;
    p.updates++;
    if (this.o.quiet) return;
    const last = done >= p.total;
    if (this.mode === 'live') {
      if (keep || last || this.now() - p.lastDraw >= (this.o.redrawMs ?? 100)) this.draw();
      return;
    }
    // the first update, the last, each one that passes a multiple of `every` (updates may skip steps: batches), and
    // each one to keep
    if (keep || last || p.updates === 1 || Math.floor(done / p.every) > Math.floor(prev / p.every)) {
      const text = line ?? `${p.name} ${done}/${p.total}${fieldText(fields)}`;
      this.write(`${text}  ${this.timing()}\n`);
    }
  }

  end(summary?: string): void {
    const p = this.phase;
    if (!p) return;
    this.phase = null;
    if (this.shown) this.write(this.clearLine());
    this.shown = false;
    if (summary === undefined || this.o.quiet) return;
    const elapsed = formatDuration(this.now() - p.started);
    const head = `${p.name}:`;
    const rest = ` ${p.done}/${p.total} ${p.unit} in ${elapsed}; ${summary}`;
    this.write(`${this.paint(head, '1;32')}${rest}\n`);
  }

  line(text: string): void {
    if (this.o.quiet && !isWarning(text)) return;
    const body = isWarning(text) ? this.paint(text, '33') : text;
    if (this.shown) {
      this.write(`${this.clearLine()}${body}\n`);
      this.shown = false;
      this.draw();
    } else this.write(`${body}\n`);
  }

  /** The live line of the open phase, cut to `width` columns, coloured when `color`. */
  liveLine(width: number): string {
    const p = this.phase;
    if (!p) return '';
    const frac = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
    const full = Math.round(frac * BAR_WIDTH);
    const bar = `${'='.repeat(Math.max(0, full - 1))}${full > 0 ? (full === BAR_WIDTH ? '=' : '>') : ''}`;
    const head: Piece[] = [
      [p.name, '1;36'],
      [` ${String(Math.floor(100 * frac)).padStart(3)}% [`],
      [bar.padEnd(BAR_WIDTH), '32'],
      [`] ${p.done}/${p.total}  ${this.timing(true)}`],
    ];
    const fields = Object.entries(p.fields).map(([k, v]): Piece => [`  ${k} ${v}`]);
    const len = (ps: Piece[]) => ps.reduce((s, [t]) => s + t.length, 0);
    // drop numbers from the end until the line fits; a terminal narrower than the head gets it cut, uncoloured
    while (fields.length && len(head) + len(fields) > width) fields.pop();
    const pieces = [...head, ...fields];
    if (len(pieces) > width)
      return pieces
        .map(([t]) => t)
        .join('')
        .slice(0, Math.max(0, width));
    return pieces.map(([t, sgr]) => (sgr ? this.paint(t, sgr) : t)).join('');
  }

  /** `elapsed 12s  eta 3m20s` (lines) or `12s<3m20s` (live); no ETA before the first step or after the last. */
  private timing(compact = false): string {
    const p = this.phase!;
    const elapsed = this.now() - p.started;
    const did = p.done - p.from;
    const left = p.total - p.done;
    const eta = did > 0 && left > 0 ? formatDuration((elapsed / did) * left) : did > 0 ? null : '?';
    if (compact) return `${formatDuration(elapsed)}${eta === null ? '' : `<${eta}`}`;
    return `elapsed ${formatDuration(elapsed)}${eta === null ? '' : `  eta ${eta}`}`;
  }

  private draw(): void {
    const p = this.phase;
    if (!p || this.o.quiet) return;
    p.lastDraw = this.now();
    // one column short of the width: writing the last column makes some terminals wrap
    const width = Math.max(10, (this.stream.columns ?? 80) - 1);
    const line = this.liveLine(width);
    this.write(`${this.shown ? this.clearLine() : '\r'}${line}`);
    this.shown = true;
    this.shownWidth = line.length; // used only without colour, when the line holds no escapes
  }

  /** Erases the live line: an erase-in-line escape with colour, else spaces over it (NO_COLOR: no escape at all). */
  private clearLine(): string {
    return this.color ? CLEAR_LINE : `\r${' '.repeat(this.shownWidth)}\r`;
  }

  private paint(text: string, sgr: string): string {
    return this.color ? `${ESC}${sgr}m${text}${ESC}0m` : text;
  }

  private write(s: string): void {
    this.stream.write(s);
  }
}

function fieldText(fields: Readonly<Record<string, string>>): string {
  return Object.entries(fields)
    .map(([k, v]) => `  ${k} ${v}`)
    .join('');
}

/**
 * Who gets what from a trainer given an optional `log` callback and `progress` sink: with a sink, step updates go to
 * it and messages to `log` (default: the sink's `line`); with only `log`, it gets every line, step lines included, as
 * before sinks existed (progress null); with neither, a `Progress` on stdout gets both.
 */
export function progressOutput(
  log?: (line: string) => void,
  progress?: ProgressSink | null,
): { log: (line: string) => void; progress: ProgressSink | null } {
  if (progress) return { log: log ?? ((l) => progress.line(l)), progress };
  if (log) return { log, progress: null };
  const p = new Progress();
  return { log: (l) => p.line(l), progress: p };
}
