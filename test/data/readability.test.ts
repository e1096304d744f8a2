import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  hasCodeBlock,
  hasMixedLanguage,
  hasOverlongParagraph,
  isReadable,
  isReadableFormat,
  longestParagraph,
  MAX_PARAGRAPH_CHARS,
  readabilityFailures,
} from '../../src/data/readability.js';
import { TASKS } from '../../src/data/tasks/index.js';
import { LANGUAGES } from '../../src/data/language.js';
import { prefPairs, reasoningResponse } from '../../src/data/prefs/index.js';

describe("R1's readability filters", () => {
  it('language: a chain of thought that mixes English and Spanish fails; the answer part is not looked at', () => {
    assert.equal(hasMixedLanguage('<think>Sumamos las unidades, then we add the tens</think>The answer is 5.'), true);
    assert.equal(hasMixedLanguage('<think>Sumamos las unidades y luego las decenas</think>The answer is 5.'), false);
    assert.equal(hasMixedLanguage('<think>1 + 2 = 3</think>3'), false);
    assert.deepEqual(readabilityFailures('<think>primero sumamos, then we check</think>\nThe answer is 3.'), [
      'language',
    ]);
  });

  it(`paragraphs: a line over ${MAX_PARAGRAPH_CHARS} characters fails`, () => {
    const wall = `<think>${'we add the numbers and check them again '.repeat(20)}</think>\nThe answer is 3.`;
    assert.ok(longestParagraph(wall) > MAX_PARAGRAPH_CHARS);
    assert.equal(hasOverlongParagraph(wall), true);
    assert.deepEqual(readabilityFailures(wall), ['paragraphs']);
    const steps = `<think>\n${'we add the numbers and check them again\n'.repeat(20)}</think>\nThe answer is 3.`;
    assert.equal(hasOverlongParagraph(steps), false);
    assert.equal(hasOverlongParagraph(wall, 10_000), false, 'the limit is an option');
  });

  it('code: fenced blocks and <pre>/<code> fail unless the prompt is a code task', () => {
    const coded = '<think>compute it</think>\n```python\nprint(6 * 7)\n```\nThe answer is 42.';
    assert.equal(hasCodeBlock(coded), true);
    assert.equal(hasCodeBlock('<think>x</think><pre>42</pre>'), true);
    assert.equal(hasCodeBlock('<think>6 * 7 = 42</think>\nThe answer is 42 (no `code` spans count).'), false);
    assert.deepEqual(readabilityFailures(coded), ['code']);
    assert.deepEqual(readabilityFailures(coded, { codeTask: true }), []);
  });

  it('format: <think>...</think> then a non-empty summary, nothing before, one chain of thought', () => {
    assert.equal(isReadableFormat('<think>\nsteps\n</think>\nThe answer is 3.'), true);
    assert.equal(isReadableFormat('<think>steps</think><answer>3</answer>'), true);
    assert.equal(isReadableFormat('<think>steps</think>'), false, 'no summary');
    assert.equal(isReadableFormat('<think>steps</think>   \n'), false, 'an empty summary');
    assert.equal(isReadableFormat('Sure. <think>steps</think> 3'), false, 'text before');
    assert.equal(isReadableFormat('<think>a</think> b <think>c</think> d'), false, 'two chains of thought');
    assert.equal(isReadableFormat('steps without tags'), false);
    assert.equal(isReadableFormat('steps\n</think>\nThe answer is 3.', true), true, 'the prompt opened <think>');
    assert.equal(isReadableFormat('steps\n</think>\nThe answer is 3.'), false);
  });

  it('every built-in worked solution and chosen helpful answer passes every filter, in both languages', () => {
    for (const task of Object.values(TASKS)) {
      for (const lang of LANGUAGES) {
        for (const p of task.problems(30, { seed: 1, lang, difficulty: task.difficulty.corpus as [number, number] })) {
          for (const text of [task.solution(p, 2), reasoningResponse(task, p, 2)])
            assert.deepEqual(readabilityFailures(text), [], `${task.name} ${lang}: ${text}`);
        }
      }
    }
    for (const p of prefPairs('helpful', 100, { seed: 2, lang: 'mix' })) assert.ok(isReadable(p.chosen), p.chosen);
  });
});
