/**
 * The CLI's flag parsers (src/cli/flags.ts): good values, and each bad value's exact one-line message naming the
 * command, the flag and what is allowed; the option builders (checked while commander parses, help shows the range
 * and the default); the worker cap; output folders created up front.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import {
  capWorkers,
  checkFits,
  commandPath,
  createParentDir,
  flagsOf,
  ints,
  nums,
  parseChoice,
  parseInputPath,
  parseJsonObjectFile,
  parseKeyNumbers,
  parseNumber,
  parseNumberList,
  parseNumberOrAuto,
  parseOutputFile,
  shownDefault,
} from '../../src/cli/flags.js';
import { rangeText } from '../../src/tensor/range.js';

const N = ints(1, 4096);

describe('flags: numbers', () => {
  it('integers in a range: decimal and exponent notation', () => {
    assert.equal(parseNumber('generate', '--n', '1', N), 1);
    assert.equal(parseNumber('generate', '--n', '4096', N), 4096);
    assert.equal(parseNumber('generate', '--n', '1e3', N), 1000);
    assert.equal(parseNumber('generate', '--n', ' 12 ', N), 12);
    assert.equal(parseNumber('init', '--seed', '9007199254740991', ints(0)), Number.MAX_SAFE_INTEGER);
  });

  it('integers: each bad value gets one line with the range', () => {
    const bad: [string, string][] = [
      ['1e8', "generate: --n must be an integer in [1, 4096], got '1e8'"],
      ['0', "generate: --n must be an integer in [1, 4096], got '0'"],
      ['4097', "generate: --n must be an integer in [1, 4096], got '4097'"],
      ['1.5', "generate: --n must be an integer in [1, 4096], got '1.5'"],
      ['', "generate: --n must be an integer in [1, 4096], got ''"],
      ['abc', "generate: --n must be an integer in [1, 4096], got 'abc'"],
      ['0x10', "generate: --n must be an integer in [1, 4096], got '0x10'"],
      ['Infinity', "generate: --n must be an integer in [1, 4096], got 'Infinity'"],
      ['2,', "generate: --n must be an integer in [1, 4096], got '2,'"],
    ];
    for (const [raw, msg] of bad) assert.throws(() => parseNumber('generate', '--n', raw, N), { message: msg });
    assert.throws(() => parseNumber('init', '--seed', '-1', ints(0)), {
      message: "init: --seed must be an integer >= 0, got '-1'",
    });
    assert.throws(() => parseNumber('init', '--seed', '9007199254740992', ints(0)), {
      message: "init: --seed must be an integer >= 0, got '9007199254740992'",
    });
  });

  it('numbers: open and closed ends', () => {
    assert.equal(parseNumber('eval', '--top-p', '1', nums(0, 1, true)), 1);
    assert.equal(parseNumber('eval', '--top-p', '.5', nums(0, 1, true)), 0.5);
    assert.equal(parseNumber('grpo', '--lr', '3e-6', nums(0, Infinity, true)), 3e-6);
    assert.throws(() => parseNumber('eval', '--top-p', '0', nums(0, 1, true)), {
      message: "eval: --top-p must be a number in (0, 1], got '0'",
    });
    assert.throws(() => parseNumber('grpo', '--lr', '-1', nums(0, Infinity, true)), {
      message: "grpo: --lr must be a number > 0, got '-1'",
    });
    assert.throws(() => parseNumber('grpo', '--beta', 'NaN', nums(0)), {
      message: "grpo: --beta must be a number >= 0, got 'NaN'",
    });
    assert.equal(rangeText(nums(0, 1)), 'a number in [0, 1]');
  });

  it('N|auto', () => {
    const W = ints(1, 256);
    assert.equal(parseNumberOrAuto('pretrain', '--workers', 'auto', W), 'auto');
    assert.equal(parseNumberOrAuto('pretrain', '--workers', '2', W), 2);
    for (const raw of ['0', 'two', '1000', 'Auto'])
      assert.throws(() => parseNumberOrAuto('pretrain', '--workers', raw, W), {
        message: `pretrain: --workers must be 'auto' or an integer in [1, 256], got '${raw}'`,
      });
  });
});

describe('flags: choices and lists', () => {
  it('choice', () => {
    assert.equal(parseChoice('generate', '--engine', 'fast', ['fast', 'model']), 'fast');
    assert.throws(() => parseChoice('generate', '--engine', 'gpu', ['fast', 'model']), {
      message: "generate: --engine must be one of fast, model, got 'gpu'",
    });
  });

  it('comma lists name the bad item and bound the count', () => {
    const S = ints(1, 8192);
    assert.deepEqual(parseNumberList('bench matmul', '--sizes', '64, 128,256', S, 4), [64, 128, 256]);
    assert.throws(() => parseNumberList('bench matmul', '--sizes', '64,ten', S, 4), {
      message: "bench matmul: --sizes item 2 must be an integer in [1, 8192], got 'ten'",
    });
    assert.throws(() => parseNumberList('bench matmul', '--sizes', '64,,8', S, 4), {
      message: "bench matmul: --sizes item 2 must be an integer in [1, 8192], got ''",
    });
    assert.throws(() => parseNumberList('bench matmul', '--sizes', '1,2,3,4,5', S, 4), {
      message: 'bench matmul: --sizes must have at most 4 items, got 5',
    });
  });

  it('KEY=NUMBER lists', () => {
    const keys = ['F', 'B', 'comm'] as const;
    assert.deepEqual(parseKeyNumbers('schedule', '--cost', 'F=1, comm=0.5', keys, nums(0)), { F: 1, comm: 0.5 });
    assert.throws(() => parseKeyNumbers('schedule', '--cost', 'F', keys, nums(0)), {
      message: "schedule: --cost item 1 must be KEY=NUMBER with KEY one of F, B, comm, got 'F'",
    });
    assert.throws(() => parseKeyNumbers('schedule', '--cost', 'F=1,Q=2', keys, nums(0)), {
      message: "schedule: --cost item 2 must be KEY=NUMBER with KEY one of F, B, comm, got 'Q=2'",
    });
    assert.throws(() => parseKeyNumbers('schedule', '--cost', 'B=-1', keys, nums(0)), {
      message: "schedule: --cost B must be a number >= 0, got '-1'",
    });
    assert.throws(() => parseKeyNumbers('schedule', '--cost', 'B=1,B=2', keys, nums(0)), {
      message: 'schedule: --cost sets B twice',
    });
  });
});

describe('flags: paths', () => {
  const dir = mkdtempSync(join(tmpdir(), 'r1ts-flags-'));
  const file = join(dir, 'a.json');
  writeFileSync(file, '{"x": 1}');

  it('inputs must exist and be of the right kind', () => {
    assert.equal(parseInputPath('params', '--config', file, 'file'), file);
    assert.equal(parseInputPath('generate', '--model', dir, 'dir'), dir);
    assert.equal(parseInputPath('data encode', '--corpus', dir, 'file or dir'), dir);
    const missing = join(dir, 'nope.json');
    assert.throws(() => parseInputPath('params', '--config', missing, 'file'), {
      message: `params: --config must be an existing file, got '${missing}' (not found)`,
    });
    assert.throws(() => parseInputPath('params', '--config', dir, 'file'), {
      message: `params: --config must be an existing file, got '${dir}' (a directory)`,
    });
    assert.throws(() => parseInputPath('generate', '--model', file, 'dir'), {
      message: `generate: --model must be an existing directory, got '${file}' (not a directory)`,
    });
    assert.throws(() => parseInputPath('generate', '--model', '', 'dir'), {
      message: "generate: --model must be an existing directory, got '' (empty)",
    });
  });

  it('a FIFO is not a file (reading it would block forever)', { skip: process.platform === 'win32' }, () => {
    const fifo = join(dir, 'fifo');
    if (spawnSync('mkfifo', [fifo]).status !== 0) return;
    assert.throws(() => parseInputPath('data encode', '--tokenizer', fifo, 'file or dir'), {
      message: `data encode: --tokenizer: ${fifo} is a FIFO (named pipe), not a regular file`,
    });
  });

  it('JSON object files', () => {
    assert.deepEqual(parseJsonObjectFile('pretrain', '--config', file), { x: 1 });
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"x": ');
    assert.throws(
      () => parseJsonObjectFile('pretrain', '--config', bad),
      (e: Error) => {
        assert.match(e.message, new RegExp(`^pretrain: --config ${bad}: not valid JSON: .+$`));
        return true;
      },
    );
    const arr = join(dir, 'arr.json');
    writeFileSync(arr, '[1]');
    assert.throws(() => parseJsonObjectFile('grpo', '--config', arr), {
      message: `grpo: --config ${arr}: expected a JSON object, got an array`,
    });
  });

  it('outputs: not a directory; the parent folder is created up front, or the error names the flag', () => {
    assert.equal(parseOutputFile('data corpus', '--out', join(dir, 'new', 'c.jsonl')), join(dir, 'new', 'c.jsonl'));
    assert.throws(() => parseOutputFile('data corpus', '--out', dir), {
      message: `data corpus: --out must be a file path, got '${dir}' (a directory)`,
    });
    const out = join(dir, 'x', 'y', 'tokenizer.json');
    createParentDir('data tokenizer', '--out', out);
    assert.ok(statSync(join(dir, 'x', 'y')).isDirectory());
    assert.throws(() => createParentDir('data tokenizer', '--out', join(file, 'sub', 't.json')), {
      message: `data tokenizer: --out ${join(file, 'sub', 't.json')}: cannot create the folder ${join(file, 'sub')} (ENOTDIR)`,
    });
    mkdirSync(join(dir, 'z'));
    createParentDir('schedule', '--svg', join(dir, 'z', 'a.svg')); // an existing folder is fine
  });

  it('cleanup', () => rmSync(dir, { recursive: true, force: true }));
});

describe('flags: workers and memory', () => {
  it('workers above the cores are capped with a warning (results do not depend on them)', () => {
    const writes: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => writes.push(s) > 0) as typeof process.stderr.write;
    try {
      assert.equal(capWorkers('pretrain', '--workers', 2, 4), 2);
      assert.equal(capWorkers('pretrain', '--workers', 2, 2), 2);
      assert.equal(capWorkers('pretrain', '--workers', 64, 2), 2);
    } finally {
      process.stderr.write = write;
    }
    assert.deepEqual(writes, ["warning: pretrain: --workers 64 is more than this machine's 2 cores; using 2\n"]);
  });

  it('an estimate beyond the memory is refused in one line, readable sizes', () => {
    checkFits('generate', 1e9, 'this', 2e9);
    assert.throws(() => checkFits('generate', 2.4e12, '--n 4096 samples', 25e9), {
      message: "generate: --n 4096 samples need about 2.4 TB, more than this machine's 25 GB of memory",
    });
  });
});

describe('flags: options on a command', () => {
  function program() {
    const root = new Command('r1ts').exitOverride();
    const cmd = root.command('data').command('tasks').exitOverride();
    const f = flagsOf(cmd);
    cmd
      .addOption(f.int('--n <n>', 'problems', ints(1, 100), 1))
      .addOption(f.num('--x <x>', 'a share', nums(0, 1), shownDefault('the task default')))
      .addOption(f.choice('--split <s>', 'problems of', ['train', 'test'] as const, 'train'))
      .addOption(f.numberList('--sizes <list>', 'sizes', ints(1, 8), 3, [1, 2]))
      .action(() => {});
    return { root, cmd };
  }

  it('parse while commander parses; a bad value is a plain Error naming the command path and flag', async () => {
    const { root, cmd } = program();
    assert.equal(commandPath(cmd), 'data tasks');
    await root.parseAsync(['node', 'r1ts', 'data', 'tasks', '--n', '7', '--sizes', '3,4']);
    assert.deepEqual(cmd.opts(), { n: 7, split: 'train', sizes: [3, 4] });
    await assert.rejects(program().root.parseAsync(['node', 'r1ts', 'data', 'tasks', '--n', '1e8']), {
      message: "data tasks: --n must be an integer in [1, 100], got '1e8'",
    });
    await assert.rejects(program().root.parseAsync(['node', 'r1ts', 'data', 'tasks', '--split', 'dev']), {
      message: "data tasks: --split must be one of train, test, got 'dev'",
    });
  });

  it('help shows each range and default', () => {
    const help = program().cmd.helpInformation().replace(/\s+/g, ' ');
    assert.match(help, /--n <n> problems; an integer in \[1, 100\] \(default: 1\)/);
    assert.match(help, /--x <x> a share; a number in \[0, 1\] \(default: the task default\)/);
    assert.match(help, /--split <s> problems of: train\|test \(default: "train"\)/);
    assert.match(
      help,
      /--sizes <list> sizes; comma-separated, each an integer in \[1, 8\], at most 3 \(default: 1,2\)/,
    );
  });
});
