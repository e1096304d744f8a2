import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VERSION } from '../../src/index.js';
import { DeepseekV3 } from '../../src/models/index.js';
import { saveModelDir } from '../../src/io/model_dir.js';
import { toyConfig } from '../train/fixtures.js';

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
    assert.equal(r.err.trim(), "r1ts: bench matmul: --sizes item 1 must be an integer in [1, 8192], got 'ten'");
  });

  it('bench train --micro-batch --workers: a data-parallel row; PyTorch is left out', () => {
    const dir = mkdtempSync(join(tmpdir(), 'r1ts-bench-train-'));
    try {
      saveModelDir(dir, new DeepseekV3(toyConfig(), { seed: 1 }));
      const r = cli(
        'bench',
        'train',
        '--model',
        dir,
        '--batch',
        '4',
        '--seq',
        '8',
        '--steps',
        '1',
        '--micro-batch',
        '2',
        '--workers',
        '2',
        '--json',
      );
      assert.equal(r.code, 0, r.err);
      const out = JSON.parse(r.out) as {
        rows: [{ impl: string; threads: string; tokens_per_s: number; cpu_ms_per_step?: number }, string];
      };
      assert.match(out.rows[0].impl, /^r1ts \(\w+, micro-batch 2, 2 workers\)$/);
      assert.equal(out.rows[0].threads, '1 x 2');
      assert.ok(out.rows[0].tokens_per_s > 0 && out.rows[0].cpu_ms_per_step! > 0);
      assert.match(out.rows[1], /^skipped/);
      assert.equal(
        cli('bench', 'train', '--model', dir, '--workers', '0').err.trim(),
        "r1ts: bench train: --workers must be an integer in [1, 256], got '0'",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
