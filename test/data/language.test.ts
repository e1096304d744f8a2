import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  dominantLanguage,
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
