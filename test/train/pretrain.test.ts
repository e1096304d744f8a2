import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { pretrain } from '../../src/train/pretrain.js';
import { loadModelDir } from '../../src/io/model_dir.js';
import { Tokenizer } from '../../src/data/tokenizer.js';
import { MICRO_HF_CONFIG } from './fixtures.js';

const micro = { ...MICRO_HF_CONFIG, num_nextn_predict_layers: 1 };
const overrides = {
  seqLen: 16,
  batchStart: 2,
  batchEnd: 4,
  microBatch: 2,
  evalEvery: 2,
  evalBatches: 1,
  checkpointEvery: 2,
  warmupSteps: 1,
};

describe('pretrain (library and CLI)', () => {
  it('runs on user data, exports a loadable HF model with its tokenizer, and resumes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'r1ts-pt-'));
    try {
      const data = join(dir, 'data.jsonl');
      const lines = Array.from({ length: 400 }, (_, i) =>
        JSON.stringify({ text: `${i} plus ${i + 1} is ${2 * i + 1}. The end.` }),
      );
      writeFileSync(data, lines.join('\n') + '\n');
      const out = join(dir, 'run');
      const logs: string[] = [];
      const r = await pretrain({
        outDir: out,
        preset: 'tiny',
        modelConfig: micro,
        data: [data],
        steps: 3,
        overrides,
        log: (l) => logs.push(l),
      });
      assert.equal(r.steps, 3);
      assert.ok(logs.some((l) => /^tokenizer: byte-level BPE, \d+ tokens/.test(l)));
      assert.ok(logs.some((l) => /^step 3\/3 {2}loss/.test(l)));
      const { model, config } = loadModelDir(r.modelDir);
      const tok = Tokenizer.load(join(r.modelDir, 'tokenizer.json'));
      assert.equal(config.vocab_size, tok.vocabSize);
      assert.equal(model.numParameters() > 0, true);
      // resume to 5 steps from the step-2 checkpoint... the run finished at 3, so resume continues from 3; with 2
      // workers this time (the numbers do not depend on it, so run.json does not record it)
      const r2 = await pretrain({
        outDir: out,
        preset: 'tiny',
        resume: true,
        steps: 5,
        workers: 2,
        log: (l) => logs.push(l),
      });
      assert.equal(r2.steps, 5);
      assert.ok(
        logs.some((l) => /^resumed from .*step-00000003 at step 3/.test(l)),
        logs.join('\n'),
      );
      assert.ok(
        logs.some((l) => /^run: .*, 2 workers, out /.test(l)),
        logs.join('\n'),
      );
      assert.equal(
        'workers' in (JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { train: object }).train,
        false,
      );
      const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { step: number });
      assert.deepEqual(
        metrics.map((m) => m.step),
        [1, 2, 3, 4, 5],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('CLI errors are one line', () => {
    const cli = (...a: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...a], { encoding: 'utf8' });
    const dir = mkdtempSync(join(tmpdir(), 'r1ts-pt-'));
    try {
      assert.equal(
        cli('pretrain', '--out', join(dir, 'x'), '--resume').stderr.trim(),
        `r1ts: pretrain: --resume: ${join(dir, 'x', 'run.json')} does not exist (nothing to resume)`,
      );
      assert.equal(
        cli('pretrain', '--out', join(dir, 'y'), '--preset', 'huge').stderr.trim(),
        "r1ts: pretrain: --preset must be one of tiny, tiny-general, small, student, student-llama, micro, got 'huge'",
      );
      assert.equal(
        cli('pretrain', '--out', join(dir, 'z'), '--steps', '0').stderr.trim(),
        "r1ts: pretrain: --steps must be an integer in [1, 10000000], got '0'",
      );
      assert.equal(existsSync(join(dir, 'y', 'run.json')), false);
      assert.equal(
        cli('pretrain', '--out', join(dir, 'p'), '--precision', 'fp4').stderr.trim(),
        "r1ts: pretrain: --precision must be one of fp32, bf16, fp8, got 'fp4'",
      );
      assert.equal(
        cli('pretrain', '--out', join(dir, 'w'), '--workers', '0').stderr.trim(),
        "r1ts: pretrain: --workers must be 'auto' or an integer in [1, 256], got '0'",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
