import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  accuracyReward,
  chainOfThought,
  formatReward,
  builtinReward,
  languageReward,
  loadRewardModule,
  promptLanguage,
  parseRewardWeights,
  scoreRewards,
  type RewardInput,
} from '../../src/rl/rewards.js';
import { answersMatch, taskProblems } from '../../src/rl/problems.js';
import { getTask } from '../../src/data/tasks/index.js';

function input(response: string, answer = '42'): RewardInput {
  return { response, question: 'q', answer, check: (a) => answersMatch(a, answer), finish: 'stop', length: 10 };
}

describe('rewards', () => {
  it('accuracy: 1 for a correct boxed answer, 0 otherwise, 0 if </think> is missing (SPEC 5 check)', () => {
    assert.equal(accuracyReward(input('<think>6*7</think> The answer is \\boxed{42}.')), 1);
    assert.equal(accuracyReward(input('<think>6*7</think> \\boxed{41}')), 0);
    assert.equal(accuracyReward(input('<think>6*7 \\boxed{42}')), 0, 'no </think>');
    assert.equal(accuracyReward(input('\\boxed{42}')), 0, 'no think block at all');
    assert.equal(accuracyReward(input('<think>x</think><answer>42</answer>')), 1);
    assert.equal(accuracyReward(input('<think>x</think><answer> 42. </answer>')), 1);
    assert.equal(accuracyReward(input('<think>x</think><answer>\\boxed{42}</answer>')), 1);
  });

  it('accuracy edge cases: no answer, answer only inside the reasoning, two answers, malformed tags', () => {
    assert.equal(accuracyReward(input('<think>it is 42</think> 42')), 0, 'no tags: no answer');
    assert.equal(
      accuracyReward(input('<think><answer>42</answer></think>')),
      0,
      'answer inside the reasoning does not count',
    );
    assert.equal(
      accuracyReward(input('<think>x</think><answer>41</answer><answer>42</answer>')),
      1,
      'the last answer is graded',
    );
    assert.equal(accuracyReward(input('<think>x</think><answer>42</answer><answer>41</answer>')), 0);
    assert.equal(accuracyReward(input('<think>x</think><answer>42')), 0, 'unclosed answer');
    assert.equal(accuracyReward(input('<think>x</think></answer>42<answer>')), 0, 'tags in the wrong order');
    assert.equal(accuracyReward(input('<think>x</think>\\boxed{42')), 0, 'unbalanced box');
    assert.equal(accuracyReward(input('<think>x</think><answer></answer>')), 0, 'empty answer');
    assert.equal(
      accuracyReward({
        ...input('<think>x</think><answer>1</answer>'),
        check: () => {
          throw new Error('boom');
        },
      }),
      0,
      'a throwing checker scores 0',
    );
  });

  it('accuracy with huge numbers is exact (no float rounding)', () => {
    const big = '123456789012345678901234567890';
    assert.equal(accuracyReward(input(`<think>x</think><answer>${big}</answer>`, big)), 1);
    assert.equal(accuracyReward(input(`<think>x</think><answer>123456789012345678901234567891</answer>`, big)), 0);
    assert.equal(
      accuracyReward(input(`<think>x</think><answer>1${'0'.repeat(400)}</answer>`, `1${'0'.repeat(400)}`)),
      1,
    );
    assert.equal(accuracyReward(input(`<think>x</think><answer>1e400</answer>`, '1')), 0);
    assert.equal(accuracyReward(input('<think>x</think><answer>1,234</answer>', '1234')), 1);
  });

  it('format: <think>...</think> then <answer>...</answer>, nothing else', () => {
    assert.equal(formatReward(input('<think>a</think><answer>b</answer>')), 1);
    assert.equal(formatReward(input(' <think>\na\n</think>\n<answer>b</answer>\n')), 1);
    assert.equal(formatReward(input('<think>a</think>')), 0);
    assert.equal(formatReward(input('<answer>b</answer><think>a</think>')), 0);
    assert.equal(formatReward(input('<think>a</think><answer>b</answer> trailing')), 0);
    assert.equal(formatReward(input('<think>a<think>b</think><answer>c</answer>')), 0);
    assert.equal(formatReward(input('<think>a</think><answer>b</answer><answer>c</answer>')), 0);
  });

  it('language: share of chain-of-thought words in the target language, counted by word lists', () => {
    const en = languageReward('en');
    const es = languageReward('es');
    assert.equal(en(input('<think>add the two numbers</think><answer>3</answer>')), 1);
    assert.equal(es(input('<think>add the two numbers</think><answer>3</answer>')), 0);
    // Latin script throughout: a script-based detector calls this English; the word lists call it Spanish
    const spanish = '<think>Sumamos las dos cifras y llevamos una</think><answer>3</answer>';
    assert.equal(en(input(spanish)), 0);
    assert.equal(es(input(spanish)), 1);
    // 'no', numbers and symbols count for neither language; 'the' and 'numbers' for English, 'sumamos' and 'los' Spanish
    assert.equal(en(input('<think>sumamos los numbers: 1 + 2 = 3, no</think>')), 1 / 3);
    assert.equal(
      en(input('<think>add the numbers</think><answer>sumamos los dos</answer>')),
      1,
      'the answer is not part of the chain of thought',
    );
    assert.equal(en(input('<think>1 + 2 = 3</think>')), 0, 'no language words');
    assert.equal(
      languageReward('zh')(input('<think>先算 then 加</think>')),
      2 / 3,
      'non-Latin targets count by script',
    );
    assert.equal(chainOfThought('<think>abc</think>x'), 'abc');
    for (const r of [
      '<think>Ωmega word 字</think>',
      'no tags at all',
      '<think></think>',
      '<think>straße café</think>',
    ]) {
      for (const f of [en, es, languageReward()]) {
        const v = f(input(r));
        assert.ok(v >= 0 && v <= 1, `${r}: ${v}`);
      }
    }
    assert.throws(() => languageReward('klingon'), /unknown script or language 'klingon'/);
    assert.throws(() => languageReward('latin'), /shared by English and Spanish/);
  });

  it("language: the target is the prompt's language by default (the problem's lang, else the question's)", () => {
    const byPrompt = languageReward();
    const cot = '<think>Restamos 4 en ambos lados y dividimos entre 2</think><answer>3</answer>';
    assert.equal(byPrompt({ ...input(cot), lang: 'es' }), 1);
    assert.equal(byPrompt({ ...input(cot), lang: 'en' }), 0);
    assert.equal(byPrompt({ ...input(cot), question: 'Resuelve la ecuación para x: 2x + 4 = 10.' }), 1);
    assert.equal(byPrompt({ ...input(cot), question: 'Solve for x: 2x + 4 = 10.' }), 0);
    assert.equal(promptLanguage({ question: '2 + 2 = ?' }), 'en', 'no words: English');
    assert.equal(builtinReward('language')!({ ...input(cot), lang: 'es' }), 1);
    // a Spanish problem of a built-in task carries its language into the reward input
    const [p] = taskProblems('lineq', 1, { lang: 'es' });
    assert.equal(p.lang, 'es');
    const solution = getTask('lineq').solution(getTask('lineq').problems(1, { split: 'test', lang: 'es' })[0]);
    assert.equal(byPrompt({ ...input(solution), question: p.question, lang: p.lang }), 1);
    assert.equal(byPrompt({ ...input(solution), question: p.question, lang: 'en' }), 0);
  });

  it('weights, totals and errors that name the reward', () => {
    assert.deepEqual(parseRewardWeights('accuracy=1,format=0.5'), { accuracy: 1, format: 0.5 });
    assert.throws(() => parseRewardWeights('acuracy=1'), /unknown reward 'acuracy'/);
    assert.throws(() => parseRewardWeights('accuracy=x'), /weight of 'accuracy'/);
    assert.deepEqual(parseRewardWeights('mine=2', ['mine']), { mine: 2 });
    const xs = [input('<think>a</think><answer>42</answer>'), input('<think>a</think> 42')];
    const s = scoreRewards(
      [
        { name: 'accuracy', fn: accuracyReward, weight: 1 },
        { name: 'format', fn: formatReward, weight: 0.5 },
      ],
      xs,
    );
    assert.deepEqual(Array.from(s.total), [1.5, 0]);
    assert.deepEqual(Array.from(s.per.format), [1, 0]);
    assert.throws(
      () => scoreRewards([{ name: 'bad', fn: () => NaN, weight: 1 }], xs),
      /reward 'bad' returned NaN on sample 0/,
    );
    assert.throws(
      () =>
        scoreRewards(
          [
            {
              name: 'boom',
              fn: () => {
                throw new Error('x');
              },
              weight: 1,
            },
          ],
          xs,
        ),
      /reward 'boom' threw/,
    );
  });

  it('loads user reward functions from a module (default export named after the file, and named exports)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'r1ts-rew-'));
    try {
      const f = join(dir, 'brevity.mjs');
      writeFileSync(
        f,
        'export default (x) => 1 / (1 + x.length);\nexport const hasX = (x) => (x.response.includes("x") ? 1 : 0);\nexport const notAFunction = 3;\n',
      );
      const fns = await loadRewardModule(f);
      assert.deepEqual(Object.keys(fns).sort(), ['brevity', 'hasX']);
      assert.equal(fns.brevity(input('abc')), 1 / 11);
      assert.equal(fns.hasX(input('xyz')), 1);
      writeFileSync(join(dir, 'empty.mjs'), 'export const a = 1;\n');
      await assert.rejects(loadRewardModule(join(dir, 'empty.mjs')), /exports no function/);
      await assert.rejects(loadRewardModule(join(dir, 'missing.mjs')), /cannot load/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
