/**
 * Golden tests: r1ts's DeepSeek-V3 and Qwen2 models against tensors computed independently with PyTorch
 * (test/fixtures/models/make_golden.py, float64 reference stored as float32). Weights come from the fixture under
 * Hugging Face names, so the name table and the safetensors reader are exercised too.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { goldenDiff } from '../helpers/util.js';
import { loadSafetensors } from '../../src/io/safetensors.js';
import { loadModelDir } from '../../src/io/model_dir.js';
import { toHFName } from '../../src/io/hf.js';
import { DeepseekV3, type CausalLM } from '../../src/models/index.js';

const DIR = 'test/fixtures/models';

function runGolden(name: string, rtolGrad: number): void {
  const { model } = loadModelDir(`${DIR}/${name}`);
  const g = loadSafetensors(`${DIR}/${name}/golden.safetensors`);
  const ids = g.get('input_ids')!;
  const targets = g.get('targets')!;
  const alpha = g.get('balance_alpha')?.item() ?? 0;
  const lambda = g.get('mtp_lambda')?.item() ?? 0.3;
  const ds =
    model instanceof DeepseekV3 ? model.computeLoss(ids, targets, { balanceAlpha: alpha, mtpLambda: lambda }) : null;
  const res = ds ?? (model as CausalLM).computeLoss(ids, targets);
  res.loss.backward();
  const failures: string[] = [];
  const push = (f: string | null) => f && failures.push(f);
  push(goldenDiff('logits', res.logits, g.get('logits')!, 1e-5));
  push(goldenDiff('loss', [res.loss.item()], g.get('loss')!, 1e-5));
  push(goldenDiff('main_loss', [res.mainLoss], g.get('main_loss') ?? g.get('loss')!, 1e-5));
  if (ds) {
    push(goldenDiff('mtp_loss', [ds.mtpLosses[0]], g.get('mtp_loss')!, 1e-5));
    push(goldenDiff('balance_loss', [ds.balanceLoss], g.get('balance_loss')!, 1e-4));
  }
  let checked = 0;
  for (const [n, p] of model.namedParameters()) {
    const ref = g.get(`grad.${toHFName(n, model.config)}`);
    assert.ok(ref, `fixture has no gradient for ${n}`);
    assert.ok(p.grad, `no gradient for ${n}`);
    push(goldenDiff(`grad ${n}`, p.grad, ref, rtolGrad));
    checked++;
  }
  assert.ok(checked > 20);
  assert.deepEqual(failures, [], failures.join('\n'));
}

describe('golden tensors (independent PyTorch reference)', () => {
  it('tiny DeepSeek-V3 (dense layer first, 8 experts in 2 groups, q_lora, MTP, balance loss): logits, losses, every gradient', () => {
    runGolden('tiny-deepseek-v3', 1e-4);
  });
  it('tiny Qwen2 (GQA, q/k/v bias): logits, loss, every gradient', () => {
    runGolden('tiny-qwen2', 1e-4);
  });
});
