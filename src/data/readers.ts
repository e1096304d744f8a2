/**
 * Streaming document readers for JSONL, plain text and Parquet, resumable from a small position object.
 *
 * - JSONL (`.jsonl`, `.ndjson`, `.json`): one JSON object per line; the document is its `field` (default `text`).
 *   Blank lines are ignored.
 * - Plain text (any other extension): by default one document per block of lines separated by one or more blank
 *   (whitespace-only) lines, the lines joined with `\n`; with `textMode: 'file'`, one document per file (its whole
 *   content, skipped if only whitespace).
 * - Parquet (`.parquet`, read with hyparquet, pure JS): the string column `field`, one document per row, read one row
 *   group at a time.
 *
 * Malformed input throws an error naming file and line (`data.jsonl:17: invalid JSON (...)`,
 * `data.jsonl:2: expected an object, got null`, `data.jsonl:3: missing field "text"`,
 * `data.parquet: row 12: field "text" is not a string`), or with `onError: 'skip'` is counted in `stats.skipped` (the
 * first messages are kept in `stats.errors`). A UTF-8 byte-order mark at the start of a file is skipped. FIFOs and
 * devices are refused before they are opened, and a line (or a whole-file document) over 256 MiB is an error.
 *
 * Positions (`SourcePos`) are byte offsets for text and JSONL and row numbers for Parquet, so a reader restarts at
 * any document without re-reading what came before. Directories expand to their data files, sorted, recursively.
 */
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { notRegularKind, openRegularFileAsync } from '../util/files.js';

/** Where a reader stands: file index in the list, byte offset (text/JSONL) or row (Parquet), 1-based line number. */
export interface SourcePos {
  file: number;
  offset: number;
  line: number;
}

export const START: SourcePos = Object.freeze({ file: 0, offset: 0, line: 1 });

/** One document and where it came from. */
export interface SourceDoc {
  text: string;
  /** `file:line` (or `file: row N`) for messages. */
  where: string;
  /** Position of the document itself. */
  start: SourcePos;
  /** Position right after it (where the next read starts). */
  next: SourcePos;
}

export type DataFormat = 'jsonl' | 'text' | 'parquet';

export interface ReaderStats {
  docs: number;
  skipped: number;
  /** The first few skip messages. */
  errors: string[];
}

export interface ReaderOptions {
  /** JSON field / Parquet column holding the text (default `text`). */
  field?: string;
  /** Plain text: `blocks` (blank-line separated, default) or `file`. */
  textMode?: 'blocks' | 'file';
  /** `throw` (default) or `skip` malformed records, counting them in `stats`. */
  onError?: 'throw' | 'skip';
  /** Force a format instead of choosing by extension. */
  format?: DataFormat;
  stats?: ReaderStats;
}

export const newReaderStats = (): ReaderStats => ({ docs: 0, skipped: 0, errors: [] });

/** The format a file is read as. */
export function formatOf(path: string, forced?: DataFormat): DataFormat {
  if (forced) return forced;
  const ext = extname(path).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  if (ext === '.parquet') return 'parquet';
  return 'text';
}

/** Longest line (JSONL record, text line) or whole-file document read: longer ones are errors, not allocations. */
export const MAX_LINE_BYTES = 256 << 20;

const DATA_EXT = new Set(['.jsonl', '.ndjson', '.json', '.parquet', '.txt', '.md', '.text']);

/** Expands directories (recursively, sorted) into data files; plain files are kept as given. Missing paths throw. */
export async function expandPaths(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    let s;
    try {
      s = await stat(p);
    } catch {
      throw new Error(`data: no such file or directory: ${p}`);
    }
    if (!s.isDirectory()) {
      const kind = notRegularKind(s);
      if (kind) throw new Error(`data: ${p} is ${kind}, not a regular file`);
      out.push(p);
      continue;
    }
    const names = (await readdir(p)).sort();
    const files: string[] = [];
    for (const n of names) {
      const q = join(p, n);
      const st = await stat(q);
      if (st.isDirectory()) files.push(...(await expandPaths([q])));
      else if (DATA_EXT.has(extname(n).toLowerCase())) {
        const kind = notRegularKind(st);
        if (kind) throw new Error(`data: ${q} is ${kind}, not a regular file`);
        files.push(q);
      }
    }
    out.push(...files);
  }
  if (out.length === 0) throw new Error(`data: no data files in ${paths.join(', ')}`);
  return out;
}

