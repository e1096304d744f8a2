import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { comparisonTable, distillVsRl } from '../../src/posttrain/distill_vs_rl.js';
import { buildReport, readRunTree } from '../../src/report/index.js';
import { writeSftModelDir } from './helpers.js';

describe('experiment distill-vs-rl (wiring, micro models)', () => {
  it('distils and trains GRPO from the same base, evaluates four models held out, reuses finished runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'r1ts-dvr-'));
    try {
      const teacher = join(dir, 'teacher');
      const student = join(dir, 'student');
      await writeSftModelDir(teacher, 'deepseek', 0, 512);
      await writeSftModelDir(student, 'qwen2', 1, 512);
      const opts = {
        teacher,
        student,
        outDir: join(dir, 'exp'),
        task: 'add',
        difficulty: '2',
        n: 3,
        k: 2,
        maxTokens: 16,
        // a random teacher: responses end at the first 'e' and all are kept, so there is something to distil
        sampling: { n: 3, k: 2, stop: ['e'], keep: 'all', filters: 'none', template: 'chat' as const },
        sft: { maxSteps: 2, batch: 2, microBatch: 2, seqLen: 128 },
        rlSteps: 1,
        rlPromptsPerStep: 2,
        rlGroupSize: 2,
      };
      const lines: string[] = [];
      const r = await distillVsRl({ ...opts, log: (l) => lines.push(l) });
      assert.deepEqual(
        r.rows.map((x) => x.model),
        ['teacher', 'student base', 'distilled', 'rl'],
      );
      assert.equal(r.n, 3);
      for (const x of r.rows) {
        assert.ok(x['pass@1'] >= 0 && x['pass@1'] <= 1);
        assert.ok(x.meanLength > 0);
      }
      assert.equal(r.rows[2].dir, join(dir, 'exp', 'distill', 'model'));
      assert.ok(existsSync(join(dir, 'exp', 'grpo', 'model', 'model.safetensors')));
      assert.ok(r.rows[2].trainMinutes !== null && r.rows[3].trainMinutes !== null);
      // the two students start from the same base: both runs record it
      const grpoRun = JSON.parse(readFileSync(join(dir, 'exp', 'grpo', 'run.json'), 'utf8'));
      const distillRun = JSON.parse(readFileSync(join(dir, 'exp', 'distill', 'run.json'), 'utf8'));
      assert.equal(grpoRun.model, student);
      assert.equal(distillRun.model, student);
      // one difficulty for the teacher's samples, the RL run and the held-out problems
      assert.equal(JSON.stringify(distillRun).match(/"difficulty":"?([^,}"]*)/)?.[1], '2');
      assert.equal(grpoRun.config.difficulty, '2');
      assert.match(comparisonTable(r), /^add, 3 held-out problems, k=2\nmodel +pass@1/);
      assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(r))), ['task', 'n', 'k', 'rows']);
      for (const x of r.rows) assert.ok(Number.isInteger(x.params) && x.params > 0, x.model);
      // the comparison is written beside the runs, and `r1ts report OUT` shows it above their curves
      const written = JSON.parse(readFileSync(join(dir, 'exp', 'distill_vs_rl.json'), 'utf8'));
      assert.deepEqual(written, { format: 'r1ts-distill-vs-rl-1', ...JSON.parse(JSON.stringify(r)) });
      const report = buildReport(readRunTree(join(dir, 'exp')));
      assert.deepEqual(
        report.sections.map((x) => x.title),
        ['Distillation vs RL: held-out evaluation', 'distill: distill', 'grpo: grpo'],
      );
      assert.deepEqual(
        report.sections[0].tables[0].rows.map((x) => [x[0], x[5]]),
        r.rows.map((x) => [x.model, x.params.toLocaleString('en-US')]),
      );

      // again: both finished runs are reused, only the evaluation runs (same seeds, same numbers)
      const again: string[] = [];
      const r2 = await distillVsRl({ ...opts, log: (l) => again.push(l) });
      assert.ok(again.some((l) => l.includes('reusing the finished distillation')));
      assert.ok(again.some((l) => l.includes('reusing the finished GRPO run')));
      assert.deepEqual(
        r2.rows.map((x) => x['pass@1']),
        r.rows.map((x) => x['pass@1']),
      );
      assert.equal(r2.rows[2].trainMinutes, null);
      // asked for another distillation set or other GRPO steps, a finished run is not taken for them
      await assert.rejects(
        distillVsRl({ ...opts, sampling: { ...opts.sampling, n: 4 }, log: () => {} }),
        /holds a finished distillation with other settings \(--n 3 -> 4\); use another --out/,
      );
      await assert.rejects(
        distillVsRl({ ...opts, rlSteps: opts.rlSteps + 1, log: () => {} }),
        new RegExp(
          `holds a finished GRPO run with other settings \\(--steps ${opts.rlSteps} -> ${opts.rlSteps + 1}\\); use another --out`,
        ),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
