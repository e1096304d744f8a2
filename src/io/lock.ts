/**
 * A lock file that says "one process writes this directory": created atomically with O_CREAT|O_EXCL (`wx`), holding
 * the writer's pid, host, start time and command. A second writer gets an error naming them; a lock whose process is
 * gone is stale and is taken over with a message. Stale means: the same host and a pid that no longer runs, or that
 * now belongs to a process started after the lock was written (a reused pid, Linux /proc), or a lock left by this
 * very process without being released, or an empty/unreadable lock file older than a minute (a crash between
 * creating and writing it).
 *
 * Not: a lock across hosts. A lock from another host is never taken over automatically (its pid means nothing here);
 * the message says which file to delete if that process is gone. Not advisory locking (flock): a plain file works on
 * every file system and tells a person who holds it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** What a lock file holds. */
export interface LockInfo {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  started: string;
  /** The command that took it (e.g. 'pretrain'). */
  command: string;
}

/** Whether a process with this pid exists on this host (EPERM: it exists but belongs to another user). */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Start time (ms since the epoch) of a running process from Linux /proc, or null where that is not available. */
function processStartMs(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // field 22 (starttime, clock ticks since boot) counts from after the ')' that ends the command name
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    const btime = /^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'));
    if (!btime || !Number.isFinite(ticks)) return null;
    return Number(btime[1]) * 1000 + (ticks / 100) * 1000; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

/** Locks held by this process (resolved paths), released on exit. */
const held = new Map<string, LockInfo>();
let exitHook = false;

function readLock(file: string): { info: LockInfo | null; text: string; ageMs: number } | null {
  let text: string;
  let ageMs: number;
  try {
    text = fs.readFileSync(file, 'utf8');
    ageMs = Date.now() - fs.statSync(file).mtimeMs;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    const v = JSON.parse(text) as LockInfo;
    if (Number.isSafeInteger(v.pid) && typeof v.host === 'string' && typeof v.started === 'string')
      return { info: v, text, ageMs };
  } catch {
    // unreadable: judged by its age below
  }
  return { info: null, text, ageMs };
}

/** Why the lock is stale (a sentence for the message), or null when its holder may still be running. */
function staleReason(file: string, info: LockInfo | null, ageMs: number): string | null {
  if (!info) return ageMs > 60_000 ? 'the lock file is empty or unreadable and more than a minute old' : null;
  if (info.host !== os.hostname()) return null;
  if (info.pid === process.pid)
    return held.has(path.resolve(file)) ? null : 'this process left it without releasing it';
  if (!pidAlive(info.pid)) return `pid ${info.pid} is no longer running`;
  const start = processStartMs(info.pid);
  const taken = Date.parse(info.started);
  if (start !== null && Number.isFinite(taken) && start > taken + 2000)
    return `pid ${info.pid} now belongs to a process started after the lock was taken`;
  return null;
}

/**
 * A held lock. `FileLock.acquire(file, ...)` takes it or throws; `release()` removes the file (only while it is still
 * this process's lock). Locks still held when the process exits are removed then.
 */
export class FileLock {
  private released = false;

  private constructor(
    readonly file: string,
    readonly info: LockInfo,
  ) {}

  /**
   * Takes the lock `file` for `command`. `what` names the locked thing in messages ("run directory runs/x");
   * `log` gets the line saying a stale lock was taken over.
   */
  static acquire(file: string, what: string, command: string, log: (line: string) => void): FileLock {
    const abs = path.resolve(file);
    const info: LockInfo = { pid: process.pid, host: os.hostname(), started: new Date().toISOString(), command };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(abs, JSON.stringify(info) + '\n', { flag: 'wx' });
        held.set(abs, info);
        if (!exitHook) {
          exitHook = true;
          process.on('exit', () => {
            for (const [f, i] of held) removeIfOurs(f, i);
          });
        }
        return new FileLock(abs, info);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const cur = readLock(abs);
      if (!cur) continue; // released meanwhile: try again
      const why = staleReason(abs, cur.info, cur.ageMs);
      if (!why || attempt > 0) {
        const who = cur.info
          ? `pid ${cur.info.pid} on ${cur.info.host} since ${cur.info.started}${cur.info.command ? ` (${cur.info.command})` : ''}`
          : 'a process that is still writing its lock file';
        const hint =
          cur.info && cur.info.host !== os.hostname()
            ? `; if that process is gone, delete ${abs}`
            : '; wait for it to finish, or stop it';
        throw new Error(`${what} is in use by ${who}${hint}`);
      }
      // take over: move the stale file aside (atomic), check that it was the stale one, and try again
      const aside = `${abs}.stale-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
      try {
        fs.renameSync(abs, aside);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      if (fs.readFileSync(aside, 'utf8') !== cur.text) {
        // another process took the stale lock over first, and this one moved its fresh lock: put it back
        try {
          fs.linkSync(aside, abs);
        } catch {
          // a third writer got in between; it holds the lock now
        }
        fs.rmSync(aside, { force: true });
        continue;
      }
      fs.rmSync(aside, { force: true });
      log(
        `${what}: taking over a stale lock${cur.info ? ` of pid ${cur.info.pid} (since ${cur.info.started})` : ''}: ${why}`,
      );
    }
    throw new Error(`${what}: could not take the lock ${abs}`);
  }

  /** Removes the lock file (if it is still this lock). Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    held.delete(this.file);
    removeIfOurs(this.file, this.info);
  }
}

function removeIfOurs(file: string, info: LockInfo): void {
  try {
    const cur = readLock(file);
    if (cur?.info && cur.info.pid === info.pid && cur.info.started === info.started) fs.rmSync(file, { force: true });
  } catch {
    // nothing to release
  }
}
