import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { VERSION } from '../../src/index.js';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('r1ts CLI', () => {
  it('--help lists the commands', () => {
    const r = cli('--help');
    assert.equal(r.code, 0);
    assert.match(r.out, /Usage: r1ts/);
    assert.match(r.out, /info/);
    assert.match(r.out, /bench/);
  });

  it('--version matches package.json', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    assert.equal(VERSION, pkg.version);
    assert.equal(cli('--version').out.trim(), pkg.version);
  });

  it('info --json reports the backends', () => {
    const r = cli('info', '--json');
    assert.equal(r.code, 0, r.err);
    const info = JSON.parse(r.out) as { backend: string; backends: { name: string }[] };
    assert.ok(info.backends.some((b) => b.name === 'ts'));
  });

  it('unknown commands fail with a message', () => {
    const r = cli('frobnicate');
    assert.notEqual(r.code, 0);
    assert.match(r.err, /unknown command 'frobnicate'/);
  });

  it('bad bench sizes give a one-line error', () => {
    const r = cli('bench', 'matmul', '--sizes', 'ten');
    assert.equal(r.code, 1);
    assert.equal(r.err.trim(), "r1ts: bench: --sizes must be positive integers, got 'ten'");
  });
});
