import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  corpusDocuments,
  parseCorpusTasks,
  parseMix,
  solutionCalculations,
  type CorpusDoc,
} from '../../src/data/corpus.js';
import { isR1Format, splitOf, TASKS } from '../../src/data/tasks/index.js';
import { Tokenizer } from '../../src/data/tokenizer.js';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const completion = (text: string): string => text.slice(text.indexOf(' Assistant: ') + ' Assistant: '.length);

describe('built-in corpus', () => {
  const docs: CorpusDoc[] = [...corpusDocuments({ style: 'templated', tasks: ['mix'], n: 3000, seed: 5 })];

  it('is deterministic per seed', () => {
    const again = [...corpusDocuments({ style: 'templated', tasks: ['mix'], n: 300, seed: 5 })];
    assert.deepEqual(
      again.map((d) => d.text),
      docs.slice(0, 300).map((d) => d.text),
    );
    const other = [...corpusDocuments({ style: 'templated', tasks: ['mix'], n: 300, seed: 6 })];
    assert.notDeepEqual(
      other.map((d) => d.text),
      again.map((d) => d.text),
    );
  });

  it('contains only train-split problems (never an evaluation problem)', () => {
    let n = 0;
    for (const d of docs)
      for (const id of d.ids ?? []) {
        assert.equal(splitOf(id), 'train', id);
        n++;
      }
    assert.ok(n > 3000);
  });

  it('mixes worked solutions, bare answers, partial solutions and generic text in the requested shares', () => {
    const count = (k: string) => docs.filter((d) => d.kind === k).length / docs.length;
    assert.ok(Math.abs(count('worked') - 0.6) < 0.04, `worked ${count('worked')}`);
    assert.ok(Math.abs(count('answer') - 0.15) < 0.03);
    assert.ok(Math.abs(count('partial') - 0.1) < 0.03);
    assert.ok(Math.abs(count('text') - 0.15) < 0.03);
    for (const name of Object.keys(TASKS))
      assert.ok(
        docs.some((d) => d.task === name),
        name,
      );
    for (const d of docs) {
      if (d.kind === 'worked') {
        assert.ok(d.text.startsWith('A conversation between User and Assistant.'));
        assert.ok(isR1Format(completion(d.text)), d.text);
      } else if (d.kind === 'partial') {
        assert.ok(completion(d.text).startsWith('<think>\n') && !completion(d.text).includes('</think>'), d.text);
      } else if (d.kind === 'answer') assert.match(d.text, /^Q: .+\nA: .+/);
    }
    const only = [
      ...corpusDocuments({ style: 'templated', tasks: ['add', 'lineq'], n: 200, seed: 1, mix: { worked: 1 } }),
    ];
    assert.ok(only.every((d) => d.kind === 'worked' && (d.task === 'add' || d.task === 'lineq')));
    assert.deepEqual(parseMix('worked=0.5, text=0.5'), { worked: 0.5, text: 0.5 });
    assert.throws(() => parseMix('essays=1'), /--mix expects kind=share/);
    assert.throws(
      () => [...corpusDocuments({ style: 'templated', tasks: ['add'], n: 1, difficulty: '99' })],
      /add: difficulty 99 is outside 1-30/,
    );
  });

  it('drill sheets hold only true calculations taken from train solutions of tasks that calculate', () => {
    assert.deepEqual(solutionCalculations('39 * 3 = 30 * 3 + 9 * 3 = 90 + 27 = 117\n39 * 3 = 117'), [
      '90 + 27 = 117',
      '39 * 3 = 117',
    ]);
    assert.deepEqual(solutionCalculations('6x = -25 + 13 = -12, so x = -12 / 6 = -2; 6 * (-2) + (-13) = -25'), [
      '-25 + 13 = -12',
      '-12 / 6 = -2',
      '6 * (-2) + (-13) = -25',
    ]);
    assert.deepEqual(solutionCalculations('smallest of 22, 96 is 22; x2 = 4; 3.5 + 1 = 4.5'), []);
    const drills = [
      ...corpusDocuments({
        style: 'templated',
        tasks: ['lineq=3', 'add', 'sort', 'countdown'],
        n: 300,
        seed: 3,
        mix: { worked: 1, drill: 1 },
      }),
    ].filter((d) => d.kind === 'drill');
    assert.ok(drills.length > 100, `${drills.length} drill sheets`);
    const byTask = new Map<string, number>();
    for (const d of drills) {
      byTask.set(d.task!, (byTask.get(d.task!) ?? 0) + 1);
      for (const id of d.ids ?? []) assert.equal(splitOf(id), 'train', id);
      const lines = d.text.split('\n');
      assert.ok(lines.length >= 16 && lines.length <= 24, `${lines.length} lines`);
      for (const line of lines) {
        const m = /^([-+*/() \d]+) = (-?\d+)$/.exec(line);
        assert.ok(m, line);
        assert.ok(Function(`return ${m[1]}`)() === Number(m[2]), line); // === : -0 and 0 are one value
      }
    }
    assert.equal(byTask.get('sort'), undefined, 'sort solutions do not calculate');
    assert.ok(byTask.get('lineq')! > byTask.get('add')!, JSON.stringify([...byTask]));
    assert.throws(
      () => [...corpusDocuments({ style: 'templated', tasks: ['sort'], n: 5, mix: { drill: 1 } })],
      /drill documents need a task whose solutions calculate/,
    );
  });

  it('copy exercises repeat each random line exactly', () => {
    const copies = [
      ...corpusDocuments({ style: 'templated', tasks: ['lineq'], n: 400, seed: 4, mix: { worked: 1, copy: 1 } }),
    ].filter((d) => d.kind === 'copy');
    assert.ok(copies.length > 150, `${copies.length} copy documents`);
    const seen = new Set<string>();
    for (const d of copies) {
      assert.equal(d.task, undefined);
      const lines = d.text.split('\n');
      assert.ok(lines.length >= 6 && lines.length % 2 === 0, d.text);
      for (let i = 0; i < lines.length; i += 2) {
        const m = /^Copy: (.+)$/.exec(lines[i]);
        assert.ok(m && /^[-+*/= x\d]+$/.test(m[1]), lines[i]);
        assert.equal(lines[i + 1], `Again: ${m[1]}`);
        seen.add(m[1]);
      }
    }
    assert.ok(
      seen.size > 0.99 * copies.reduce((a, d) => a + d.text.split('\n').length / 2, 0),
      'lines are random, not repeated across documents',
    );
  });

  it('terse documents restate the problem and give the right answer with no working', () => {
    const docs = [
      ...corpusDocuments({
        style: 'templated',
        tasks: ['lineq', 'add'],
        n: 300,
        seed: 5,
        difficulty: '1',
        mix: { worked: 1, terse: 1 },
      }),
    ];
    const terse = docs.filter((d) => d.kind === 'terse');
    assert.ok(terse.length > 100, `${terse.length} terse documents`);
    for (const d of terse) {
      assert.equal(splitOf(d.ids![0]), 'train');
      const m = /User: (.+) Assistant: <think>\n([^\n]+)\n<\/think>\n<answer>(-?\d+)<\/answer>$/.exec(d.text);
      assert.ok(m, d.text);
      const [, question, line, answer] = m;
      const x = Number(answer);
      if (d.task === 'lineq') {
        const eq = /^Solve for x: (.+)\.$/.exec(question)![1];
        assert.equal(line, eq, 'the think block restates the equation');
        const [lhs, rhs] = eq.split(' = ').map((side) => Function('x', `return ${side.replace(/(\d)x/g, '$1*x')}`)(x));
        assert.equal(lhs, rhs, `${eq} at x = ${x}`);
      } else {
        const [a, b] = /^What is (\d+) \+ (\d+)\?$/.exec(question)!.slice(1).map(Number);
        assert.equal(line, `${a} + ${b}, column by column from the right:`);
        assert.equal(x, a + b);
      }
    }
  });

  it('weights tasks and takes per-task difficulty ranges', () => {
    const docs = [
      ...corpusDocuments({
        style: 'templated',
        tasks: ['lineq=3', 'add'],
        n: 2000,
        seed: 2,
        mix: { worked: 1 },
        difficulty: 'lineq=1,add=2-3',
      }),
    ];
    const share = docs.filter((d) => d.task === 'lineq').length / docs.length;
    assert.ok(Math.abs(share - 0.75) < 0.04, `lineq share ${share}`);
    const lineqIds = new Set(docs.filter((d) => d.task === 'lineq').map((d) => d.ids![0]));
    for (const d of docs.filter((x) => x.task === 'lineq').slice(0, 50)) {
      // difficulty 1 equations have one x term and a coefficient 2..9
      assert.match(d.text, /User: Solve for x: [2-9]x(?: [+-] \d+)? = -?\d+\. Assistant:/, d.text.slice(-200));
    }
    for (const d of docs.filter((x) => x.task === 'add').slice(0, 50)) {
      const m = /User: What is (\d+) \+ (\d+)\? Assistant:/.exec(d.text);
      assert.ok(m && m[1].length === m[2].length && m[1].length >= 2 && m[1].length <= 3, d.text.slice(-200));
    }
    assert.ok(lineqIds.size > 100);
    // equal weights give the unweighted stream of earlier versions
    const plain = [...corpusDocuments({ style: 'templated', tasks: ['add', 'lineq'], n: 100, seed: 4 })].map(
      (d) => d.text,
    );
    const weighted = [...corpusDocuments({ style: 'templated', tasks: ['add=2', 'lineq=2'], n: 100, seed: 4 })].map(
      (d) => d.text,
    );
    assert.deepEqual(weighted, plain);
    assert.deepEqual(parseCorpusTasks(['lineq=4', 'add']), { names: ['lineq', 'add'], weights: [4, 1] });
    assert.throws(() => parseCorpusTasks(['lineq=0']), /NAME=WEIGHT with a positive weight, got 'lineq=0'/);
    assert.throws(() => parseCorpusTasks(['calculus']), /calculus/);
    assert.throws(() => parseCorpusTasks(['add', 'add=2']), /listed twice/);
    assert.throws(
      () => [...corpusDocuments({ style: 'templated', tasks: ['add'], n: 1, difficulty: 'lineq=1' })],
      /names task 'lineq', which is not in the corpus/,
    );
    assert.throws(
      () => [...corpusDocuments({ style: 'templated', tasks: ['add'], n: 1, difficulty: 'add=x' })],
      /add: difficulty must be N or A-B, got 'x'/,
    );
  });

  it('writes a share of the worked documents with the short prompt form', () => {
    const docs = [
      ...corpusDocuments({
        style: 'templated',
        tasks: ['lineq'],
        n: 1000,
        seed: 3,
        mix: { worked: 1 },
        templateShare: 0.25,
      }),
    ];
    const full =
      docs.filter((d) => d.text.startsWith('A conversation between User and Assistant.')).length / docs.length;
    assert.ok(Math.abs(full - 0.25) < 0.05, `full-template share ${full}`);
    for (const d of docs) {
      assert.match(
        d.text,
        /^(A conversation between User and Assistant\. .* )?User: Solve for x: .*\. Assistant: <think>\n/s,
      );
      assert.ok(isR1Format(completion(d.text)), d.text);
    }
    assert.throws(
      () => [...corpusDocuments({ style: 'templated', tasks: ['lineq'], n: 1, templateShare: 1.5 })],
      /templateShare must be in \[0, 1\], got 1.5/,
    );
  });
});

