import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/models/config.js';
import { countParams } from '../../src/models/params.js';
import { getPreset } from '../../src/train/presets.js';
import { corpusDocuments } from '../../src/data/corpus.js';
import { ENTITIES, factText, kbSplitKey, sftSplitOf } from '../../src/data/sft/index.js';
import { KB_TEST_PERCENT } from '../../src/data/sft/factqa.js';

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

describe('tiny-general preset (a base for the chat stages)', () => {
  it("is tiny's model and run on tiny's corpus in English and Spanish plus knowledge prose", () => {
    const tiny = getPreset('tiny');
    const general = getPreset('tiny-general');
    assert.deepEqual(general.model, tiny.model);
    assert.deepEqual(general.train, tiny.train);
    assert.equal(general.vocabSize, tiny.vocabSize);
    assert.equal(general.corpusDocs, tiny.corpusDocs);
    const { mix, languages, ...rest } = general.corpus;
    const { mix: tinyMix, languages: tinyLanguages, ...tinyRest } = tiny.corpus;
    assert.equal(tinyLanguages, undefined, 'tiny is English only');
    assert.equal(tinyMix?.facts, undefined, 'tiny has no knowledge prose');
    assert.deepEqual(rest, tinyRest);
    assert.deepEqual(mix, { ...tinyMix, facts: 0.15 });
    assert.deepEqual(languages, { en: 0.5, es: 0.5 });
  });

  it('its corpus states the facts of held-out entities too (knowledge in pre-training), never a question', () => {
    const docs = [...corpusDocuments({ ...getPreset('tiny-general').corpus, style: 'templated', n: 3000, seed: 0 })];
    const facts = docs.filter((d) => d.kind === 'facts');
    const all = facts.map((d) => d.text).join('\n');
    assert.ok(Math.abs(facts.length / docs.length - 0.15 / 1.35) < 0.02, `${facts.length} facts documents`);
    assert.ok(!/[?¿]/.test(all), 'no questions');
    const heldOut = ENTITIES.filter((e) => sftSplitOf(kbSplitKey(e), KB_TEST_PERCENT) === 'test');
    assert.ok(heldOut.length > 5);
    for (const e of heldOut) {
      const said = all.includes(factText(e, 'en')) || all.includes(factText(e, 'es'));
      assert.ok(said, `held-out entity ${e.name.en} stated`);
    }
    const worded = docs.filter((d) => d.lang !== undefined); // drill sheets are numbers only
    const es = worded.filter((d) => d.lang === 'es').length / worded.length;
    assert.ok(Math.abs(es - 0.5) < 0.04, `Spanish share ${es}`);
  });
});
