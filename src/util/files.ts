/**
 * Opening input files safely: the one helper every r1ts reader goes through (safetensors files and shards, config.json,
 * tokenizer.json, JSONL / text / Parquet data, problem files).
 *
 * Only regular files are read. A FIFO, a socket or a device is refused before it is opened (opening a FIFO for reading
 * blocks until a writer appears, and `/dev/zero` never ends), with one line that names the file and what it is:
 * `tokenizer: /tmp/t.json is a FIFO (named pipe), not a regular file`. The check is made on `stat` and again on the
 * open descriptor (which is opened non-blocking), so a file swapped for a FIFO in between cannot hang the reader.
 * Whole-file reads take a byte limit, checked against the size before anything is allocated.
 *
 * This folder is the lowest layer of src/: it imports only Node's built-in modules, so that io/ and data/ (which must
 * not import each other) can both use it. Not here: parsing (each reader parses its own format).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';

/** A file that cannot be read as asked: missing, unreadable, not a regular file, or over a size limit. */
export class FileAccessError extends Error {
  override name = 'FileAccessError';
  constructor(
    /** The prefix of the message: which reader ('config', 'tokenizer', 'data', ...). */
    readonly what: string,
    readonly file: string,
    /** What is wrong, e.g. `is a FIFO (named pipe), not a regular file` or `cannot be read (ENOENT)`. */
    readonly problem: string,
    /** The errno code when the operating system refused (ENOENT, EACCES, ...). */
    readonly code?: string,
  ) {
    super(`${what}: ${file} ${problem}`);
  }
}

/** What a stat result describes, in words, when it is not a regular file; null for a regular file. */
export function notRegularKind(st: fs.Stats): string | null {
  if (st.isFile()) return null;
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

function refuse(what: string, file: string, st: fs.Stats): FileAccessError | null {
  const kind = notRegularKind(st);
  if (kind === null) return null;
  return new FileAccessError(what, file, `is ${kind}, not a regular file`);
}

function osError(what: string, file: string, e: unknown): FileAccessError {
  const code = (e as NodeJS.ErrnoException).code;
  return new FileAccessError(what, file, `cannot be read (${code ?? (e as Error).message})`, code);
}

// O_NONBLOCK makes opening a FIFO return at once; it changes nothing for regular files. Absent on Windows.
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);

/**
 * Stats `file` and throws a FileAccessError unless it is a regular file (symbolic links are followed). Nothing is
 * opened. `what` prefixes the message.
 */
export function statRegularFile(file: string, what: string): fs.Stats {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw osError(what, file, e);
  }
  const bad = refuse(what, file, st);
  if (bad) throw bad;
  return st;
}

/** An open regular file: its descriptor and size in bytes. */
export interface OpenFile {
  readonly fd: number;
  readonly size: number;
}

/**
 * Opens a regular file for reading: refused before opening when it is not one, opened non-blocking, and checked again
 * on the descriptor. The caller closes `fd`.
 */
export function openRegularFile(file: string, what: string): OpenFile {
  statRegularFile(file, what);
  let fd: number;
  try {
    fd = fs.openSync(file, OPEN_FLAGS);
  } catch (e) {
    throw osError(what, file, e);
  }
  const st = fs.fstatSync(fd);
  const bad = refuse(what, file, st);
  if (bad) {
    fs.closeSync(fd);
    throw bad;
  }
  return { fd, size: st.size };
}

/** "12.3 MB"-style size for messages (decimal units, as file sizes are usually shown). */
function bytesStr(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(1)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${n} bytes`;
}

/**
 * Reads a whole regular file of at most `maxBytes` bytes (checked against its size before reading). The limit keeps a
 * hostile or mistaken input from making us allocate more than the reader needs.
 */
export function readRegularFile(file: string, what: string, maxBytes: number): Buffer {
  const { fd, size } = openRegularFile(file, what);
  try {
    if (size > maxBytes)
      throw new FileAccessError(what, file, `is ${bytesStr(size)}, more than the limit of ${bytesStr(maxBytes)}`);
    const buf = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      let n: number;
      try {
        n = fs.readSync(fd, buf, done, size - done, done);
      } catch (e) {
        throw osError(what, file, e);
      }
      if (n === 0) break; // shrank while we read: keep what is there
      done += n;
    }
    return done === size ? buf : buf.subarray(0, done);
  } finally {
    fs.closeSync(fd);
  }
}

/** The UTF-8 text of a regular file of at most `maxBytes` bytes, a leading byte-order mark dropped. */
export function readTextFile(file: string, what: string, maxBytes: number): string {
  const text = readRegularFile(file, what, maxBytes).toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** The async counterpart of `openRegularFile` (fs/promises): a FileHandle the caller closes. */
export async function openRegularFileAsync(file: string, what: string): Promise<fsp.FileHandle> {
  let st: fs.Stats;
  try {
    st = await fsp.stat(file);
  } catch (e) {
    throw osError(what, file, e);
  }
  const bad = refuse(what, file, st);
  if (bad) throw bad;
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, OPEN_FLAGS);
  } catch (e) {
    throw osError(what, file, e);
  }
  const again = refuse(what, file, await fh.stat());
  if (again) {
    await fh.close();
    throw again;
  }
  return fh;
}
