/**
 * The FP8 experiment: the synthetic data source (deterministic, resumable, learnable structure), the EMA, a tiny run
 * whose reported numbers are recomputed from its own curves, the report text, and the CLI's flag errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  SyntheticSource,
  emaCurve,
  lossGap,
  readRunMetrics,
  runFp8Experiment,
  runFp8PresetExperiment,
} from '../../src/experiments/fp8.js';
import { formatFp8Report, noiseFloorLines } from '../../src/cli/commands/experiment.js';
import { toyConfig } from '../train/fixtures.js';
import { latestCheckpoint } from '../../src/train/checkpoint.js';

test('SyntheticSource: deterministic, restorable, follows its two rules most of the time', () => {
  const a = new SyntheticSource(5, 24, 32);
  const first = a.next(3);
  const pos = a.position();
  const second = a.next(3);
  a.restore(pos);
  assert.deepEqual(a.next(3).inputs.data, second.inputs.data);
  assert.deepEqual(new SyntheticSource(5, 24, 32).next(3).inputs.data, first.inputs.data);
  assert.notDeepEqual(new SyntheticSource(6, 24, 32).next(3).inputs.data, first.inputs.data);
  // targets are the inputs shifted by one
  const { inputs, targets } = first;
  for (let b = 0; b < 3; b++)
    for (let t = 0; t < 23; t++) assert.equal(targets.data[b * 24 + t], inputs.data[b * 24 + t + 1]);
  // the most frequent successor of a token is the same token most of the time (the first-order rule, p = 0.6)
  const big = new SyntheticSource(1, 64, 8).next(64);
  const succ = new Map<number, Map<number, number>>();
  for (let b = 0; b < 64; b++) {
    for (let t = 2; t < 64; t++) {
      const p = big.inputs.data[b * 64 + t - 1];
      const n = big.inputs.data[b * 64 + t];
      const m = succ.get(p) ?? new Map<number, number>();
      m.set(n, (m.get(n) ?? 0) + 1);
      succ.set(p, m);
    }
  }
  for (const [p, m] of succ) {
    const total = [...m.values()].reduce((s, v) => s + v, 0);
    assert.ok(Math.max(...m.values()) / total > 0.5, `token ${p}: no dominant successor`);
  }
  assert.throws(() => a.restore({ counter: -1 }), /SyntheticSource.restore: bad position/);
});

test('emaCurve smooths with s_t = 0.9 s_(t-1) + 0.1 x_t from s_0 = x_0', () => {
  assert.deepEqual(emaCurve([2, 2, 2]), [2, 2, 2]);
  const e = emaCurve([1, 0, 0]);
  assert.equal(e[1], 0.9);
  assert.ok(Math.abs(e[2] - 0.81) < 1e-12);
});

test('runFp8Experiment: the reported gaps, bytes and GEMM errors come from the runs themselves', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'r1ts-fp8-toy-'));
  const r = await runFp8Experiment({ steps: 4, batch: 2, seqLen: 8, config: toyConfig(), gemmK: 256, outDir: out });
  // the nudge reached the noise-floor run: its final weights differ from the baseline's (its losses need not, yet)
  const weights = (label: string): Buffer =>
    fs.readFileSync(path.join(latestCheckpoint(path.join(out, label, 'checkpoints'))!.dir, 'model.safetensors'));
  assert.notDeepEqual(weights('fp32-ulp'), weights('fp32'));
  fs.rmSync(out, { recursive: true, force: true });
  assert.equal(r.baseline.losses.length, 4);
  assert.equal(r.fp8.losses.length, 4);
  assert.equal(r.baseline.precision, 'fp32');
  assert.equal(r.fp8.moments, 'bf16');
  assert.notDeepEqual(r.fp8.losses, r.baseline.losses);
  const ea = emaCurve(r.baseline.losses);
  const eb = emaCurve(r.fp8.losses);
  assert.equal(r.gap.finalEma, (eb[3] - ea[3]) / ea[3]);
  assert.equal(r.gap.final, (r.fp8.losses[3] - r.baseline.losses[3]) / r.baseline.losses[3]);
  assert.ok(r.gap.maxAbsEma >= Math.abs(r.gap.finalEma));
  assert.equal(r.reference?.precision, 'bf16', 'the yardstick run is the other high precision');
  assert.deepEqual(r.referenceGap, lossGap(r.baseline.losses, r.reference!.losses));
  assert.notDeepEqual(r.reference!.losses, r.baseline.losses);
  // the noise floor: the baseline again with every initial weight one ulp off; a toy is not chaotic, so it barely moves
  assert.equal(r.noiseFloor?.label, 'fp32-ulp');
  assert.equal(r.noiseFloor?.precision, 'fp32');
  assert.deepEqual(r.noiseFloorGap, lossGap(r.baseline.losses, r.noiseFloor!.losses));
  assert.ok(r.noiseFloorGap!.maxAbsEma < 1e-4, `noise floor ${r.noiseFloorGap!.maxAbsEma}`);
  assert.equal(r.baseline.saved.calls, r.fp8.saved.calls);
  assert.equal(r.baseline.saved.bytes, 4 * r.baseline.saved.elements);
  assert.equal(r.savedRatio, r.baseline.saved.bytes / r.fp8.saved.bytes);
  // 16-wide inputs carry one float32 scale per 16 code bytes; the MLPs keep x once and recompute w2's input
  assert.ok(r.savedRatio > 3 && r.savedRatio < 8, `saved Linear-input ratio ${r.savedRatio}`);
  assert.deepEqual(
    r.memory.map((m) => m.precision),
    ['fp32', 'bf16', 'fp8'],
  );
  for (const m of r.memory) assert.ok(m.graphBytes > m.saved.bytes / 4, `${m.precision}: graph ${m.graphBytes} B`);
  assert.equal(r.graphRatio, r.memory[0].graphBytes / r.memory[2].graphBytes);
  assert.equal(r.memory[0].saved.bytes, r.baseline.saved.bytes, 'the same batch and model: the same Linear inputs');
  assert.equal(r.gemm.normal.K, 256);
  const text = formatFp8Report(r).join('\n');
  assert.match(text, /FP8 vs FP32: DeepSeek-V3 toy/);
  assert.match(text, new RegExp(`${r.savedRatio.toFixed(2)}x smaller`));
  assert.match(text, /no promotion [\d.]+%, every 128/);
  assert.match(text, /autograd graph after one forward pass/);
  assert.match(text, new RegExp(`fp32 / fp8: ${r.graphRatio.toFixed(2)}x`));
  assert.match(text, /yardstick \(bf16 - fp32\) \/ fp32: final [+-]/);
  assert.match(text, /\n {2}fp32-ulp final loss [\d.]+ {2}EMA/);
  assert.match(text, /noise floor \(fp32-ulp - fp32\) \/ fp32, every initial weight one ulp off: final [+-]/);
  assert.match(text, /below the 0\.25% target, so the gaps above are the precisions' own/);
  // the ablation: plain FP8 Linears keep each MLP input twice (w1, w3) and w2's input, and no E5M6
  const plain = await runFp8Experiment({
    steps: 1,
    batch: 2,
    seqLen: 8,
    config: toyConfig(),
    gemmK: 128,
    reference: false,
    noiseFloor: false,
    specialCases: false,
  });
  assert.equal(plain.noiseFloor, null);
  assert.doesNotMatch(formatFp8Report(plain).join('\n'), /noise floor|yardstick/);
  assert.match(plain.setup, /without the V3 special cases/);
  assert.deepEqual(plain.baseline.losses, r.baseline.losses.slice(0, 1), 'same fp32 run');
  assert.ok(plain.fp8.saved.bytes > r.fp8.saved.bytes, `${plain.fp8.saved.bytes} vs ${r.fp8.saved.bytes}`);
});

test('runFp8PresetExperiment: pretrain runs per precision on the same data; gaps from metrics.jsonl; reused, resumed, checked', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r1ts-fp8-preset-'));
  try {
    const data = path.join(dir, 'data.jsonl');
    fs.writeFileSync(
      data,
      Array.from({ length: 300 }, (_, i) => JSON.stringify({ text: `${i} plus ${i + 2} is ${2 * i + 2}. Done.` })).join(
        '\n',
      ) + '\n',
    );
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
      num_nextn_predict_layers: 1,
    };
    const opts = {
      preset: 'tiny',
      outDir: path.join(dir, 'out'),
      steps: 3,
      data: [data],
      modelConfig: micro,
      overrides: {
        seqLen: 16,
        batchStart: 2,
        batchEnd: 2,
        microBatch: 2,
        warmupSteps: 1,
        evalEvery: 3,
        evalBatches: 1,
      },
      gemmK: 256,
    };
    const logs: string[] = [];
    const r = await runFp8PresetExperiment({ ...opts, log: (l) => logs.push(l) });
    assert.deepEqual(Object.keys(r.runDirs!), ['fp32', 'fp8', 'bf16', 'fp32-ulp']);
    assert.match(r.setup, /^preset tiny/);
    // the model's size as pretrain prints it (SPEC 1.5: MTP apart), not another count of the same model
    const pretrainLine = logs.find((l) => / parameters \(/.test(l)) ?? '';
    const [, total, mtp] = /([\d,]+) parameters \(.*MTP ([\d,]+)\)/.exec(pretrainLine) ?? [];
    assert.equal(r.parameters.toLocaleString('en-US'), total, pretrainLine);
    assert.equal(r.mtpParameters.toLocaleString('en-US'), mtp, pretrainLine);
    assert.match(formatFp8Report(r)[0], new RegExp(`\\(${total} parameters \\+ MTP ${mtp}\\)`));
    const curve = (p: string): number[] => readRunMetrics(path.join(opts.outDir, p)).losses;
    assert.deepEqual(r.baseline.losses, curve('fp32'));
    assert.deepEqual(r.fp8.losses, curve('fp8'));
    assert.equal(r.fp8.losses.length, 3);
    assert.deepEqual(r.gap, lossGap(curve('fp32'), curve('fp8')));
    assert.deepEqual(r.referenceGap, lossGap(curve('fp32'), curve('bf16')));
    assert.deepEqual(r.noiseFloorGap, lossGap(curve('fp32'), curve('fp32-ulp')));
    assert.notDeepEqual(r.fp8.losses, r.baseline.losses);
    const runJson = (p: string): { data: string[]; train: { precision: string; flipInitLastBit?: boolean } } =>
      JSON.parse(fs.readFileSync(path.join(opts.outDir, p, 'run.json'), 'utf8'));
    assert.deepEqual(runJson('fp8').data, runJson('fp32').data, 'one corpus');
    assert.equal(runJson('fp8').train.precision, 'fp8');
    assert.deepEqual(runJson('fp32-ulp').data, runJson('fp32').data, 'one corpus');
    assert.equal(runJson('fp32-ulp').train.flipInitLastBit, true);
    assert.equal(runJson('fp32').train.flipInitLastBit, undefined);
    assert.deepEqual(
      r.memory.map((m) => m.precision),
      ['fp32', 'bf16', 'fp8'],
    );
    // again: every run is reused, the same numbers come out
    const logs2: string[] = [];
    const r2 = await runFp8PresetExperiment({ ...opts, log: (l) => logs2.push(l) });
    assert.equal(logs2.filter((l) => /reusing the completed run/.test(l)).length, 4, logs2.join('\n'));
    assert.deepEqual(r2.gap, r.gap);
    // an interrupted run (no exported model) is resumed from its last checkpoint
    fs.rmSync(path.join(opts.outDir, 'fp8', 'model'), { recursive: true });
    const logs3: string[] = [];
    const r3 = await runFp8PresetExperiment({
      ...opts,
      reference: false,
      noiseFloor: false,
      log: (l) => logs3.push(l),
    });
    assert.equal(r3.noiseFloor, null);
    assert.deepEqual(Object.keys(r3.runDirs!), ['fp32', 'fp8']);
    assert.ok(
      logs3.some((l) => /\[fp8\] resuming the run/.test(l)),
      logs3.join('\n'),
    );
    assert.deepEqual(r3.fp8.losses, r.fp8.losses);
    // another run in the directory is an error that says what differs
    await assert.rejects(
      runFp8PresetExperiment({ ...opts, steps: 4 }),
      /out\/fp32 holds another run \(steps 3, not 4\)/,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("noiseFloorLines: above 0.25% the target cannot be judged on the run, below it the gaps are the precisions'", () => {
  const gap = (finalEma: number) => ({
    final: finalEma,
    finalEma,
    maxAbsEma: Math.abs(finalEma),
    meanAbsEma: Math.abs(finalEma),
    meanEma: finalEma,
  });
  const chaotic = noiseFloorLines('fp32-ulp', 'fp32', gap(-0.071)).join('\n');
  assert.match(
    chaotic,
    /moves this run's end by -7\.10%: above the 0\.25% target, so no precision \(fp32 included\) can be judged/,
  );
  const calm = noiseFloorLines('fp32-ulp', 'fp32', gap(3e-6)).join('\n');
  assert.match(calm, /moves this run's end by \+0\.000%: below the 0\.25% target/);
  assert.match(
    noiseFloorLines('fp32-ulp', 'fp32', gap(0.0025)).join('\n'),
    /above the 0\.25% target/,
    'the boundary counts as above',
  );
});

test('r1ts experiment fp8: flag errors are one line that names the flag', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'experiment', 'fp8', ...args], {
      encoding: 'utf8',
      env: { ...process.env, R1TS_BACKEND: 'ts' },
    });
  for (const [args, msg] of [
    [['--steps', '0'], /--steps must be an integer in \[1, 10000000\], got '0'/],
    [['--baseline', 'fp16'], /--baseline must be one of fp32, bf16, got 'fp16'/],
    [['--promote-every', '96'], /--promote-every must divide the 128-wide scale tiles, got 96/],
    [['--scale-fmt', 'e8'], /--scale-fmt must be one of fp32, ue8m0/],
    [['--preset', 'tiny', '--batch', '4'], /--batch does not apply with --preset/],
    [['--seeds', '0'], /--seeds must be an integer in \[1, 1000\], got '0'/],
    [['--seeds', '2.5'], /--seeds must be an integer in \[1, 1000\], got '2.5'/],
    [['--workers', '2'], /--workers needs --preset/],
    [
      ['--preset', 'tiny', '--workers', 'two', '--out', '/nonexistent/x'],
      /--workers must be 'auto' or an integer in \[1, 256\], got 'two'/,
    ],
    [['--preset', 'tiny', '--no-special-cases'], /--no-special-cases does not apply with --preset/],
    [
      ['--preset', 'huge'],
      /--preset must be one of tiny, tiny-general, small, student, student-llama, micro, got 'huge'/,
    ],
  ] as const) {
    const r = cli(...args);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, msg);
  }
});
