// DPO: the toy preference is learned (held-out implicit-reward accuracy from 50%, every pair a tie, to 100%), the
// reference is the initial model and stays it, a stopped run resumes to the same policy bit for bit, and a resume
// whose --model weights changed is refused.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StopRequests } from '../../src/train/signals.js';
import { trainDpo, weightsFingerprint } from '../../src/posttrain/dpo.js';
import { loadModelAndTokenizer } from '../../src/io/load.js';
import { loadSafetensors } from '../../src/io/safetensors.js';
import { noGrad } from '../../src/tensor/tensor.js';
import { chatLogProbs } from '../../src/posttrain/dpo.js';
import { readPreferencePairs, stepBatch } from '../../src/posttrain/pairs.js';
import { tokenizeChat } from '../../src/posttrain/chat_data.js';
import { metricsRows, stopAt, writeLmDir, writeToyPairs } from './pair_helpers.js';

const TRAIN = { epochs: 2, batchSize: 8, microBatch: 8, lr: 3e-3, warmup: 0, checkpointEvery: 1 };
const quiet = () => {};

describe('dpo', () => {
  let dir = '';
  let lm = '';
  let data = '';
  let val = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'r1ts-dpo-'));
    lm = join(dir, 'lm');
    await writeLmDir(lm, { seed: 5 });
    data = writeToyPairs(join(dir, 'train.jsonl'), 16);
    val = writeToyPairs(join(dir, 'val.jsonl'), 8, 100);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const run = (outDir: string) => ({
    outDir,
    model: lm,
    data: [data],
    valData: [val],
    beta: 0.5,
    train: TRAIN,
    log: quiet,
  });

  it('learns the toy preference against the frozen initial model: held-out accuracy 50% (all ties) -> 100%', async () => {
    const out = join(dir, 'a');
    const r = await trainDpo(run(out));
    assert.ok(r.before && r.after);
    assert.equal(r.before.accuracy, 0.5, 'policy = reference: every implicit reward is 0, every pair a tie');
    assert.ok(Math.abs(r.before.loss - Math.LN2) < 1e-9, `loss ${r.before.loss}`);
    assert.equal(r.before.margin, 0);
    assert.equal(r.after.accuracy, 1, JSON.stringify(r.after));
    assert.ok(r.after.chosen > r.after.rejected);
    const { model, tok } = loadModelAndTokenizer(lm);
    assert.equal(r.settings.reference, weightsFingerprint(model), 'run.json names the initial weights');
    assert.equal(r.settings.beta, 0.5);
    const rows = metricsRows(out);
    assert.equal(rows.length, 5);
    for (const k of ['loss', 'accuracy', 'margin', 'chosen', 'rejected'] as const)
      assert.equal(typeof rows[1][k], 'number', k);
    const policy = loadModelAndTokenizer(join(out, 'model'));
    assert.notEqual(weightsFingerprint(policy.model), r.settings.reference, 'the policy moved');
    assert.deepEqual(policy.tok.toJSON(), tok.toJSON(), 'the policy is written with its tokenizer');
  });

  it("a step's rewards are beta x log pi/pi_ref, pi the policy before the step and pi_ref the initial model", async () => {
    // recomputed independently for the last step of the run above: its batch, its policy (the checkpoint of step 3)
    const out = join(dir, 'a');
    const { model: initial, tok } = loadModelAndTokenizer(lm);
    const { model: policy } = loadModelAndTokenizer(lm);
    policy.loadStateDict(loadSafetensors(join(out, 'checkpoints', 'step-00000003', 'model.safetensors')));
    const pairs = (await readPreferencePairs([data])).map((p) => ({
      chosen: tokenizeChat(tok, [...p.prompt, ...p.chosen], p.where),
      rejected: tokenizeChat(tok, [...p.prompt, ...p.rejected], p.where),
    }));
    const { idx } = stepBatch(pairs.length, TRAIN.batchSize, 0, 3);
    const rows = [...idx.map((i) => pairs[i].chosen), ...idx.map((i) => pairs[i].rejected)];
    const lp = noGrad(() => chatLogProbs(policy, rows, tok.padId ?? 0)).data;
    const ref = noGrad(() => chatLogProbs(initial, rows, tok.padId ?? 0)).data;
    const n = idx.length;
    let chosen = 0;
    let rejected = 0;
    for (let j = 0; j < n; j++) {
      chosen += (0.5 * (lp[j] - ref[j])) / n;
      rejected += (0.5 * (lp[n + j] - ref[n + j])) / n;
    }
    const last = metricsRows(out)[4];
    assert.equal(last.step, 4);
    assert.ok(
      Math.abs(last.chosen! - chosen) < 1e-4 && Math.abs(last.rejected! - rejected) < 1e-4,
      JSON.stringify({ last, chosen, rejected }),
    );
    assert.ok(Math.abs(chosen) > 0.01, 'the policy has moved away from the reference');
  });

  it('stopped after step 2 and resumed: the same policy bit for bit; a resume whose --model changed is refused', async () => {
    const out = join(dir, 'b');
    const first = await trainDpo({ ...run(out), ...stopAt(2, 'SIGTERM') });
    assert.equal(first.stopped, 'SIGTERM');
    const r = await trainDpo({ outDir: out, resume: true, log: quiet });
    assert.equal(r.steps, 4);
    assert.ok(
      readFileSync(join(out, 'model', 'model.safetensors')).equals(
        readFileSync(join(dir, 'a', 'model', 'model.safetensors')),
      ),
    );
    // another model at the same path: the reference would change under the run
    const moved = join(dir, 'lm-moved');
    cpSync(lm, moved, { recursive: true });
    const c = join(dir, 'c');
    const now = { requested: 'SIGINT' } as unknown as StopRequests; // stops before the first step, with a checkpoint
    await trainDpo({ outDir: c, model: moved, data: [data], valData: [val], train: TRAIN, stops: now, log: quiet });
    await writeLmDir(join(dir, 'other'), { seed: 6 });
    copyFileSync(join(dir, 'other', 'model.safetensors'), join(moved, 'model.safetensors'));
    await assert.rejects(
      trainDpo({ outDir: c, resume: true, log: quiet }),
      /dpo --resume: --model \(its weights\) is [0-9a-f]{16} but the run used [0-9a-f]{16}/,
    );
  });
});
