/**
 * No file output is replaced silently: every command's file output (`f.output` in src/cli/flags.ts) refuses an existing
 * file without `--overwrite`, before any work (the file is unchanged), and replaces it with the flag. The table of
 * cases must name every file output the CLI has, so a new one fails here until it gets a case.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { allCommands, buildProgram } from '../../src/cli/main.js';
import { checkOverwriteFlag, commandPath, fileOutputFlags, flagsOf } from '../../src/cli/flags.js';
import { writeToyModelDir } from './helpers.js';

const HAND_MADE = 'made by hand, not to be lost\n';

/** Runs the CLI in this process (console output swallowed); rejects with the command's error. */
async function r1ts(...args: string[]): Promise<void> {
  const log = console.log;
  const error = console.error;
  console.log = () => {};
  console.error = () => {};
  try {
    await buildProgram().parseAsync(['node', 'r1ts', ...args]);
  } finally {
    console.log = log;
    console.error = error;
  }
}

function refusal(cmd: string, flag: string, file: string): string {
  return `${cmd}: ${flag} ${file} already exists; use --overwrite to replace it, or another ${flag}`;
}

interface Case {
  /** the command's path and flag: `data sft --out` */
  output: string;
  /** the command line writing `file` */
  args: (file: string) => string[];
  /** checks the written file */
  written: (text: string) => void;
}

