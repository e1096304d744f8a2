/**
 * Size flags through the CLI (issue 16, items 10 and 8's second half): each size has a checked range, and where it
 * drives allocation an upfront estimate; the error is one line naming the flag, exit status 1, and it comes at once,
 * before anything big is allocated (the child runs with a 64 MB heap and a time limit: the old code either grew to
 * gigabytes, died with a V8 heap dump, or failed after minutes of corpus and tokenizer work). `--workers` above the
 * cores is capped with a warning. Output folders of `data tokenizer` and `data corpus` are created up front.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pretrain } from '../../src/train/pretrain.js';
import { MAX_SCHEDULE_PAIRS, buildSchedule } from '../../src/parallel/schedule.js';
import { writeToyModelDir } from './helpers.js';

/** Runs the CLI with a small heap and a time limit; the result's `ms` is the wall time. */
function cli(...args: string[]) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--max-old-space-size=64', '--import', 'tsx', 'src/cli/main.ts', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr, ms: performance.now() - t0 };
}

/** Exit status 1 with exactly `line` on stderr, at once. */
function refused(r: ReturnType<typeof cli>, line: string | RegExp): void {
  assert.equal(r.signal, null, `killed by ${r.signal} after ${r.ms.toFixed(0)} ms`);
  assert.equal(r.code, 1, r.err);
  if (typeof line === 'string') assert.equal(r.err, `${line}\n`);
  else assert.match(r.err, line);
  assert.equal(r.err.trim().split('\n').length, 1, r.err);
  assert.ok(r.ms < 30_000, `took ${r.ms.toFixed(0)} ms`);
}

