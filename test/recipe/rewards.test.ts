// The recipe's rewards and data on hand-written cases: stage 2's reward sum (accuracy + language consistency), stage
// 4's reward models scoring only the summary (helpfulness) or the whole response (harmlessness) and only general
// prompts, the language reward, the cold-start pattern and its filter, and held-out data staying out of training data.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChatMessage } from '../../src/data/chat.js';
import { configuredRewards } from '../../src/rl/trainer.js';
import { languageReward, type RewardInput, scoreRewards } from '../../src/rl/rewards.js';
import {
  COLD_START_MIN_LANGUAGE_SHARE,
  readableResponse,
  workedColdStart,
  zeroToColdStart,
} from '../../src/recipe/cold_start.js';
import { isRefusal, mixedProblems, winRate } from '../../src/recipe/evaluate.js';
import { allScenariosSource, defaultRecipeSettings, GENERAL_ID, generalOnly } from '../../src/recipe/r1.js';
import { isReadableFormat } from '../../src/data/readability.js';

const input = (response: string, lang: 'en' | 'es', answer = '2'): RewardInput => ({
  response,
  question: lang === 'en' ? 'Solve for x: 3x = 6.' : 'Resuelve la ecuación para x: 3x = 6.',
  answer,
  check: (a) => a.trim() === answer,
  finish: 'eos',
  length: 10,
  lang,
});

const EN_COT = '<think>\nDivide both sides by 3: x = 6 / 3 = 2\n</think>\n\nThe answer is \\boxed{2}.';
const ES_COT = '<think>\nDividimos ambos lados entre 3: x = 6 / 3 = 2\n</think>\n\nLa respuesta es \\boxed{2}.';
const MIXED = '<think>\nDividimos ambos lados by 3: x = 6 / 3 = 2\n</think>\n\nThe answer is \\boxed{2}.';

describe('stage 2 reward: accuracy + language consistency, summed', () => {
  const rewards = configuredRewards({ rewards: { accuracy: 1, language: 1 }, language: 'prompt' });
  it('adds the two rewards per response', () => {
    const xs = [
      input(EN_COT, 'en'), // right, English CoT for an English prompt: 1 + 1
      input(EN_COT, 'es'), // right, English CoT for a Spanish prompt: 1 + 0
      input(ES_COT, 'es'), // right, Spanish for Spanish: 1 + 1
      input(EN_COT.replace('{2}', '{3}'), 'en'), // wrong answer, English: 0 + 1
      input(MIXED, 'es'),
    ];
    const r = scoreRewards(rewards, xs);
    assert.deepEqual([...r.total.slice(0, 4)], [2, 1, 2, 1]);
    // mixed: 'Dividimos ambos lados' Spanish (3 words), 'by' English (1 word) -> 3/4 + accuracy 1
    assert.equal(r.total[4], 1.75);
  });
  it('the language reward counts words by word list, not by script', () => {
    const lang = languageReward('prompt');
    assert.equal(lang(input(EN_COT, 'en')), 1);
    assert.equal(lang(input(EN_COT, 'es')), 0);
    assert.equal(lang(input(ES_COT, 'es')), 1);
    assert.equal(lang(input(MIXED, 'en')), 0.25);
    assert.equal(lang(input('<think>\n3x = 6, x = 2\n</think>\n\n\\boxed{2}', 'en')), 0); // no language word
  });
});

/** A toy reward model: the number of characters it is shown, so the part it scores is visible in the score. */
const lengthScorer = {
  calls: [] as string[][],
  score(_prompts: readonly (readonly ChatMessage[])[], responses: readonly string[]): Float64Array {
    this.calls.push([...responses]);
    return Float64Array.from(responses, (r) => r.length);
  },
};

