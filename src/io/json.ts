/**
 * JSON files with errors that name the file: `readJsonFile` for any JSON a command reads (run.json, a --config file,
 * a checkpoint's state.json), `writeJsonFile` to write one atomically (./atomic.ts).
 *
 * Not a schema validator: callers check the fields they need and name them in their own errors.
 */
import * as fs from 'node:fs';
import { writeAll, writeFileAtomic } from './atomic.js';

/** ` (line L, column C)` for a JSON.parse message that gives a position, else ''. */
function lineColumn(text: string, message: string): string {
  const m = /at position (\d+)/.exec(message);
  if (!m) return '';
  const pos = Math.min(Number(m[1]), text.length);
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  return ` (line ${line}, column ${pos - before.lastIndexOf('\n')})`;
}

/**
 * Reads and parses the JSON file `file`. `what` says what the file is for the messages (e.g. 'run.json', '--config');
 * a missing or unreadable file and invalid JSON are one-line errors naming `what` and the file:
 * `--config cfg.json: not valid JSON: Expected ',' or '}' after property value in JSON at position 14 (line 2, column 3)`.
 */
export function readJsonFile(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory, not a file' : (code ?? 'error');
    throw new Error(`${what} ${file}: cannot read (${why})`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    throw new Error(`${what} ${file}: not valid JSON: ${msg}${lineColumn(text, msg)}`);
  }
}

/** `readJsonFile` for files that must hold one JSON object (not an array, a string or null). */
export function readJsonObject(file: string, what: string): Record<string, unknown> {
  const v = readJsonFile(file, what);
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new Error(
      `${what} ${file}: expected a JSON object, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`,
    );
  return v as Record<string, unknown>;
}

/** Writes `value` as indented JSON (and a final newline) to `file` atomically. */
export function writeJsonFile(file: string, value: unknown, indent = 2): void {
  const bytes = new TextEncoder().encode(JSON.stringify(value, null, indent) + '\n');
  writeFileAtomic(file, (fd) => writeAll(fd, bytes));
}