describe('size flags are bounded before anything is allocated', () => {
  let dir = '';
  let model = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'r1ts-limits-'));
    model = join(dir, 'model');
    await writeToyModelDir(model, { problems: 20, vocabSize: 280 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('generate --n 100000000: the range of --n', () => {
    refused(
      cli('generate', '--model', model, '--prompt', 'hi', '--n', '100000000'),
      "r1ts: generate: --n must be an integer in [1, 4096], got '100000000'",
    );
    refused(
      cli('generate', '--model', model, '--prompt', 'hi', '--n', '1e8'),
      "r1ts: generate: --n must be an integer in [1, 4096], got '1e8'",
    );
  });

  it('generate and eval: the KV cache and logits of a request beyond the memory, estimated from config.json', () => {
    refused(
      cli('generate', '--model', model, '--prompt', 'hi', '--n', '4096', '--max-tokens', '1048576'),
      /^r1ts: generate: --n 4096 samples of up to 4 \+ --max-tokens 1048576 tokens \(KV cache and logits\) need about [\d.]+ [TPE]B, more than this machine's [\d.]+ [GT]B of memory\n$/,
    );
    refused(
      cli('eval', '--model', model, '--task', 'add', '--n', '1000', '--k', '4096', '--max-tokens', '1048576'),
      /^r1ts: eval: 1000 problems x --k 4096 samples of up to \d+ \+ --max-tokens 1048576 tokens need about [\d.]+ [TPE]B, more than this machine's [\d.]+ [GT]B of memory\n$/,
    );
  });

  it('schedule --pp 100000 --micro-batches 1e8: ranges, and PP x N bounded (CLI and library)', () => {
    refused(
      cli('schedule', '--method', '1f1b', '--pp', '100000', '--micro-batches', '1e8'),
      "r1ts: schedule: --pp must be an integer in [1, 512], got '100000'",
    );
    refused(
      cli('schedule', '--method', '1f1b', '--pp', '8', '--micro-batches', '1e8'),
      "r1ts: schedule: --micro-batches must be an integer in [1, 262144], got '1e8'",
    );
    refused(
      cli('schedule', '--method', 'zb1p', '--pp', '512', '--micro-batches', '4096'),
      'r1ts: schedule: --pp 512 x --micro-batches 4096 = 2097152 (stage, micro-batch) pairs; at most 262144 can be simulated',
    );
    assert.throws(() => buildSchedule({ method: '1f1b', pp: 100000, microBatches: 1e8 }), {
      message: `schedule: PP 100000 x 100000000 micro-batches = 10000000000000 (stage, micro-batch) pairs; at most ${MAX_SCHEDULE_PAIRS} can be scheduled`,
    });
  });

  it('pretrain --micro-batch 1e9: the range, then the batch, before the corpus and tokenizer are built', async () => {
    const out = join(dir, 'run');
    refused(
      cli('pretrain', '--out', out, '--micro-batch', '1e9'),
      "r1ts: pretrain: --micro-batch must be an integer in [1, 4096], got '1e9'",
    );
    refused(
      cli('pretrain', '--out', out, '--micro-batch', '13'),
      'r1ts: pretrain: --micro-batch must be an integer in [1, 12], got 13',
    );
    assert.equal(existsSync(out), false, 'nothing was written');
    // the library refuses too, before any work
    await assert.rejects(pretrain({ outDir: out, preset: 'tiny', overrides: { microBatch: 1e9 } }), {
      message: 'pretrain: microBatch must be an integer in [1, 12], got 1000000000',
    });
    assert.equal(existsSync(out), false);
  });

  it('pretrain --config with a model whose micro-batch cannot fit: the estimate names the flag', () => {
    const config = join(dir, 'huge.json');
    writeFileSync(
      config,
      JSON.stringify({
        model_type: 'llama',
        vocab_size: 1e9,
        hidden_size: 8,
        intermediate_size: 8,
        num_hidden_layers: 1,
        num_attention_heads: 1,
      }),
    );
    refused(
      cli('pretrain', '--out', join(dir, 'huge'), '--config', config),
      /^r1ts: pretrain: --micro-batch 6 sequences of 256 tokens \(logits and activations, at least\) need about [\d.]+ TB, more than this machine's [\d.]+ [GT]B of memory\n$/,
    );
    assert.equal(existsSync(join(dir, 'huge')), false);
  });

  it('--workers: a range, and a cap at the cores with a warning', () => {
    refused(
      cli('pretrain', '--out', join(dir, 'w'), '--workers', '1000'),
      "r1ts: pretrain: --workers must be 'auto' or an integer in [1, 256], got '1000'",
    );
    const cores = availableParallelism();
    const r = cli(
      ...['bench', 'train', '--model', model, '--batch', '4', '--seq', '8', '--steps', '1'],
      ...['--micro-batch', '2', '--workers', '64', '--json'],
    );
    assert.equal(r.code, 0, r.err);
    assert.equal(
      r.err,
      `warning: bench train: --workers 64 is more than this machine's ${cores} cores; using ${cores}\n`,
    );
    const row = (JSON.parse(r.out) as { rows: [{ threads: string | number }] }).rows[0];
    if (cores > 1) assert.equal(row.threads, `1 x ${cores}`);
  });
});

describe('output folders are created up front', () => {
  it('data corpus --out newdir/c.jsonl and data tokenizer --out newdir/tok/tokenizer.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'r1ts-out-'));
    try {
      const corpus = join(dir, 'newdir', 'c.jsonl');
      let r = cli('data', 'corpus', '--task', 'add', '--n', '30', '--out', corpus, '--quiet');
      assert.equal(r.code, 0, r.err);
      assert.ok(existsSync(corpus));
      const tok = join(dir, 'tok', 'deeper', 'tokenizer.json');
      r = cli('data', 'tokenizer', '--corpus', corpus, '--vocab-size', '270', '--out', tok, '--quiet');
      assert.equal(r.code, 0, r.err);
      assert.ok(existsSync(tok) && existsSync(join(dir, 'tok', 'deeper', 'tokenizer_config.json')));
      // a path that cannot become a folder fails at once, naming the flag
      refused(
        cli('data', 'tokenizer', '--corpus', corpus, '--vocab-size', '270', '--out', join(corpus, 'x', 't.json')),
        `r1ts: data tokenizer: --out ${join(corpus, 'x', 't.json')}: cannot create the folder ${join(corpus, 'x')} (ENOTDIR)`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
