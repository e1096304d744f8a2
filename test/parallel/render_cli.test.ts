import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSchedule } from '../../src/parallel/schedule.js';
import { simulate } from '../../src/parallel/simulate.js';
import { renderSvg, renderText } from '../../src/parallel/render.js';
import { parseCosts } from '../../src/cli/commands/schedule.js';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'schedule', ...args], {
    encoding: 'utf8',
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('render: text and SVG timelines', () => {
  const r = simulate(buildSchedule({ method: 'dualpipe', pp: 4, microBatches: 8 }));

  it('text: one row per rank, each step labelled in time order, idle per rank', () => {
    const text = renderText(r, { scale: 4 });
    const rows = text.split('\n').filter((l) => l.startsWith('rank '));
    assert.equal(rows.length, 4);
    // Rank 0 starts F0 F1 F2 (direction 0) then f0 (its second stage, direction 1) at 4 columns per unit of time.
    assert.match(rows[0], /^rank 0 \|F0 \|F1 \|F2 \|f0 \|/);
    rows.forEach((row, i) => assert.match(row, new RegExp(`idle ${r.ranks[i].bubble}$`)));
    const width = Math.ceil(r.makespan * 4);
    for (const row of rows) assert.equal(row.indexOf('| idle') - row.indexOf('|') - 1, width);
    assert.match(text, /bubble 1.5 \(max over ranks\)/);
  });

  it('SVG: a box per compute step (two halves plus a border per F&B) with its micro-batch number', () => {
    const svg = renderSvg(r);
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.ok(svg.trimEnd().endsWith('</svg>'));
    const steps = r.ranks.flatMap((x) => x.timeline);
    const pairs = steps.filter((t) => t.step.op === 'FB').length;
    const boxes = (svg.match(/<rect x="[\d.]+" y="\d+" width="[\d.]+" height="22" fill="#/g) ?? []).length;
    assert.equal(boxes, steps.length + pairs);
    const borders = (svg.match(/fill="none" stroke="#000000" stroke-width="2"/g) ?? []).length;
    assert.equal(borders, pairs);
    const labels = (svg.match(/class="mb">\d+<\/text>/g) ?? []).length;
    assert.equal(labels, steps.length + pairs);
    for (const colour of ['#f6b26b', '#6fa8dc', '#93c47d']) assert.ok(svg.includes(colour), colour);
  });
});

describe('r1ts schedule (CLI)', () => {
  it('--json prints the table numbers (PP=8, 20 micro-batches, default costs)', async () => {
    const want: Record<string, object> = {
      '1f1b': { bubble: 21, paramCopies: 1, peakActivations: [8, 7, 6, 5, 4, 3, 2, 1], makespan: 81 },
      zb1p: { bubble: 7, paramCopies: 1, peakActivations: [8, 8, 8, 8, 8, 8, 8, 8], makespan: 67 },
      dualpipe: { bubble: 4.5, paramCopies: 2, peakActivations: [9, 9, 9, 9, 9, 9, 9, 9], makespan: 59 },
    };
    const r = cli('--method', 'dualpipe', '--pp', '8', '--micro-batches', '20', '--json');
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out), { method: 'dualpipe', pp: 8, microBatches: 20, ...want.dualpipe });
    const { buildProgram } = await import('../../src/cli/main.js');
    for (const [method, w] of Object.entries(want)) {
      const lines: string[] = [];
      const log = console.log;
      console.log = (...a: unknown[]) => void lines.push(a.join(' '));
      try {
        await buildProgram().parseAsync([
          'node',
          'r1ts',
          'schedule',
          '--method',
          method,
          '--pp',
          '8',
          '--micro-batches',
          '20',
          '--json',
        ]);
      } finally {
        console.log = log;
      }
      assert.equal(lines.length, 1);
      assert.deepEqual(JSON.parse(lines[0]), { method, pp: 8, microBatches: 20, ...w });
    }
  });

  it('text output shows the timeline and the formula beside the simulation; --svg writes the picture', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'r1ts-')), 't.svg');
    const r = cli(
      '--method',
      'zb1p',
      '--pp',
      '4',
      '--micro-batches',
      '8',
      '--cost',
      'F=1,B=2,W=1,comm=0',
      '--svg',
      file,
    );
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /paper \(SPEC §3\): bubble 3, params 1x, activations 4; simulated: bubble 3, params 1x, activations 4/,
    );
    assert.equal(r.out.split('\n').filter((l) => l.startsWith('rank ')).length, 4);
    assert.match(readFileSync(file, 'utf8'), /^<svg/);
  });

  it('bad flags give one-line errors', async () => {
    const bad: [string[], string][] = [
      [
        ['--method', 'dualpipe', '--pp', '7', '--micro-batches', '28'],
        'schedule: dualpipe needs an even PP (stages pair up as r and PP-1-r), got 7',
      ],
      [
        ['--method', 'dualpipe', '--pp', '8', '--micro-batches', '10'],
        'schedule: dualpipe needs at least 2*PP = 16 micro-batches, got 10',
      ],
      [
        ['--method', 'gpipe', '--pp', '8', '--micro-batches', '10'],
        "schedule: --method must be one of 1f1b, zb1p, dualpipe, dualpipev, got 'gpipe'",
      ],
      [['--method', '1f1b', '--micro-batches', '10'], "error: required option '--pp <P>' not specified"],
      [
        ['--method', '1f1b', '--pp', 'x', '--micro-batches', '10'],
        "schedule: --pp must be an integer in [1, 512], got 'x'",
      ],
      [
        ['--method', '1f1b', '--pp', '2', '--micro-batches', '4', '--cost', 'F=1,Q=2'],
        "schedule: --cost item 2 must be KEY=NUMBER with KEY one of F, B, W, FB, F&B, comm, got 'Q=2'",
      ],
    ];
    // The whole path once through the executable (exit status 1, one line on stderr) ...
    const r = cli(...bad[0][0]);
    assert.equal(r.code, 1);
    assert.equal(r.err, `r1ts: ${bad[0][1]}\n`);
    // ... and every message through the same program in this process.
    const { buildProgram } = await import('../../src/cli/main.js');
    for (const [args, msg] of bad) {
      await assert.rejects(buildProgram().parseAsync(['node', 'r1ts', 'schedule', ...args]), (e: Error) => {
        assert.equal(e.message, msg);
        assert.ok(!e.message.includes('\n'));
        return true;
      });
    }
  });

  it('--cost parsing: any subset, F&B alias, W <= B', () => {
    assert.deepEqual(parseCosts('FB=3,comm=0.5'), { F: 1, B: 2, W: 1, FB: 3, comm: 0.5 });
    assert.equal(parseCosts('F&B=2').FB, 2);
    assert.throws(() => parseCosts('W=5'), /cost W \(5\) cannot exceed B \(2\)/);
    assert.throws(() => parseCosts('F=-1'), /F must be a number >= 0, got '-1'/);
    assert.throws(() => parseCosts('F'), /--cost item 1 must be KEY=NUMBER/);
  });
});
