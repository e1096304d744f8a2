// What `r1ts recipe r1` shows while it works (src/recipe/progress.ts): one progress line for the whole recipe, each
// phase named by its stage `[k/9 stage]`, with the recipe's elapsed time; on a pipe the stages' step lines come through
// it (prefixed, with elapsed and ETA), on a (fake) terminal one line is redrawn in place and no step line is printed;
// --quiet prints only the results. Micro settings (./helpers.ts): seconds.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RecipeProgress } from '../../src/recipe/progress.js';
import { runRecipe } from '../../src/recipe/r1.js';
import { Progress, type ProgressSink } from '../../src/util/progress.js';
import { microSettings } from './helpers.js';

/** A stream that records what is written: a pipe, or a terminal of `columns` columns. */
function stream(tty: boolean, columns = 160) {
  const chunks: string[] = [];
  return { isTTY: tty, columns, write: (s: string) => chunks.push(s), text: () => chunks.join('') };
}

describe('recipe r1 progress', () => {
  let dir = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r1ts-recipe-progress-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('names the stage on every phase and adds the recipe elapsed time (a fake sink and clock)', () => {
    const calls: string[] = [];
    const inner: ProgressSink = {
      begin: (name, total) => calls.push(`begin ${name} ${total}`),
      update: (done, fields, line) => calls.push(`update ${done} ${JSON.stringify(fields)} ${line}`),
      end: (summary) => calls.push(`end ${summary}`),
      line: (text) => calls.push(`line ${text}`),
    };
    let t = 1000;
    const p = new RecipeProgress(inner, () => t);
    p.stage(5, 9, 'rl2');
    p.begin('grpo', 20);
    t += 65_000;
    p.update(9, { reward: '0.41' }, 'step 9/20  reward 0.41');
    p.line('a message');
    p.end('done');
    assert.deepEqual(calls, [
      'begin [5/9 rl2] grpo 20',
      'update 9 {"recipe":"1m05s","reward":"0.41"} [5/9 rl2] step 9/20  reward 0.41  recipe 1m05s',
      'line a message',
      'end done',
    ]);
  });

  it('on a pipe: every stage step line comes through the one progress, prefixed, with the phase summaries', async () => {
    const pipe = stream(false);
    const progress = new Progress({ stream: pipe, logEvery: 1, env: {} });
    const out = path.join(dir, 'pipe');
    const stages = ['base', 'zero', 'cold', 'sft1'] as const;
    const r = await runRecipe({ outDir: out, settings: microSettings(), stages, progress });
    assert.deepEqual(r.ran, [...stages]);
    const text = pipe.text();
    assert.ok(!text.includes('\r'), 'no redraws on a pipe');
    const lines = text.split('\n');
    const steps = lines.filter((l) => /\bstep \d+\/\d+ /.test(l));
    // pre-training's 2 steps, R1-Zero's 1, the cold-start SFT's 2: each once, named by its stage
    assert.deepEqual(
      steps.map((l) => /^(\[\d\/9 \w+\]) step (\d+\/\d+) /.exec(l)?.slice(1).join(' ')),
      ['[1/9 base] 1/2', '[1/9 base] 2/2', '[2/9 zero] 1/1', '[4/9 sft1] 1/2', '[4/9 sft1] 2/2'],
    );
    for (const l of steps) assert.match(l, / recipe \d+\S* {2}elapsed \S+/);
    for (const re of [
      /^\[1\/9 base\] pre-training the tiny base$/m,
      /^\[1\/9 base\] pretrain: 2\/2 steps in \S+; loss /m,
      /^\[1\/9 base\] evaluating base: 1\/1 evaluation in \S+; pass@1 [\d.]+%, greedy [\d.]+%$/m,
      /^\[2\/9 zero\] grpo: 1\/1 steps in \S+; reward /m,
      /^\[3\/9 cold\] rejection sampling: 2\/2 prompts in \S+; \d+ of 4 responses kept$/m,
      /^\[4\/9 sft1\] sft: 2\/2 steps in \S+; loss /m,
      /^\[4\/9 sft1\] evaluating cold start: 1\/1 evaluation in /m,
    ])
      assert.match(text, re);
  });

  it('on a terminal: one line redrawn in place, no step lines, the summaries above it', async () => {
    const tty = stream(true);
    const progress = new Progress({ stream: tty, redrawMs: 0, color: false, env: {} });
    assert.equal(progress.mode, 'live');
    const out = path.join(dir, 'tty');
    await runRecipe({ outDir: out, settings: microSettings(), stages: ['base', 'zero'], progress });
    const text = tty.text();
    assert.match(text, /\r\[1\/9 base\] pretrain +\d+% \[[=> ]+\] 2\/2 +\S+ +recipe \S+ +loss [\d.]+/);
    assert.match(text, /\r\[2\/9 zero\] grpo +100% \[=+\] 1\/1 +\S+ +recipe \S+ +reward [\d.]+/);
    assert.ok(!/\bstep \d+\/\d+ /.test(text), 'no step lines on a terminal');
    assert.match(text, /^\[2\/9 zero\] grpo: 1\/1 steps in /m);
    assert.match(text, /^\[2\/9 zero\] R1-Zero: GRPO on the base/m); // messages print above the live line
  });

  it('the command: --quiet prints only the results; on a pipe the skipped stage is a message', () => {
    const base = path.join(dir, 'pipe', 'base', 'model'); // the pipe test's base
    assert.ok(fs.existsSync(base));
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'recipe', 'r1', ...args], {
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '' },
      });
    const flags = ['--base', base, '--stages', 'base', '--no-eval'];
    const loud = cli('--out', path.join(dir, 'cli'), ...flags);
    assert.equal(loud.status, 0, loud.stderr);
    assert.match(loud.stdout, /^\[1\/9 base\] complete: skipped$/m);
    const q = cli('--out', path.join(dir, 'cli-quiet'), ...flags, '--quiet');
    assert.equal(q.status, 0, q.stderr);
    assert.ok(!/\[1\/9 base\]/.test(q.stdout), q.stdout);
    assert.match(q.stdout, /^report: .*report\.html$/m);
  });
});
