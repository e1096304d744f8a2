// `r1ts sample`: bad flags and records are one line with exit status 1 (held-out prompts refused with the reason);
// a run writes records that load as SFT examples, and a scorer module drives best-of-k.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toChatExample } from '../../src/posttrain/chat_data.js';
import type { SampleRecord } from '../../src/posttrain/sample.js';
import { writeToyModelDir } from './helpers.js';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'sample', ...args], {
    encoding: 'utf8',
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A random model rarely ends a response: stop strings end most of them within a few tokens. */
const STOP = ['--stop', '+', '=', ' '];

describe('r1ts sample', () => {
  const dir = mkdtempSync(join(tmpdir(), 'r1ts-sample-cli-'));
  const model = join(dir, 'model');
  const out = join(dir, 'out', 'data.jsonl');
  before(async () => writeToyModelDir(model, { problems: 20 }));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('bad flags: one line, exit status 1, before the model loads', () => {
    const base = ['--model', model, '--k', '2', '--out', out];
    const cases: [string[], string][] = [
      [
        [...base, '--task', 'lineq', '--keep', 'bestof'],
        "r1ts: sample: --keep: 'bestof' is not one of correct, best-of-k, threshold:X, a comma list of these, or all",
      ],
      [
        [...base, '--task', 'lineq', '--split', 'test'],
        'r1ts: sample: --split test draws the held-out evaluation problems, and records made from them would leak the ' +
          'test split into training (held out means held out); add --allow-test to sample them anyway, to study the ' +
          'filters, never to train',
      ],
      [
        [...base, '--task', 'lineq,lineqq'],
        "r1ts: sample: --task item 2 must be one of add, mul, countdown, lineq, sort, modpow, factqa, identity, translate, writing, got 'lineqq'",
      ],
      [base, 'r1ts: sample: give either --task T[,T...] or --data FILE'],
      [
        [...base, '--task', 'add', '--keep', 'correct,best-of-k'],
        'r1ts: sample: --keep correct,best-of-k needs scores: add --scorer FILE',
      ],
      [
        [...base, '--task', 'add', '--filters', 'readable,code'],
        "r1ts: sample: --filters: 'readable' is not a filter (language, paragraphs, code, format); readable (all of them) and none stand alone",
      ],
    ];
    for (const [args, line] of cases) {
      const r = cli(...args);
      assert.equal(r.code, 1, args.join(' '));
      assert.equal(r.err, `${line}\n`);
    }
  });

  it('records from --data: held-out records refused by file and line; a bad record named', () => {
    const data = join(dir, 'prompts.jsonl');
    writeFileSync(data, '{"prompt": "What is 2 + 2?", "answer": 4}\n{"prompt": "What is 3 + 3?", "split": "test"}\n');
    let r = cli('--model', model, '--k', '2', '--out', out, '--data', data);
    assert.equal(r.code, 1);
    assert.equal(
      r.err,
      `r1ts: sample: ${data}:2 is from the test split, and held-out problems must never reach training data (held out ` +
        'means held out); --allow-test samples them anyway, to study the filters, never to train\n',
    );
    writeFileSync(data, '{"prompt": "What is 2 + 2?"}\n{"messages": []}\n');
    r = cli('--model', model, '--k', '2', '--out', out, '--data', data, '--keep', 'all');
    assert.equal(r.code, 1);
    assert.equal(r.err, `r1ts: ${data}:2: the prompt has no user turn\n`);
  });

  it('a run writes SFT records with provenance and prints the counts', () => {
    const r = cli(
      ...['--model', model, '--task', 'add,identity', '--n', '2', '--k', '3', '--difficulty', '1', '--out', out],
      ...['--max-tokens', '8', '--keep', 'all', '--filters', 'none', '--seed', '3', '--json'],
      ...STOP,
    );
    assert.equal(r.code, 0, r.err);
    const counts = JSON.parse(r.out) as {
      prompts: number;
      samples: number;
      kept: number;
      dropped: Record<string, number>;
    };
    assert.deepEqual([counts.prompts, counts.samples], [4, 12]);
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    assert.ok(counts.kept >= 1);
    assert.equal(lines.length, counts.kept);
    assert.equal(counts.kept + Object.values(counts.dropped).reduce((a, b) => a + b, 0), 12);
    const recs = lines.map((l) => JSON.parse(l) as SampleRecord);
    recs.forEach((rec, i) => toChatExample(rec as unknown as Record<string, unknown>, `${out}:${i + 1}`));
    assert.ok(recs.every((x) => x.task === 'add' || x.task === 'identity'));
    for (const rec of recs) {
      assert.equal(rec.model, model);
      assert.deepEqual(
        [rec.seed, rec.temperature, rec.top_p, rec.template, rec.split],
        [3, 0.7, 0.95, 'chat', 'train'],
      );
      assert.ok(rec.messages[1].content.startsWith('<think>'));
    }
  });

  it('--scorer: a module scores the summaries and best-of-k keeps one response per prompt', () => {
    const scorer = join(dir, 'scorer.mjs');
    // the longer the summary, the better; it sees the prompt turns too
    writeFileSync(
      scorer,
      'export default (prompts, responses) => Float64Array.from(responses, (r, i) => r.length + prompts[i].length - 1);\n',
    );
    // the previous test's file is in --out: refused without --overwrite, replaced with it
    const refused = cli('--model', model, '--task', 'add', '--n', '3', '--k', '4', '--out', out);
    assert.equal(refused.code, 1);
    assert.equal(
      refused.err,
      `r1ts: sample: --out ${out} already exists; use --overwrite to replace it, or another --out\n`,
    );
    assert.ok(readFileSync(out, 'utf8').length > 0, 'the existing file is untouched');
    const r = cli(
      ...['--model', model, '--task', 'add', '--n', '3', '--k', '4', '--difficulty', '1', '--out', out, '--overwrite'],
      ...['--max-tokens', '6', '--keep', 'best-of-k', '--filters', 'none', '--scorer', scorer, '--rm-part', 'all'],
      ...STOP,
    );
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /^sample: 3 prompts \(add train\) x k=4 from .*, template chat, T 0\.7, top-p 0\.95, max 6 tokens, seed 0, keep best-of-k, filters none$/m,
    );
    assert.match(r.out, /^kept \d+ of 12 responses/m);
    const recs = readFileSync(out, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as SampleRecord);
    assert.ok(recs.length >= 1 && recs.length <= 3);
    assert.equal(new Set(recs.map((x) => x.id)).size, recs.length);
    for (const rec of recs) assert.equal(rec.score, rec.messages[1].content.length);
  });
});