interface Line {
  text: string;
  offset: number;
  next: number;
  line: number;
}

/** Lines of a file from byte `offset` (line number `line`), with the byte offset of each. `\r\n` endings are trimmed. */
async function* readLines(path: string, offset: number, line: number): AsyncGenerator<Line> {
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  const text = (b: Buffer, at: number): string => {
    const t = decoder.decode(b);
    return at === 0 && t.charCodeAt(0) === 0xfeff ? t.slice(1) : t; // a byte-order mark starts only the file
  };
  let buf = Buffer.alloc(1 << 20);
  let len = 0; // bytes held in buf
  let base = offset; // file offset of buf[0]
  let pos = offset; // next file offset to read
  for (;;) {
    if (len === buf.length) {
      if (len >= MAX_LINE_BYTES)
        throw new Error(`${path}:${line}: line is longer than ${MAX_LINE_BYTES / 2 ** 20} MiB (no newline found)`);
      const bigger = Buffer.alloc(buf.length * 2);
      buf.copy(bigger, 0, 0, len);
      buf = bigger;
    }
    // The file is open only while a chunk is read, so an abandoned reader never leaks a descriptor.
    const fh = await openRegularFileAsync(path, 'data');
    let bytesRead: number;
    try {
      ({ bytesRead } = await fh.read(buf, len, buf.length - len, pos));
    } finally {
      await fh.close();
    }
    pos += bytesRead;
    len += bytesRead;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(10, start);
      if (nl < 0 || nl >= len) break;
      const end = nl > start && buf[nl - 1] === 13 ? nl - 1 : nl;
      yield {
        text: text(buf.subarray(start, end), base + start),
        offset: base + start,
        next: base + nl + 1,
        line: line++,
      };
      start = nl + 1;
    }
    if (bytesRead === 0) {
      if (start < len) {
        const end = buf[len - 1] === 13 ? len - 1 : len;
        yield {
          text: text(buf.subarray(start, end), base + start),
          offset: base + start,
          next: base + len,
          line: line++,
        };
      }
      return;
    }
    buf.copy(buf, 0, start, len);
    len -= start;
    base += start;
  }
}

function fail(msg: string, opts: ReaderOptions): void {
  if (opts.onError !== 'skip') throw new Error(msg);
  const s = opts.stats;
  if (s) {
    s.skipped++;
    if (s.errors.length < 10) s.errors.push(msg);
  }
}

/** One JSONL record: the object on a line, or why the line is not one (`invalid JSON (...)`, `expected an object`). */
export type JsonlRecord = { ok: true; value: Record<string, unknown> } | { ok: false; problem: string };

