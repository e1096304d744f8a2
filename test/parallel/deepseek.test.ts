/**
 * The tiny DeepSeek-V3 through the pipeline engine (worker threads) against single-process training: for each schedule
 * the pipeline's loss and every parameter gradient must equal `DeepseekV3.computeLoss` (main loss: no MTP, no balance
 * loss) run on the same micro-batches in one thread, with its parameters loaded from the trainer. float32: the forward
 * passes are the same kernels on the same inputs, only the order in which micro-batch gradients are summed differs, so
 * we require |Δloss| <= 1e-6·|loss| and, per tensor, max |Δg| <= 1e-5 · max |g_ref|. Observed: 1F1B, ZB1P and DualPipeV
 * bit-identical to the reference (same summation order); DualPipe (mirrored copies summed) <= 1.7e-7 · max |g_ref|.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import { Generator } from '../../src/tensor/random.js';
import { mul } from '../../src/tensor/ops/elementwise.js';
import { parseConfig, type DeepseekConfig } from '../../src/models/config.js';
import { DeepseekV3 } from '../../src/models/deepseek_v3.js';
import type { Method } from '../../src/parallel/schedule.js';
import { PipelineTrainer, type StageTensors } from '../../src/parallel/engine.js';
import { deepseekModelSpec, pipelineModel, stageLayers } from '../../src/parallel/deepseek_stages.js';

/** 4 layers (the first dense), 4 experts in 2 groups, top-2, q_lora off, no MTP layer; float32. */
const RAW = {
  model_type: 'deepseek_v3',
  vocab_size: 32,
  hidden_size: 16,
  intermediate_size: 24,
  moe_intermediate_size: 8,
  num_hidden_layers: 4,
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
  max_position_embeddings: 64,
};
const SEED = 5;
const T = 6;
const ROWS_PER_MB = 2;

function batch(rows: number, seed: number): { ids: Tensor; targets: Tensor } {
  const g = new Generator(seed);
  const all = g.integers(rows * (T + 1), 0, RAW.vocab_size);
  const ids = new Int32Array(rows * T);
  const tg = new Int32Array(rows * T);
  for (let r = 0; r < rows; r++) {
    for (let t = 0; t < T; t++) {
      ids[r * T + t] = all[r * (T + 1) + t];
      tg[r * T + t] = all[r * (T + 1) + t + 1];
    }
  }
  return { ids: new Tensor(ids, [rows, T], 'int32'), targets: new Tensor(tg, [rows, T], 'int32') };
}

/** Single process: computeLoss (main loss) on each micro-batch, gradients of the mean over micro-batches. */
function reference(
  params: Map<string, Tensor>,
  ids: Tensor,
  targets: Tensor,
  n: number,
): { loss: number; grads: Map<string, Tensor> } {
  const model = new DeepseekV3(parseConfig(RAW).config as DeepseekConfig, { seed: SEED });
  model.loadStateDict(params, { strict: false });
  const rows = ids.shape[0] / n;
  let loss = 0;
  for (let m = 0; m < n; m++) {
    const slice = (t: Tensor): Tensor => new Tensor(t.data.slice(m * rows * T, (m + 1) * rows * T), [rows, T], 'int32');
    const r = model.computeLoss(slice(ids), slice(targets), { balanceAlpha: 0, mtpLambda: 0 });
    mul(r.loss, 1 / n).backward();
    loss += r.mainLoss / n;
  }
  const grads = new Map(
    model
      .namedParameters()
      .map(([k, p]): [string, Tensor] => [k, p.grad ?? new Tensor(new Float32Array(p.size), p.shape, p.dtype)]),
  );
  return { loss, grads };
}

function merge(stages: StageTensors[]): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const s of stages)
    for (const [k, t] of s) {
      assert.ok(!out.has(k), `${k} is on two stages`);
      out.set(k, t);
    }
  return out;
}

/** Every reference gradient has a pipeline twin within tol·max|ref|; on failure, names the worst tensor. */
function compareGrads(got: Map<string, Tensor>, ref: Map<string, Tensor>, tol: number): void {
  assert.deepEqual([...got.keys()].sort(), [...ref.keys()].sort(), 'parameter names');
  let worst = { name: '', ratio: 0, diff: 0, max: 0 };
  for (const [name, r] of ref) {
    const g = got.get(name)!;
    assert.deepEqual(g.shape, r.shape, `${name} shape`);
    let diff = 0;
    let max = 0;
    for (let i = 0; i < r.size; i++) {
      diff = Math.max(diff, Math.abs(g.data[i] - r.data[i]));
      max = Math.max(max, Math.abs(r.data[i]));
    }
    const ratio = max > 0 ? diff / max : diff > 0 ? Infinity : 0;
    if (ratio >= worst.ratio) worst = { name, ratio, diff, max };
  }
  assert.ok(
    worst.ratio <= tol,
    `worst gradient ${worst.name}: max |Δ| ${worst.diff} vs max |ref| ${worst.max} (ratio ${worst.ratio} > ${tol})`,
  );
}

