// The SFT trainer: a tiny model's held-out loss falls; the step objective does not depend on the micro-batch split;
// a run killed with SIGKILL resumes to the same loss curve bit for bit; the schedules; the export (HF layout with the
// tokenizer files); bad records, long samples and held-out splits reported as they should be.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelAndTokenizer } from '../../src/io/load.js';
import { listCheckpoints } from '../../src/train/checkpoint.js';
import { RunDir } from '../../src/train/run_dir.js';
import { readSftSamples, splitByContent } from '../../src/posttrain/sft_data.js';
import { DEFAULT_SFT_CONFIG, resolveSftConfig, runSft, sftLrAt } from '../../src/posttrain/sft.js';
import { sft } from '../../src/posttrain/sft_run.js';
import { identityRecords, writeRecords, writeSftModelDir } from './helpers.js';

function metrics(dir: string): Record<string, number>[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

async function withDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'r1ts-sft-'));
  try {
    await f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('SFT trainer', () => {
  it("a tiny DeepSeek-V3's held-out loss falls; the result is an HF directory with the tokenizer files", () =>
    withDir(async (dir) => {
      const model = join(dir, 'base');
      await writeSftModelDir(model);
      const train = writeRecords(join(dir, 'train.jsonl'), identityRecords(60));
      const val = writeRecords(join(dir, 'val.jsonl'), identityRecords(10, 'test'));
      const logs: string[] = [];
      const r = await sft({
        outDir: join(dir, 'run'),
        model,
        data: [train],
        valData: [val],
        config: { seqLen: 96, batch: 4, microBatch: 2, epochs: 3, lr: 3e-3, evalEvery: 100 },
        log: (l) => logs.push(l),
      });
      const before = r.initial?.valLoss as number;
      assert.ok(r.finalValLoss! < before - 1, `held-out loss ${before} -> ${r.finalValLoss}`);
      const m = metrics(join(dir, 'run'));
      assert.equal(m[0].step, 0);
      assert.equal(m.length, r.totalSteps + 1);
      assert.ok(m.slice(1).every((x) => x.mtpLoss !== null && x.imbalance !== null && x.tokens > 0));
      assert.ok(Math.abs(m.at(-1)!.epoch - 3) < 1e-12, 'three epochs');
      assert.ok(logs.some((l) => /^sft: 60 records; train 60 samples .* 3 epoch\(s\), \d+ steps of 4 rows/.test(l)));
      assert.ok(
        logs.some((l) => /^done: .*held-out loss/.test(l)),
        logs.join('\n'),
      );
      assert.deepEqual(readdirSync(r.modelDir).sort(), [
        'config.json',
        'model.safetensors',
        'tokenizer.json',
        'tokenizer_config.json',
      ]);
      // the export loads, with the base's tokenizer
      const out = loadModelAndTokenizer(r.modelDir);
      assert.equal(out.tok.vocabSize, loadModelAndTokenizer(model).tok.vocabSize);
      const run = JSON.parse(readFileSync(join(dir, 'run', 'run.json'), 'utf8'));
      assert.equal(run.status, 'finished');
      assert.equal(run.summary.valLossAfter, r.finalValLoss);
    }));

  it("the objective is the mean over the step's assistant tokens, whatever the micro-batch split", () =>
    withDir(async (dir) => {
      const model = join(dir, 'base');
      await writeSftModelDir(model, 'qwen2');
      const { tok } = loadModelAndTokenizer(model);
      const { samples } = await readSftSamples([writeRecords(join(dir, 't.jsonl'), identityRecords(24))], tok);
      const first: number[][] = [];
      for (const microBatch of [1, 2, 4]) {
        const run = RunDir.open({ dir: join(dir, `m${microBatch}`), command: 'sft', mode: 'new', log: () => {} });
        try {
          run.start({});
          const c = resolveSftConfig({ seqLen: 48, batch: 4, microBatch, maxSteps: 2, lr: 1e-3 });
          const r = await runSft({
            run,
            model: loadModelAndTokenizer(model).model,
            train: samples,
            config: c,
            log: () => {},
          });
          first.push([r.history[0].loss, r.history[0].gradNorm, r.history[1].loss]);
        } finally {
          run.close();
        }
      }
      for (const x of first.slice(1))
        for (let i = 0; i < 3; i++) assert.ok(Math.abs(x[i] - first[0][i]) < 1e-5 * first[0][i], `${first[0]} vs ${x}`);
    }));

  it('a run killed mid-way (SIGKILL) resumes to exactly the uninterrupted loss curve and final model', () =>
    withDir(async (dir) => {
      const model = join(dir, 'base');
      await writeSftModelDir(model);
      const train = writeRecords(join(dir, 'train.jsonl'), identityRecords(30));
      const val = writeRecords(join(dir, 'val.jsonl'), identityRecords(6, 'test'));
      const args = (out: string, mode: string, delay = '0') => [
        '--import',
        'tsx',
        'test/posttrain/sft_child.ts',
        model,
        train,
        val,
        out,
        mode,
        delay,
      ];
      const full = spawnSync(process.execPath, args(join(dir, 'ref'), 'fresh'), { encoding: 'utf8' });
      assert.equal(full.status, 0, full.stderr);
      const killed = join(dir, 'killed');
      await new Promise<void>((resolve, reject) => {
        const p = spawn(process.execPath, args(killed, 'fresh', '400'), { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        p.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('"step":5,')) p.kill('SIGKILL');
        });
        p.on('exit', (code, signal) =>
          signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited ${code} before being killed: ${out}`)),
        );
      });
      assert.equal(listCheckpoints(join(killed, 'checkpoints')).at(-1)!.step, 4);
      const resumed = spawnSync(process.execPath, args(killed, 'resume'), { encoding: 'utf8' });
      assert.equal(resumed.status, 0, resumed.stderr);
      const pick = (m: Record<string, number>[]) => m.map((x) => [x.step, x.loss, x.valLoss, x.gradNorm, x.lr]);
      const ref = metrics(join(dir, 'ref'));
      assert.ok(ref.length > 6);
      assert.deepEqual(pick(metrics(killed)), pick(ref));
      assert.ok(
        readFileSync(join(killed, 'model', 'model.safetensors')).equals(
          readFileSync(join(dir, 'ref', 'model', 'model.safetensors')),
        ),
        'the final weights are the same bits',
      );
    }));

  it('bad records name file:line; --skip-bad counts them; long samples are reported, never dropped silently', () =>
    withDir(async (dir) => {
      const model = join(dir, 'base');
      await writeSftModelDir(model, 'qwen2');
      const good = identityRecords(6);
      const long = { prompt: 'Who are you?', completion: 'I am Tiny-R1. '.repeat(40) };
      const file = join(dir, 'mixed.jsonl');
      writeFileSync(
        file,
        [
          JSON.stringify(good[0]),
          '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "  "}]}',
          JSON.stringify(long),
          'not json',
          JSON.stringify({ messages: [{ content: 'x' }] }),
          ...good.slice(1).map((r) => JSON.stringify(r)),
        ].join('\n'),
      );
      const base = { model, data: [file], config: { seqLen: 64, batch: 2, maxSteps: 1 }, log: () => {} };
      await assert.rejects(
        sft({ ...base, outDir: join(dir, 'a') }),
        /mixed\.jsonl:2: messages\[1\]: empty assistant content/,
      );
      const logs: string[] = [];
      const r = await sft({ ...base, outDir: join(dir, 'b'), skipBad: true, log: (l) => logs.push(l) });
      assert.equal(r.steps, 1);
      const text = logs.join('\n');
      assert.match(
        text,
        /skipped 3 malformed record\(s\) \(--skip-bad\): .*mixed\.jsonl:2: .*mixed\.jsonl:5: .*mixed\.jsonl:4: invalid JSON/,
      );
      assert.match(
        text,
        /skipped 1 sample\(s\) longer than --seq-len 64 \+ 1 = 65 tokens .*mixed\.jsonl:3 \(\d+ tokens\)/,
      );
      assert.match(text, /^sft: 10 records; train 6 samples \(1 skipped, 0 truncated\)/m);
      const t: string[] = [];
      await sft({
        ...base,
        outDir: join(dir, 'c'),
        skipBad: true,
        config: { ...base.config, truncate: true },
        log: (l) => t.push(l),
      });
      assert.match(t.join('\n'), /truncated 1 sample\(s\) to their first 65 tokens \(--truncate\): .*mixed\.jsonl:3/);
      assert.match(t.join('\n'), /^sft: 10 records; train 7 samples \(0 skipped, 1 truncated\)/m);
    }));

  it('--val-share holds out by content: stable, disjoint, copies on one side', () =>
    withDir(async (dir) => {
      const model = join(dir, 'base');
      await writeSftModelDir(model, 'qwen2');
      const { tok } = loadModelAndTokenizer(model);
      const recs = identityRecords(40);
      const a = await readSftSamples([writeRecords(join(dir, 'a.jsonl'), recs)], tok);
      const b = await readSftSamples([writeRecords(join(dir, 'b.jsonl'), [...recs].reverse().concat(recs))], tok);
      const sa = splitByContent(a.samples, 0.25);
      const sb = splitByContent(b.samples, 0.25);
      const keys = (xs: { key: number }[]) => new Set(xs.map((x) => x.key));
      assert.ok(sa.val.length > 0 && sa.train.length > 0);
      assert.deepEqual(keys(sb.val), keys(sa.val), 'the split depends on content only');
      for (const k of keys(sb.val)) assert.ok(!keys(sb.train).has(k), 'no held-out conversation is trained on');
    }));

  it('schedules: cosine from lr (after warm-up) to lr x ratio at the last step; constant; V3 scaled', () => {
    const c = { ...DEFAULT_SFT_CONFIG, lr: 5e-5, warmup: 0.1, minLrRatio: 0.1 };
    assert.equal(sftLrAt(c, 0, 100), 5e-6);
    assert.equal(sftLrAt(c, 9, 100), 5e-5);
    assert.equal(sftLrAt(c, 10, 100), 5e-5);
    assert.ok(Math.abs(sftLrAt(c, 99, 100) - 5e-6) < 1e-18);
    assert.ok(sftLrAt(c, 50, 100) < 5e-5 && sftLrAt(c, 50, 100) > sftLrAt(c, 60, 100));
    assert.equal(sftLrAt({ ...c, schedule: 'constant' }, 99, 100), 5e-5);
    const v3 = { ...c, schedule: 'v3' as const, warmup: 0 };
    assert.equal(sftLrAt(v3, 50, 100), 5e-5); // constant until 10/14.8 of the run
    assert.ok(Math.abs(sftLrAt(v3, 99, 100) - (5e-5 * 7.3e-6) / 2.2e-4) < 1e-15); // V3's last phase
  });

  it('settings are checked with the flag names', () => {
    assert.throws(() => resolveSftConfig({ microBatch: 8, batch: 4 }), /--micro-batch 8 is more than --batch 4/);
    assert.throws(() => resolveSftConfig({ lr: 0 }), /sft: --lr must be a number > 0, got 0/);
    assert.throws(() => resolveSftConfig({ warmup: 2 }), /sft: --warmup must be a number in \[0, 1\], got 2/);
    assert.throws(() => resolveSftConfig({ nope: 1 } as never), /unknown setting 'nope'/);
  });
});
