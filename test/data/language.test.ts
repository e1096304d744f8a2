import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { corpusDocuments } from '../../src/data/corpus.js';
import { prefPairs } from '../../src/data/prefs/index.js';
import { SFT_TASKS } from '../../src/data/sft/index.js';
import { R1_ZERO_TEMPLATE, TASKS } from '../../src/data/tasks/index.js';
import {
  dominantLanguage,
  type Lang,
  LANGUAGES,
  languageCounts,
  languageOfWord,
  languageShare,
  mixedLanguage,
  parseLang,
  words,
} from '../../src/data/language.js';

describe('language identification by word lists', () => {
  it('words: letters with accents and ñ, apostrophes inside; not numbers, symbols, 3x, tags or \\commands', () => {
    assert.deepEqual(words('El niño comió 3 manzanas; ¿cuántas quedan?'), [
      'El',
      'niño',
      'comió',
      'manzanas',
      'cuántas',
      'quedan',
    ]);
    assert.deepEqual(words("I don't know, it's 4x + 2 = x2 <think>\\boxed{7}</think> café"), [
      'I',
      "don't",
      'know',
      "it's",
      'café',
    ]);
    assert.deepEqual(words('Solve for x: 3x - 4 = 11.'), ['Solve', 'for', 'x']);
    assert.deepEqual(words('1 + 2 = 3, 10 / 5 = 2'), []);
    assert.deepEqual(words('<｜User｜>hola<｜Assistant｜>'), ['hola']);
    // combining accents are normalised: 'ó' written as o + U+0301 is the same word
    assert.deepEqual(words('cancio\u0301n'), ['canción']);
    assert.equal(languageOfWord('cancio\u0301n'), languageOfWord('canción'));
  });

  it('languageOfWord: English, Spanish, neutral (in both lists, variables, numbers) or unknown', () => {
    for (const w of ['the', 'because', 'Number', 'carry', 'subtract', 'smallest', 'water', "don't"])
      assert.equal(languageOfWord(w), 'en', w);
    for (const w of ['el', 'porque', 'número', 'llevo', 'restamos', 'menor', 'agua', 'niño', 'y', 'la', 'con'])
      assert.equal(languageOfWord(w), 'es', w);
    for (const w of ['no', 'a', 'x', 'me', 'hotel', 'radio']) assert.equal(languageOfWord(w), 'neutral', w);
    for (const w of ['zxqv', 'Rumpelstiltskin']) assert.equal(languageOfWord(w), 'unknown', w);
  });

  it('a Spanish sentence in Latin script, which a script-based detector would call English, is Spanish', () => {
    const es = 'Primero sumamos las unidades, después las decenas, y al final comprobamos el resultado.';
    assert.ok(/^[\p{Script=Latin}\p{P}\s]+$/u.test(es), 'every letter is Latin script');
    assert.equal(languageShare(es, 'es'), 1);
    assert.equal(languageShare(es, 'en'), 0);
    assert.equal(dominantLanguage(es), 'es');
    const en = 'First we add the units, then the tens, and at the end we check the result.';
    assert.equal(languageShare(en, 'en'), 1);
    assert.equal(languageShare(en, 'es'), 0);
    assert.equal(dominantLanguage(en), 'en');
  });

  it('languageShare counts only language words; mixedLanguage needs both languages above the threshold', () => {
    // 'no' and the numbers count for neither language: 3 English words, 1 Spanish word
    const text = 'the answer is 7, no, sumamos';
    assert.deepEqual(languageCounts(text), { en: 3, es: 1, neutral: 1, unknown: 0 });
    assert.equal(languageShare(text, 'en'), 0.75);
    assert.equal(languageShare(text, 'es'), 0.25);
    assert.equal(languageShare('1 + 1 = 2', 'en'), 0, 'no language words');
    assert.equal(mixedLanguage(text), true);
    assert.equal(mixedLanguage('Sumamos las unidades y the tens, luego las decenas'), true);
    // one English word among many Spanish ones is under the 10% threshold
    const mostly =
      'Primero sumamos las unidades, después las decenas, al final comprobamos el resultado con cuidado ok';
    assert.equal(mixedLanguage(mostly), false);
    assert.equal(mixedLanguage(`${mostly} then`), false);
    assert.equal(mixedLanguage(`${mostly} then we check`), true);
    assert.equal(mixedLanguage('1 + 1 = 2'), false);
    assert.equal(mixedLanguage('the units and the tens'), false);
  });

  it('parseLang names the field', () => {
    assert.equal(parseLang('es'), 'es');
    assert.throws(() => parseLang('zh', '--lang'), /--lang must be en or es, got 'zh'/);
  });
});

