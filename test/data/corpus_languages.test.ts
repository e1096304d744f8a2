import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { corpusDocuments, parseLanguages, type CorpusDoc } from '../../src/data/corpus.js';
import { languageCounts, languageShare, mixedLanguage } from '../../src/data/language.js';
import { chainOfThought, isR1Format, R1_ZERO_TEMPLATE, splitOf } from '../../src/data/tasks/index.js';
import { ENTITIES, factText } from '../../src/data/sft/index.js';

const completion = (text: string): string => text.slice(text.indexOf(' Assistant: ') + ' Assistant: '.length);

describe('corpus languages, code-switched solutions and knowledge documents', () => {
  const mix = { worked: 0.5, answer: 0.1, partial: 0.05, text: 0.1, terse: 0.05, switched: 0.1, facts: 0.1 };
  const docs: CorpusDoc[] = [
    ...corpusDocuments({ style: 'templated', tasks: ['mix'], n: 2000, seed: 7, languages: { en: 0.7, es: 0.3 }, mix }),
  ];

  it('each document draws its language in the requested shares, and is written in it', () => {
    const es = docs.filter((d) => d.lang === 'es').length / docs.length;
    assert.ok(Math.abs(es - 0.3) < 0.04, `Spanish share ${es}`);
    for (const d of docs) {
      assert.ok(d.lang === 'en' || d.lang === 'es', d.kind);
      if (d.kind === 'worked' || d.kind === 'partial' || d.kind === 'terse') {
        assert.ok(d.text.startsWith(R1_ZERO_TEMPLATE.split('{prompt}')[0]), 'the English scaffolding stays');
        const question = d.text.slice(d.text.indexOf('User: ') + 6, d.text.indexOf(' Assistant: '));
        assert.ok(languageShare(question, d.lang!) >= 0.95, question);
      }
      if (d.kind === 'worked') {
        assert.ok(isR1Format(completion(d.text)));
        const counts = languageCounts(chainOfThought(completion(d.text)));
        if (counts.en + counts.es > 0)
          assert.ok(languageShare(chainOfThought(completion(d.text)), d.lang!) >= 0.95, d.text);
      }
      if (d.kind === 'answer') assert.match(d.text, d.lang === 'en' ? /^Q: .+\nA: / : /^P: .+\nR: /);
      if ((d.kind === 'text' || d.kind === 'facts') && !d.text.includes(' - '))
        assert.ok(languageShare(d.text, d.lang!) >= 0.9, `${d.kind}: ${d.text}`);
    }
    for (const d of docs) for (const id of d.ids ?? []) assert.equal(splitOf(id), 'train', id);
  });

  it('switched documents change language for a run of steps, keep the answer right, and mostly count as mixed', () => {
    const switched = docs.filter((d) => d.kind === 'switched');
    assert.ok(switched.length > 150);
    assert.ok(!switched.some((d) => d.task === 'mul'), "mul's English steps have no words to switch");
    let mixed = 0;
    for (const d of switched) {
      const cot = chainOfThought(completion(d.text));
      const c = languageCounts(cot);
      assert.ok(c.en > 0 && c.es > 0, d.text);
      assert.ok(isR1Format(completion(d.text)), d.text);
      if (mixedLanguage(cot)) mixed++;
    }
    assert.ok(mixed > 0.8 * switched.length, `${mixed}/${switched.length} mixed`);
    assert.ok(docs.filter((d) => d.kind === 'worked').every((d) => !mixedLanguage(chainOfThought(completion(d.text)))));
  });

  it('facts documents state knowledge-base facts as prose, in both languages; never a question', () => {
    const facts = docs.filter((d) => d.kind === 'facts');
    const all = facts.map((d) => d.text).join('\n');
    assert.ok(facts.some((d) => d.lang === 'es') && facts.some((d) => d.lang === 'en'));
    assert.ok(!/[?¿]/.test(all), 'no questions');
    const stated = ENTITIES.filter((e) => all.includes(factText(e, 'en')) || all.includes(factText(e, 'es')));
    assert.ok(stated.length > 0.9 * ENTITIES.length, `${stated.length}/${ENTITIES.length} entities stated`);
    assert.ok(all.includes('Tiny-R1'), 'the identity');
    assert.ok(/\ncat - gato\n|\ngato - cat\n/.test(`${all}\n`) || all.includes(' - '), 'the glossary');
  });

  it('parses --languages and rejects unknown languages; the CLI writes the mix', () => {
    assert.deepEqual(parseLanguages('en=0.7, es=0.3'), { en: 0.7, es: 0.3 });
    assert.throws(() => parseLanguages('zh=1'), /--languages expects lang=share,... with languages en, es; got 'zh=1'/);
    assert.throws(
      () => [...corpusDocuments({ style: 'templated', tasks: ['add'], n: 1, languages: { en: 0, es: 0 } })],
      /positive sum/,
    );
    const out = join(mkdtempSync(join(tmpdir(), 'r1ts-corpus-')), 'c.jsonl');
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'data',
        'corpus',
        '--task',
        'mix',
        '--n',
        '300',
        '--languages',
        'en=0.5,es=0.5',
        '--mix',
        'worked=0.8,switched=0.1,facts=0.1',
        '--out',
        out,
        '--quiet',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /wrote 300 documents .*switched \d+%, facts \d+%/);
    const texts = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).text as string);
    assert.ok(texts.some((t) => t.includes('¿Cuánto es')) && texts.some((t) => t.includes('What is')));
    const bad = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'data', 'corpus', '--task', 'mix', '--languages', 'fr=1', '--out', out],
      { encoding: 'utf8' },
    );
    assert.equal(bad.status, 1);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  });
});
