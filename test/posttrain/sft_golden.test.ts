/**
 * Golden test of the SFT loss: four chat samples packed into two rows (several samples per row, one row padded) by
 * `buildBatch`, through `sftLoss` (block-diagonal attention, positions restarting, assistant-only targets, MTP masked
 * across samples, a row as the balance loss's sequence), against an independent PyTorch float64 computation
 * (test/fixtures/models/make_sft_golden.py) for a tiny DeepSeek-V3 and a tiny Qwen2: the packed tensors, the logits,
 * the losses and every parameter gradient.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Tensor } from '../../src/index.js';
import { toHFName } from '../../src/io/hf.js';
import { loadModelDir } from '../../src/io/model_dir.js';
import { loadSafetensors } from '../../src/io/safetensors.js';
import { type SftSample, buildBatch } from '../../src/posttrain/packing.js';
import { sftLoss } from '../../src/posttrain/sft.js';

const DIR = 'test/fixtures/models';
/** The rows of the fixture: samples 0, 1, 2 in row 0; sample 3 and padding in row 1 (make_sft_golden.py's LAYOUT). */
const LAYOUT = [[0, 1, 2], [3]];
const T = 10;

/** max |a - b| against rtol x max |b|; a message when it fails. */
function compare(what: string, actual: ArrayLike<number>, expected: Tensor, rtol: number): string | null {
  const b = expected.data;
  assert.equal(actual.length, b.length, `${what}: ${actual.length} values vs ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(actual[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num <= rtol * Math.max(den, 1e-6)
    ? null
    : `${what}: max |Δ| ${num.toExponential(3)} > ${rtol} x max |ref| ${den.toExponential(3)}`;
}

function runSftGolden(name: string): void {
  const { model } = loadModelDir(`${DIR}/${name}`);
  const g = loadSafetensors(`${DIR}/${name}/sft_golden.safetensors`);
  const samples: SftSample[] = LAYOUT.flat().map((i) => ({
    ids: Int32Array.from(g.get(`sample.${i}.ids`)!.data),
    loss: Uint8Array.from(g.get(`sample.${i}.loss`)!.data),
    where: `sample ${i}`,
  }));
  const batch = buildBatch(
    LAYOUT.map((row) => row.map((i) => samples[i])),
    T,
  );
  // the packing itself: the same inputs, targets and segments as the reference wrote from the layout rules
  assert.deepEqual([...batch.inputs.data], [...g.get('input_ids')!.data]);
  assert.deepEqual([...batch.targets.data], [...g.get('targets')!.data]);
  assert.deepEqual([...batch.segments.data], [...g.get('segments')!.data]);
  model.train();
  const r = sftLoss(model, batch, {
    mtpLambda: g.get('mtp_lambda')?.item() ?? 0,
    balanceAlpha: g.get('balance_alpha')?.item() ?? 0,
  });
  r.loss.backward();
  const failures: string[] = [];
  const push = (f: string | null) => f && failures.push(f);
  push(compare('logits', r.logits.data, g.get('logits')!, 1e-5));
  push(compare('loss', [r.loss.item()], g.get('loss')!, 1e-5));
  push(compare('main_loss', [r.mainLoss], g.get('main_loss')!, 1e-5));
  if (g.has('mtp_loss')) {
    push(compare('mtp_loss', r.mtpLosses, g.get('mtp_loss')!, 1e-5));
    push(compare('balance_loss', [r.balanceLoss], g.get('balance_loss')!, 1e-4));
  }
  let checked = 0;
  for (const [n, p] of model.namedParameters()) {
    const ref = g.get(`grad.${toHFName(n, model.config)}`);
    assert.ok(ref, `fixture has no gradient for ${n}`);
    push(compare(`grad ${n}`, p.grad?.data ?? new Float32Array(p.size), ref, 1e-4));
    checked++;
  }
  assert.ok(checked > 20, `${checked} gradients compared`);
  assert.deepEqual(failures, [], failures.join('\n'));
}

describe('SFT loss on a packed batch: golden tensors (independent PyTorch reference)', () => {
  it('tiny DeepSeek-V3 (MLA, MoE, MTP, balance loss): packed tensors, logits, losses, every gradient', () => {
    runSftGolden('tiny-deepseek-v3');
  });
  it('tiny Qwen2 (dense, GQA): packed tensors, logits, loss, every gradient', () => {
    runSftGolden('tiny-qwen2');
  });
});