/** Parses one JSONL line that must hold a JSON object (readers of every JSONL file use this). */
export function parseJsonlRecord(line: string): JsonlRecord {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    return { ok: false, problem: `invalid JSON (${(e as Error).message.replace(/\s+/g, ' ').slice(0, 200)})` };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    const got = v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`;
    return { ok: false, problem: `expected an object, got ${got}` };
  }
  return { ok: true, value: v as Record<string, unknown> };
}

async function* readJsonl(path: string, fi: number, from: SourcePos, opts: ReaderOptions): AsyncGenerator<SourceDoc> {
  const field = opts.field ?? 'text';
  for await (const l of readLines(path, from.offset, from.line)) {
    if (!l.text.trim()) continue;
    const where = `${path}:${l.line}`;
    const rec = parseJsonlRecord(l.text);
    if (!rec.ok) {
      fail(`${where}: ${rec.problem}`, opts);
      continue;
    }
    const obj = rec.value;
    if (!Object.hasOwn(obj, field)) {
      fail(`${where}: missing field "${field}"`, opts);
      continue;
    }
    const v = obj[field];
    if (typeof v !== 'string') {
      fail(`${where}: field "${field}" is not a string (got ${v === null ? 'null' : typeof v})`, opts);
      continue;
    }
    yield {
      text: v,
      where,
      start: { file: fi, offset: l.offset, line: l.line },
      next: { file: fi, offset: l.next, line: l.line + 1 },
    };
  }
}

async function* readText(path: string, fi: number, from: SourcePos, opts: ReaderOptions): AsyncGenerator<SourceDoc> {
  if (opts.textMode === 'file') {
    if (from.offset > 0) return; // the file's one document was read already
    const fh = await openRegularFileAsync(path, 'data');
    let text: string;
    let size: number;
    try {
      const { size: bytes } = await fh.stat();
      if (bytes > MAX_LINE_BYTES)
        throw new Error(
          `${path}: a ${(bytes / 2 ** 20).toFixed(0)} MiB file is over the ${MAX_LINE_BYTES / 2 ** 20} MiB limit of one document`,
        );
      const b = await fh.readFile();
      size = b.length;
      text = b.toString('utf8');
    } finally {
      await fh.close();
    }
    if (text.trim())
      yield {
        text,
        where: path,
        start: { file: fi, offset: 0, line: 1 },
        next: { file: fi, offset: Math.max(size, 1), line: 1 },
      };
    return;
  }
  let block: string[] = [];
  let start: SourcePos | null = null;
  let last: Line | null = null;
  for await (const l of readLines(path, from.offset, from.line)) {
    if (l.text.trim()) {
      if (!start) start = { file: fi, offset: l.offset, line: l.line };
      block.push(l.text);
    } else if (start) {
      yield {
        text: block.join('\n'),
        where: `${path}:${start.line}`,
        start,
        next: { file: fi, offset: l.next, line: l.line + 1 },
      };
      block = [];
      start = null;
    }
    last = l;
  }
  if (start && last)
    yield {
      text: block.join('\n'),
      where: `${path}:${start.line}`,
      start,
      next: { file: fi, offset: last.next, line: last.line + 1 },
    };
}

async function* readParquet(path: string, fi: number, from: SourcePos, opts: ReaderOptions): AsyncGenerator<SourceDoc> {
  const { asyncBufferFromFile, parquetMetadataAsync, parquetRead } = await import('hyparquet');
  await (await openRegularFileAsync(path, 'data')).close(); // refuses FIFOs and devices before hyparquet opens it
  let file;
  try {
    file = await asyncBufferFromFile(path);
  } catch (e) {
    throw new Error(`data: cannot open ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let metadata;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (e) {
    throw new Error(`${path}: not a Parquet file (${(e as Error).message})`);
  }
  const field = opts.field ?? 'text';
  const columns = metadata.schema.slice(1).map((s) => s.name);
  if (!columns.includes(field)) throw new Error(`${path}: no column "${field}" (columns: ${columns.join(', ')})`);
  let groupStart = 0;
  for (const rg of metadata.row_groups) {
    const groupEnd = groupStart + Number(rg.num_rows);
    if (groupEnd > from.offset) {
      const rowStart = Math.max(groupStart, from.offset);
      let rows: unknown[][] = [];
      await parquetRead({
        file,
        metadata,
        columns: [field],
        rowStart,
        rowEnd: groupEnd,
        onComplete: (r: unknown[][]) => (rows = r),
      });
      for (let i = 0; i < rows.length; i++) {
        const row = rowStart + i;
        const v = rows[i][0];
        const where = `${path}: row ${row}`;
        if (typeof v !== 'string') {
          fail(`${where}: field "${field}" is not a string (got ${v === null ? 'null' : typeof v})`, opts);
          continue;
        }
        yield {
          text: v,
          where,
          start: { file: fi, offset: row, line: row },
          next: { file: fi, offset: row + 1, line: row + 1 },
        };
      }
    }
    groupStart = groupEnd;
  }
}

