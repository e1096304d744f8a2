// Reward models: started from a language model (seeded head, MTP layers dropped), stored in Hugging Face's
// sequence-classification layout and loaded back with the same scores, scoring padded batches as single rows, and
// rendering conversations with their own chat template.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensorsHeader } from '../../src/io/safetensors.js';
import { loadModelDir } from '../../src/io/model_dir.js';
import {
  isRewardModelDir,
  loadRewardModel,
  rewardModelFromLM,
  saveRewardModel,
} from '../../src/posttrain/reward_model.js';
import { writeLmDir } from './pair_helpers.js';

const CHATML =
  "{%- for m in messages -%}{{- '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' -}}{%- endfor -%}" +
  "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}";

const prompts = [
  [{ role: 'user', content: 'Question 1: can you help me?' }],
  [{ role: 'user', content: 'Question 2: can you help me?' }],
  [{ role: 'user', content: 'Hi' }],
];
const responses = ['Sure, here it is.', 'No.', 'Sure, here it is. Sure, here it is.'];

describe('reward model', () => {
  let dir = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'r1ts-rm-'));
    await writeLmDir(join(dir, 'lm'));
    await writeLmDir(join(dir, 'dense'), { kind: 'dense', chatTemplate: CHATML });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('from a language model: its backbone weights, no MTP layers, a head drawn from the seed', () => {
    const lm = loadModelDir(join(dir, 'lm')).model;
    const a = rewardModelFromLM(join(dir, 'lm'), { seed: 3 });
    const b = rewardModelFromLM(join(dir, 'lm'), { seed: 3 });
    const c = rewardModelFromLM(join(dir, 'lm'), { seed: 4 });
    assert.deepEqual(a.head.weight.data, b.head.weight.data);
    assert.notDeepEqual(a.head.weight.data, c.head.weight.data);
    const std = Math.sqrt(Array.from(a.head.weight.data).reduce((s, x) => s + x * x, 0) / a.head.weight.size);
    assert.ok(std > 0.005 && std < 0.05, `head std ${std}`);
    const own = a.backbone.stateDict();
    for (const [n, t] of lm.stateDict()) {
      if (n.startsWith('mtp.')) assert.ok(!own.has(n), `${n} is dropped`);
      else assert.deepEqual(own.get(n)!.data, t.data, n);
    }
    assert.equal(a.config.model_type, 'deepseek_v3');
    assert.equal((a.config as { num_nextn_predict_layers: number }).num_nextn_predict_layers, 0);
  });

  it('saved as a Hugging Face sequence-classification model (score.weight, num_labels 1, no lm_head) and loaded back', () => {
    for (const [name, arch] of [
      ['lm', 'DeepseekV3ForSequenceClassification'],
      ['dense', 'Qwen2ForSequenceClassification'],
    ]) {
      const rm = rewardModelFromLM(join(dir, name), { seed: 1 });
      const out = join(dir, `${name}-rm`);
      saveRewardModel(out, rm);
      const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
      assert.deepEqual(cfg.architectures, [arch]);
      assert.equal(cfg.num_labels, 1);
      assert.deepEqual(cfg.id2label, { 0: 'LABEL_0' });
      assert.equal(cfg.pad_token_id, rm.tokenizer.padId, 'transformers finds the last real token with pad_token_id');
      const names = readSafetensorsHeader(join(out, 'model.safetensors')).tensors.map((t) => t.name);
      assert.ok(names.includes('score.weight'));
      assert.ok(!names.includes('lm_head.weight'));
      assert.ok(
        names.every((n) => !/^model\.layers\.3\./.test(n)),
        'no MTP layer',
      );
      assert.ok(isRewardModelDir(out) && !isRewardModelDir(join(dir, name)));
      const warnings: string[] = [];
      const back = loadRewardModel(out, { warn: (w) => warnings.push(w) });
      assert.deepEqual(warnings, []);
      assert.deepEqual(back.score(prompts, responses), rm.score(prompts, responses));
    }
  });

  it('a padded batch scores each row as it scores alone (the last real token of each row)', () => {
    for (const name of ['lm', 'dense']) {
      const rm = rewardModelFromLM(join(dir, name), { seed: 2, std: 1 });
      const batch = rm.score(prompts, responses, { batchSize: 3 });
      const alone = responses.map((r, i) => rm.score([prompts[i]], [r])[0]);
      for (let i = 0; i < 3; i++) assert.ok(Math.abs(batch[i] - alone[i]) < 1e-5, `${name} row ${i}`);
      assert.notEqual(batch[0], batch[1], 'different responses, different scores');
    }
  });

  it("renders with its own chat template: ChatML's for one model, R1's for the other", () => {
    const dense = rewardModelFromLM(join(dir, 'dense'));
    const lm = rewardModelFromLM(join(dir, 'lm'));
    const text = (rm: typeof lm) => rm.tokenizer.decode(rm.encode(prompts[0], 'Sure.'));
    assert.equal(
      text(dense),
      '<|im_start|>user\nQuestion 1: can you help me?<|im_end|>\n<|im_start|>assistant\nSure.<|im_end|>\n',
    );
    assert.ok(text(lm).endsWith('<｜Assistant｜>Sure.<｜end▁of▁sentence｜>'), text(lm));
  });

  it('refuses what is not a reward model, and config.json that does not fit the weights', () => {
    assert.throws(() => loadRewardModel(join(dir, 'lm')), /num_labels 1 .*got none: is this a language model\?/);
    const out = join(dir, 'lm-rm2');
    saveRewardModel(out, rewardModelFromLM(join(dir, 'lm')));
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    writeFileSync(join(out, 'config.json'), JSON.stringify({ ...cfg, num_labels: 2 }));
    assert.throws(() => loadRewardModel(out), /a reward model has num_labels 1 .*got 2$/);
    writeFileSync(join(out, 'config.json'), JSON.stringify({ ...cfg, hidden_size: 4096 }));
    assert.throws(() => loadRewardModel(out), /the config does not belong to these weights/);
  });
});