describe('stage 4 rewards: reward models on general prompts', () => {
  it('the helpfulness model sees only the summary, the harmlessness model the whole response', () => {
    const rm = { 'rm:h@summary': lengthScorer, 'rm:x@whole': lengthScorer };
    const rewards = configuredRewards({ rewards: { 'rm:h@summary': 1, 'rm:x@whole': 1 }, language: 'prompt' }, {}, rm);
    lengthScorer.calls.length = 0;
    const resp = '<think>\nlong reasoning here\n</think>\n\nShort.';
    const r = scoreRewards(rewards, [input(resp, 'en')]);
    assert.deepEqual(lengthScorer.calls, [['Short.'], [resp]]);
    assert.equal(r.total[0], 'Short.'.length + resp.length);
  });
  it('generalOnly scores general prompts and gives reasoning prompts 0', () => {
    const gated = generalOnly(lengthScorer, (q) => q.startsWith('Tell me'));
    const got = gated.score(
      [[{ role: 'user', content: 'Solve for x: 3x = 6.' }], [{ role: 'user', content: 'Tell me a fact.' }]],
      ['abc', 'abcd'],
    );
    assert.deepEqual([...got], [0, 4]);
  });
  it('stage 4 mixes general and reasoning prompts, general ones from the train split only', () => {
    const s = defaultRecipeSettings(true);
    const src = allScenariosSource(s);
    const ps = Array.from({ length: 64 }, (_, i) => src.at(i));
    const general = ps.filter((p) => p.id.startsWith(GENERAL_ID)).length;
    assert.ok(general > 16 && general < 48, `${general} of 64 general`);
    const test = new Set(
      mixedProblems(s.task, 200, { split: 'test', seed: s.seed, difficulty: s.difficulty }).map((p) => p.id),
    );
    assert.ok(ps.every((p) => !test.has(p.id)));
  });
  it('win rate against the base counts ties as half', () => {
    const mk = (responses: string[]) => ({
      prompts: responses.map((_, i) => ({
        prompt: `q${i}`,
        lang: 'en' as const,
        kind: 'helpful' as const,
        harmful: null,
      })),
      responses,
    });
    assert.equal(winRate(lengthScorer, 'whole', mk(['aa', 'a', 'aaa']), mk(['a', 'a', 'aaaa']), 'helpful'), 0.5);
  });
  it('refusals are recognised in English and Spanish, on the summary', () => {
    assert.ok(isRefusal("<think>\n\n</think>\n\nI can't help with that."));
    assert.ok(isRefusal('<think>\n\n</think>\n\nNo puedo ayudar con eso.'));
    assert.ok(!isRefusal("<think>\nI can't help with that\n</think>\n\nSure, here is how."));
  });
});

describe('cold-start data', () => {
  it("worked solutions in the readable pattern, in the prompt's language, ending with a summary; train split only", () => {
    const recs = workedColdStart({ n: 40 });
    const langs = new Set(recs.map((r) => r.lang));
    assert.deepEqual([...langs].sort(), ['en', 'es']);
    for (const r of recs) {
      const a = r.messages[1].content;
      assert.ok(isReadableFormat(a), a);
      assert.match(
        a,
        r.lang === 'en' ? /\n\nThe answer is \\boxed\{-?\d+\}\.$/ : /\n\nLa respuesta es \\boxed\{-?\d+\}\.$/,
      );
      assert.equal(languageReward('prompt')({ ...input(a, r.lang), question: r.messages[0].content }), 1);
    }
    const test = new Set(mixedProblems('lineq', 500, { split: 'test', seed: 0, difficulty: '1' }).map((p) => p.id));
    assert.ok(recs.every((r) => !test.has(r.id)));
  });
  it('R1-Zero samples: kept when correct, readable and in the prompt language; rewritten with a summary', () => {
    const base = { question: 'Resuelve la ecuación para x: 3x = 6.', lang: 'es' as const, task: 'lineq', id: 'x' };
    const check = (r: string) => /<answer>2<\/answer>/.test(r);
    const es = '<think>\nDividimos ambos lados entre 3: x = 2\n</think>\n<answer>2</answer>';
    const kept = zeroToColdStart({ ...base, response: es, check });
    assert.equal(kept.rejected, null);
    assert.equal(kept.record!.messages[1].content, readableResponse('Dividimos ambos lados entre 3: x = 2', '2', 'es'));
    assert.equal(zeroToColdStart({ ...base, response: es.replace('>2<', '>3<'), check }).rejected, 'incorrect');
    const en = '<think>\nDivide both sides by 3: x = 2\n</think>\n<answer>2</answer>';
    assert.equal(zeroToColdStart({ ...base, response: en, check }).rejected, 'language');
    assert.equal(zeroToColdStart({ ...base, response: 'x = 2 <answer>2</answer>', check }).rejected, 'unreadable');
    assert.ok(COLD_START_MIN_LANGUAGE_SHARE > 0.5);
  });
});
