import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { type CorpusDoc, corpusDocuments, DOC_KINDS, parseCorpusStyle } from '../../src/data/corpus.js';
import {
  PLAIN_TAGGED_REPLY_SHARE,
  solutionParts,
  templatedOrTaggedSolution,
  withSlip,
} from '../../src/data/corpus_plain.js';
import { Generator } from '../../src/tensor/random.js';
import { Tokenizer } from '../../src/data/tokenizer.js';
import { PRESETS } from '../../src/train/presets.js';
import { getTask } from '../../src/data/tasks/index.js';

/** Every kind, both languages: what the plain style writes. */
const ALL_KINDS = Object.fromEntries(DOC_KINDS.filter((k) => k !== 'tagged').map((k) => [k, 1]));

const fingerprint = (docs: Iterable<CorpusDoc>): string => {
  const h = createHash('sha256');
  for (const d of docs) h.update(`${d.kind}\u0000${d.text}\u0001`);
  return h.digest('hex').slice(0, 16);
};

describe('plain corpus style', () => {
  const plain = [
    ...corpusDocuments({
      style: 'plain',
      tasks: ['mix'],
      n: 6000,
      seed: 11,
      mix: ALL_KINDS,
      languages: { en: 0.6, es: 0.4 },
    }),
    ...corpusDocuments({ ...PRESETS.tiny.corpus, style: 'plain', n: 3000, seed: 0 }),
  ];

  it('never writes the R1-Zero template or a task solution inside <think>/<answer> (and the check catches both)', () => {
    const bad = plain.filter((d) => templatedOrTaggedSolution(d.text));
    assert.deepEqual(
      bad.slice(0, 3).map((d) => d.text),
      [],
    );
    // the check flags every task document of the templated style, and each way of breaking the rule on its own
    const templated = [
      ...corpusDocuments({ style: 'templated', tasks: ['mix'], n: 600, seed: 11, mix: { worked: 1, partial: 1 } }),
      ...corpusDocuments({ style: 'templated', tasks: ['mix'], n: 300, seed: 12, mix: { terse: 1 }, templateShare: 0 }),
    ];
    assert.deepEqual(
      templated.filter((d) => !templatedOrTaggedSolution(d.text)).map((d) => d.text),
      [],
    );
    assert.ok(templatedOrTaggedSolution('A conversation between User and Assistant. The user asks a question.'));
    assert.ok(templatedOrTaggedSolution('Sort these numbers from smallest to largest: 3, 1.\n<answer>1, 3</answer>'));
    assert.ok(templatedOrTaggedSolution('Something.\n<think> 12 + 30 = 42 </think>'));
    assert.ok(templatedOrTaggedSolution('<think>\n3x + 4 = 10'));
    assert.ok(!templatedOrTaggedSolution('What is 3 + 4?\nThe answer is 7.\n<note>Paris is in France.</note>'));
  });

  it('writes worked solutions in several layouts, some with a check, some with a slip that is redone', () => {
    const worked = plain.filter((d) => d.kind === 'worked');
    const starts = [
      'Problem ',
      'Q: ',
      'Example ',
      'Question: ',
      'User: ',
      'Problema ',
      'P: ',
      'Ejemplo ',
      'Pregunta: ',
    ];
    for (const s of starts)
      assert.ok(
        worked.some((d) => d.text.startsWith(s)),
        `no worked document starts '${s}'`,
      );
    const lineq = worked.filter((d) => d.task === 'lineq');
    const checked = lineq.filter((d) => /\n(Check|Comprobación): /.test(d.text)).length / lineq.length;
    assert.ok(checked > 0.35 && checked < 0.65, `share with a check line ${checked}`);
    const slips = worked.filter((d) => /\n(Wait|Espera), /.test(d.text));
    assert.ok(slips.length > 0.08 * worked.length, `slips ${slips.length} of ${worked.length}`);
    assert.ok(slips.some((d) => d.text.includes('Let me redo that step.')));
    assert.ok(slips.some((d) => d.text.includes('Repito ese paso.')));
    // every lineq document closes with its problem's answer
    for (const d of lineq.slice(0, 300)) {
      const p = getTask('lineq').problemAt(0);
      const id = d.ids?.[0] ?? '';
      const [a, b, c, e] = id.slice('lineq:'.length).split(',').map(Number);
      const x = (e - b) / (a - c);
      assert.ok(
        new RegExp(`([Aa]nswer: |answer is |Respuesta: |respuesta es |Respuesta final: )${x}\\.?$`).test(d.text),
        d.text,
      );
      assert.equal(p.task, 'lineq');
    }
  });

  it('a terse solution breaks the line after the heading as a worked one does, then answers', () => {
    // the choice between working and guessing comes after the solution's first line, whatever the prompt's last token
    for (const kind of ['terse', 'worked'] as const) {
      const lineq = plain.filter((d) => d.kind === kind && d.task === 'lineq' && /^(Q|P): /.test(d.text));
      assert.ok(lineq.length > 20, kind);
      for (const d of lineq) {
        const lines = d.text.split('\n');
        assert.match(lines[1], /^(A|R):$/, d.text);
        assert.match(lines[2], /^-?\d*x( [-+] \d+)? = .*\d$/, d.text);
      }
    }
    const terse = plain.filter((d) => d.kind === 'terse' && d.task === 'lineq');
    for (const d of terse) {
      const lines = d.text.split('\n');
      assert.equal(lines.length, /^(Question|Pregunta): /.test(d.text) ? 5 : 4, d.text);
      const answer =
        '^(Answer: |(So the|The) answer is |Final answer: |Respuesta( final)?: |(Por lo tanto, )?La respuesta es )';
      assert.match(lines[lines.length - 1], new RegExp(`${answer}-?\\d+\\.?$`, 'i'), d.text);
    }
  });

  it('a slip writes a wrong result, notices it with the right one, and redoes the step', () => {
    const steps = ['5x + 16 = 31', 'Subtract 16 from both sides: 5x = 31 - 16 = 15', 'Divide both sides by 5: x = 3'];
    const out = withSlip(new Generator(1), steps, 'en', 1);
    assert.ok(out);
    assert.equal(out.length, 5);
    const wrong = /= (-?\d+)$/.exec(out[1])![1];
    assert.notEqual(wrong, '15');
    assert.equal(out[2], `Wait, 31 - 16 is 15, not ${wrong}. Let me redo that step.`);
    assert.equal(out[3], steps[1]);
    assert.equal(withSlip(new Generator(1), ['no numbers here'], 'es'), null);
    assert.deepEqual(solutionParts('<think>\na\nb\n</think>\n<answer>7</answer>'), { steps: ['a', 'b'], answer: '7' });
  });

  it('adds generic tagged documents, about 15%, with instructions that name the tags', () => {
    const docs = [...corpusDocuments({ ...PRESETS.tiny.corpus, style: 'plain', n: 3000, seed: 0 })];
    const tagged = docs.filter((d) => d.kind === 'tagged');
    assert.ok(Math.abs(tagged.length / docs.length - 0.15) < 0.02, `tagged share ${tagged.length / docs.length}`);
    assert.ok(tagged.some((d) => /<think> .* <\/think> <answer>.+<\/answer>$/.test(d.text)));
    assert.ok(tagged.some((d) => d.text.includes('<think> </think>') && d.text.includes('<answer> </answer>')));
    assert.ok(tagged.some((d) => d.text.startsWith('<quiz>')));
    assert.ok(tagged.some((d) => d.text.startsWith('<note>')));
    assert.ok(
      tagged.some((d) =>
        /^A chat between .* User: .* Assistant: <think> .* <\/think> <answer>.+<\/answer>$/.test(d.text),
      ),
    );
    assert.ok(
      docs.filter((d) => d.kind !== 'tagged').every((d) => !/<(think|answer)>/.test(d.text) || d.kind === 'text'),
    );
    // the mix may name the share, or leave tagged documents out
    assert.ok(
      [...corpusDocuments({ style: 'plain', tasks: ['add'], n: 200, mix: { worked: 1, tagged: 0 } })].every(
        (d) => d.kind === 'worked',
      ),
    );
  });

  it('chat logs with a tag preamble use the tags in about half of their replies, restating the question first', () => {
    const docs = [
      ...corpusDocuments({ ...PRESETS.tiny.corpus, style: 'plain', n: 12000, seed: 1, languages: { en: 1, es: 1 } }),
    ];
    const preamble = /^(A chat between|The assistant thinks first|Una conversación|El asistente piensa)/;
    const logs = docs.filter((d) => d.kind === 'tagged' && preamble.test(d.text));
    const replies = logs.flatMap((d) =>
      [...d.text.matchAll(/(?:Assistant|Asistente): (.*?)(?=\n|$)/g)].map((m) => m[1]),
    );
    const inTags = replies.filter((r) => r.startsWith('<think>'));
    const share = inTags.length / replies.length;
    assert.ok(replies.length > 400 && Math.abs(share - PLAIN_TAGGED_REPLY_SHARE) < 0.05, `tagged replies ${share}`);
    assert.ok(replies.filter((r) => !r.startsWith('<think>')).every((r) => !/<\/?(think|answer)>/.test(r)));
    // a tagged reply's notes open with the question the user asked
    let restated = 0;
    for (const d of logs) {
      for (const m of d.text.matchAll(/(?:User|Usuario): (.*?) (?:Assistant|Asistente): <think> (.*?) <\/think>/g)) {
        assert.ok(m[2].startsWith(`${m[1]} `), `${m[1]} / ${m[2]}`);
        restated++;
      }
    }
    assert.equal(restated, inTags.length);
    assert.ok(logs.some((d) => d.lang === 'es' && /Asistente: <think> ¿/.test(d.text)));
    assert.ok(logs.some((d) => d.lang === 'es' && /Asistente: [^<]/.test(d.text)));
  });

  it('the templated style is the corpus of before, document for document (fingerprints)', () => {
    const t = { style: 'templated' as const };
    assert.equal(fingerprint(corpusDocuments({ ...PRESETS.tiny.corpus, n: 300, seed: 0, ...t })), '7b033db566ab28a6');
    assert.equal(
      fingerprint(corpusDocuments({ ...PRESETS.tiny.corpus, n: 300, seed: 3, languages: { en: 0.7, es: 0.3 }, ...t })),
      'c7f36ac9cd7eba31',
    );
    assert.equal(fingerprint(corpusDocuments({ tasks: ['mix'], n: 300, seed: 1, ...t })), 'c48da67c66826bef');
    const allKinds = { worked: 1, switched: 1, terse: 1, partial: 1, answer: 1, facts: 1, text: 1, drill: 1, copy: 1 };
    const o = { tasks: ['mix'], n: 300, seed: 2, mix: allKinds, languages: { en: 0.5, es: 0.5 }, templateShare: 0.5 };
    assert.equal(fingerprint(corpusDocuments({ ...o, ...t })), 'c85934492cc1b2f6');
    // and the default is still the templated style (DEFAULT_CORPUS_STYLE)
    assert.equal(fingerprint(corpusDocuments({ ...PRESETS.tiny.corpus, n: 300, seed: 0 })), '7b033db566ab28a6');
    assert.throws(() => parseCorpusStyle('fancy'), /the style is one of plain, templated, got 'fancy'/);
  });

  it('a tokenizer trained on the plain corpus keeps <think>, </think>, <answer>, </answer> as single tokens', async () => {
    const texts = plain.slice(0, 400).map((d) => d.text);
    const tok = await Tokenizer.train(
      (async function* () {
        yield* texts;
      })(),
      { vocabSize: 320 },
    );
    for (const tag of ['<think>', '</think>', '<answer>', '</answer>'])
      assert.equal(tok.encode(tag, { addSpecialTokens: false }).length, 1, tag);
  });
});
