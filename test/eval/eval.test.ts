import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answerKey, evaluate, majorityVote, passAtK, scoreResponses } from '../../src/eval/eval.js';
import {
  answersMatch,
  gsm8kAnswer,
  listSource,
  loadJsonlProblems,
  taskProblems,
  type RLProblem,
} from '../../src/rl/problems.js';
import { toyCodec, toyModel } from '../rl/helpers.js';

const prob = (answer: string, id = answer): RLProblem => ({
  id,
  question: 'q',
  answer,
  check: (a) => answersMatch(a, answer),
});
const say = (a: string) => `<think>...</think><answer>${a}</answer>`;

describe('evaluation', () => {
  it('pass@1 is the mean over k samples; cons@k is a majority vote; greedy is one sample', () => {
    const problems = [prob('7'), prob('3'), prob('10')];
    const r = scoreResponses(problems, [
      { responses: [say('7'), say('7'), say('8'), say('7')], greedy: say('7') }, // 3/4, vote 7 (right)
      { responses: [say('3'), say('4'), say('4'), 'no answer'], greedy: say('4') }, // 1/4, vote 4 (wrong)
      { responses: [say('10'), say('9'), say('10.0'), say('9')], greedy: '<think>x' }, // 2/4, tie 10 vs 9: first seen (10) wins
    ]);
    assert.equal(r.n, 3);
    assert.equal(r.k, 4);
    assert.equal(r['pass@1'], (3 / 4 + 1 / 4 + 2 / 4) / 3);
    assert.equal(r['cons@k'], 2 / 3);
    assert.equal(r.greedy, 1 / 3);
    assert.deepEqual(
      r.problems.map((p) => p.vote),
      ['7', '4', '10'],
    );
    // cons@k >= pass@1 is typical but not a law; here it is
    assert.ok(r['cons@k'] >= r['pass@1']);
  });

  it('majority vote: numbers vote by value, no-answer samples do not vote, ties go to the first seen', () => {
    assert.equal(majorityVote(['1/2', '0.5', '\\frac{1}{2}', '2', '2']), '1/2');
    assert.equal(majorityVote([null, null, 'b']), 'b');
    assert.equal(majorityVote([null, null]), null);
    assert.equal(majorityVote(['a', 'b', 'b', 'a']), 'a');
    assert.equal(answerKey(' 1,234 '), answerKey('1234.0'));
    assert.notEqual(answerKey('x + 1'), answerKey('x+1'));
  });

  it('passAtK is the unbiased estimator', () => {
    assert.ok(Math.abs(passAtK(10, 3, 1) - 0.3) < 1e-12);
    assert.equal(passAtK(5, 0, 3), 0);
    assert.equal(passAtK(5, 3, 3), 1);
    assert.ok(Math.abs(passAtK(4, 1, 2) - 0.5) < 1e-12);
    assert.throws(() => passAtK(3, 1, 4), /k <= n/);
  });

  it('reads JSONL problems ({"prompt","answer"}, "question", GSM8K "#### answer"); errors name the line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'r1ts-eval-'));
    try {
      const f = join(dir, 'p.jsonl');
      writeFileSync(
        f,
        [
          JSON.stringify({ prompt: 'What is 2+2?', answer: '4' }),
          '',
          JSON.stringify({ question: 'Janet has...', answer: 'She has 3 + 4 = 7 eggs.\n#### 1,072' }),
          JSON.stringify({ prompt: 'Name it', answer: 'Paris' }),
        ].join('\n'),
      );
      const ps = loadJsonlProblems(f);
      assert.deepEqual(
        ps.map((p) => p.answer),
        ['4', '1072', 'Paris'],
      );
      assert.ok(ps[1].check('1,072') && ps[1].check('1072.00') && !ps[1].check('1073'));
      assert.ok(ps[2].check(' Paris ') && !ps[2].check('paris'));
      assert.equal(gsm8kAnswer('x\n#### -5'), '-5');
      writeFileSync(f, '{"prompt": "a", "answer": "1"}\n{"prompt": 3}\n');
      assert.throws(() => loadJsonlProblems(f), /p\.jsonl:2: needs a string "prompt"/);
      writeFileSync(f, '{"prompt": "a"\n');
      assert.throws(() => loadJsonlProblems(f), /p\.jsonl:1: invalid JSON/);
      // a cycling source visits every problem once per epoch
      const src = listSource('p', [prob('1'), prob('2'), prob('3')], 5);
      assert.deepEqual(new Set([0, 1, 2].map((i) => src.at(i).answer)), new Set(['1', '2', '3']));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('built-in task problems come from the test split and are checked by the task', () => {
    const ps = taskProblems('add', 5, { difficulty: 2 });
    assert.equal(ps.length, 5);
    assert.ok(ps.every((p) => p.check(p.answer)));
    assert.ok(!ps[0].check(String(Number(ps[0].answer) + 1)));
  });

  it('evaluate runs k sampled and one greedy response per problem', () => {
    const m = toyModel('dense');
    const problems = [0, 1].map((i) => ({ ...prob('x', `p${i}`), question: `what ${'ab'[i]}` }));
    const r = evaluate(m, toyCodec, problems, { k: 3, maxTokens: 5, template: '{prompt}:', stop: [] });
    assert.equal(r.n, 2);
    assert.equal(r.k, 3);
    assert.equal(r['pass@1'], 0); // an untrained model writes no <think>
    assert.equal(r.greedy, 0);
    assert.ok(r.meanLength > 0 && r.meanLength <= 5);
    assert.equal(r.problems.length, 2);
    // the reflection rate is the detector's over the sampled responses: a forced 'wait ' makes each one reflective
    assert.ok(r.reflectionRate < 1, String(r.reflectionRate));
    const w = evaluate(m, toyCodec, problems, {
      k: 3,
      maxTokens: 5,
      template: '{prompt}:',
      stop: [],
      responsePrefix: 'wait ',
    });
    assert.equal(w.reflectionRate, 1);
  });
});
