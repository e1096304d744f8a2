// `r1ts serve` as a process: it prints its URL, answers over HTTP, and SIGTERM shuts it down gracefully (exit 0);
// --speculative mtp on a model without an MTP module is one line and exit 1.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeToyModelDir } from './helpers.js';

describe('r1ts serve', () => {
  it('serves on an ephemeral port and stops on SIGTERM; refuses --speculative mtp without an MTP module', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'r1ts-serve-'));
    try {
      await writeToyModelDir(dir);
      const bad = spawnSync(
        process.execPath,
        ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--model', dir, '--speculative', 'mtp'],
        { encoding: 'utf8' },
      );
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /--speculative mtp .*needs a model with an MTP module/);
      assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);

      const child = spawn(process.execPath, [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'serve',
        '--model',
        dir,
        '--port',
        '0',
      ]);
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const deadline = Date.now() + 60_000;
      while (!/on (http:\S+) /.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const url = /on (http:\S+) /.exec(out)?.[1];
      assert.ok(url?.startsWith('http://127.0.0.1:'), `no URL printed: ${out}`);
      const health = (await (await fetch(`${url}/health`)).json()) as { status: string; model: string };
      assert.deepEqual([health.status, health.model], ['ok', dir]);
      const res = await fetch(`${url}/v1/completions`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ model: dir, prompt: 'Add 2', max_tokens: 3, temperature: 0 }),
      });
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { object: string }).object, 'text_completion');
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.match(out, /SIGTERM .*\n.*stopped/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
