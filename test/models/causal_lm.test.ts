// The CausalLM seam: a third model family, written here against the interface alone, trains with the pre-training
// loop, generates with both engines, gives GRPO's log-probs and runs GRPO, without any change to src/train, src/infer
// or src/rl. Also the KV-cache contract (select / expand) of the built-in families.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Module } from '../../src/nn/module.js';
import { Embedding } from '../../src/nn/layers.js';
import { Generator } from '../../src/tensor/random.js';
import { Tensor, noGrad } from '../../src/tensor/tensor.js';
import { add, crossEntropy, embedding, narrow } from '../../src/tensor/ops/index.js';
import {
  createModel,
  familyOf,
  registerModelFamily,
  type AfterStepResult,
  type CausalLM,
  type CausalLMForwardOptions,
  type CausalLMOutput,
  type KVCache,
  type LossOptions,
  type LossResult,
  type ModelConfig,
} from '../../src/models/index.js';
import { createModelRunner, generate } from '../../src/infer/generate.js';
import { CharCodec } from '../../src/infer/codec.js';
import { packedLogProbs, sharedPromptLogProbs } from '../../src/rl/logprobs.js';
import { train, DEFAULT_TRAIN_CONFIG } from '../../src/train/trainer.js';
import { runGrpo } from '../../src/rl/trainer.js';
import { resolveGrpoConfig } from '../../src/rl/config.js';
import type { ProblemSource } from '../../src/rl/problems.js';
import { ToySource } from '../train/fixtures.js';
import { tinyDeepseek, tinyDense } from './helpers.js';

/** The cache of PrevTokenLM: the last token of each row (-1 before any). */
class PrevCache implements KVCache {
  length = 0;
  prev: Int32Array = new Int32Array(0);
  get rows(): number {
    return this.prev.length;
  }
  select(rows: readonly number[]): void {
    this.prev = Int32Array.from(rows, (r) => this.prev[r]);
  }
  expand(n: number): void {
    assert.equal(this.prev.length, 1, 'expand copies a one-row cache');
    this.prev = new Int32Array(n).fill(this.prev[0]);
  }
  valuesPerToken(): number {
    return 0;
  }
}

/**
 * A third family: logits = A[token] + B[previous token] (B's last row stands for "no previous token"). It reuses a
 * dense config only for its sizes; what matters is that nothing outside this file knows the class.
 */
class PrevTokenLM extends Module implements CausalLM {
  readonly a: Embedding;
  readonly b: Embedding;
  constructor(
    readonly config: ModelConfig,
    seed = 0,
  ) {
    super();
    const V = config.vocab_size;
    const init = { std: 0.5, generator: new Generator(seed) };
    this.a = this.child('a', new Embedding(V, V, init));
    this.b = this.child('b', new Embedding(V + 1, V, init));
  }
  forward(ids: Tensor, opts: CausalLMForwardOptions = {}): CausalLMOutput {
    const [B, T] = ids.shape;
    const V = this.config.vocab_size;
    const cache = opts.cache as PrevCache | undefined;
    const prev = new Int32Array(B * T);
    for (let r = 0; r < B; r++) {
      for (let t = 0; t < T; t++) {
        const p = t > 0 ? ids.data[r * T + t - 1] : cache && cache.length > 0 ? cache.prev[r] : V;
        prev[r * T + t] = p;
      }
    }
    if (cache) {
      cache.prev = Int32Array.from({ length: B }, (_, r) => ids.data[r * T + T - 1]);
      cache.length += T;
    }
    const logits = add(this.a.forward(ids), embedding(this.b.weight, new Tensor(prev, [B, T], 'int32')));
    return { logits, hidden: logits, normed: logits };
  }
  computeLoss(ids: Tensor, targets: Tensor, opts: LossOptions = {}): LossResult {
    const { logits } = this.forward(ids);
    const loss = crossEntropy(logits, targets, { ignoreIndex: opts.ignoreIndex ?? -100 });
    return { loss, mainLoss: loss.item(), mtpLosses: [], balanceLoss: 0, logits };
  }
  createCache(): KVCache {
    return new PrevCache();
  }
  hfName(name: string): string {
    return `model.${name}`;
  }
  afterStep(): AfterStepResult {
    return { imbalance: null };
  }
  takeStepCounters(): Float64Array[] {
    return [];
  }
  addStepCounters(): void {}
}

