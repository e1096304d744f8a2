/**
 * Golden tests of the pairwise preference losses: the Bradley-Terry loss of a reward model and the DPO loss, with
 * their gradients, against tensors computed independently with PyTorch in float64 (test/fixtures/posttrain/
 * make_golden.py). PyTorch runs each sequence alone at its own length; r1ts pads the rows on the right in one batch.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { goldenDiff } from '../helpers/util.js';
import { loadSafetensors } from '../../src/io/safetensors.js';
import { loadModelDir } from '../../src/io/model_dir.js';
import { importStateDict, toHFName } from '../../src/io/hf.js';
import { Tokenizer } from '../../src/data/tokenizer.js';
import { narrow } from '../../src/tensor/ops/index.js';
import { noGrad, type Tensor } from '../../src/tensor/tensor.js';
import { RewardModel } from '../../src/posttrain/reward_model.js';
import { bradleyTerryLoss, dpoLoss } from '../../src/posttrain/pair_losses.js';
import { chatLogProbs } from '../../src/posttrain/dpo.js';
import type { TokenizedChat } from '../../src/posttrain/chat_data.js';

const DIR = 'test/fixtures/posttrain';
const LM = `${DIR}/tiny-qwen2-lm`;

const golden = loadSafetensors(`${DIR}/golden.safetensors`);
const get = (k: string): Tensor => {
  const t = golden.get(k);
  assert.ok(t, `the fixture has no ${k}`);
  return t;
};

describe('golden pairwise losses (independent PyTorch float64 reference)', () => {
  it('Bradley-Terry: the scores at each row’s last token, the loss, and every gradient of backbone and head', async () => {
    const { model: backbone } = loadModelDir(LM);
    const tok = await Tokenizer.train(['a reward model reads this'], { vocabSize: 270 });
    const rm = new RewardModel(backbone, tok);
    rm.head.weight.data.set(get('rm.score_weight').data);
    const last = Array.from(get('rm.last').data);
    const scores = rm.forward(get('rm.ids'), last); // (6,): 3 chosen rows, then 3 rejected
    const loss = bradleyTerryLoss(narrow(scores, 0, 0, 3), narrow(scores, 0, 3, 3));
    loss.backward();
    const failures: (string | null)[] = [
      goldenDiff('scores', scores.data, get('rm.scores'), 1e-5),
      goldenDiff('loss', [loss.item()], get('rm.loss'), 1e-5),
    ];
    let checked = 0;
    for (const [n, p] of rm.namedParameters()) {
      const hf = n === 'score.weight' ? 'score.weight' : toHFName(n.slice('model.'.length), rm.config);
      const ref = golden.get(`rm.grad.${hf}`);
      if (hf === 'lm_head.weight') {
        assert.equal(p.grad, null, 'the output head takes no part in the score');
        continue;
      }
      assert.ok(ref, `the fixture has no gradient for ${hf}`);
      assert.ok(p.grad, `no gradient for ${n}`);
      failures.push(goldenDiff(`grad ${n}`, p.grad.data, ref, 1e-4));
      checked++;
    }
    assert.ok(checked > 20, `only ${checked} gradients compared`);
    assert.deepEqual(failures.filter(Boolean), []);
  });

  it('DPO: sequence log-probs over the masked tokens (policy and reference), rewards, loss, every policy gradient', () => {
    const { model: reference } = loadModelDir(LM);
    const { model: policy } = loadModelDir(LM);
    const prefix = 'dpo.policy.';
    importStateDict(
      policy,
      new Map([...golden].filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t])),
    );
    const ids = get('dpo.ids');
    const mask = get('dpo.mask');
    const T = ids.shape[1];
    const lengths = Array.from(get('rm.last').data, (l) => l + 1); // the same rows as the reward model's
    const rows: TokenizedChat[] = lengths.map((len, b) => ({
      ids: Array.from(ids.data.subarray(b * T, b * T + len)),
      loss: Uint8Array.from(mask.data.subarray(b * T, b * T + len)),
      untrainedTurns: 0,
    }));
    const beta = get('dpo.beta').item();
    const refLp = noGrad(() => chatLogProbs(reference, rows, 0));
    const lp = chatLogProbs(policy, rows, 0);
    const r = dpoLoss(
      narrow(lp, 0, 0, 3),
      narrow(lp, 0, 3, 3),
      refLp.data.subarray(0, 3),
      refLp.data.subarray(3),
      beta,
    );
    r.loss.backward();
    const failures: (string | null)[] = [
      goldenDiff('policy log-probs', lp.data, get('dpo.policy_logps'), 1e-5),
      goldenDiff('reference log-probs', refLp.data, get('dpo.ref_logps'), 1e-5),
      goldenDiff('rewards', [...r.chosenRewards, ...r.rejectedRewards], get('dpo.rewards'), 1e-4),
      goldenDiff('loss', [r.loss.item()], get('dpo.loss'), 1e-5),
    ];
    let checked = 0;
    for (const [n, p] of policy.namedParameters()) {
      const ref = get(`dpo.grad.${toHFName(n, policy.config)}`);
      assert.ok(p.grad, `no gradient for ${n}`);
      failures.push(goldenDiff(`grad ${n}`, p.grad.data, ref, 1e-4));
      checked++;
    }
    assert.ok(checked > 20, `only ${checked} gradients compared`);
    assert.deepEqual(failures.filter(Boolean), []);
  });
});
