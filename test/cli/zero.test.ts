import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pretrain } from '../../src/train/pretrain.js';

const micro = {
  model_type: 'deepseek_v3',
  hidden_size: 16,
  intermediate_size: 24,
  moe_intermediate_size: 8,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  n_routed_experts: 4,
  n_group: 2,
  topk_group: 1,
  num_experts_per_tok: 2,
  first_k_dense_replace: 1,
  q_lora_rank: null,
  kv_lora_rank: 8,
  qk_nope_head_dim: 4,
  qk_rope_head_dim: 4,
  v_head_dim: 4,
  num_nextn_predict_layers: 0,
};

describe('r1ts zero', () => {
  it('evaluates a base, runs GRPO and prints the before/after table with paths', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'r1ts-zero-'));
    try {
      const data = join(dir, 'd.jsonl');
      writeFileSync(
        data,
        Array.from({ length: 300 }, (_, i) =>
          JSON.stringify({ text: `x = ${i}. <think> x </think> <answer>${i % 7}</answer>` }),
        ).join('\n'),
      );
      const r = await pretrain({
        outDir: join(dir, 'base'),
        preset: 'tiny',
        modelConfig: micro,
        data: [data],
        steps: 2,
        log: () => {},
        overrides: { seqLen: 16, batchStart: 2, batchEnd: 2, microBatch: 2, warmupSteps: 1 },
      });
      const z = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          'src/cli/main.ts',
          'zero',
          '--base',
          r.modelDir,
          '--out',
          join(dir, 'zero'),
          '--steps',
          '1',
          '--n',
          '2',
          '--k',
          '2',
        ],
        { encoding: 'utf8' },
      );
      assert.equal(z.status, 0, z.stderr);
      assert.match(z.stdout, /model {5}pass@1 {3}cons@k {3}greedy {3}format {2}mean len\nbase .*\nr1-zero .*\n/);
      assert.ok(existsSync(join(dir, 'zero', 'grpo', 'model', 'model.safetensors')));
      assert.ok(existsSync(join(dir, 'zero', 'grpo', 'metrics.jsonl')));
      // interrupted after its checkpoint at step 1 (no final model yet): run again and it resumes there
      rmSync(join(dir, 'zero', 'grpo', 'model'), { recursive: true });
      const again = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          'src/cli/main.ts',
          'zero',
          '--base',
          r.modelDir,
          '--out',
          join(dir, 'zero'),
          '--steps',
          '2',
          '--n',
          '2',
          '--k',
          '2',
        ],
        { encoding: 'utf8' },
      );
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
      const bad = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'zero', '--steps', 'x'], {
        encoding: 'utf8',
      });
      assert.equal(bad.stderr.trim(), "r1ts: zero: --steps must be an integer in [1, 10000000], got 'x'");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
