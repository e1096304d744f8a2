import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LANGUAGES, words } from '../../src/data/language.js';
import {
  conversational,
  harmlessPromptsOf,
  prefPairAt,
  prefPairs,
  REQUEST_FAMILIES,
  requestsOf,
  type PrefPair,
} from '../../src/data/prefs/index.js';
import { SFT_TASKS } from '../../src/data/sft/index.js';
import { getTask, TASKS } from '../../src/data/tasks/index.js';
import { isReadable } from '../../src/data/readability.js';

/** The ground truth from the generator's own checkers: does `response` answer pair `index`'s prompt correctly? */
function verdict(p: PrefPair, index: number, seed: number, response: string): boolean {
  const opts = { seed, split: p.split, lang: p.lang };
  if (p.source in TASKS) {
    const task = getTask(p.source);
    const problem = task.problemAt(index, opts);
    assert.equal(problem.prompt, p.prompt);
    const summary = /(?:The answer is|La respuesta es) (.+)\.$/.exec(response.split('</think>')[1]?.trim() ?? '');
    return summary !== null && task.verify(problem, summary[1]);
  }
  const item = SFT_TASKS[p.source].itemAt(index, opts);
  assert.equal(item.prompt, p.prompt);
  return SFT_TASKS[p.source].verify(item, response);
}

describe('preference pairs', () => {
  it('helpful: the chosen answer is correct and complete, the rejected one is wrong, cut off or off-topic', () => {
    for (const split of ['train', 'test'] as const) {
      const pairs = Array.from({ length: 150 }, (_, i) => prefPairAt('helpful', i, { seed: 4, split, lang: 'mix' }));
      for (const flaw of ['wrong', 'truncated', 'off-topic'])
        assert.ok(
          pairs.some((p) => p.flaw === flaw),
          flaw,
        );
      assert.ok(pairs.some((p) => p.source in TASKS) && pairs.some((p) => p.source in SFT_TASKS));
      for (const [i, p] of pairs.entries()) {
        assert.equal(p.kind, 'helpful');
        assert.equal(p.split, split);
        assert.notEqual(p.chosen, p.rejected);
        assert.ok(verdict(p, i, 4, p.chosen), `chosen fails: ${JSON.stringify(p)}`);
        assert.ok(!verdict(p, i, 4, p.rejected), `rejected passes: ${JSON.stringify(p)}`);
        assert.ok(isReadable(p.chosen), `chosen is not readable: ${p.chosen}`);
        if (p.flaw === 'truncated') assert.ok(p.chosen.startsWith(p.rejected.split('\n').slice(0, 2).join('\n')));
      }
    }
  });

  it('harmless: refusals chosen for forbidden requests, compliance for look-alikes, both in both languages', () => {
    for (const lang of LANGUAGES) {
      const pairs = prefPairs('harmless', 200, { seed: 1, lang });
      const harmful = pairs.filter((p) => p.source === 'harmful');
      const lookalike = pairs.filter((p) => p.source === 'lookalike');
      assert.ok(harmful.length > 40 && lookalike.length > 40);
      assert.ok(harmful.every((p) => p.flaw === 'complied' && p.lang === lang));
      assert.ok(lookalike.every((p) => p.flaw === 'refused'));
      // the same response texts on both sides: a reward model has to judge the request
      const refusals = new Set(harmful.map((p) => p.chosen));
      const compliances = new Set(harmful.map((p) => p.rejected));
      assert.deepEqual(new Set(lookalike.map((p) => p.rejected)), refusals);
      assert.deepEqual(new Set(lookalike.map((p) => p.chosen)), compliances);
    }
  });

  it('harmless: forbidden and harmless requests share surface words; no single keyword separates them', () => {
    for (const lang of LANGUAGES) {
      const all = requestsOf(lang);
      assert.equal(all.length, REQUEST_FAMILIES.length * 3);
      const bag = (t: string) => new Set(words(t).map((w) => w.toLowerCase()));
      for (const f of REQUEST_FAMILIES) {
        const h = bag(f.harmful[lang]);
        for (const l of f.lookalikes) {
          const shared = [...bag(l[lang])].filter((w) => h.has(w) && w.length >= 3);
          assert.ok(shared.length > 0, `${lang} ${f.key}: '${f.harmful[lang]}' and '${l[lang]}' share no word`);
        }
      }
      // best balanced accuracy of "harmful iff the request contains word w" over every word
      const nH = all.filter((r) => r.harmful).length;
      const nB = all.length - nH;
      let best = 0;
      for (const w of new Set(all.flatMap((r) => [...bag(r.text)]))) {
        const tp = all.filter((r) => r.harmful && bag(r.text).has(w)).length;
        const fp = all.filter((r) => !r.harmful && bag(r.text).has(w)).length;
        best = Math.max(best, (tp / nH + 1 - fp / nB) / 2);
      }
      assert.ok(best < 0.7, `${lang}: a single keyword reaches balanced accuracy ${best}`);
    }
  });

  it('splits: by prompt source, never shared; the conversational format; errors name the option', () => {
    const test = prefPairs('harmless', 100, { seed: 3, split: 'test', lang: 'mix' });
    const train = prefPairs('harmless', 300, { seed: 3, split: 'train', lang: 'mix' });
    // the forbidden list is shared: every request occurs in both splits, in wordings that never occur in the other
    for (const lang of LANGUAGES) {
      const testPrompts = harmlessPromptsOf('test', lang);
      const trainPrompts = new Set(harmlessPromptsOf('train', lang).map((p) => p.prompt));
      assert.ok(testPrompts.length > 100 && trainPrompts.size > 3 * 100);
      assert.ok(testPrompts.every((p) => !trainPrompts.has(p.prompt)));
      // not even inside a longer train prompt (a context sentence in front of the same frame and request)
      const trainText = [...trainPrompts].join('\n');
      for (const p of testPrompts) assert.ok(!trainText.includes(p.prompt), p.prompt);
      for (const r of requestsOf(lang))
        for (const set of [testPrompts.map((p) => p.prompt), [...trainPrompts]])
          assert.ok(
            set.some((p) => p.includes(r.text)),
            r.text,
          );
    }
    const testSet = new Set(LANGUAGES.flatMap((l) => harmlessPromptsOf('test', l).map((p) => p.prompt)));
    assert.ok(test.every((p) => testSet.has(p.prompt)));
    assert.ok(train.every((p) => !testSet.has(p.prompt)));
    const c = conversational(test[0]);
    assert.deepEqual(c.prompt, [{ role: 'user', content: test[0].prompt }]);
    assert.deepEqual(c.chosen, [{ role: 'assistant', content: test[0].chosen }]);
    assert.throws(() => prefPairs('funny' as never, 1), /kind must be helpful or harmless, got 'funny'/);
    assert.throws(
      () => prefPairs('helpful', 1, { lang: 'de' as never }),
      /helpful pairs: language must be en, es or mix/,
    );
  });
});
