import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveModelDir } from '../../src/io/model_dir.js';
import { ggufGet, readGguf } from '../../src/io/gguf.js';
import { FAMILIES, buildModel, trainTokenizer } from '../io/gguf_fixtures.js';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('r1ts export gguf', () => {
  let dir = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'r1ts-export-'));
    const ds = FAMILIES.find((f) => f.name === 'deepseek_v3')!;
    saveModelDir(join(dir, 'ds'), buildModel(ds.config));
    (await trainTokenizer(ds.pre)).saveDir(join(dir, 'ds'));
    // A DeepSeek model with attention biases, which llama.cpp's deepseek2 lacks.
    saveModelDir(join(dir, 'biased'), buildModel({ ...ds.config, attention_bias: true }));
    (await trainTokenizer(ds.pre)).saveDir(join(dir, 'biased'));
    saveModelDir(join(dir, 'notok'), buildModel(ds.config));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a deepseek2 GGUF with the tokenizer and reports what it left out', () => {
    const out = join(dir, 'ds.gguf');
    const r = cli('export', 'gguf', '--model', join(dir, 'ds'), '--out', out, '--dtype', 'q8_0');
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /^wrote .*ds\.gguf: llama\.cpp architecture deepseek2, \d+ tensors \(.*q8_0 \d+.*\), [\d.]+ [km]B in [\d.]+ s$/m,
    );
    assert.match(
      r.out,
      /^tokenizer: 400 tokens \+ 16 unused up to vocab_size 416, \d+ merges, pre-tokenizer deepseek-v3$/m,
    );
    assert.match(r.out, /^note: MTP layer\(s\) 3 not exported/m);
    const g = readGguf(out);
    assert.equal(ggufGet(g.metadata, 'general.architecture'), 'deepseek2');
    assert.equal(ggufGet(g.metadata, 'general.name'), 'ds');
    assert.equal(ggufGet(g.metadata, 'general.file_type'), 7);
  });

  it('bad flags, refused settings and missing files are one line and exit status 1', () => {
    const cases: [string[], string][] = [
      [
        ['--model', join(dir, 'ds'), '--out', join(dir, 'x.gguf'), '--dtype', 'q4_0'],
        "r1ts: export gguf: --dtype must be one of f32, f16, bf16, q8_0, got 'q4_0'",
      ],
      [
        ['--model', join(dir, 'biased'), '--out', join(dir, 'x.gguf')],
        "r1ts: gguf: attention_bias true: llama.cpp's deepseek2 has no attention biases",
      ],
      [
        ['--model', join(dir, 'notok'), '--out', join(dir, 'x.gguf')],
        `r1ts: ${join(dir, 'notok')} has no tokenizer.json (pass --tokenizer FILE, the tokenizer the model was trained with)`,
      ],
      [
        ['--model', join(dir, 'nothing'), '--out', join(dir, 'x.gguf')],
        `r1ts: export gguf: --model must be an existing directory, got '${join(dir, 'nothing')}' (not found)`,
      ],
    ];
    for (const [args, message] of cases) {
      const r = cli('export', 'gguf', ...args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.err}`);
      assert.equal(r.err.trim(), message);
    }
  });
});
