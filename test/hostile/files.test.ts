/**
 * Issue 16 item 13: files that are not regular files (FIFOs, devices) are refused before they are opened: every reader
 * (safetensors file, shard, config.json, tokenizer.json, JSONL problems, data corpora) used to hang forever on a FIFO.
 * JSONL: a line `null` is `file:line: expected an object`, and a UTF-8 byte-order mark is accepted.
 * Each CLI run has a time limit; a hang shows up as a killed child.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readDocuments } from '../../src/data/readers.js';
import { loadJsonlProblems } from '../../src/rl/problems.js';
import { assertFails, cli, copyModelDir, makeModelDir, mkfifo, tmpDir } from './helpers.js';

const LIMIT = { timeoutMs: 20_000 };
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe('hostile: FIFOs and devices (item 13)', () => {
  let dir = '';
  let model = '';
  before(async () => {
    dir = tmpDir('files');
    model = path.join(dir, 'model');
    await makeModelDir(model, 256);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a FIFO as model.safetensors, as a shard, as config.json or as tokenizer.json is refused at once', () => {
    const cases: [string, string, RegExp][] = [
      [
        'model.safetensors',
        'logits',
        /safetensors: a FIFO \(named pipe\), not a regular file \(.*model\.safetensors\)/,
      ],
      ['config.json', 'logits', /config: .*config\.json is a FIFO \(named pipe\), not a regular file/],
      ['tokenizer.json', 'generate', /tokenizer: .*tokenizer\.json is a FIFO \(named pipe\), not a regular file/],
    ];
    for (const [file, cmd, re] of cases) {
      const m = path.join(dir, `fifo-${file}`);
      copyModelDir(model, m);
      mkfifo(path.join(m, file));
      const args = cmd === 'logits' ? ['--ids', '1,2'] : ['--prompt', 'hi', '--max-tokens', '2'];
      assertFails(cli([cmd, '--model', m, ...args], LIMIT), re);
    }
    // a sharded checkpoint whose index names a FIFO
    const sharded = path.join(dir, 'fifo-shard');
    copyModelDir(model, sharded);
    fs.rmSync(path.join(sharded, 'model.safetensors'));
    const weights = JSON.parse(
      JSON.stringify({ metadata: {}, weight_map: { 'lm_head.weight': 'model-00001-of-00001.safetensors' } }),
    );
    fs.writeFileSync(path.join(sharded, 'model.safetensors.index.json'), JSON.stringify(weights));
    mkfifo(path.join(sharded, 'model-00001-of-00001.safetensors'));
    assertFails(
      cli(['logits', '--model', sharded, '--ids', '1,2'], LIMIT),
      /safetensors: a FIFO \(named pipe\), not a regular file \(.*model-00001-of-00001\.safetensors\)/,
    );
  });

  it('a character device as tokenizer or config is refused (/dev/zero never ends)', () => {
    assertFails(
      cli(['generate', '--model', model, '--tokenizer', '/dev/zero', '--prompt', 'hi', '--max-tokens', '2'], LIMIT),
      /tokenizer: \/dev\/zero is a character device, not a regular file/,
    );
    assertFails(cli(['params', '--config', '/dev/zero'], LIMIT), /config: \/dev\/zero is a character device/);
  });

  it('a FIFO as a JSONL problem file or a data corpus (given or inside a directory) is refused', () => {
    const problems = path.join(dir, 'problems.jsonl');
    mkfifo(problems);
    assertFails(
      cli(['eval', '--model', model, '--task', problems, '--max-tokens', '2', '--k', '1'], LIMIT),
      new RegExp(`problems: ${esc(problems)} is a FIFO \\(named pipe\\), not a regular file`),
    );
    const corpus = path.join(dir, 'corpus');
    fs.mkdirSync(corpus);
    fs.writeFileSync(path.join(corpus, 'a.jsonl'), '{"text": "hello"}\n');
    mkfifo(path.join(corpus, 'b.jsonl'));
    const out = path.join(dir, 'tok.json');
    for (const c of [corpus, path.join(corpus, 'b.jsonl')]) {
      assertFails(
        cli(['data', 'tokenizer', '--corpus', c, '--vocab-size', '300', '--out', out, '--quiet'], LIMIT),
        // given directly, the flag's check names it; inside a directory, the reader does
        /(data|--corpus): .*b\.jsonl is a FIFO \(named pipe\), not a regular file/,
      );
    }
  });

  it('JSONL: a line `null` is `file:line: expected an object`; a byte-order mark is accepted', async () => {
    const docs = path.join(dir, 'docs.jsonl');
    fs.writeFileSync(docs, '\uFEFF{"text": "one"}\r\n\n{"text": "two"}\nnull\n');
    const got: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const d of readDocuments([docs])) got.push(d.text);
      })(),
      (e: Error) => e.message === `${docs}:4: expected an object, got null`,
    );
    assert.deepEqual(got, ['one', 'two']);
    const probs = path.join(dir, 'probs.jsonl');
    fs.writeFileSync(probs, '\uFEFF{"prompt": "1+2?", "answer": 3}\r\n{"question": "2+2?", "answer": "4"}\n');
    assert.deepEqual(
      loadJsonlProblems(probs).map((p) => [p.question, p.answer]),
      [
        ['1+2?', '3'],
        ['2+2?', '4'],
      ],
    );
    fs.appendFileSync(probs, '[1, 2]\n');
    assert.throws(
      () => loadJsonlProblems(probs),
      (e: Error) => e.message === `${probs}:3: expected an object, got an array`,
    );
    fs.writeFileSync(probs, '{"prompt": "1+2?", "answer": 3}\nnull\n');
    assertFails(
      cli(['eval', '--model', model, '--task', probs, '--max-tokens', '2', '--k', '1'], LIMIT),
      new RegExp(`^r1ts: ${esc(probs)}:2: expected an object, got null$`),
    );
  });
});
