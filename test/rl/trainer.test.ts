import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveGrpoConfig, type GrpoConfig } from '../../src/rl/config.js';
import {
  runGrpo,
  sanityCheck,
  configuredRewards,
  responseMask,
  stepWarnings,
  type GrpoStepMetrics,
} from '../../src/rl/trainer.js';
import { loadSafetensors } from '../../src/io/safetensors.js';
import { listCheckpoints } from '../../src/train/checkpoint.js';
import { loadModelDir } from '../../src/io/model_dir.js';
import { createModel } from '../../src/models/index.js';
import { emitX, toyCodec, toyModel, toySource } from './helpers.js';

const toyConfig = (over: Partial<GrpoConfig> = {}): GrpoConfig =>
  resolveGrpoConfig({
    steps: 12,
    groupSize: 8,
    promptsPerStep: 4,
    maxTokens: 8,
    lr: 3e-2,
    beta: 0,
    template: '{prompt}:',
    stop: [],
    rewards: { x: 1 },
    sanityPrompts: 0,
    checkpointEvery: 100,
    ...over,
  });

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'r1ts-grpo-'));
}

describe('GRPO loop', () => {
  it('raises the reward of an easy task (emit "x") within a few seconds, DeepSeek-V3 tiny model', () => {
    const dir = tmp();
    try {
      const lines: string[] = [];
      const r = runGrpo({
        outDir: dir,
        policy: toyModel('deepseek'),
        codec: toyCodec,
        source: toySource,
        config: toyConfig(),
        userRewards: { x: emitX },
        log: (l) => lines.push(l),
      });
      const first = r.history.slice(0, 2).reduce((s, m) => s + m.reward, 0) / 2;
      const last = r.history.slice(-2).reduce((s, m) => s + m.reward, 0) / 2;
      assert.ok(first < 0.2, `initial reward ${first}`);
      assert.ok(
        last > 0.6,
        `final reward ${last} (from ${first}): ${r.history.map((m) => m.reward.toFixed(2)).join(' ')}`,
      );
      // one readable line per step, metrics.jsonl with the same steps
      assert.equal(lines.filter((l) => l.startsWith('step ')).length, 12);
      const jsonl = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as GrpoStepMetrics);
      assert.deepEqual(
        jsonl.map((m) => m.step),
        Array.from({ length: 12 }, (_, i) => i + 1),
      );
      for (const k of [
        'reward',
        'rewards',
        'accuracy',
        'formatRate',
        'truncationRate',
        'responseLength',
        'kl',
        'clipFrac',
        'entropy',
        'msGeneration',
        'msTraining',
        'gradNorm',
        'signalGroups',
      ]) {
        assert.ok(k in jsonl[0], `metrics.jsonl lacks ${k}`);
      }
      assert.ok(existsSync(join(dir, 'model', 'config.json')) && existsSync(join(dir, 'model', 'model.safetensors')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('resumes exactly: 2 steps + resume to 4 equals 4 steps straight (with a reference model, mu 2, 2 mini-batches)', () => {
    const a = tmp();
    const b = tmp();
    try {
      const cfg = (steps: number) =>
        toyConfig({
          steps,
          groupSize: 4,
          promptsPerStep: 2,
          maxTokens: 6,
          beta: 0.05,
          mu: 2,
          miniBatches: 2,
          checkpointEvery: 1,
          refResetEvery: 3,
        });
      const quiet = () => {};
      runGrpo({
        outDir: a,
        policy: toyModel('dense'),
        codec: toyCodec,
        source: toySource,
        config: cfg(4),
        userRewards: { x: emitX },
        log: quiet,
      });
      runGrpo({
        outDir: b,
        policy: toyModel('dense'),
        codec: toyCodec,
        source: toySource,
        config: cfg(2),
        userRewards: { x: emitX },
        log: quiet,
      });
      const fresh = toyModel('dense', 99); // different init: everything must come from the checkpoint
      runGrpo({
        outDir: b,
        policy: fresh,
        codec: toyCodec,
        source: toySource,
        config: cfg(4),
        userRewards: { x: emitX },
        resume: true,
        log: quiet,
      });
      const wa = loadModelDir(join(a, 'model')).model.stateDict();
      const wb = loadModelDir(join(b, 'model')).model.stateDict();
      for (const [k, t] of wa) assert.deepEqual(wb.get(k)!.data, t.data, k);
      const ma = readFileSync(join(a, 'metrics.jsonl'), 'utf8')
        .split('\n')
        .map((l) => l && JSON.parse(l).reward);
      const mb = readFileSync(join(b, 'metrics.jsonl'), 'utf8')
        .split('\n')
        .map((l) => l && JSON.parse(l).reward);
      assert.deepEqual(mb, ma);
      // the checkpoint holds the policy and the reference, and the reference was reset after step 3
      const last = listCheckpoints(join(a, 'checkpoints')).pop()!;
      const t = loadSafetensors(join(last.dir, 'model.safetensors'));
      assert.ok([...t.keys()].some((k) => k.startsWith('ref.')));
      const at3 = listCheckpoints(join(b, 'checkpoints')).find((c) => c.step === 3);
      assert.ok(at3, 'checkpoint of step 3 kept');
      const step3 = loadSafetensors(join(at3.dir, 'model.safetensors'));
      for (const [k, v] of step3)
        if (k.startsWith('policy.'))
          assert.deepEqual(
            step3.get('ref.' + k.slice(7))!.data,
            v.data,
            `reference = policy after the reset at step 3: ${k}`,
          );
      assert.throws(
        () =>
          runGrpo({
            outDir: b,
            policy: toyModel('dense'),
            codec: toyCodec,
            source: toySource,
            config: { ...cfg(5), groupSize: 2 },
            resume: true,
            userRewards: { x: emitX },
            log: quiet,
          }),
        /grpo --resume: --group-size is 2 but the run used 4 \(it cannot change on resume/,
      );
    } finally {
      rmSync(a, { recursive: true, force: true });
      rmSync(b, { recursive: true, force: true });
    }
  });

  it('samples at temperature 0.7 are scored at 0.7 by the policy and the reference alike: the first update has KL 0', () => {
    const dir = tmp();
    try {
      // the policy equals the reference at its first update, so a temperature applied to one and not the other would
      // show as a KL here (test/rl/logprobs.test.ts checks the tempered values themselves)
      // peaked logits (a wide init), so that a distribution at 0.7 is far from the one at 1
      const policy = createModel(toyModel('dense').config, { seed: 1, initStd: 0.5 });
      const r = runGrpo({
        outDir: dir,
        policy,
        codec: toyCodec,
        source: toySource,
        config: toyConfig({ steps: 1, temperature: 0.7, beta: 0.01, checkpointEvery: 1 }),
        userRewards: { x: emitX },
        log: () => {},
      });
      const [m] = r.history;
      assert.ok(Math.abs(m.kl) < 1e-7, `kl ${m.kl}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps no reference model when beta is 0', () => {
    const dir = tmp();
    try {
      runGrpo({
        outDir: dir,
        policy: toyModel('dense'),
        codec: toyCodec,
        source: toySource,
        config: toyConfig({ steps: 1, checkpointEvery: 1 }),
        userRewards: { x: emitX },
        log: () => {},
      });
      const t = loadSafetensors(join(listCheckpoints(join(dir, 'checkpoints')).pop()!.dir, 'model.safetensors'));
      assert.ok(
        [...t.keys()].every((k) => k.startsWith('policy.')),
        'only policy tensors',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('warns of entropy collapse relative to the first step, of no signal and of truncation', () => {
    const m = (over: Partial<GrpoStepMetrics>) =>
      ({ signalGroups: 4, entropy: 0.05, truncationRate: 0, ...over }) as GrpoStepMetrics;
    assert.deepEqual(
      stepWarnings(m({}), 0, 0.08, 64),
      [],
      'halving from 0.08 (a healthy run on worked solutions) is no collapse',
    );
    const collapse = stepWarnings(m({ entropy: 0.019 }), 0, 0.08, 64);
    assert.equal(collapse.length, 1);
    assert.match(collapse[0][1], /entropy 0\.019 nats, down from 0\.080 at the first step: the policy is collapsing/);
    assert.deepEqual(stepWarnings(m({ entropy: 0.021 }), 0, 0.08, 64), []);
    assert.deepEqual(stepWarnings(m({ entropy: null }), 0, 0.08, 64), []);
    assert.deepEqual(stepWarnings(m({ signalGroups: 0, truncationRate: 0.75 }), 3, 0.05, 64), [
      ['signal', 'no group has reward variance (3 step(s) in a row): nothing to learn from'],
      ['length', '75.0% of responses truncated at 64 tokens'],
    ]);
  });

  it('the sanity check reports rates and warns when RL cannot start', () => {
    const m = toyModel('dense');
    const probs = [0, 1].map((i) => toySource.at(i));
    const never = sanityCheck(
      m,
      toyCodec,
      probs,
      toyConfig({ groupSize: 4 }),
      configuredRewards({ rewards: { zero: 1 }, language: 'en' }, { zero: () => 0 }),
    );
    assert.equal(never.signalGroups, 0);
    assert.equal(never.samples, 8);
    assert.ok(
      never.warnings.some((w) => w.startsWith('RL cannot start')),
      never.warnings.join('; '),
    );
    assert.ok(never.truncationRate > 0.5 && never.warnings.some((w) => /hit the 8-token budget/.test(w)));
    const first = sanityCheck(
      m,
      toyCodec,
      probs,
      toyConfig({ groupSize: 4 }),
      configuredRewards({ rewards: { first: 1 }, language: 'en' }, { first: (x) => x.response.charCodeAt(0) }),
    );
    assert.equal(first.signalGroups, 2);
    assert.ok(!first.warnings.some((w) => w.startsWith('RL cannot start')), first.warnings.join('; '));
    assert.equal(first.passRate, 0);
  });

  it('overlong responses: mask drops them from the loss, penalty lowers their reward', () => {
    const finish = ['eos', 'length', 'stop'] as const;
    assert.deepEqual(Array.from(responseMask(finish, [2, 3, 1], 3, 'none')), [1, 1, 0, 1, 1, 1, 1, 0, 0]);
    assert.deepEqual(Array.from(responseMask(finish, [2, 3, 1], 3, 'mask')), [1, 1, 0, 0, 0, 0, 1, 0, 0]);
    assert.deepEqual(Array.from(responseMask(finish, [2, 3, 1], 3, 'penalty')), [1, 1, 0, 1, 1, 1, 1, 0, 0]);
    const dir = tmp();
    try {
      const m: GrpoStepMetrics[] = [];
      runGrpo({
        outDir: dir,
        policy: toyModel('dense'),
        codec: toyCodec,
        source: toySource,
        config: toyConfig({ steps: 1, maxTokens: 3, overlong: 'penalty', overlongPenalty: -0.5 }),
        userRewards: { x: emitX },
        log: () => {},
        onStep: (s) => m.push(s),
      });
      assert.ok(m[0].truncationRate > 0);
      assert.ok(
        Math.abs(m[0].reward - (m[0].rewards.x - 0.5 * m[0].truncationRate)) < 1e-12,
        `${m[0].reward} vs ${m[0].rewards.x} - 0.5 * ${m[0].truncationRate}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
