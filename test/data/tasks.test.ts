import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Generator } from '../../src/index.js';
import {
  TASKS,
  getTask,
  addTask,
  mulTask,
  countdownTask,
  lineqTask,
  sortTask,
  modpowTask,
  splitOf,
  extractAnswer,
  extractBoxed,
  parseNumber,
  numbersEqual,
  isR1Format,
  parseExpr,
  evaluate,
  formatExpr,
  Rational,
  formatPrompt,
  R1_ZERO_TEMPLATE,
  type Problem,
  type Task,
} from '../../src/data/tasks/index.js';

const ALL = Object.values(TASKS) as unknown as Task<unknown>[];

/**
 * Every arithmetic equation chain in `text` (`a op b = c = d ...` on one line, not glued to a letter or operator on
 * its left, e.g. not the `4 = 19` in `3x + 4 = 19`), checked with exact rationals. Returns [checked, wrong].
 */
function checkEquations(text: string): { checked: number; wrong: string[] } {
  const re = /(?<![A-Za-z0-9()+\-*/^]\s*)-?\(?\d[ \d+\-*/()]*(?:=\s*-?\(?\d[ \d+\-*/()]*)+/g;
  let checked = 0;
  const wrong: string[] = [];
  for (const m of text.matchAll(re)) {
    const parts = m[0].split('=').map((s) => s.trim());
    const values = parts.map((p) => evaluate(parseExpr(p)));
    checked++;
    if (!values.every((v) => v.equals(values[0]))) wrong.push(m[0]);
  }
  return { checked, wrong };
}

describe('answer extraction', () => {
  it('takes the last complete <answer>, unwraps \\boxed, falls back to the last \\boxed', () => {
    assert.equal(extractAnswer('<think>..</think><answer> 42 </answer>'), '42');
    assert.equal(extractAnswer('<answer>1</answer> then <answer>2</answer>'), '2');
    assert.equal(extractAnswer('<answer>\\boxed{7}</answer>'), '7');
    assert.equal(extractAnswer('so the answer is \\boxed{\\frac{1}{2}}.'), '\\frac{1}{2}');
    assert.equal(extractAnswer('\\boxed{3} and \\boxed{4}'), '4');
    assert.equal(extractAnswer('<answer>12'), null); // unclosed
    assert.equal(extractAnswer('no answer here'), null);
    assert.equal(extractAnswer('</answer><answer>5</answer>'), '5');
    assert.equal(extractBoxed('\\boxed{a{b}c}'), 'a{b}c');
    assert.equal(extractBoxed('\\boxed{unbalanced'), null);
  });

  it('parses numbers in the formats models write, exactly and at any size', () => {
    const eq = (s: string, want: string) => assert.equal(parseNumber(s)?.toString(), want, s);
    eq(' 42 ', '42');
    eq('1,234', '1234');
    eq('-1,234,567', '-1234567');
    eq('3.50', '7/2');
    eq('7/2', '7/2');
    eq('\\frac{6}{4}', '3/2');
    eq('$42$', '42');
    eq('x = -5', '-5');
    eq('42.', '42');
    eq('−7', '-7');
    eq('\\boxed{12}', '12');
    eq('123456789012345678901234567890', '123456789012345678901234567890');
    for (const bad of ['', 'forty-two', '1,23', '12abc', '1/0', '4 2', '--3', '1e5'])
      assert.equal(parseNumber(bad), null, bad);
    assert.ok(numbersEqual('1,234', 1234));
    assert.ok(numbersEqual('0.5', '1/2'));
    assert.ok(!numbersEqual('1234.5', 1234));
  });

  it('recognises the R1 format', () => {
    assert.ok(isR1Format('<think>\nsteps\n</think>\n<answer>4</answer>'));
    assert.ok(!isR1Format('<answer>4</answer>'));
    assert.ok(!isR1Format('<think>a</think><think>b</think><answer>4</answer>'));
    assert.ok(!isR1Format('<think>a</think><answer>4</answer> trailing'));
  });
});

describe('safe expression parser', () => {
  it('evaluates exactly with precedence, parentheses and unary minus', () => {
    const v = (s: string) => evaluate(parseExpr(s)).toString();
    assert.equal(v('1 + 2 * 3'), '7');
    assert.equal(v('(1 + 2) * 3'), '9');
    assert.equal(v('10 / 4'), '5/2');
    assert.equal(v('2 - 3 - 4'), '-5');
    assert.equal(v('8 / 2 / 2'), '2');
    assert.equal(v('-(3 - 5) * [2 + 1]'), '6');
    assert.equal(v('6 × 7 ÷ 2'), '21');
    assert.equal(v('99999999999999999999 + 1'), '100000000000000000000');
  });

  it('rejects anything but arithmetic, and division by zero', () => {
    for (const bad of ['process.exit(1)', '2 ** 3', '1 +', '(1 + 2', '1 + 2)', 'Math.PI', '', '3 4', '0x10', '1e3']) {
      assert.throws(() => parseExpr(bad), /at position \d+/, bad);
    }
    assert.throws(() => evaluate(parseExpr('1 / (2 - 2)')), /division by zero/);
    assert.throws(() => parseExpr('('.repeat(500) + '1' + ')'.repeat(500)), /nested too deeply/);
    assert.throws(() => parseExpr('1+'.repeat(1500) + '1'), /longer than/);
  });

  it('prints with the fewest parentheses that keep the value', () => {
    for (const s of ['(1 + 2) * 3', '8 - (3 - 1)', '8 / (4 / 2)', '2 * 3 + 4', '(2 + 3) * (4 - 1) / 5']) {
      const e = parseExpr(s);
      assert.equal(formatExpr(e), s);
      assert.ok(evaluate(parseExpr(formatExpr(e))).equals(evaluate(e)));
    }
  });
});

describe('built-in tasks', () => {
  it('has the required tasks, and getTask names the known ones on error', () => {
    for (const n of ['add', 'mul', 'countdown', 'lineq', 'sort', 'modpow']) assert.equal(getTask(n).name, n);
    assert.throws(
      () => getTask('calculus'),
      /unknown task 'calculus' \(known: add, mul, countdown, lineq, sort, modpow\)/,
    );
  });

  it('train and test never overlap, for any seeds and difficulties; about 10% of problems are test', () => {
    for (const task of ALL) {
      const { min, max } = task.difficulty;
      const levels = [...new Set([min, task.difficulty.default, Math.min(max, min + 2)])];
      const train = new Set<string>();
      const test = new Set<string>();
      for (const seed of [0, 1, 2]) {
        for (const difficulty of levels) {
          for (let i = 0; i < 60; i++) {
            const p = task.problemAt(i, { seed, split: 'train', difficulty });
            assert.equal(p.split, 'train');
            train.add(p.id);
          }
          for (let i = 0; i < 20; i++) test.add(task.problemAt(i, { seed, split: 'test', difficulty }).id);
        }
      }
      const overlap = [...test].filter((id) => train.has(id));
      assert.deepEqual(overlap, [], `${task.name}: train/test overlap`);
      assert.ok(test.size >= 10, `${task.name}: only ${test.size} test problems`);
      for (const id of test) assert.equal(splitOf(id), 'test');
      // the split rule itself: share of test keys among raw candidates
      const g = new Generator(5);
      let nTest = 0;
      const N = 2000;
      for (let i = 0; i < N; i++) if (splitOf(task.sample(g, task.difficulty.default).key) === 'test') nTest++;
      assert.ok(nTest / N > 0.06 && nTest / N < 0.14, `${task.name}: test share ${nTest / N}`);
    }
  });

  it('is deterministic per (seed, index) and differs across seeds', () => {
    for (const task of ALL) {
      assert.deepEqual(task.problemAt(17, { seed: 3 }), task.problemAt(17, { seed: 3 }));
      const a = task.problems(20, { seed: 1 }).map((p) => p.id);
      const b = task.problems(20, { seed: 2 }).map((p) => p.id);
      assert.notDeepEqual(a, b, task.name);
      assert.equal(new Set(a).size, 20, `${task.name}: problems() returns distinct problems`);
    }
  });

  it('reference answers and worked solutions verify; wrong answers do not', () => {
    for (const task of ALL) {
      const { min, max } = task.difficulty;
      for (let d = min; d <= Math.min(max, min + 3); d++) {
        for (const p of task.problems(25, { seed: 4, difficulty: d })) {
          const sol = task.solution(p);
          assert.ok(isR1Format(sol), `${task.name}: not R1 format:\n${sol}`);
          assert.ok(task.verify(p, p.answer), `${task.name} ${p.id}: reference answer ${p.answer} rejected`);
          assert.ok(task.verify(p, sol), `${task.name} ${p.id}: worked solution rejected`);
          assert.equal(extractAnswer(sol), p.answer);
          assert.ok(!task.verify(p, '<answer>999999937</answer>'), `${task.name} ${p.id}: wrong answer accepted`);
          assert.ok(!task.verify(p, 'no answer at all'), `${task.name}: text without an answer accepted`);
          assert.ok(!task.verify(p, '<answer></answer>'), `${task.name}: empty answer accepted`);
        }
      }
    }
  });

  it("worked solutions' arithmetic checks out (every equation, exactly)", () => {
    for (const task of ALL) {
      if (task.name === 'sort') continue; // no equations; checked below
      const { min, max } = task.difficulty;
      for (let d = min; d <= Math.min(max, min + 3); d++) {
        for (const p of task.problems(20, { seed: 9, difficulty: d })) {
          for (const variant of [0, 1, 2]) {
            const sol = task.solution(p, variant);
            const think = sol.slice(0, sol.indexOf('</think>'));
            const { checked, wrong } = checkEquations(think);
            assert.ok(checked >= 1, `${task.name}: no equation to check in\n${sol}`);
            assert.deepEqual(wrong, [], `${task.name}: wrong step in\n${sol}`);
          }
        }
      }
    }
  });

  it('the equation checker itself catches a wrong step', () => {
    assert.deepEqual(checkEquations('3x + 4 = 19\nx = 15 / 3 = 5').wrong, []);
    assert.deepEqual(checkEquations('7 + 5 + 0 = 13, write 3 carry 1').wrong, ['7 + 5 + 0 = 13']);
    assert.deepEqual(checkEquations('power 2: 3 * 4 = 12 = 1 * 13 + 0').wrong, ['3 * 4 = 12 = 1 * 13 + 0']);
  });

  it('add: column steps carry correctly and operands have d digits', () => {
    for (const d of [1, 3, 8]) {
      for (const p of addTask.problems(30, { seed: 1, difficulty: d })) {
        assert.equal(String(p.data.a).length, d);
        assert.equal(String(p.data.b).length, d);
        let carry = 0;
        const digitsOut: number[] = [];
        for (const m of addTask.solution(p).matchAll(/(\d) \+ (\d) \+ (\d) = (\d+), write (\d) carry (\d)/g)) {
          const [x, y, c, s, w, k] = m.slice(1).map(Number);
          assert.equal(c, carry, 'carry in equals the previous carry out');
          assert.equal(x + y + c, s);
          assert.equal(w, s % 10);
          assert.equal(k, Math.floor(s / 10));
          carry = k;
          digitsOut.push(w);
        }
        const total = (carry ? String(carry) : '') + digitsOut.reverse().join('');
        assert.equal(total, p.answer);
      }
    }
  });

  it('mul, sort, countdown, modpow, lineq respect their difficulty', () => {
    for (const p of mulTask.problems(20, { difficulty: 4 })) {
      assert.equal(String(p.data.a).length, 4);
      assert.equal(String(p.data.b).length, 2);
    }
    for (const p of sortTask.problems(20, { difficulty: 3 })) assert.equal(p.data.values.length, 6);
    for (const d of [1, 2, 3]) {
      for (const p of countdownTask.problems(15, { difficulty: d })) {
        assert.equal(p.data.numbers.length, d + 2);
        assert.ok(p.data.target >= 1 && p.data.target <= (d <= 2 ? 100 : 999));
      }
    }
    for (const p of modpowTask.problems(20, { difficulty: 1 })) {
      assert.ok(p.data.base <= 9 && p.data.exp <= 4 && p.data.mod <= 13 && p.data.base % p.data.mod >= 2);
    }
    for (const p of lineqTask.problems(20, { difficulty: 3 })) assert.notEqual(p.data.c, 0, 'x on both sides');
    assert.throws(() => addTask.problems(1, { difficulty: 0 }), /add: difficulty 0 is outside 1-30/);
    assert.throws(() => lineqTask.problems(1, { difficulty: '2-9' }), /lineq: difficulty 2-9 is outside 1-3/);
    assert.throws(() => addTask.problems(1, { difficulty: 'hard' }), /add: difficulty must be N or A-B, got 'hard'/);
    assert.throws(() => addTask.problems(60, { difficulty: 1, split: 'test' }), /only \d+ distinct test problems/);
  });

  it('sort: each step picks the minimum of what is left', () => {
    for (const p of sortTask.problems(20, { seed: 2, difficulty: 3 })) {
      const rest = [...p.data.values];
      for (const m of sortTask.solution(p).matchAll(/smallest of ([\d, ]+) is (\d+)/g)) {
        const list = m[1].split(', ').map(Number);
        assert.deepEqual(
          [...list].sort((a, b) => a - b),
          [...rest].sort((a, b) => a - b),
        );
        assert.equal(Number(m[2]), Math.min(...list));
        rest.splice(rest.indexOf(Number(m[2])), 1);
      }
      assert.equal(rest.length, 1);
      assert.ok(sortTask.verify(p, `[${p.answer}]`));
      assert.ok(sortTask.verify(p, p.answer.replace(/,/g, '')));
      const unsorted = p.data.values.join(', ');
      if (unsorted !== p.answer) assert.ok(!sortTask.verify(p, unsorted));
    }
  });

  it('countdown: any correct expression counts; misuse of numbers, unary minus and junk do not', () => {
    const p = {
      ...countdownTask.problemAt(0),
      data: { numbers: [3, 5, 7, 2], target: 24, expression: '3 * 5 + 7 + 2' },
    } as Problem<{
      numbers: number[];
      target: number;
      expression: string;
    }>;
    assert.ok(countdownTask.verify(p, '3 * 5 + 7 + 2'));
    assert.ok(countdownTask.verify(p, '<answer>7 * 3 + 5 - 2 = 24</answer>')); // another correct one; "= 24" allowed
    assert.ok(countdownTask.verify(p, '\\boxed{(7 - 5 + 2) * 3 * 2}') === false); // 2 used twice
    const rejected = [
      '3 * 5 + 7', // 2 unused
      '(5 + 7) * 2 * 3 / 3', // 3 twice
      '3 * (7 + 5) - 2 * 6', // 6 not given
      '-(2 - 7) * 5 - 3 + 2', // unary minus
      '7 / (5 - 3 - 2)', // division by zero
      '3 * 5 + 7 + 2.0', // not an integer literal as given
      'require("fs")',
      '',
    ];
    for (const r of rejected) assert.equal(countdownTask.verify(p, `<answer>${r}</answer>`), false, r);
  });

  it('lineq accepts "x = 5" and rejects other numbers', () => {
    const p = lineqTask.problemAt(3, { difficulty: 1 });
    assert.ok(lineqTask.verify(p, `x = ${p.answer}`));
    assert.ok(lineqTask.verify(p, `\\boxed{${p.answer}}`));
    assert.ok(!lineqTask.verify(p, `x = ${Number(p.answer) + 1}`));
  });

  it('the R1-Zero template wraps the question', () => {
    const s = formatPrompt('What is 2 + 2?');
    assert.ok(s.startsWith('A conversation between User and Assistant.'));
    assert.ok(s.endsWith('User: What is 2 + 2? Assistant:'));
    assert.ok(R1_ZERO_TEMPLATE.includes('<think> reasoning process here </think> <answer> answer here </answer>'));
    assert.throws(() => formatPrompt('x', 'no placeholder'), /missing \{prompt\}/);
  });

  it('Rational normalises sign and terms', () => {
    assert.equal(new Rational(6, -4).toString(), '-3/2');
    assert.ok(new Rational(2, 4).equals(new Rational(1, 2)));
    assert.throws(() => new Rational(1, 0), /division by zero/);
  });
});