describe('file outputs: an existing file is refused without --overwrite', () => {
  let dir = '';
  let n = 0;
  const fresh = (name: string): string => join(dir, `${n++}-${name}`);
  const jsonLines = (text: string): unknown[] =>
    text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'r1ts-overwrite-'));
    await writeToyModelDir(join(dir, 'model'));
    writeFileSync(
      join(dir, 'corpus.txt'),
      Array.from({ length: 50 }, (_, i) => `${i} + ${i * 3} = ${i * 4}`).join('\n\n'),
    );
    await r1ts('schedule', '--method', '1f1b', '--pp', '2', '--micro-batches', '2', '--out', join(dir, 'sched'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const tokenizer = (out: string): string[] => [
    'data',
    'tokenizer',
    '--corpus',
    join(dir, 'corpus.txt'),
    '--vocab-size',
    '300',
    '--quiet',
    '--out',
    out,
  ];
  const CASES: Case[] = [
    {
      output: 'data corpus --out',
      args: (f) => ['data', 'corpus', '--task', 'add', '--n', '5', '--quiet', '--out', f],
      written: (t) => assert.equal(jsonLines(t).length, 5),
    },
    {
      output: 'data sft --out',
      args: (f) => ['data', 'sft', '--task', 'factqa', '--n', '2', '--out', f],
      written: (t) => assert.ok(jsonLines(t).every((r) => Array.isArray((r as { messages: unknown }).messages))),
    },
    {
      output: 'data prefs --out',
      args: (f) => ['data', 'prefs', '--kind', 'helpful', '--n', '2', '--out', f],
      written: (t) => assert.ok(jsonLines(t).every((r) => typeof (r as { chosen: unknown }).chosen === 'string')),
    },
    {
      output: 'data tokenizer --out',
      args: (f) => tokenizer(f),
      written: (t) => assert.equal(JSON.parse(t).model.type, 'BPE'),
    },
    {
      output: 'data tokenizer --config-out',
      args: (f) => [...tokenizer(fresh('tok.json')), '--config-out', f],
      written: (t) => assert.equal(typeof JSON.parse(t), 'object'),
    },
    {
      output: 'export gguf --out',
      args: (f) => ['export', 'gguf', '--model', join(dir, 'model'), '--out', f],
      written: (t) => assert.ok(t.startsWith('GGUF')),
    },
    {
      output: 'report --out',
      args: (f) => ['report', join(dir, 'sched'), '--out', f],
      written: (t) => assert.match(t, /<svg/),
    },
    {
      output: 'schedule --svg',
      args: (f) => ['schedule', '--method', '1f1b', '--pp', '2', '--micro-batches', '2', '--svg', f],
      written: (t) => assert.match(t, /^<svg/),
    },
    {
      output: 'sample --out',
      args: (f) => [
        ...['sample', '--model', join(dir, 'model'), '--task', 'add', '--n', '1', '--k', '1', '--max-tokens', '2'],
        ...['--keep', 'all', '--filters', 'none', '--stop', '+', '=', ' ', '--out', f],
      ],
      written: (t) => assert.equal(jsonLines(t).length, 1),
    },
  ];

  it('the cases name every file output of the CLI, and each of those commands has --overwrite', () => {
    const outputs = allCommands(buildProgram()).flatMap((c) => fileOutputFlags(c).map((f) => `${commandPath(c)} ${f}`));
    assert.deepEqual(outputs.sort(), CASES.map((c) => c.output).sort());
  });

  for (const c of CASES) {
    it(`${c.output}: refused and unchanged without --overwrite, replaced with it`, async () => {
      const [cmd, flag] = [c.output.slice(0, c.output.lastIndexOf(' ')), c.output.slice(c.output.lastIndexOf(' ') + 1)];
      const file = fresh('existing');
      writeFileSync(file, HAND_MADE);
      await assert.rejects(r1ts(...c.args(file)), { message: refusal(cmd, flag, file) });
      assert.equal(readFileSync(file, 'utf8'), HAND_MADE, 'the refused run left the file as it was');
      await r1ts(...c.args(file), '--overwrite');
      const text = readFileSync(file, 'latin1');
      assert.notEqual(text, HAND_MADE);
      c.written(text);
    });
  }

  it('through the executable: exit status 1 and one line', () => {
    const file = fresh('sft.jsonl');
    writeFileSync(file, HAND_MADE);
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'data', 'sft', '--task', 'factqa', '--n', '2', '--out', file],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `r1ts: ${refusal('data sft', '--out', file)}\n`);
    assert.equal(r.stdout, '');
    assert.equal(readFileSync(file, 'utf8'), HAND_MADE);
  });

  it('data tokenizer: the default tokenizer_config.json beside --out is not replaced either', async () => {
    const folder = fresh('tok');
    await r1ts('data', 'sft', '--task', 'factqa', '--n', '1', '--out', join(folder, 'made-the-folder.jsonl'));
    const config = join(folder, 'tokenizer_config.json');
    writeFileSync(config, HAND_MADE);
    const out = join(folder, 'tokenizer.json');
    await assert.rejects(r1ts(...tokenizer(out)), { message: refusal('data tokenizer', '--config-out', config) });
    assert.equal(readFileSync(config, 'utf8'), HAND_MADE);
    assert.ok(!existsSync(out), 'nothing was written');
    await r1ts(...tokenizer(out), '--overwrite');
    assert.equal(JSON.parse(readFileSync(config, 'utf8')).tokenizer_class !== undefined, true);
    assert.ok(existsSync(out));
  });

  it("report: the default RUN_DIR/report.html is r1ts's own file and is regenerated without a flag", async () => {
    await r1ts('report', join(dir, 'sched'));
    const file = join(dir, 'sched', 'report.html');
    writeFileSync(file, HAND_MADE);
    await r1ts('report', join(dir, 'sched'));
    assert.match(readFileSync(file, 'utf8'), /<svg/);
  });

  it('schedule: an existing run in --out is refused before --svg is written; --overwrite alone needs an output', async () => {
    const svg = fresh('t.svg');
    const args = ['schedule', '--method', '1f1b', '--pp', '2', '--micro-batches', '2'];
    await assert.rejects(r1ts(...args, '--out', join(dir, 'sched'), '--svg', svg), /holds a/);
    assert.ok(!existsSync(svg), 'the refused run wrote no SVG');
    await assert.rejects(r1ts(...args, '--overwrite'), { message: 'schedule: --overwrite needs --out or --svg' });
  });

  it('a command with a file output but no --overwrite is a programming error found when the program is built', () => {
    const cmd = new Command('x');
    cmd.addOption(flagsOf(cmd).output('--out <file>', 'a file'));
    assert.throws(() => checkOverwriteFlag(cmd), {
      message: "flags: 'x' writes --out but has no --overwrite (add f.overwrite())",
    });
    cmd.addOption(flagsOf(cmd).overwrite());
    checkOverwriteFlag(cmd);
  });
});
