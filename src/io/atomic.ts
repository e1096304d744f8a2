/**
 * Atomic file writes: the data goes to a temporary file in the same directory, is fsync'ed, and is renamed over the
 * target, so a reader sees the old file or the new one, never a half-written one (also after a crash or a full disk).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Writes `target` atomically. `write(fd)` writes the content through the open file descriptor (use `writeAll`).
 * On any error the temporary file is removed and the target is left as it was.
 */
export function writeFileAtomic(target: string, write: (fd: number) => void): void {
  const dir = path.dirname(path.resolve(target));
  const tmp = path.join(dir, `.${path.basename(target)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
  let fd: number | null = fs.openSync(tmp, 'wx', 0o644);
  try {
    write(fd);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, target);
  } catch (e) {
    if (fd !== null) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(dir);
}

/** Writes all of `bytes` at the current position of `fd` (fs.writeSync may write less than asked). */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) {
    // At most 1 GiB per call: writes above 2 GiB are refused by Node.
    off += fs.writeSync(fd, bytes, off, Math.min(bytes.length - off, 1 << 30));
  }
}

/** Makes a rename durable by fsync'ing its directory (not possible on every platform: then skipped). */
export function fsyncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Windows and some file systems cannot open or fsync a directory; the rename itself is still atomic.
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}
