// Packed samples: a row holding several samples (segments) computes what each sample computes alone: the logits of
// every token, the main loss and DeepSeek-V3's MTP loss (which must not read across a sample boundary).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createModel, type CausalLM } from '../../src/models/index.js';
import { segmentLayout } from '../../src/models/packing.js';
import { Tensor, noGrad } from '../../src/tensor/tensor.js';
import { tinyDeepseek, tinyDense } from './helpers.js';

const samples = [
  [5, 9, 2, 7, 1],
  [3, 3, 8],
  [11, 4, 6, 2, 9, 1, 7],
];

function ids(rows: number[][]): Tensor {
  return new Tensor(Int32Array.from(rows.flat()), [rows.length, rows[0].length], 'int32');
}

/** Next-token targets of one sample: ids[1..], then -100 (its last token predicts nothing). */
function targetsOf(s: number[]): number[] {
  return [...s.slice(1), -100];
}

const families: [string, () => CausalLM][] = [
  ['deepseek (MTP, MoE, q_lora)', () => createModel(tinyDeepseek(), { seed: 3, initStd: 0.2 })],
  [
    'deepseek (absorbed attention)',
    () => createModel(tinyDeepseek({ num_nextn_predict_layers: 0 }), { seed: 4, initStd: 0.2 }),
  ],
  ['dense', () => createModel(tinyDense(), { seed: 5, initStd: 0.2 })],
];

describe('packed samples', () => {
  it('segmentLayout: first keys and positions; a sample that is not contiguous is an error', () => {
    const seg = new Tensor(Int32Array.from([0, 0, 1, 1, 1, 2, 7, 7, 7, 7, 8, 8]), [2, 6], 'int32');
    const l = segmentLayout(seg, 2, 6);
    assert.deepEqual([...l.keyStart.data], [0, 0, 2, 2, 2, 5, 0, 0, 0, 0, 4, 4]);
    assert.deepEqual([...l.positions], [0, 1, 0, 1, 2, 0, 0, 1, 2, 3, 0, 1]);
    assert.throws(
      () => segmentLayout(new Tensor(Int32Array.from([0, 1, 0]), [1, 3], 'int32'), 1, 3),
      /row 0: sample 0 is not contiguous \(again at 2\)/,
    );
    assert.throws(() => segmentLayout(seg, 1, 12), /segments must be int32 \(1, 12\)/);
  });

  for (const [name, make] of families) {
    it(`${name}: a packed row gives each sample's logits and losses alone`, () => {
      const m = make();
      const attnImpl = name.includes('absorbed') ? ('absorb' as const) : undefined;
      const packedIds = ids([samples.flat()]);
      const seg = new Tensor(
        Int32Array.from(samples.flatMap((s, i) => s.map(() => i))),
        [1, packedIds.shape[1]],
        'int32',
      );
      const packedTargets = ids([samples.flatMap(targetsOf)]);
      const packed = noGrad(() => m.computeLoss(packedIds, packedTargets, { segments: seg, attnImpl } as never));
      const V = m.config.vocab_size;
      let at = 0;
      let mainSum = 0;
      let mainN = 0;
      let mtpSum = 0;
      let mtpN = 0;
      for (const s of samples) {
        const alone = noGrad(() => m.computeLoss(ids([s]), ids([targetsOf(s)]), { attnImpl } as never));
        for (let i = 0; i < s.length * V; i++) {
          const a = alone.logits.data[i];
          const p = packed.logits.data[at * V + i];
          assert.ok(Math.abs(a - p) < 1e-5, `logit ${i} of the sample at ${at}: ${p} packed vs ${a} alone`);
        }
        mainSum += alone.mainLoss * (s.length - 1);
        mainN += s.length - 1;
        if (alone.mtpLosses.length) {
          mtpSum += alone.mtpLosses[0] * (s.length - 2);
          mtpN += s.length - 2;
        }
        at += s.length;
      }
      assert.ok(Math.abs(packed.mainLoss - mainSum / mainN) < 1e-5, `main ${packed.mainLoss} vs ${mainSum / mainN}`);
      assert.equal(packed.mtpLosses.length > 0, mtpN > 0);
      if (mtpN)
        assert.ok(
          Math.abs(packed.mtpLosses[0] - mtpSum / mtpN) < 1e-5,
          `mtp ${packed.mtpLosses[0]} vs ${mtpSum / mtpN}`,
        );
      // without segments the later samples see the earlier ones: the logits differ
      const crossed = noGrad(() => m.forward(packedIds).logits);
      let diff = 0;
      for (let i = samples[0].length * V; i < crossed.size; i++)
        diff = Math.max(diff, Math.abs(crossed.data[i] - packed.logits.data[i]));
      assert.ok(diff > 1e-3);
    });
  }

  it('segments with a cache are refused', () => {
    for (const [, make] of families) {
      const m = make();
      const x = ids([[1, 2]]);
      assert.throws(
        () => m.forward(x, { cache: m.createCache(), segments: ids([[0, 0]]) }),
        /packed segments are for training/,
      );
    }
  });
});
