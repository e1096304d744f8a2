import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readJsonFile, readJsonObject, writeJsonFile } from '../../src/io/json.js';
import { FileLock, pidAlive } from '../../src/io/lock.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'r1ts-io-'));
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  assert.equal(pidAlive(r.pid!), false);
  return r.pid!;
}

describe('readJsonFile', () => {
  it('names the file, the line and the column of a JSON error; a missing file is one line too', () => {
    const dir = tmp();
    try {
      const f = join(dir, 'run.json');
      writeFileSync(f, '{\n  "a": 1,\n}\n');
      assert.throws(
        () => readJsonFile(f, 'run.json'),
        (e: Error) =>
          e.message.startsWith(`run.json ${f}: not valid JSON: `) && /\(line 3, column 1\)$/.test(e.message),
      );
      assert.throws(() => readJsonFile(join(dir, 'nope.json'), '--config'), {
        message: `--config ${join(dir, 'nope.json')}: cannot read (no such file)`,
      });
      assert.throws(() => readJsonFile(dir, '--config'), {
        message: `--config ${dir}: cannot read (a directory, not a file)`,
      });
      writeFileSync(f, '[1, 2]');
      assert.deepEqual(readJsonFile(f, 'x'), [1, 2]);
      assert.throws(() => readJsonObject(f, 'run.json'), {
        message: `run.json ${f}: expected a JSON object, got an array`,
      });
      writeFileSync(f, '\ufeff{"bom": true}');
      assert.deepEqual(readJsonObject(f, 'x'), { bom: true });
      writeJsonFile(f, { b: [1] });
      assert.equal(readFileSync(f, 'utf8'), '{\n  "b": [\n    1\n  ]\n}\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('FileLock', () => {
  it('a second holder in this process is refused with pid, host and time; release frees it', () => {
    const dir = tmp();
    try {
      const file = join(dir, 'run.lock');
      const lock = FileLock.acquire(file, `run directory ${dir}`, 'pretrain', () => {});
      const info = JSON.parse(readFileSync(file, 'utf8'));
      assert.equal(info.pid, process.pid);
      assert.equal(info.host, hostname());
      assert.throws(() => FileLock.acquire(file, `run directory ${dir}`, 'grpo', () => {}), {
        message: `run directory ${dir} is in use by pid ${process.pid} on ${hostname()} since ${info.started} (pretrain); wait for it to finish, or stop it`,
      });
      lock.release();
      assert.equal(existsSync(file), false);
      FileLock.acquire(file, 'x', 'grpo', () => {}).release();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes over a stale lock (dead pid, left by this process, empty and old) with a message; never one of another host', () => {
    const dir = tmp();
    try {
      const file = join(dir, 'run.lock');
      const logs: string[] = [];
      const pid = deadPid();
      writeFileSync(file, JSON.stringify({ pid, host: hostname(), started: '2020-01-01T00:00:00.000Z', command: 'x' }));
      const a = FileLock.acquire(file, 'run directory D', 'pretrain', (l) => logs.push(l));
      assert.deepEqual(logs, [
        `run directory D: taking over a stale lock of pid ${pid} (since 2020-01-01T00:00:00.000Z): pid ${pid} is no longer running`,
      ]);
      a.release();
      // a lock this process took and never released (a crashed library call) is stale as well
      writeFileSync(
        file,
        JSON.stringify({ pid: process.pid, host: hostname(), started: new Date().toISOString(), command: 'x' }),
      );
      FileLock.acquire(file, 'D', 'pretrain', (l) => logs.push(l)).release();
      assert.match(logs[1], /this process left it without releasing it/);
      // an empty lock file: in use while young (its writer may be about to fill it), stale after a minute
      writeFileSync(file, '');
      assert.throws(
        () => FileLock.acquire(file, 'D', 'pretrain', () => {}),
        /D is in use by a process that is still writing its lock file/,
      );
      utimesSync(file, new Date(Date.now() - 120_000), new Date(Date.now() - 120_000));
      FileLock.acquire(file, 'D', 'pretrain', (l) => logs.push(l)).release();
      assert.match(logs[2], /empty or unreadable and more than a minute old/);
      // another host's lock is never taken over: its pid means nothing here
      writeFileSync(
        file,
        JSON.stringify({ pid, host: 'elsewhere', started: '2020-01-01T00:00:00.000Z', command: 'grpo' }),
      );
      assert.throws(() => FileLock.acquire(file, 'D', 'pretrain', () => {}), {
        message: `D is in use by pid ${pid} on elsewhere since 2020-01-01T00:00:00.000Z (grpo); if that process is gone, delete ${file}`,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
