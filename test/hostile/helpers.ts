/**
 * Helpers of the hostile-input suite: run the CLI as a child with a time limit (and optionally a small V8 heap and a
 * peak-RSS report), make a tiny model directory with a tokenizer, and check the one-line error contract.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Tokenizer } from '../../src/data/tokenizer.js';
import { createModel } from '../../src/models/index.js';
import { saveModelDir } from '../../src/io/model_dir.js';
import { tinyDeepseek } from '../models/helpers.js';

export interface CliResult {
  /** Exit status; null when the child was killed (time limit, signal). */
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
  ms: number;
  /** Peak resident set size of the child in MB (only with `rss: true`). */
  rssMB?: number;
}

const RSS_CHILD = new URL('./rss_child.ts', import.meta.url).pathname;

/**
 * Runs `r1ts ...args` in a child process, killed after `timeoutMs` (default 60 s), with `--max-old-space-size` when
 * `heapMB` is given; with `rss`, the child reports its peak RSS.
 */
export function cli(args: string[], opts: { timeoutMs?: number; heapMB?: number; rss?: boolean } = {}): CliResult {
  const node = [...(opts.heapMB ? [`--max-old-space-size=${opts.heapMB}`] : []), '--import', 'tsx'];
  const rssFile = opts.rss ? path.join(os.tmpdir(), `r1ts-rss-${process.pid}-${Date.now()}`) : '';
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [...node, opts.rss ? RSS_CHILD : 'src/cli/main.ts', ...args], {
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 60_000,
    env: { ...process.env, R1TS_RSS_FILE: rssFile },
    maxBuffer: 64 << 20,
  });
  const res: CliResult = { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr, ms: Date.now() - t0 };
  if (rssFile && fs.existsSync(rssFile)) {
    res.rssMB = Number(fs.readFileSync(rssFile, 'utf8')) / 1024;
    fs.rmSync(rssFile, { force: true });
  }
  return res;
}

/** Asserts the CLI exited with status 1 and its last stderr line is `r1ts: ...` matching `re`; returns that line. */
export function assertFails(r: CliResult, re: RegExp): string {
  assert.equal(r.signal, null, `killed by ${r.signal} after ${r.ms} ms (a hang?); stderr: ${r.err.slice(-500)}`);
  assert.equal(r.code, 1, `exit status ${r.code}; stderr: ${r.err.slice(-2000)}`);
  const lines = r.err.trimEnd().split('\n');
  const last = lines[lines.length - 1];
  assert.match(last, /^r1ts: /, `stderr does not end with one 'r1ts: ...' line: ${r.err.slice(-2000)}`);
  assert.ok(
    lines.every((l) => l.startsWith('warning: ') || l === last),
    `stderr has more than one error line: ${r.err}`,
  );
  assert.match(last, re);
  return last;
}

/** A fresh temporary directory. */
export function tmpDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `r1ts-hostile-${tag}-`));
}

/** A tokenizer trained on a few arithmetic texts (vocabulary 300). */
export async function smallTokenizer(): Promise<Tokenizer> {
  const texts = Array.from(
    { length: 60 },
    (_, i) => `What is ${i} + ${(i * 7) % 13}? The answer is ${i + ((i * 7) % 13)}.`,
  );
  return Tokenizer.train(texts, { vocabSize: 300 });
}

/** Writes a tiny DeepSeek-V3 model with `context` positions and the tokenizer into `dir`; returns the tokenizer. */
export async function makeModelDir(dir: string, context = 64): Promise<Tokenizer> {
  const tok = await smallTokenizer();
  const config = tinyDeepseek({
    vocab_size: tok.vocabSize,
    num_nextn_predict_layers: 0,
    max_position_embeddings: context,
  });
  saveModelDir(dir, createModel(config, { seed: 2 }));
  tok.saveDir(dir);
  return tok;
}

/** Copies a model directory (config, weights, tokenizer files). */
export function copyModelDir(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const f of fs.readdirSync(from)) fs.copyFileSync(path.join(from, f), path.join(to, f));
}

/** Makes a FIFO (named pipe) at `file` with mkfifo(1). */
export function mkfifo(file: string): void {
  fs.rmSync(file, { force: true });
  const r = spawnSync('mkfifo', [file]);
  assert.equal(r.status, 0, `mkfifo ${file} failed: ${r.stderr}`);
}
