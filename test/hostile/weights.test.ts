/**
 * Issue 16 item 12: an integer dtype stored for a float parameter is an error (it used to be read as integers, with
 * logits of 4.6e9), NaN/Inf weights give a warning naming the tensor, and a NaN loss in `logits` is reported as such.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tensor } from '../../src/tensor/tensor.js';
import { loadSafetensors, saveSafetensors } from '../../src/io/safetensors.js';
import { loadModelDir } from '../../src/io/model_dir.js';
import { assertFails, cli, copyModelDir, makeModelDir, tmpDir } from './helpers.js';

/** Copies `model` to `to` with `edit` applied to its tensors (HF names). */
function editWeights(model: string, to: string, edit: (t: Map<string, Tensor>) => void): void {
  copyModelDir(model, to);
  const file = path.join(to, 'model.safetensors');
  const tensors = loadSafetensors(file);
  edit(tensors);
  saveSafetensors(file, tensors);
}

describe('hostile: weights (item 12)', () => {
  let dir = '';
  let model = '';
  before(async () => {
    dir = tmpDir('weights');
    model = path.join(dir, 'model');
    await makeModelDir(model, 64);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('an I32 tensor for a float parameter is an error naming the tensor and the directory', () => {
    const bad = path.join(dir, 'i32');
    editWeights(model, bad, (ts) => {
      const w = ts.get('model.embed_tokens.weight')!;
      ts.set(
        'model.embed_tokens.weight',
        new Tensor(
          Int32Array.from(w.data, (v) => Math.round(v * 1e9)),
          w.shape,
          'int32',
        ),
      );
    });
    assertFails(
      cli(['logits', '--model', bad, '--ids', '1,2,3']),
      /^r1ts: hf: tensor model\.embed_tokens\.weight holds integers \(an I\*\/U\* dtype\), but the model's weights are floating point: store it as F32, F16, BF16 or F8 \(.*i32\)$/,
    );
    assert.throws(() => loadModelDir(bad), /model\.embed_tokens\.weight holds integers/);
  });

  it('NaN and infinite weights are a warning naming the tensor; a NaN loss is reported as NaN', () => {
    // finite weights: no warning, a finite loss
    assert.deepEqual(loadModelDir(model).warnings, []);
    const good = cli(['logits', '--model', model, '--ids', '1,2,3']);
    assert.equal(good.code, 0, good.err);
    assert.equal(good.err, '');
    assert.match(good.out, /^loss: \d+\.\d{6} \(mean next-token/m);
    const bad = path.join(dir, 'nan');
    editWeights(model, bad, (ts) => {
      ts.get('model.norm.weight')!.data[0] = Number.NaN;
      const head = ts.get('lm_head.weight')!;
      head.data[1] = Number.POSITIVE_INFINITY;
      head.data[2] = Number.NaN;
    });
    const { warnings } = loadModelDir(bad);
    assert.ok(
      warnings.some((w) => /tensor model\.norm\.weight holds 1 NaN and 0 infinite value\(s\) of 24/.test(w)),
      warnings.join('\n'),
    );
    assert.ok(warnings.some((w) => /tensor lm_head\.weight holds 1 NaN and 1 infinite value\(s\)/.test(w)));
    const r = cli(['logits', '--model', bad, '--ids', '1,2,3']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /warning: .*tensor model\.norm\.weight holds 1 NaN/);
    assert.match(r.out, /^loss: NaN \(not a number: \d+ of \d+ logits are NaN or infinite/m);
    const j = cli(['logits', '--model', bad, '--ids', '1,2,3', '--json']);
    assert.equal(j.code, 0, j.err);
    assert.equal(JSON.parse(j.out).loss, null);
    assert.match(j.err, /warning: logits: the loss is NaN: \d+ of \d+ logits are NaN or infinite/);
  });
});
