// The reward-model commands end to end: `rm score` (pair accuracy, per-field accuracy, conversations, the length
// limit), `rm compare` (a model against itself ties everywhere), and a reward model as a GRPO reward through
// `grpo --rewards rm:DIR@summary=W` (recorded in run.json, reported in metrics.jsonl; a bad path is one line).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { rewardModelFromLM, saveRewardModel } from '../../src/posttrain/reward_model.js';
import { writeToyModelDir } from '../cli/helpers.js';
import { metricsRows } from './pair_helpers.js';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('r1ts rm score / rm compare / grpo --rewards rm:', () => {
  let dir = '';
  let lm = '';
  let rm = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'r1ts-rmcli-'));
    lm = join(dir, 'lm');
    rm = join(dir, 'rm');
    await writeToyModelDir(lm, { seed: 3 });
    saveRewardModel(rm, rewardModelFromLM(lm, { seed: 1, std: 1 }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('rm score: each record, pair accuracy overall and per field, conversations, records over the limit', () => {
    const file = join(dir, 'recs.jsonl');
    writeFileSync(
      file,
      [
        { prompt: 'What is 1 + 2?', chosen: 'The answer is 3.', rejected: 'The answer is 4.', flaw: 'wrong' },
        { prompt: 'What is 2 + 2?', chosen: 'The answer is 4.', rejected: 'The', flaw: 'truncated' },
        {
          messages: [
            { role: 'user', content: 'What is 3 + 4?' },
            { role: 'assistant', content: 'The answer is 7.' },
          ],
        },
        { prompt: 'What is 5 + 5?', completion: `The answer is ${'1'.repeat(200)}.` },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const r = cli('rm', 'score', '--model', rm, '--data', file, '--by', 'flaw', '--max-length', '60');
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /recs\.jsonl:1 {2}chosen -?\d+\.\d{4} {2}rejected -?\d+\.\d{4} {2}(correct|WRONG) {2}flaw wrong\n/,
    );
    assert.match(r.out, /recs\.jsonl:3 {2}score -?\d+\.\d{4}\n/);
    assert.match(r.out, /left out 1 record\(s\) longer than the limit \(\S*recs\.jsonl:4\)/);
    assert.match(r.out, /pairs: 2, accuracy (0|50|100)\.0% \(\d\/2\), mean margin/);
    assert.match(r.out, / {2}flaw truncated: accuracy/);
    const j = JSON.parse(cli('rm', 'score', '--model', rm, '--data', file, '--json').out);
    assert.equal(j.records.length, 4);
    assert.equal(j.pairs.pairs, 2);
    assert.equal(j.responses.records, 2);
    const [p] = j.records;
    assert.equal(p.correct, p.chosen > p.rejected);
  });

  it('rm compare: a model against itself ties on every sample (win rate 50%)', () => {
    const file = join(dir, 'prompts.jsonl');
    writeFileSync(file, '{"prompt": "What is 1 + 2?", "chosen": "3", "rejected": "4"}\n');
    const r = cli(
      'rm',
      'compare',
      '--model',
      rm,
      '--policy',
      lm,
      '--reference',
      lm,
      '--data',
      file,
      '--n',
      '3',
      '--max-tokens',
      '6',
      '--json',
    );
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.deepEqual([j.samples, j.ties, j.winRate], [3, 3, 0.5]);
    assert.ok(j.example.a.startsWith('<think>\n'), "R1's template forces <think>\\n: the response starts with it");
  });

  it('grpo --rewards accuracy=1,rm:DIR@summary=0.5: the reward model scores every step; a bad path is one line', () => {
    const cfg = join(dir, 'grpo.json');
    writeFileSync(cfg, JSON.stringify({ sanityPrompts: 0 }));
    const out = join(dir, 'grpo');
    const name = `rm:${rm}@summary`;
    const args = ['grpo', '--model', lm, '--task', 'add', '--out', out, '--config', cfg, '--steps', '1'];
    const small = ['--prompts-per-step', '2', '--group-size', '2', '--max-tokens', '8'];
    const r = cli(...args, ...small, '--rewards', `accuracy=1,${name}=0.5`);
    assert.equal(r.code, 0, r.err);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    assert.deepEqual(run.rewardModels, { [name]: resolve(rm) });
    const [row] = metricsRows(out);
    assert.equal(typeof row.rewards?.[name], 'number');
    const bad = cli(...args, ...small, '--overwrite', '--rewards', `rm:${join(dir, 'nope')}=1`);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /^r1ts: grpo: --rewards rm:\S*nope: [^\n]*cannot read[^\n]*\n$/);
  });
});
