// The progress output of long commands (src/util/progress.ts) on a fake terminal (columns, \r redraw, colour) and on a
// pipe (a line every N steps), with a fake clock.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  Progress,
  type ProgressOptions,
  autoLogEvery,
  formatDuration,
  progressOutput,
} from '../../src/util/progress.js';

/** A stream that records what is written; a terminal of `columns` columns when `tty`. */
function fakeStream(tty: boolean, columns = 60) {
  const chunks: string[] = [];
  return { chunks, isTTY: tty, columns, write: (s: string) => chunks.push(s), text: () => chunks.join('') };
}

/** A clock advanced by hand. */
function clock() {
  let t = 0;
  return { now: () => t, tick: (ms: number) => (t += ms) };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/** What a terminal shows: \r returns to the line's start, ESC[K erases the rest, \n starts a new line. */
function screen(text: string): string[] {
  const lines: string[] = [''];
  let col = 0;
  const plain = text.replaceAll('\x1b[K', '\u0000').replace(ANSI, '');
  for (const ch of plain) {
    const row = lines.length - 1;
    if (ch === '\n') {
      lines.push('');
      col = 0;
    } else if (ch === '\r') col = 0;
    else if (ch === '\u0000') lines[row] = lines[row].slice(0, col);
    else {
      lines[row] = lines[row].slice(0, col) + ch + lines[row].slice(col + 1);
      col++;
    }
  }
  return lines;
}

function terminal(opts: Partial<ProgressOptions> = {}, columns = 60) {
  const s = fakeStream(true, columns);
  const c = clock();
  const p = new Progress({ stream: s, now: c.now, env: {}, ...opts });
  return { s, c, p };
}

describe('progress on a terminal', () => {
  it('redraws one line in place with \\r, fits it to the columns, and ends with a one-line summary', () => {
    const { s, c, p } = terminal({}, 80);
    assert.equal(p.mode, 'live');
    p.begin('pretrain', 200);
    for (let i = 1; i <= 200; i++) {
      c.tick(250);
      p.update(i, { loss: (5 - i / 100).toFixed(4), 'tok/s': '1,234', lr: '3.00e-3' });
      if (i === 100) {
        const shown = screen(s.text());
        assert.equal(shown.length, 1, 'still one line: no newline while the phase runs');
        assert.match(shown[0], /^pretrain {2}50% \[=+> +\] 100\/200 {2}25s<25s {2}loss 4\.0000 {2}tok\/s 1,234/);
        assert.ok(shown[0].length <= 79, `fits 80 columns minus one: ${shown[0].length}`);
        assert.doesNotMatch(shown[0], / lr /, 'the last number did not fit');
      }
    }
    assert.ok(s.chunks.filter((x) => x.startsWith('\r\x1b[K')).length >= 199, 'each redraw erases the old line');
    p.end('loss 3.0000');
    const shown = screen(s.text());
    assert.deepEqual(shown, ['pretrain: 200/200 steps in 50s; loss 3.0000', '']);
  });

  it('drops the key numbers from the end when the terminal is narrow, and cuts the line when it must', () => {
    const { s, c, p } = terminal({ color: false }, 52);
    p.begin('grpo', 10);
    c.tick(1000);
    p.update(5, { reward: '0.500', acc: '50.0%', len: '45.1' });
    const line = screen(s.text())[0];
    assert.ok(line.length <= 51, line);
    assert.equal(line.length, 'grpo  50% [=====>      ] 5/10  1s<1s  reward 0.500'.length);
    assert.match(line, /^grpo {2}50% \[.*\] 5\/10 {2}1s<1s {2}reward 0\.500$/);
    const narrow = terminal({ color: false }, 20);
    narrow.p.begin('pretrain', 10);
    narrow.c.tick(1000);
    narrow.p.update(1, { loss: '1' });
    assert.equal(screen(narrow.s.text())[0], 'pretrain  10% [>   ', 'cut to 20 columns minus one');
  });

  it('prints messages above the live line and redraws it; throttles redraws but always draws the last step', () => {
    const { s, c, p } = terminal({ redrawMs: 100 });
    p.begin('pretrain', 3);
    c.tick(10);
    p.update(1, { loss: '2' });
    const draws = s.chunks.length;
    c.tick(10);
    p.update(2, { loss: '1.5' }); // 10 ms after the last draw: not drawn
    assert.equal(s.chunks.length, draws);
    p.line('warning: the data repeats');
    c.tick(1);
    p.update(3, { loss: '1' }); // the last step: drawn
    const shown = screen(s.text());
    assert.equal(shown[0], 'warning: the data repeats');
    assert.match(shown[1], /^pretrain 100% \[=+\] 3\/3 {2}21ms {2}loss 1$/);
  });

  it('draws a step to keep (a held-out evaluation) at once, even within the redraw interval', () => {
    const { s, c, p } = terminal({ redrawMs: 100, color: false }, 100);
    p.begin('rm train', 10);
    c.tick(10);
    p.update(1, { loss: '0.7' }, 'step 1/10  loss 0.7');
    c.tick(10);
    p.update(2, { loss: '0.6', 'val acc': '60.0%' }, 'step 2/10  loss 0.6', true); // 10 ms after a draw: drawn anyway
    const shown = screen(s.text()).map((l) => l.trimEnd());
    assert.equal(shown.length, 1, 'still one line: no step line on a terminal');
    assert.match(shown[0], /^rm train {2}20% .* 2\/10 .*loss 0\.6 {2}val acc 60\.0%$/);
  });

  it('colours on a terminal unless NO_COLOR is set; TERM=dumb gets plain lines', () => {
    const coloured = terminal();
    coloured.p.begin('eval', 4);
    assert.ok(coloured.s.text().includes('\x1b[1;36meval\x1b[0m'), 'the phase name in bold cyan');
    const plain = terminal({ env: { NO_COLOR: '1' } });
    assert.equal(plain.p.color, false);
    plain.p.begin('eval', 4);
    plain.p.line('WARNING: x');
    assert.ok(!plain.s.text().includes('\x1b['), 'no escape sequence at all');
    assert.equal(terminal({ env: { TERM: 'dumb' } }).p.mode, 'lines');
  });

  it('ends a phase without a summary by clearing the live line (an error or a stop)', () => {
    const { s, p } = terminal();
    p.begin('grpo', 5);
    p.update(1);
    p.end();
    assert.deepEqual(screen(s.text()), ['']);
    p.end('again'); // no phase open: nothing
    assert.deepEqual(screen(s.text()), ['']);
  });
});

describe('progress on a pipe', () => {
  function pipe(opts: Partial<ProgressOptions> = {}) {
    const s = fakeStream(false);
    const c = clock();
    return { s, c, p: new Progress({ stream: s, now: c.now, env: {}, ...opts }) };
  }

  it('prints the first step, every N-th (default about 20 lines) and the last, with elapsed time and ETA', () => {
    const { s, c, p } = pipe();
    assert.equal(p.mode, 'lines');
    p.begin('pretrain', 100);
    for (let i = 1; i <= 100; i++) {
      c.tick(100);
      p.update(i, { loss: '1' }, `step ${i}/100  loss 1`);
    }
    p.end('loss 1');
    const lines = s.text().trimEnd().split('\n');
    const steps = lines.filter((l) => l.startsWith('step')).map((l) => Number(/^step (\d+)/.exec(l)![1]));
    assert.deepEqual(steps, [1, ...Array.from({ length: 20 }, (_, i) => 5 * (i + 1))]);
    assert.equal(lines[1], 'step 5/100  loss 1  elapsed 500ms  eta 10s');
    assert.equal(lines[20], 'step 100/100  loss 1  elapsed 10s');
    assert.equal(lines[21], 'pretrain: 100/100 steps in 10s; loss 1');
    assert.ok(!s.text().includes('\r') && !s.text().includes('\x1b'), 'no redraw, no colour');
  });

  it('prints a step to keep (a held-out evaluation) even between every-N steps', () => {
    const { s, c, p } = pipe({ logEvery: 10 });
    p.begin('sft', 30);
    for (let i = 1; i <= 30; i++) {
      c.tick(100);
      p.update(i, { loss: '1' }, `step ${i}/30  loss 1`, i === 25);
    }
    const steps = s
      .text()
      .split('\n')
      .filter((l) => l.startsWith('step'))
      .map((l) => Number(/^step (\d+)/.exec(l)![1]));
    assert.deepEqual(steps, [1, 10, 20, 25, 30]);
  });

  it('--log-every N, a resumed phase (first line after the resume), and lines of fields without a full line', () => {
    const { s, c, p } = pipe({ logEvery: 10 });
    p.begin('grpo', 30, { from: 12 });
    for (let i = 13; i <= 30; i++) {
      c.tick(1000);
      p.update(i, { reward: '0.5' });
    }
    assert.deepEqual(s.text().trimEnd().split('\n'), [
      'grpo 13/30  reward 0.5  elapsed 1s  eta 17s',
      'grpo 20/30  reward 0.5  elapsed 8s  eta 10s',
      'grpo 30/30  reward 0.5  elapsed 18s',
    ]);
    assert.throws(() => new Progress({ logEvery: 0 }), /logEvery must be a positive integer, got 0/);
  });

  it('updates that skip steps (an evaluation counts samples by batch) print the first past each multiple of N', () => {
    const { s, p } = pipe();
    p.begin('eval', 576, { unit: 'samples' }); // N = 50
    for (const done of [64, 128, 192, 256, 320, 384, 448, 512, 576]) p.update(done);
    const printed = s
      .text()
      .trimEnd()
      .split('\n')
      .map((l) => Number(/^eval (\d+)\//.exec(l)![1]));
    assert.deepEqual(printed, [64, 128, 192, 256, 320, 384, 448, 512, 576]);
    const sparse = pipe({ logEvery: 200 });
    sparse.p.begin('eval', 576);
    for (const done of [64, 128, 192, 256, 320, 384, 448, 512, 576]) sparse.p.update(done);
    const lines = sparse.s
      .text()
      .trimEnd()
      .split('\n')
      .map((l) => Number(/^eval (\d+)\//.exec(l)![1]));
    assert.deepEqual(lines, [64, 256, 448, 576]);
  });

  it('--quiet prints only warnings', () => {
    const { s, p } = pipe({ quiet: true });
    p.begin('pretrain', 2);
    p.line('corpus: 1,000 documents');
    p.update(1, {}, 'step 1/2');
    p.line('warning: the data repeats');
    p.line('WARNING: no group has reward variance');
    p.update(2, {}, 'step 2/2');
    p.end('done');
    assert.equal(s.text(), 'warning: the data repeats\nWARNING: no group has reward variance\n');
  });
});

describe('progress helpers', () => {
  it('autoLogEvery: the least of 1, 2, 5 x 10^k at or above total / 20', () => {
    assert.deepEqual([1, 12, 20, 30, 100, 400, 1500, 2000, 2001].map(autoLogEvery), [1, 1, 1, 2, 5, 20, 100, 100, 200]);
  });

  it('formatDuration', () => {
    assert.deepEqual([0, 999, 1000, 59_499, 60_000, 3_599_000, 3_600_000, 7_620_000, Number.NaN].map(formatDuration), [
      '0ms',
      '999ms',
      '1s',
      '59s',
      '1m00s',
      '59m59s',
      '1h00m',
      '2h07m',
      '?',
    ]);
  });

  it('progressOutput: a sink gets the steps and log the rest; a log alone gets every line', () => {
    const lines: string[] = [];
    const log = (l: string) => lines.push(l);
    assert.deepEqual(progressOutput(log), { log, progress: null });
    const s = fakeStream(false);
    const sink = new Progress({ stream: s });
    const both = progressOutput(undefined, sink);
    assert.equal(both.progress, sink);
    both.log('hello');
    assert.equal(s.text(), 'hello\n');
    assert.ok(progressOutput().progress instanceof Progress);
  });
});
