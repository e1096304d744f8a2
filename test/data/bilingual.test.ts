import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { corpusDocuments } from '../../src/data/corpus.js';
import { languageCounts, languageShare, LANGUAGES } from '../../src/data/language.js';
import { TASKS } from '../../src/data/tasks/index.js';
import { chainOfThought } from '../../src/rl/rewards.js';

const fingerprint = (xs: string[]): string => createHash('sha256').update(xs.join('\u0000')).digest('hex').slice(0, 16);

describe('bilingual reasoning tasks', () => {
  it('the problem, its key and its split do not depend on the language', () => {
    for (const task of Object.values(TASKS)) {
      for (const split of ['train', 'test'] as const) {
        const en = task.problems(30, { seed: 4, split, difficulty: task.difficulty.corpus as [number, number] });
        const es = task.problems(30, {
          seed: 4,
          split,
          difficulty: task.difficulty.corpus as [number, number],
          lang: 'es',
        });
        assert.deepEqual(
          es.map((p) => [p.id, p.split, p.difficulty, p.answer]),
          en.map((p) => [p.id, p.split, p.difficulty, p.answer]),
          task.name,
        );
        assert.deepEqual(
          es.map((p) => p.data),
          en.map((p) => p.data),
        );
        assert.ok(
          es.every((p, i) => p.lang === 'es' && en[i].lang === 'en' && p.prompt !== en[i].prompt),
          task.name,
        );
      }
    }
  });

  it('every worked solution verifies, and its chain of thought is >= 95% in its language', () => {
    for (const task of Object.values(TASKS)) {
      const [lo, hi] = [task.difficulty.min, Math.min(task.difficulty.max, task.difficulty.corpus[1] + 1)];
      for (const lang of LANGUAGES) {
        const problems = task.problems(60, { seed: 9, split: 'train', difficulty: [lo, hi], lang });
        problems.push(...task.problems(20, { seed: 9, split: 'test', difficulty: [lo, hi], lang }));
        for (const p of problems) {
          assert.ok(languageShare(p.prompt, lang) >= 0.95, `${task.name} ${lang} prompt: ${p.prompt}`);
          for (const variant of [0, 1, 2, 3]) {
            const sol = task.solution(p, variant);
            assert.ok(task.verify(p, sol), `${task.name} ${lang}: ${sol}`);
            const cot = chainOfThought(sol);
            const counts = languageCounts(cot);
            // mul's English solution is pure arithmetic (unchanged from before languages): no language words at all
            if (lang === 'en' && task.name === 'mul') assert.equal(counts.en + counts.es, 0, sol);
            else
              assert.ok(
                languageShare(cot, lang) >= 0.95,
                `${task.name} ${lang} ${(100 * languageShare(cot, lang)).toFixed(0)}%: ${sol}`,
              );
          }
        }
      }
    }
  });

  it('a solution can be asked for in the other language than the problem was drawn in', () => {
    const task = TASKS.lineq;
    const [p] = task.problems(1, { seed: 1, lang: 'es' });
    assert.equal(languageShare(chainOfThought(task.solution(p)), 'es'), 1);
    assert.equal(languageShare(chainOfThought(task.solution(p, 0, 'en')), 'en'), 1);
    assert.throws(() => task.problemAt(0, { lang: 'zh' as never }), /lineq: language must be en or es, got 'zh'/);
  });

  it('English prompts, solutions and the default corpus are byte-identical to before languages (fingerprints)', () => {
    assert.equal(
      fingerprint([...corpusDocuments({ style: 'templated', tasks: ['mix'], n: 3000, seed: 0 })].map((d) => d.text)),
      '52cb417af5dee232',
    );
    const allKinds = { worked: 1, answer: 1, partial: 1, text: 1, drill: 1, copy: 1, terse: 1 };
    assert.equal(
      fingerprint(
        [
          ...corpusDocuments({
            style: 'templated',
            tasks: ['mix'],
            n: 2000,
            seed: 3,
            mix: allKinds,
            templateShare: 0.5,
          }),
        ].map((d) => d.text),
      ),
      'bcf47b3baea0eab4',
    );
    const out: string[] = [];
    for (const t of Object.values(TASKS))
      for (const p of t.problems(40, { seed: 1, split: 'train' }))
        out.push(p.id, p.prompt, p.answer, t.solution(p, 0), t.solution(p, 3));
    for (const t of Object.values(TASKS))
      for (const p of t.problems(20, { seed: 2, split: 'test' })) out.push(p.id, p.prompt, p.answer, t.solution(p, 1));
    assert.equal(fingerprint(out), '295ae450a77cce52');
  });
});