const cases: [Method, number, number][] = [
  ['1f1b', 4, 4],
  ['zb1p', 2, 4],
  ['dualpipe', 2, 4],
  ['dualpipe', 4, 8],
  ['dualpipev', 4, 4],
];

describe('DeepSeek-V3 pipeline stages vs single-process computeLoss (float32)', () => {
  const open: PipelineTrainer[] = [];
  after(async () => {
    await Promise.all(open.map((t) => t.close()));
  });

  it('splits layers contiguously and evenly; rejects bad configs', () => {
    assert.deepEqual(
      [0, 1, 2, 3].map((s) => stageLayers(4, s, 4)),
      [[0], [1], [2], [3]],
    );
    assert.deepEqual(
      [0, 1].map((s) => stageLayers(5, s, 2)),
      [
        [0, 1],
        [2, 3, 4],
      ],
    );
    assert.deepEqual(
      [0, 1, 2, 3].map((s) => stageLayers(2, s, 4)),
      [[], [0], [], [1]],
    );
    assert.throws(() => pipelineModel({ config: { ...RAW, tie_word_embeddings: true } }), /tie_word_embeddings/);
    assert.throws(() => pipelineModel({ config: { ...RAW, model_type: 'qwen2' } }), /deepseek_v3/);
    // Stage parameters are the full model's, each on exactly one stage, initialised from the seed.
    const pm = pipelineModel({ config: RAW, seed: SEED });
    const full = new DeepseekV3(parseConfig(RAW).config as DeepseekConfig, { seed: SEED });
    const merged = merge([0, 1, 2].map((s) => new Map(pm.buildStage(s, 3).namedParameters())));
    assert.deepEqual(
      [...merged.keys()].sort(),
      full
        .namedParameters()
        .map(([k]) => k)
        .sort(),
    );
    for (const [k, p] of full.namedParameters())
      assert.ok(
        p.data.every((v, i) => Object.is(v, merged.get(k)!.data[i])),
        `${k} differs from the seeded model`,
      );
  });

  for (const [method, pp, n] of cases) {
    it(`${method}, PP=${pp}, ${n} micro-batches: loss and every gradient equal computeLoss`, async () => {
      const spec = deepseekModelSpec({ config: RAW, seed: SEED });
      const trainer = await PipelineTrainer.create({ method, pp, microBatches: n, model: spec });
      open.push(trainer);
      const params = merge((await trainer.parameters()).stages);
      const { ids, targets } = batch(n * ROWS_PER_MB, 11);
      const r = await trainer.step(ids, targets);
      const ref = reference(params, ids, targets, n);
      assert.ok(Math.abs(r.loss - ref.loss) <= 1e-6 * Math.abs(ref.loss), `loss ${r.loss} vs ${ref.loss}`);
      compareGrads(merge((await trainer.gradients()).stages), ref.grads, 1e-5);
      await trainer.close();
    });
  }

  it('PP larger than the layer count: empty middle stages pass the hidden state through (1F1B, 2 layers, PP=4)', async () => {
    const raw = { ...RAW, num_hidden_layers: 2 };
    const spec = deepseekModelSpec({ config: raw, seed: SEED });
    const trainer = await PipelineTrainer.create({ method: '1f1b', pp: 4, microBatches: 4, model: spec });
    open.push(trainer);
    const params = merge((await trainer.parameters()).stages);
    const { ids, targets } = batch(4 * ROWS_PER_MB, 12);
    const r = await trainer.step(ids, targets);
    const model = new DeepseekV3(parseConfig(raw).config as DeepseekConfig, { seed: SEED });
    model.loadStateDict(params, { strict: false });
    let loss = 0;
    for (let m = 0; m < 4; m++) {
      const rows = ROWS_PER_MB;
      const slice = (t: Tensor): Tensor =>
        new Tensor(t.data.slice(m * rows * T, (m + 1) * rows * T), [rows, T], 'int32');
      const res = model.computeLoss(slice(ids), slice(targets), { balanceAlpha: 0 });
      mul(res.loss, 1 / 4).backward();
      loss += res.mainLoss / 4;
    }
    assert.ok(Math.abs(r.loss - loss) <= 1e-6 * Math.abs(loss), `loss ${r.loss} vs ${loss}`);
    const ref = new Map(
      model
        .namedParameters()
        .map(([k, p]): [string, Tensor] => [k, p.grad ?? new Tensor(new Float32Array(p.size), p.shape, p.dtype)]),
    );
    compareGrads(merge((await trainer.gradients()).stages), ref, 1e-5);
    await trainer.close();
  });
});