describe('r1ts data CLI', () => {
  it('writes a corpus, trains a tokenizer on it and encodes with it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'r1ts-cli-'));
    const corpus = join(dir, 'corpus.jsonl');
    let r = cli('data', 'corpus', '--task', 'mix', '--out', corpus, '--n', '400', '--seed', '3', '--quiet');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^wrote 400 documents \([\d.]+ MB\) to .*corpus\.jsonl in [\d.]+ s: worked \d+%/);
    const lines = readFileSync(corpus, 'utf8').trim().split('\n');
    assert.equal(lines.length, 400);
    assert.equal(typeof JSON.parse(lines[0]).text, 'string');
    const tokPath = join(dir, 'tokenizer.json');
    r = cli('data', 'tokenizer', '--corpus', corpus, '--vocab-size', '320', '--out', tokPath, '--quiet');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /trained a byte-level BPE tokenizer: 320 tokens \(256 bytes \+ 55 merges \+ 9 special\)/);
    const tok = Tokenizer.load(dir);
    assert.equal(tok.vocabSize, 320);
    assert.equal(tok.config.eos_token, '<｜end▁of▁sentence｜>');
    r = cli('data', 'encode', '--tokenizer', tokPath, '--text', 'What is 12 + 3? <think>', '--json');
    assert.equal(r.code, 0, r.err);
    const { ids } = JSON.parse(r.out) as { ids: number[] };
    assert.deepEqual(ids, tok.encode('What is 12 + 3? <think>', { addSpecialTokens: false }));
    r = cli('data', 'encode', '--tokenizer', tokPath, '--corpus', corpus, '--json');
    assert.equal(r.code, 0, r.err);
    assert.ok((JSON.parse(r.out) as { tokens: number }).tokens > 1000);
  });

  it('shows problems with verified solutions, and fails with one-line errors', () => {
    let r = cli('data', 'tasks', '--task', 'countdown', '--n', '2', '--split', 'test', '--json');
    assert.equal(r.code, 0, r.err);
    const rows = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { split: string; solution: string });
    assert.equal(rows.length, 2);
    assert.ok(rows.every((x) => x.split === 'test' && isR1Format(x.solution)));
    r = cli('data', 'corpus', '--task', 'calculus', '--out', join(tmpdir(), 'never.jsonl'));
    assert.equal(r.code, 1);
    assert.equal(r.err.trim(), "r1ts: unknown task 'calculus' (known: add, mul, countdown, lineq, sort, modpow)");
    r = cli(
      'data',
      'tokenizer',
      '--corpus',
      join(tmpdir(), 'missing-r1ts.jsonl'),
      '--vocab-size',
      '300',
      '--out',
      join(tmpdir(), 'x.json'),
    );
    assert.equal(r.code, 1);
    assert.match(
      r.err.trim(),
      /^r1ts: data tokenizer: --corpus must be an existing file or directory, got '.*missing-r1ts\.jsonl' \(not found\)$/,
    );
    const dir = mkdtempSync(join(tmpdir(), 'r1ts-cli-'));
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"text": "hello world"}\nnot json\n{"text": "hello again"}\n');
    r = cli('data', 'tokenizer', '--corpus', bad, '--vocab-size', '270', '--out', join(dir, 't.json'), '--quiet');
    assert.equal(r.code, 1);
    assert.match(r.err.trim(), /^r1ts: .*bad\.jsonl:2: invalid JSON \(.*\)$/);
    r = cli(
      'data',
      'tokenizer',
      '--corpus',
      bad,
      '--vocab-size',
      '270',
      '--out',
      join(dir, 't.json'),
      '--quiet',
      '--skip-bad',
    );
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /skipped 1 malformed records, e\.g\. .*bad\.jsonl:2: invalid JSON/);
  });
});