/**
 * Documents of `files` (already expanded) in order, starting at `from`. Counts documents in `opts.stats`.
 */
export async function* readDocuments(
  files: readonly string[],
  opts: ReaderOptions = {},
  from: SourcePos = START,
): AsyncGenerator<SourceDoc> {
  for (let fi = from.file; fi < files.length; fi++) {
    const path = files[fi];
    const pos = fi === from.file ? from : START;
    const fmt = formatOf(path, opts.format);
    const docs =
      fmt === 'jsonl'
        ? readJsonl(path, fi, pos, opts)
        : fmt === 'parquet'
          ? readParquet(path, fi, pos, opts)
          : readText(path, fi, pos, opts);
    for await (const d of docs) {
      if (opts.stats) opts.stats.docs++;
      yield d;
    }
  }
}

/** Just the texts of `paths` (files or directories), for tokenizer training and quick scripts. */
export async function* readTexts(paths: readonly string[], opts: ReaderOptions = {}): AsyncGenerator<string> {
  for await (const d of readDocuments(await expandPaths(paths), opts)) yield d.text;
}

/** One whole record (a JSONL object or a Parquet row with all its columns) and where it came from. */
export interface SourceRecord {
  value: Record<string, unknown>;
  /** `file:line` (JSONL) or `file: row N` (Parquet), for messages. */
  where: string;
}

/**
 * Whole records of JSONL and Parquet files or directories, in order: for data whose records have several fields (chat
 * `messages`, `prompt` / `completion`, preference pairs). Malformed lines are errors naming file and line (or skipped
 * and counted with `onError: 'skip'`); plain text files are refused, since they hold no records.
 */
export async function* readRecords(paths: readonly string[], opts: ReaderOptions = {}): AsyncGenerator<SourceRecord> {
  for (const path of await expandPaths(paths)) {
    const fmt = formatOf(path, opts.format);
    if (fmt === 'text')
      throw new Error(`data: ${path} is plain text; records need JSONL (.jsonl) or Parquet (.parquet)`);
    if (fmt === 'jsonl') {
      for await (const l of readLines(path, 0, 1)) {
        if (!l.text.trim()) continue;
        const rec = parseJsonlRecord(l.text);
        if (!rec.ok) {
          fail(`${path}:${l.line}: ${rec.problem}`, opts);
          continue;
        }
        if (opts.stats) opts.stats.docs++;
        yield { value: rec.value, where: `${path}:${l.line}` };
      }
      continue;
    }
    const { asyncBufferFromFile, parquetMetadataAsync, parquetRead } = await import('hyparquet');
    await (await openRegularFileAsync(path, 'data')).close();
    let file;
    try {
      file = await asyncBufferFromFile(path);
    } catch (e) {
      throw new Error(`data: cannot open ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    let metadata;
    try {
      metadata = await parquetMetadataAsync(file);
    } catch (e) {
      throw new Error(`${path}: not a Parquet file (${(e as Error).message})`);
    }
    let groupStart = 0;
    for (const rg of metadata.row_groups) {
      const groupEnd = groupStart + Number(rg.num_rows);
      let rows: Record<string, unknown>[] = [];
      await parquetRead({
        file,
        metadata,
        rowStart: groupStart,
        rowEnd: groupEnd,
        rowFormat: 'object',
        onComplete: (r) => (rows = r as unknown as Record<string, unknown>[]),
      });
      for (let i = 0; i < rows.length; i++) {
        if (opts.stats) opts.stats.docs++;
        yield { value: rows[i], where: `${path}: row ${groupStart + i}` };
      }
      groupStart = groupEnd;
    }
  }
}
