import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer } from '../../src/data/tokenizer.js';
import { loadModelDir } from '../../src/io/model_dir.js';
import { generateText } from '../../src/infer/generate.js';
import { writeToyModelDir } from '../cli/helpers.js';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('r1ts generate / eval / grpo', () => {
  let dir = '';
  let model = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'r1ts-cli-'));
    model = join(dir, 'model');
    await writeToyModelDir(model, { seed: 2 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('generate: K samples, seeded (same seed, same text), with a token count line', () => {
    const a = cli(
      'generate',
      '--model',
      model,
      '--prompt',
      'What is 1 + 2?',
      '--n',
      '3',
      '--max-tokens',
      '6',
      '--seed',
      '4',
      '--json',
    );
    assert.equal(a.code, 0, a.err);
    const ja = JSON.parse(a.out) as { samples: { text: string; tokens: number[]; finish: string }[] };
    assert.equal(ja.samples.length, 3);
    // the same samples in process, from the same seed
    const { model: m } = loadModelDir(model);
    const same = generateText(m.eval(), Tokenizer.load(model), Array(3).fill('What is 1 + 2?'), {
      maxTokens: 6,
      seed: 4,
    });
    assert.deepEqual(
      ja.samples,
      same.map((g) => ({ text: g.text, tokens: g.tokens, finish: g.finish })),
    );
    for (const s of ja.samples) assert.ok(s.tokens.length >= 1 && s.tokens.length <= 6);
    const t = cli(
      'generate',
      '--model',
      model,
      '--prompt',
      'What is 1 + 2?',
      '--max-tokens',
      '4',
      '--temperature',
      '0',
    );
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /--- sample 1\/1 \(\d+ tokens, (length|eos)\)/);
    assert.match(t.out, /tokens\/s/);
    const bad = cli('generate', '--model', model, '--prompt', 'x', '--top-p', '2');
    assert.equal(bad.code, 1);
    assert.equal(bad.err, "r1ts: generate: --top-p must be a number in (0, 1], got '2'\n");
  });

  it('eval --json prints exactly {task, n, k, pass@1, cons@k, greedy}; JSONL tasks work', () => {
    const r = cli(
      'eval',
      '--model',
      model,
      '--task',
      'add',
      '--n',
      '2',
      '--k',
      '2',
      '--max-tokens',
      '4',
      '--difficulty',
      '1',
      '--json',
    );
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as Record<string, unknown>;
    assert.deepEqual(Object.keys(j), ['task', 'n', 'k', 'pass@1', 'cons@k', 'greedy']);
    assert.equal(j.task, 'add');
    assert.equal(j.n, 2);
    assert.equal(j.k, 2);
    for (const k of ['pass@1', 'cons@k', 'greedy'])
      assert.ok(typeof j[k] === 'number' && (j[k] as number) >= 0 && (j[k] as number) <= 1);
    const f = join(dir, 'gsm.jsonl');
    writeFileSync(f, `${JSON.stringify({ question: 'What is 1 + 1?', answer: 'one plus one\n#### 2' })}\n`);
    const g = cli('eval', '--model', model, '--task', f, '--k', '1', '--max-tokens', '3', '--no-greedy');
    assert.equal(g.code, 0, g.err);
    assert.match(g.out, /pass@1 +0\.0%/);
    assert.match(g.out, /greedy +-/);
  });

  it('grpo runs, checkpoints, writes the final model, and resumes (an immutable flag is an error)', () => {
    const out = join(dir, 'run');
    const cfg = join(dir, 'grpo.json');
    writeFileSync(cfg, JSON.stringify({ template: '{prompt} Assistant:', sanityPrompts: 1, checkpointEvery: 1 }));
    const r = cli(
      'grpo',
      '--model',
      model,
      '--task',
      'add',
      '--out',
      out,
      '--steps',
      '1',
      '--group-size',
      '2',
      '--prompts-per-step',
      '2',
      '--max-tokens',
      '4',
      '--difficulty',
      '1',
      '--config',
      cfg,
    );
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /sanity check \(1 problems x 2\): pass/);
    assert.match(r.out, /step 1\/1 {2}reward/);
    assert.ok(
      existsSync(join(out, 'model', 'tokenizer.json')) &&
        existsSync(join(out, 'checkpoints', 'step-00000001', 'state.json')),
    );
    const s = cli('grpo', '--out', out, '--resume', '--steps', '2');
    assert.equal(s.code, 0, s.err);
    assert.match(s.out, /resumed from .*step-00000001 at step 1/);
    assert.equal(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 2);
    const bad = cli('grpo', '--out', out, '--resume', '--steps', '3', '--group-size', '4');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /--group-size is 4 but the run used 2/);
    const unknown = cli('grpo', '--model', model, '--task', 'nope', '--out', join(dir, 'x'));
    assert.match(unknown.err, /unknown task 'nope'/);
  });
});