const toyConfigs = new WeakSet<object>();
registerModelFamily({
  name: 'prev-token (test)',
  matches: (c) => toyConfigs.has(c),
  create: (c, o) => new PrevTokenLM(c, o.seed),
});

function toyConfig(V = 16): ModelConfig {
  const c = tinyDense({ vocab_size: V });
  toyConfigs.add(c);
  return c;
}

describe('CausalLM: a third model family needs no change to trainers, generation or GRPO', () => {
  it('createModel builds it through the family table', () => {
    const c = toyConfig();
    assert.equal(familyOf(c).name, 'prev-token (test)');
    assert.ok(createModel(c) instanceof PrevTokenLM);
    assert.equal(familyOf(tinyDense()).name, 'dense');
  });

  it('the pre-training loop trains it (loss falls), with checkpoints', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r1ts-third-'));
    try {
      const model = createModel(toyConfig(), { seed: 1 });
      const r = await train({
        outDir: dir,
        model,
        train: new ToySource(1, 12, 16),
        config: {
          ...DEFAULT_TRAIN_CONFIG,
          steps: 30,
          seqLen: 12,
          batchStart: 8,
          batchEnd: 8,
          microBatch: 4,
          peakLr: 0.05,
          warmupSteps: 2,
          checkpointEvery: 10,
        },
        log: () => {},
      });
      assert.equal(r.steps, 30);
      const first = r.history[0].mainLoss;
      assert.ok(r.finalLoss < 0.6 * first, `loss ${first} -> ${r.finalLoss}`);
      assert.ok(r.history.every((h) => h.imbalance === null));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('generates: both engines give the same tokens (no fast decoder: the forward runs)', () => {
    const m = createModel(toyConfig(), { seed: 2 });
    const prompts = [[1, 2, 3], [4], [1, 2, 3], [7, 8]];
    const a = generate(m, prompts, { maxTokens: 6, temperature: 1, seed: 5, engine: 'fast' });
    const b = generate(m, prompts, { maxTokens: 6, temperature: 1, seed: 5, engine: 'model' });
    assert.deepEqual(
      a.map((g) => g.tokens),
      b.map((g) => g.tokens),
    );
    // each row alone gives what it gives in the batch (select() kept the right rows)
    prompts.forEach((p, i) => {
      const [alone] = generate(m, [p], { maxTokens: 6, temperature: 1, seed: 5, firstRow: i });
      assert.deepEqual(alone.tokens, a[i].tokens, `row ${i}`);
    });
  });

  it("GRPO's shared-prompt log-probs equal the packed ones, and a GRPO run trains it", () => {
    const m = createModel(toyConfig(), { seed: 3 });
    const prompt = [3, 9, 4];
    const responses = [[1, 2, 3, 4], [5], [6, 6]];
    const pk = packedLogProbs(
      m,
      responses.map((r) => ({ prompt, response: r })),
    );
    const sh = sharedPromptLogProbs(m, prompt, responses);
    for (let i = 0; i < pk.logp.size; i++) assert.ok(Math.abs(pk.logp.data[i] - sh.logp.data[i]) < 1e-6, `logp ${i}`);

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r1ts-third-grpo-'));
    try {
      const codec = new CharCodec('abcdefghij<>/ \n');
      const policy = createModel(toyConfig(codec.vocabSize), { seed: 4 });
      // reward: the response starts with 'a'
      const source: ProblemSource = {
        name: 'first-a',
        size: 1000,
        at: (i) => ({ id: String(i), question: 'b', answer: 'a', check: (x) => x === 'a' }),
      };
      const config = resolveGrpoConfig({
        steps: 3,
        groupSize: 4,
        promptsPerStep: 2,
        maxTokens: 4,
        lr: 0.05,
        rewards: { first: 1 },
        sanityPrompts: 0,
        template: '{prompt}',
        checkpointEvery: 3,
      });
      const r = runGrpo({
        outDir: dir,
        policy,
        codec,
        source,
        config,
        userRewards: { first: (x) => (x.response.startsWith('a') ? 1 : 0) },
        log: () => {},
      });
      assert.equal(r.steps, 3);
      assert.ok(fs.existsSync(path.join(dir, 'checkpoints')));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('KVCache contract of the built-in families', () => {
  for (const [name, make] of [
    ['deepseek', () => createModel(tinyDeepseek({ num_nextn_predict_layers: 0 }), { seed: 3, initStd: 0.2 })],
    ['dense', () => createModel(tinyDense(), { seed: 5, initStd: 0.2 })],
  ] as const) {
    it(`${name}: select(rows) keeps those rows; expand(n) copies one row; length and rows track the batch`, () => {
      const m = make().eval();
      const ids = new Tensor(Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), [3, 3], 'int32');
      const cache = m.createCache();
      assert.equal(cache.rows, 0);
      noGrad(() => m.forward(ids, { cache }));
      assert.equal(cache.length, 3);
      assert.equal(cache.rows, 3);
      assert.ok(cache.valuesPerToken() > 0);
      cache.select([2, 0]);
      assert.equal(cache.rows, 2);
      const next = new Tensor(Int32Array.from([10, 11]), [2, 1], 'int32');
      const stepped = noGrad(() => m.forward(next, { cache }).logits);
      // the reference: rows 2 and 0 run from scratch
      const full = new Tensor(Int32Array.from([7, 8, 9, 10, 1, 2, 3, 11]), [2, 4], 'int32');
      const ref = noGrad(() => narrow(m.forward(full).logits, 1, 3, 1));
      for (let i = 0; i < ref.size; i++) assert.ok(Math.abs(ref.data[i] - stepped.data[i]) < 1e-5, `logit ${i}`);

      const one = m.createCache();
      noGrad(() => m.forward(narrow(ids, 0, 1, 1), { cache: one }));
      one.expand(2);
      assert.equal(one.rows, 2);
      const two = noGrad(
        () => m.forward(new Tensor(Int32Array.from([12, 13]), [2, 1], 'int32'), { cache: one }).logits,
      );
      const refTwo = noGrad(() => {
        const x = new Tensor(Int32Array.from([4, 5, 6, 12, 4, 5, 6, 13]), [2, 4], 'int32');
        return narrow(m.forward(x).logits, 1, 3, 1);
      });
      for (let i = 0; i < refTwo.size; i++) assert.ok(Math.abs(refTwo.data[i] - two.data[i]) < 1e-5, `expanded ${i}`);
    });
  }

  it('a cache from another family is refused, naming it', () => {
    const ds = createModel(tinyDeepseek({ num_nextn_predict_layers: 0 }));
    const dense = createModel(tinyDense());
    assert.throws(
      () => ds.forward(new Tensor(Int32Array.of(1), [1, 1], 'int32'), { cache: dense.createCache() }),
      /DeepseekV3\.forward: the cache must come from this model family/,
    );
    assert.throws(
      () => dense.forward(new Tensor(Int32Array.of(1), [1, 1], 'int32'), { cache: ds.createCache() }),
      /DenseLM\.forward: the cache must come from this model family/,
    );
  });

  it('the model runner is the forward with a cache', () => {
    const m = createModel(tinyDense(), { seed: 1, initStd: 0.2 }).eval();
    const r = createModelRunner(m);
    const a = r.feed(Int32Array.from([1, 2, 3]), 1, 3);
    const ref = noGrad(() => m.forward(new Tensor(Int32Array.from([1, 2, 3]), [1, 3], 'int32')).logits);
    const V = m.config.vocab_size;
    for (let v = 0; v < V; v++) assert.ok(Math.abs(a[v] - ref.data[2 * V + v]) < 1e-6);
  });
});
