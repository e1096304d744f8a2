import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelDir, saveModelDir } from '../../src/io/model_dir.js';
import { noGrad, tensor } from '../../src/index.js';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('r1ts params / init / logits', () => {
  it('params --json gives the published totals', () => {
    const expect: Record<string, number> = {
      'deepseek-v3-671b': 671_026_419_200,
      'deepseek-v2-236b': 235_741_434_880,
      'deepseek-v2-lite-16b': 15_706_484_224,
      // the released distilled students (Hugging Face model cards: 1.78B, 7.62B, 14.8B, 32.8B, 8.03B, 70.6B)
      'deepseek-r1-distill-qwen-1.5b': 1_777_088_000,
      'deepseek-r1-distill-qwen-7b': 7_615_616_512,
      'deepseek-r1-distill-qwen-14b': 14_770_033_664,
      'deepseek-r1-distill-qwen-32b': 32_763_876_352,
      'deepseek-r1-distill-llama-8b': 8_030_261_248,
      'deepseek-r1-distill-llama-70b': 70_553_706_496,
    };
    for (const [f, total] of Object.entries(expect)) {
      const r = cli('params', '--config', `configs/${f}.json`, '--json');
      assert.equal(r.code, 0, r.err);
      const j = JSON.parse(r.out) as { total: number; activated: number; mtp: number };
      assert.deepEqual(Object.keys(j), ['total', 'activated', 'mtp']);
      assert.equal(j.total, total);
    }
  });

  it('init writes a HF model dir that logits can run; JSON matches the in-process model', () => {
    const dir = mkdtempSync(join(tmpdir(), 'r1ts-init-'));
    try {
      const out = join(dir, 'm');
      const r = cli(
        'init',
        '--config',
        'test/fixtures/models/tiny-deepseek-v3/config.json',
        '--out',
        out,
        '--seed',
        '5',
      );
      assert.equal(r.code, 0, r.err);
      const j = cli('logits', '--model', out, '--ids', '3,1,4,1,5', '--json');
      assert.equal(j.code, 0, j.err);
      const res = JSON.parse(j.out) as { shape: number[]; logits: number[]; loss: number };
      assert.deepEqual(res.shape, [5, 32]);
      assert.equal(res.logits.length, 5 * 32);
      const { model } = loadModelDir(out);
      const ids = tensor([3, 1, 4, 1, 5], { dtype: 'int32', shape: [1, 5] });
      const ref = noGrad(() => model.eval().forward(ids).logits);
      assert.deepEqual(res.logits, Array.from(ref.data));
      assert.ok(res.loss > 0 && Number.isFinite(res.loss));
      // same seed, same weights
      const again = join(dir, 'm2');
      cli('init', '--config', 'test/fixtures/models/tiny-deepseek-v3/config.json', '--out', again, '--seed', '5');
      assert.deepEqual(
        JSON.parse(cli('logits', '--model', again, '--ids', '3,1,4,1,5', '--json').out).logits,
        res.logits,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('logits runs a BF16 sharded checkpoint in bf16 memory (auto), as the library does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'r1ts-bf16-cli-'));
    try {
      const out = join(dir, 'm');
      const { model } = loadModelDir('test/fixtures/models/tiny-qwen2');
      saveModelDir(out, model, { dtype: 'BF16', maxShardBytes: 4000 });
      const run = (...extra: string[]) => {
        const r = cli('logits', '--model', out, '--ids', '3,1,4,1,5', '--json', ...extra);
        assert.equal(r.code, 0, r.err);
        return (JSON.parse(r.out) as { logits: number[] }).logits;
      };
      const b16 = loadModelDir(out, { weights: 'bfloat16' }).model;
      assert.equal(b16.stateDict().get('embed.weight')!.dtype, 'bfloat16');
      const ids = tensor([[3, 1, 4, 1, 5]], { dtype: 'int32' });
      const ref = noGrad(() => b16.eval().forward(ids).logits);
      assert.deepEqual(run(), Array.from(ref.data));
      assert.deepEqual(run('--weights', 'bfloat16'), Array.from(ref.data));
      const f32 = run('--weights', 'float32');
      const worst = Math.max(...f32.map((v, i) => Math.abs(v - ref.data[i])));
      assert.ok(worst < 1e-4, `float32 vs bf16 memory: max |d| ${worst}`);
      const bad = cli('logits', '--model', out, '--ids', '1', '--weights', 'bf16');
      assert.equal(bad.code, 1);
      assert.equal(bad.err, "r1ts: logits: --weights must be one of auto, float32, bfloat16, got 'bf16'\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('bad input gives one-line errors', () => {
    assert.equal(
      cli('logits', '--model', 'test/fixtures/models/tiny-qwen2', '--ids', '1,x').err.trim(),
      "r1ts: logits: --ids item 2 must be an integer in [0, 2147483647], got 'x'",
    );
    assert.equal(
      cli('params', '--config', 'package.json').err.trim(),
      'r1ts: config (package.json): model_type is required',
    );
    assert.equal(
      cli('params', '--config', 'nope.json').err,
      "r1ts: params: --config must be an existing file or directory, got 'nope.json' (not found)\n",
    );
  });
});