describe('word lists cover the built-in data', () => {
  it('every word the built-in tasks, corpus, templates, SFT tasks and pairs write is in a list, in its language', () => {
    const texts: { lang: Lang; text: string; source: string; bilingual: boolean }[] = [
      { lang: 'en', text: R1_ZERO_TEMPLATE, source: 'template', bilingual: false },
    ];
    for (const lang of LANGUAGES) {
      for (const t of Object.values(TASKS))
        for (const p of t.problems(40, { seed: 3, lang, difficulty: t.difficulty.corpus as [number, number] }))
          texts.push(
            { lang, text: p.prompt, source: t.name, bilingual: false },
            { lang, text: t.solution(p, 1), source: t.name, bilingual: false },
          );
      // the plain style's task documents are in the document's language throughout; the templated style's carry the
      // English R1-Zero template, so only its prose kinds are here
      const docs = [
        ...corpusDocuments({
          style: 'plain',
          tasks: ['mix'],
          n: 600,
          seed: 2,
          languages: { [lang]: 1 },
          mix: { text: 1, facts: 1, answer: 0.2, worked: 0.5, terse: 0.2, partial: 0.2 },
        }),
        ...corpusDocuments({
          style: 'templated',
          tasks: ['mix'],
          n: 300,
          seed: 2,
          languages: { [lang]: 1 },
          mix: { text: 1, facts: 1, answer: 0.2 },
        }),
      ];
      for (const d of docs)
        texts.push({
          lang,
          text: d.text,
          source: `corpus ${d.kind}`,
          bilingual: d.text.includes('English - Spanish') || d.text.includes('Español - inglés'),
        });
      for (const [name, t] of Object.entries(SFT_TASKS))
        for (const split of ['train', 'test'] as const)
          for (const it of t.items(150, { seed: 1, lang, split }))
            texts.push(
              { lang, text: it.prompt, source: name, bilingual: name === 'translate' },
              { lang, text: it.reference, source: name, bilingual: name === 'translate' },
            );
      for (const kind of ['helpful', 'harmless'] as const)
        for (const p of prefPairs(kind, 200, { seed: 1, lang }))
          for (const text of [p.prompt, p.chosen, p.rejected])
            texts.push({ lang, text, source: kind, bilingual: p.source === 'translate' || p.flaw === 'off-topic' });
    }
    // chemical symbols and names that are also words of the other language (Si, Ni; Buenos Aires, Llama)
    const NAMES = /^(si|fe|ni|al|o|u|i|buenos|llama)$/i;
    const unknown = new Set<string>();
    const foreign = new Set<string>();
    for (const { lang, text, source, bilingual } of texts) {
      for (const w of words(text)) {
        const l = languageOfWord(w);
        if (l === 'unknown') unknown.add(`${w} (${source})`);
        else if (!bilingual && source !== 'template' && l !== 'neutral' && l !== lang && !NAMES.test(w))
          foreign.add(`${w} (${lang} ${source})`);
      }
    }
    assert.deepEqual([...unknown], [], 'words in no list: add them to src/data/wordlists/vocabulary.ts');
    assert.deepEqual([...foreign], [], 'words counted as the other language');
  });
});
