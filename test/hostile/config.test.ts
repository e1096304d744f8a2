/**
 * Issue 16 item 11: config values that make the model NaN are errors, a `null` size is an error rather than the
 * default, a missing size that falls back to the 671B default is a warning, and "too large" prints readable sizes.
 * Also: a config that describes far more parameters than the checkpoint beside it holds is refused before the model
 * is allocated.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseConfig } from '../../src/models/config.js';
import { TINY_DEEPSEEK_JSON, TINY_DENSE_JSON } from '../models/helpers.js';
import { assertFails, cli, copyModelDir, makeModelDir, tmpDir } from './helpers.js';

/** A tiny DeepSeek-V3 config.json with a 64-position context and no MTP. */
const tiny: Record<string, unknown> = {
  ...TINY_DEEPSEEK_JSON,
  num_nextn_predict_layers: 0,
  max_position_embeddings: 64,
};

describe('hostile: config values (item 11)', () => {
  let dir = '';
  before(() => {
    dir = tmpDir('config');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('rms_norm_eps <= 0 and rope_theta <= 0 are errors naming the field', () => {
    for (const [k, v] of [
      ['rms_norm_eps', 0],
      ['rms_norm_eps', -1e-6],
      ['rope_theta', 0],
      ['rope_theta', -10000],
    ] as const) {
      assert.throws(
        () => parseConfig({ ...tiny, [k]: v }, 'c.json'),
        (e: Error) => e.message === `config (c.json): ${k} must be > 0, got ${v} (the model's outputs would be NaN)`,
      );
    }
    assert.throws(
      () => parseConfig({ ...tiny, rope_scaling: { type: 'yarn', factor: 0, original_max_position_embeddings: 64 } }),
      /rope_scaling\.factor must be > 0, got 0/,
    );
  });

  it('null for a required size is an error, not the default; null where transformers derives a value is allowed', () => {
    for (const k of ['hidden_size', 'vocab_size', 'num_hidden_layers', 'max_position_embeddings', 'kv_lora_rank']) {
      assert.throws(
        () => parseConfig({ ...tiny, [k]: null }, 'c.json'),
        (e: Error) => e.message === `config (c.json): ${k} must be an integer, got null`,
      );
    }
    const c = parseConfig({ ...tiny, num_key_value_heads: null, q_lora_rank: null }).config;
    assert.equal(c.num_key_value_heads, 3);
    assert.equal(parseConfig({ ...TINY_DENSE_JSON, head_dim: null }).config.model_type, 'qwen2');
    assert.throws(() => parseConfig({ ...tiny, hidden_size: 1e300 }), /hidden_size must be an integer, got 1e\+300/);
  });

  it('a missing size field that falls back to the 671B default is named in a warning', () => {
    const { hidden_size: _h, num_hidden_layers: _l, ...rest } = tiny;
    const r = parseConfig(rest, 'c.json');
    assert.equal(r.config.hidden_size, 7168);
    assert.deepEqual(r.warnings, [
      'config (c.json): missing size field(s) set to the DeepSeek-V3 671B defaults: hidden_size=7168, num_hidden_layers=61',
    ]);
    assert.deepEqual(parseConfig(tiny).warnings, []);
  });

  it('init: "too large" prints readable sizes; the defaulted sizes are warned about first', () => {
    const file = path.join(dir, 'huge.json');
    fs.writeFileSync(file, JSON.stringify({ ...tiny, vocab_size: 1e12, hidden_size: 1000 }));
    const r = cli(['init', '--config', file, '--out', path.join(dir, 'out')]);
    assertFails(
      r,
      /^r1ts: init: 2\.00e15 parameters need 7\.11 PiB of float32; too large for this tool \(limit 8 GiB\)$/,
    );
    const { hidden_size: _h, ...noHidden } = tiny;
    const f2 = path.join(dir, 'nohidden.json');
    fs.writeFileSync(f2, JSON.stringify({ ...noHidden, vocab_size: 300_000 }));
    const r2 = cli(['init', '--config', f2, '--out', path.join(dir, 'out2')]);
    assertFails(r2, /init: [\d.]+B parameters need [\d.]+ GiB of float32; too large/);
    assert.match(
      r2.err,
      /^warning: config \(nohidden\.json\): missing size field\(s\) set to the DeepSeek-V3 671B defaults: hidden_size=7168\n/,
    );
  });

  it('a config far larger than its checkpoint is refused before the model is built', async () => {
    const model = path.join(dir, 'm');
    await makeModelDir(model, 64);
    const liar = path.join(dir, 'liar');
    copyModelDir(model, liar);
    const cfg = JSON.parse(fs.readFileSync(path.join(liar, 'config.json'), 'utf8'));
    fs.writeFileSync(path.join(liar, 'config.json'), JSON.stringify({ ...cfg, vocab_size: 2_000_000_000 }));
    const r = cli(['logits', '--model', liar, '--ids', '1,2'], { heapMB: 256, timeoutMs: 30_000 });
    assertFails(
      r,
      /liar: config\.json describes [\d.]+B parameters \([\d.]+ GiB as float32\) but the checkpoint holds [\d.]+K values/,
    );
  });
});
