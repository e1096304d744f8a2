import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CORPUS_STYLES, corpusDocuments } from '../../src/data/corpus.js';
import { LANGUAGES } from '../../src/data/language.js';
import { prefPairs, PREF_KINDS } from '../../src/data/prefs/index.js';
import { SFT_TASKS, sftRecord, type TranslateData } from '../../src/data/sft/index.js';
import { TASKS } from '../../src/data/tasks/index.js';

const SEEDS = [0, 1, 2];

/**
 * Held out means held out: for several seeds, no test-split problem, QA pair, translation item, writing prompt or
 * preference pair appears in any train split or corpus document (by id, and by its prompt text anywhere in them).
 */
describe('held-out data never appears in training data', () => {
  const trainIds = new Set<string>();
  const trainTexts: string[] = [];
  const trainTranslationWords = new Set<string>();
  for (const seed of SEEDS) {
    const mix = { worked: 0.4, answer: 0.15, partial: 0.05, text: 0.05, terse: 0.05, switched: 0.1, facts: 0.2 };
    // both corpus styles (the plain one adds its generic tagged documents to the mix)
    for (const style of CORPUS_STYLES) {
      for (const d of corpusDocuments({ style, tasks: ['mix'], n: 1500, seed, languages: { en: 0.5, es: 0.5 }, mix })) {
        trainTexts.push(d.text);
        for (const id of d.ids ?? []) trainIds.add(id);
      }
    }
    for (const lang of LANGUAGES) {
      for (const t of Object.values(TASKS))
        for (const p of t.problems(100, { seed, lang, difficulty: t.difficulty.corpus as [number, number] })) {
          trainIds.add(p.id);
          trainTexts.push(p.prompt, t.solution(p));
        }
    }
    for (const task of Object.values(SFT_TASKS)) {
      for (const item of task.items(300, { seed, split: 'train', lang: 'mix' })) {
        trainIds.add(item.id);
        trainTexts.push(...sftRecord(item).messages.map((m) => m.content));
        if (task.name === 'translate' && (item.data as TranslateData).unit === 'word') {
          const d = item.data as TranslateData;
          trainTranslationWords.add(d.source).add(d.target);
        } else if (task.name === 'translate') {
          for (const w of `${(item.data as TranslateData).source} ${(item.data as TranslateData).target}`.split(
            /[\s.?¿]+/,
          ))
            trainTranslationWords.add(w.toLowerCase());
        }
      }
    }
    for (const kind of PREF_KINDS)
      for (const p of prefPairs(kind, 300, { seed, split: 'train', lang: 'mix' })) {
        trainIds.add(`${kind}:${p.id}`);
        trainTexts.push(p.prompt, p.chosen, p.rejected);
      }
  }
  const train = trainTexts.join('\n\u0000\n');

  it('reasoning problems of the test split: not in any train split or corpus document, in either language', () => {
    let n = 0;
    for (const seed of SEEDS)
      for (const lang of LANGUAGES)
        for (const t of Object.values(TASKS))
          for (const p of t.problems(40, {
            seed,
            split: 'test',
            lang,
            difficulty: t.difficulty.corpus as [number, number],
          })) {
            assert.ok(!trainIds.has(p.id), p.id);
            assert.ok(!train.includes(p.prompt), p.prompt);
            n++;
          }
    assert.equal(n, SEEDS.length * LANGUAGES.length * Object.keys(TASKS).length * 40);
  });

  it('QA pairs, self-cognition, translation items and writing prompts of the test split: nowhere in training data', () => {
    for (const seed of SEEDS)
      for (const task of Object.values(SFT_TASKS)) {
        const items = task.items(100, { seed, split: 'test', lang: 'mix' });
        assert.ok(items.length === 100);
        for (const item of items) {
          assert.ok(!trainIds.has(item.id), `${task.name}: ${item.id} is in a train split`);
          assert.ok(!train.includes(item.prompt), `${task.name}: '${item.prompt}' appears in training data`);
          if (task.name === 'translate' && (item.data as TranslateData).unit === 'word') {
            const d = item.data as TranslateData;
            assert.ok(!trainTranslationWords.has(d.source) && !trainTranslationWords.has(d.target), d.source);
          }
        }
      }
  });

  it('preference pairs of the test split: their prompts appear in no train pair, SFT record or corpus document', () => {
    for (const seed of SEEDS)
      for (const kind of PREF_KINDS)
        for (const p of prefPairs(kind, 150, { seed, split: 'test', lang: 'mix' })) {
          assert.ok(!trainIds.has(`${kind}:${p.id}`), p.id);
          assert.ok(!train.includes(p.prompt), `${kind}: '${p.prompt}' appears in training data`);
        }
  });
});
