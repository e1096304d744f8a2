import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pretrain } from '../../src/train/pretrain.js';
import { MICRO_HF_CONFIG } from '../train/fixtures.js';

/** A base model's run as zero's first stage would leave it, with a micro model (so that the tests are fast). */
async function microBase(dir: string, outDir: string) {
  const data = join(dir, 'd.jsonl');
  writeFileSync(
    data,
    Array.from({ length: 300 }, (_, i) =>
      JSON.stringify({ text: `x = ${i}. <think> x </think> <answer>${i % 7}</answer>` }),
    ).join('\n'),
  );
  return pretrain({
    outDir,
    preset: 'tiny',
    modelConfig: MICRO_HF_CONFIG,
    data: [data],
    steps: 2,
    log: () => {},
    overrides: { seqLen: 16, batchStart: 2, batchEnd: 2, microBatch: 2, warmupSteps: 1 },
  });
}

/** `r1ts zero ARGS` */
function zero(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'zero', ...args], { encoding: 'utf8' });
}

describe('r1ts zero', () => {
  it('evaluates a base, runs GRPO and prints the before/after table with paths', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'r1ts-zero-'));
    try {
      const r = await microBase(dir, join(dir, 'base'));
      const z = zero('--base', r.modelDir, '--out', join(dir, 'zero'), '--steps', '1', '--n', '2', '--k', '2');
      assert.equal(z.status, 0, z.stderr);
      assert.match(
        z.stdout,
        /model {5}pass@1 {3}cons@k {3}greedy {3}format {2}mean len {2}reflection\nbase .*%\nr1-zero .*%\n/,
      );
      const record = JSON.parse(readFileSync(join(dir, 'zero', 'zero.json'), 'utf8'));
      for (const e of [record.base, record.rl]) {
        assert.ok(e.reflectionRate >= 0 && e.reflectionRate <= 1, String(e.reflectionRate));
        assert.ok(e.formatRate >= 0 && e.meanLength > 0 && e['cons@k'] >= 0);
      }
      assert.equal(record.corpus, undefined, 'a --base has no corpus style to report');
      const step = JSON.parse(readFileSync(join(dir, 'zero', 'grpo', 'metrics.jsonl'), 'utf8').split('\n')[0]);
      assert.ok(
        step.reflectionRate >= 0 && step.reflectionRate <= 1 && step.formatRate >= 0 && step.responseLength > 0,
      );
      assert.match(z.stdout, /^step 1\/1 .* len [\d.]+ {2}refl [\d.]+%/m);
      assert.ok(existsSync(join(dir, 'zero', 'grpo', 'model', 'model.safetensors')));
      assert.ok(existsSync(join(dir, 'zero', 'grpo', 'metrics.jsonl')));
      // interrupted after its checkpoint at step 1 (no final model yet): run again and it resumes there
      rmSync(join(dir, 'zero', 'grpo', 'model'), { recursive: true });
      const again = zero('--base', r.modelDir, '--out', join(dir, 'zero'), '--steps', '2', '--n', '2', '--k', '2');
      assert.equal(again.status, 0, again.stderr);
      assert.match(again.stdout, /resuming the interrupted GRPO run\nresumed from .*step-0+1 at step 1\n/);
      assert.doesNotMatch(again.stdout, /^step 1\/2 /m, 'step 1 is not run again');
      assert.match(again.stdout, /^step 2\/2 /m);
      assert.equal(
        readFileSync(join(dir, 'zero', 'grpo', 'metrics.jsonl'), 'utf8')
          .trim()
          .split('\n').length,
        2,
      );
      const bad = zero('--steps', 'x');
      assert.equal(bad.stderr.trim(), "r1ts: zero: --steps must be an integer in [1, 10000000], got 'x'");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('checks what it reuses: a finished stage with other settings is an error, a finished stage is skipped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'r1ts-zero-reuse-'));
    try {
      const out = join(dir, 'z');
      const base = join(out, 'base');
      await microBase(dir, base);
      const run = (...a: string[]) => zero('--out', out, '--n', '2', '--k', '2', '--prompts-per-step', '2', ...a);
      const longer = run('--pretrain-steps', '3', '--steps', '1');
      assert.equal(longer.status, 1);
      assert.equal(
        longer.stderr,
        `r1ts: zero: ${base} holds a finished base with other settings (--pretrain-steps 2, not 3); extend it with 'r1ts pretrain --out ${base} --resume --steps N', or use another --out, or --overwrite to start over\n`,
      );
      const first = run('--pretrain-steps', '2', '--steps', '1');
      assert.equal(first.status, 0, first.stderr);
      assert.match(first.stdout, /^\[1\/4\] reusing the finished base model in /m);
      assert.match(first.stdout, /^step 1\/1 /m);
      const model = join(out, 'grpo', 'model', 'model.safetensors');
      const before = {
        mtime: statSync(model).mtimeMs,
        metrics: readFileSync(join(out, 'grpo', 'metrics.jsonl'), 'utf8'),
      };
      // the same command again: GRPO is not redone, its model not overwritten, and the evaluation is the same
      const again = run('--pretrain-steps', '2', '--steps', '1');
      assert.equal(again.status, 0, again.stderr);
      assert.match(again.stdout, /^\[3\/4\] reusing the finished GRPO run in .* \(same settings\)$/m);
      assert.doesNotMatch(again.stdout, /^step 1\/1 /m);
      assert.equal(statSync(model).mtimeMs, before.mtime);
      assert.equal(readFileSync(join(out, 'grpo', 'metrics.jsonl'), 'utf8'), before.metrics);
      const table = (s: string) => s.slice(s.indexOf('model     pass@1'), s.indexOf('base model:'));
      assert.equal(table(again.stdout), table(first.stdout));
      const more = run('--pretrain-steps', '2', '--steps', '2');
      assert.equal(more.status, 1);
      assert.equal(
        more.stderr,
        `r1ts: zero: ${join(out, 'grpo')} holds a finished GRPO run with other settings (--steps 1, not 2); use another --out, or --overwrite to redo it\n`,
      );
      // a base pre-trained on the other corpus style is not reused
      const runJson = join(base, 'run.json');
      const rec = JSON.parse(readFileSync(runJson, 'utf8'));
      writeFileSync(runJson, JSON.stringify({ ...rec, corpus: 'plain' })); // settings are run.json's top-level keys
      const other = run('--pretrain-steps', '2', '--steps', '1');
      assert.equal(other.status, 1);
      assert.match(other.stderr, /holds a finished base with other settings \(--corpus plain, not templated\)/);
      const same = run('--pretrain-steps', '2', '--steps', '1', '--corpus', 'plain');
      assert.equal(same.status, 0, same.stderr);
      assert.equal(JSON.parse(readFileSync(join(out, 'zero.json'), 'utf8')).corpus, 'plain');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
