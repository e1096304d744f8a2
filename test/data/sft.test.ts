import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Generator } from '../../src/tensor/random.js';
import { languageShare, LANGUAGES } from '../../src/data/language.js';
import {
  countWords,
  factCheck,
  getSftTask,
  identityTask,
  listItems,
  normalizeTranslation,
  SFT_TASKS,
  sftRecord,
  sftResponse,
  translateTask,
  writingTask,
} from '../../src/data/sft/index.js';
import { renderChat, R1_CHAT_TEMPLATE } from '../../src/data/chat.js';
import { COUNTRIES, ELEMENTS, PLANETS } from '../../src/data/sft/knowledge.js';

describe('non-reasoning SFT tasks', () => {
  it('every reference passes its check, every corruption fails it, in both languages and splits', () => {
    for (const [name, task] of Object.entries(SFT_TASKS)) {
      for (const lang of LANGUAGES) {
        for (const split of ['train', 'test'] as const) {
          const items = task.items(120, { seed: 5, split, lang });
          assert.equal(items.length, 120);
          for (const [i, item] of items.entries()) {
            assert.equal(item.split, split);
            assert.equal(item.lang, lang);
            assert.ok(task.verify(item, item.reference), `${name} ${lang}: ${item.prompt} -> ${item.reference}`);
            assert.ok(task.verify(item, sftResponse(item.reference)), `${name}: the response layout passes`);
            const wrong = task.corrupt(item.data, item.lang, new Generator(i));
            assert.ok(!task.verify(item, wrong), `${name} ${lang}: corruption passes: ${item.prompt} -> ${wrong}`);
            if (name !== 'translate')
              assert.ok(languageShare(item.prompt, lang) >= 0.75, `${name} ${lang}: ${item.prompt}`);
          }
        }
      }
    }
  });

  it('the item stream, ids and splits do not depend on the language; mix draws both', () => {
    for (const task of Object.values(SFT_TASKS)) {
      const en = task.items(40, { seed: 2, split: 'test' });
      const es = task.items(40, { seed: 2, split: 'test', lang: 'es' });
      const enAt = en.map((_, i) => task.itemAt(i, { seed: 2, split: 'test' }).id);
      const esAt = en.map((_, i) => task.itemAt(i, { seed: 2, split: 'test', lang: 'es' }).id);
      assert.deepEqual(esAt, enAt, task.name);
      assert.ok(es.every((x) => x.lang === 'es') && en.every((x) => x.lang === 'en'));
      const mix = task.items(60, { seed: 2, lang: 'mix' });
      const nEs = mix.filter((x) => x.lang === 'es').length;
      assert.ok(nEs > 15 && nEs < 45, `${task.name}: ${nEs}/60 Spanish`);
    }
    assert.throws(
      () => getSftTask('poetry'),
      /unknown SFT task 'poetry' \(known: factqa, identity, translate, writing\)/,
    );
    assert.throws(() => SFT_TASKS.factqa.items(1, { lang: 'fr' as never }), /factqa: language must be en, es or mix/);
    assert.throws(() => SFT_TASKS.factqa.items(1, { split: 'dev' as never }), /factqa: split must be train or test/);
  });

  it('records are {"messages": [...]} with an empty chain of thought, and render with the R1 chat template', () => {
    const [item] = SFT_TASKS.identity.items(1, { lang: 'es' });
    const rec = sftRecord(item);
    assert.deepEqual(Object.keys(rec), ['messages', 'task', 'id', 'split', 'lang']);
    assert.equal(rec.messages[0].role, 'user');
    assert.equal(rec.messages[1].content, `<think>\n\n</think>\n\n${item.reference}`);
    const text = renderChat(R1_CHAT_TEMPLATE, rec.messages);
    assert.ok(text.includes(`<｜User｜>${item.prompt}<｜Assistant｜><think>\n\n</think>\n\n${item.reference}`), text);
  });

  it('factqa: real facts, answers in either language, symbols as written, South is not North America', () => {
    assert.ok(COUNTRIES.length >= 40 && ELEMENTS.length >= 25 && PLANETS.length === 8);
    const fr = COUNTRIES.find((c) => c.name.en === 'France')!;
    const cap = { entity: fr, relation: 'capital' as const };
    assert.ok(factCheck(cap, 'The capital of France is Paris.'));
    assert.ok(factCheck(cap, 'La capital de Francia es París.'));
    assert.ok(factCheck(cap, 'paris'));
    assert.ok(!factCheck(cap, 'Lyon.'));
    const peru = COUNTRIES.find((c) => c.name.en === 'Peru')!;
    assert.ok(factCheck({ entity: peru, relation: 'continent' }, 'Perú está en América del Sur.'));
    assert.ok(!factCheck({ entity: peru, relation: 'continent' }, 'Peru is in North America.'));
    const gold = ELEMENTS.find((e) => e.symbol === 'Au')!;
    assert.ok(factCheck({ entity: gold, relation: 'symbol' }, 'It is Au.'));
    assert.ok(!factCheck({ entity: gold, relation: 'symbol' }, 'It is Ag.'));
    assert.ok(factCheck({ entity: gold, relation: 'number' }, 'El número atómico del oro es 79.'));
    assert.ok(!factCheck({ entity: gold, relation: 'number' }, '78'));
    const earth = PLANETS[2];
    assert.ok(factCheck({ entity: earth, relation: 'planet-at' }, 'Earth.'));
    assert.ok(factCheck({ entity: earth, relation: 'order' }, 'It is the third planet.'));
    assert.ok(factCheck({ entity: earth, relation: 'order' }, 'Es el tercer planeta.'));
  });

  it('identity: the name for name questions, the maker for maker questions, both for "who are you"', () => {
    const task = identityTask({ name: 'Nova', maker: 'Acme Labs' });
    const items = task.items(40, { seed: 1 });
    const who =
      items.find((x) => x.id === 'identity:who-are-you') ??
      task.items(200, { seed: 3 }).find((x) => x.id === 'identity:who-are-you');
    if (who) {
      assert.ok(task.verify(who, 'I am Nova, made by Acme Labs.'));
      assert.ok(!task.verify(who, 'I am Nova.'));
      assert.ok(!task.verify(who, 'I am ChatGPT, made by OpenAI.'));
    }
    for (const x of items) assert.ok(/Nova|Acme Labs/.test(x.reference), x.reference);
  });

  it('translate: exact after normalising case, quotes, punctuation and articles; accents count', () => {
    assert.equal(normalizeTranslation('  «El gato es negro.» ', 'sentence'), 'el gato es negro');
    assert.equal(normalizeTranslation('¿Dónde está la casa?', 'sentence'), 'dónde está la casa');
    assert.equal(normalizeTranslation('The cat', 'word'), 'cat');
    assert.equal(normalizeTranslation('el árbol', 'word'), 'árbol');
    const items = translateTask.items(200, { seed: 1, lang: 'mix' });
    const word = items.find((x) => x.data.unit === 'word' && x.data.target === 'árbol');
    if (word) {
      assert.ok(translateTask.verify(word, 'El árbol.'));
      assert.ok(!translateTask.verify(word, 'arbol'));
    }
    const sentences = items.filter((x) => x.data.unit === 'sentence');
    assert.ok(
      sentences.length > 50 &&
        sentences.some((x) => x.data.from === 'es') &&
        sentences.some((x) => x.data.from === 'en'),
    );
    // gender agreement: a feminine noun takes the feminine adjective
    assert.ok(
      sentences.every(
        (x) =>
          !/^(La|Una) .* (blanco|negro|rojo|nuevo|viejo)\.$/.test(x.data.from === 'en' ? x.data.target : x.data.source),
      ),
    );
  });

  it('writing: exactly N words, lists of N members, capital letters', () => {
    assert.equal(countWords('The cat is very big today.'), 6);
    assert.equal(countWords(' - 3 cats , '), 2);
    assert.deepEqual(listItems('- red\n- blue\n- green'), ['red', 'blue', 'green']);
    assert.deepEqual(listItems('1. rojo\n2) azul'), ['rojo', 'azul']);
    assert.deepEqual(listItems('red, blue and green.'), ['red', 'blue', 'green']);
    const items = writingTask.items(300, { seed: 4, lang: 'mix' });
    for (const kind of ['words', 'list', 'caps'])
      assert.ok(
        items.some((x) => x.data.kind === kind),
        kind,
      );
    for (const x of items) {
      if (x.data.kind === 'words') {
        assert.equal(countWords(x.reference), x.data.n, x.reference);
        const [lo, hi] = [x.data.n - 1, x.data.n + 1];
        assert.ok(!writingTask.verify(x, x.reference.replace(/\.$/, ' extra.')), `${lo}-${hi}`);
      } else if (x.data.kind === 'list') {
        assert.equal(listItems(x.reference).length, x.data.n);
        assert.ok(!writingTask.verify(x, `${x.reference}\n- Zorglub`));
      } else {
        assert.equal(x.reference, x.reference.toUpperCase());
        assert.ok(!writingTask.verify(x, x.reference.toLowerCase()));
      }
    }
  });
});
