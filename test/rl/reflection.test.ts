import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isReflective, redoneCalculation, reflectionPhrase, reflectionRate } from '../../src/rl/reflection.js';

/** Hand-written responses that re-check a result or redo a step. */
const REFLECTIVE = [
  // English: a check by substitution, a noticed slip, a second attempt, a verification
  '<think>\n3x + 4 = 10\nSubtract 4: 3x = 6\nDivide by 3: x = 2\nCheck: 3 * 2 + 4 = 10\n</think>\n<answer>2</answer>',
  '<think> 31 - 16 = 14. Wait, 31 - 16 is 15, not 14. So 5x = 15 and x = 3. </think> <answer>3</answer>',
  '8 * 7 = 54, hmm, that is wrong: 8 * 7 = 56. The answer is 56.',
  'Let me verify: 12 + 30 is 42, yes. <answer>42</answer>',
  'I made a mistake in the second line; let me try again from there.',
  // a redone calculation with no phrase at all
  '<think>\n9 * 6 = 56\n9 * 6 = 54\n</think>\n<answer>54</answer>',
  // Spanish
  '<think>\n3x + 4 = 10\nRestamos 4: 3x = 6\nComprobación: 3 * 2 + 4 = 10\n</think>\n<answer>2</answer>',
  '<think> Espera, 31 - 16 es 15, no 14. Repito ese paso. </think> <answer>3</answer>',
  'Hay un error en la suma; lo hago de nuevo: 25 + 17 = 42.',
  'Voy a verificar el resultado: 6 * 7 = 42.',
];

/** Hand-written responses that do neither. */
const PLAIN = [
  '<think>\n3x + 4 = 10\nSubtract 4 from both sides: 3x = 6\nDivide both sides by 3: x = 2\n</think>\n<answer>2</answer>',
  '<think> 12 + 30 = 42 </think> <answer>42</answer>',
  'The answer is 56.',
  // the same calculation twice with the same result is not a redo
  '9 * 6 = 54, so 9 * 6 = 54 again gives 54.',
  'An unchecked box and a waiter: neither word is a reflection phrase.',
  '<think>\nRestamos 4 en ambos lados: 3x = 6\nDividimos entre 3: x = 2\n</think>\n<answer>2</answer>',
  'Esperanza suma 5 + 5 = 10.',
  '',
];

describe('reflection detector', () => {
  it('finds re-checks and redone steps in English and Spanish', () => {
    for (const r of REFLECTIVE) assert.ok(isReflective(r), r);
  });

  it('leaves responses without them alone', () => {
    for (const r of PLAIN) assert.ok(!isReflective(r), `${r} (${reflectionPhrase(r)})`);
  });

  it('names the phrase, spots redone calculations, and gives the rate', () => {
    assert.equal(reflectionPhrase('so, WAIT: that is odd'), 'WAIT');
    assert.equal(reflectionPhrase('Comprobación: 2 + 2 = 4'), 'Comprobación');
    assert.equal(reflectionPhrase('Checking the sum'), 'Checking');
    assert.ok(redoneCalculation('4 * (-3) = 12 ... no: 4 * (-3) = -12'));
    assert.ok(!redoneCalculation('4 * 3 = 12 and 3 * 4 = 12'));
    assert.equal(reflectionRate([...REFLECTIVE.slice(0, 3), PLAIN[0]]), 0.75);
    assert.equal(reflectionRate([]), 0);
  });
});
