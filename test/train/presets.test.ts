import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/models/config.js';
import { countParams } from '../../src/models/params.js';
import { getPreset } from '../../src/train/presets.js';

const size = (name: string) => {
  const p = getPreset(name);
  return { p, c: parseConfig({ ...p.model, vocab_size: p.vocabSize }).config };
};

describe('student presets (distillation)', () => {
  it('student and student-llama are dense Qwen2 / Llama models with at most a third of tiny activated per token', () => {
    const teacher = countParams(size('tiny').c).activated;
    assert.equal(teacher, 434_616);
    for (const [name, type] of [
      ['student', 'qwen2'],
      ['student-llama', 'llama'],
    ] as const) {
      const { p, c } = size(name);
      assert.equal(c.model_type, type);
      const n = countParams(c);
      assert.equal(n.activated, n.total, `${name} is dense`);
      assert.ok(n.activated * 3 <= teacher, `${name}: ${n.activated} activated, more than a third of ${teacher}`);
      // pre-trained on the teacher's built-in corpus with the teacher's tokenizer size and run sizes
      assert.equal(p.vocabSize, getPreset('tiny').vocabSize);
      assert.deepEqual(p.corpus, getPreset('tiny').corpus);
      assert.equal(p.corpusDocs, getPreset('tiny').corpusDocs);
      assert.deepEqual(p.train, getPreset('tiny').train);
    }
    assert.equal(countParams(size('student').c).total, 144_192);
    assert.equal(countParams(size('student-llama').c).total, 143_808);
  });
});
