/**
 * bf16 weights in memory: a sharded BF16 checkpoint (written here) loaded with `weights: 'bfloat16'` keeps every weight
 * matrix as bfloat16 storage (no float32 copy), and gives the logits of the same checkpoint loaded as float32 (whose
 * weights are the bf16 values exactly): bit for bit on the reference backend (same sums in the same order), within
 * the sgemm tolerance on the native one; through `forward` (what `logits` runs) and the fast decoder (what generate,
 * eval and serve run), tied and untied heads. Also: 'auto', the refusals (training, FP8, wrong shapes, DeepSeek), and
 * that a bf16 model saves back to the same bytes.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Tensor, createModel, generate, linear, noGrad, randn } from '../../src/index.js';
import { onBackend } from '../helpers/util.js';
import { nativeAvailable } from '../../src/backend/native/index.js';
import { loadModelDir, resolveWeights, saveModelDir } from '../../src/io/model_dir.js';
import { INDEX_FILE } from '../../src/io/safetensors_index.js';
import { loadSafetensors, saveSafetensors } from '../../src/io/safetensors.js';
import { tinyDense, tinyDeepseek } from '../models/helpers.js';
import type { CausalLM } from '../../src/models/index.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A tiny dense model saved as BF16 shards (several, by a small shard size). */
function bf16Checkpoint(overrides: Record<string, unknown> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r1ts-bf16-'));
  dirs.push(dir);
  const model = createModel(tinyDense(overrides), { seed: 3, initStd: 0.2 });
  // biases are zeros at init: give them values so that the bias path is checked too
  for (const [n, p] of model.stateDict()) if (n.endsWith('bias')) p.data.set(randn(p.shape).data);
  saveModelDir(dir, model, { dtype: 'BF16', maxShardBytes: 2000 });
  return dir;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): { d: number; m: number } {
  assert.equal(a.length, b.length);
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return { d, m };
}

const IDS = [1, 5, 9, 2, 33, 7, 0, 12];

function forwardLogits(model: CausalLM): Float32Array {
  return noGrad(() => model.forward(new Tensor(Int32Array.from(IDS), [2, 4], 'int32')).logits).data as Float32Array;
}

/** Logits of a prefill of two rows and three decode steps through the fast decoder, concatenated. */
function decoderLogits(model: CausalLM): Float32Array {
  const dec = model.createDecoder!();
  const out: number[] = [...dec.feed(Int32Array.from(IDS), 2, 4)];
  for (let s = 0; s < 3; s++) out.push(...dec.feed(Int32Array.from([s + 3, s + 11]), 2, 1));
  return Float32Array.from(out);
}

for (const tied of [false, true]) {
  describe(`a sharded BF16 checkpoint in bf16 memory (${tied ? 'tied' : 'untied'} head)`, () => {
    const dir = bf16Checkpoint({ tie_word_embeddings: tied });
    const f32 = loadModelDir(dir).model;
    const b16 = loadModelDir(dir, { weights: 'bfloat16' }).model;

    it('is sharded, and every weight matrix is bfloat16 storage', () => {
      assert.ok(fs.existsSync(path.join(dir, INDEX_FILE)));
      let matrices = 0;
      for (const [name, t] of b16.stateDict()) {
        if (t.ndim === 2) {
          assert.equal(t.dtype, 'bfloat16', name);
          assert.ok(t.data instanceof Uint16Array, name);
          matrices++;
        } else assert.equal(t.dtype, 'float32', name);
        assert.equal(t.requiresGrad, false, name);
      }
      assert.equal(matrices, tied ? 1 + 2 * 7 : 2 + 2 * 7);
    });

    it('forward gives the float32 model logits bit for bit on the reference backend', () => {
      onBackend('ts', () => assert.deepEqual(forwardLogits(b16), forwardLogits(f32)));
    });

    it('the fast decoder gives the float32 model logits on the reference backend (to the rounding of the bias add)', () => {
      // The float32 loops add the q/k/v bias before rounding the sum to float32, the kernel path after: one rounding.
      onBackend('ts', () => {
        const { d, m } = maxAbsDiff(decoderLogits(b16), decoderLogits(f32));
        assert.ok(d <= 4e-7 * Math.max(1, m), `max |d| ${d}`);
      });
    });

    it('on the native backend, within the sgemm tolerance; greedy tokens agree', { skip: !nativeAvailable() }, () => {
      onBackend('native', () => {
        for (const [a, b] of [
          [forwardLogits(b16), forwardLogits(f32)],
          [decoderLogits(b16), decoderLogits(f32)],
        ]) {
          const { d, m } = maxAbsDiff(a, b);
          assert.ok(d <= 2e-6 * Math.sqrt(32) * Math.max(1, m) * 4, `max |d| ${d}`);
        }
        const prompt = [[1, 5, 9]];
        const opts = { maxTokens: 8, temperature: 0, seed: 1 };
        assert.deepEqual(
          generate(b16, prompt, opts).map((g) => g.tokens),
          generate(f32, prompt, opts).map((g) => g.tokens),
        );
      });
    });

    it('saves back to the same bytes', () => {
      const again = fs.mkdtempSync(path.join(os.tmpdir(), 'r1ts-bf16-'));
      dirs.push(again);
      const files = saveModelDir(again, b16, { dtype: 'BF16', maxShardBytes: 2000 });
      for (const f of files)
        assert.deepEqual(fs.readFileSync(path.join(again, f)), fs.readFileSync(path.join(dir, f)), f);
    });
  });
}

describe('a llama checkpoint (no biases) in bf16 memory', () => {
  it('the fast decoder gives the float32 model logits bit for bit on the reference backend', () => {
    const dir = bf16Checkpoint({ model_type: 'llama' });
    const f32 = loadModelDir(dir).model;
    const b16 = loadModelDir(dir, { weights: 'bfloat16' }).model;
    onBackend('ts', () => assert.deepEqual(decoderLogits(b16), decoderLogits(f32)));
  });
});

describe('choosing and refusing bf16 memory', () => {
  it("'auto' picks bfloat16 for a BF16 dense checkpoint and float32 for an F32 one", () => {
    const dir = bf16Checkpoint();
    const config = tinyDense();
    assert.equal(resolveWeights(dir, config, 'auto'), 'bfloat16');
    assert.equal(loadModelDir(dir, { weights: 'auto' }).model.stateDict().get('embed.weight')!.dtype, 'bfloat16');
    const f = fs.mkdtempSync(path.join(os.tmpdir(), 'r1ts-bf16-'));
    dirs.push(f);
    saveModelDir(f, createModel(config));
    assert.equal(resolveWeights(f, config, 'auto'), 'float32');
    assert.equal(resolveWeights(dir, config, 'float32'), 'float32');
  });

  it('F32 checkpoints load into bf16 memory rounded to nearest even', () => {
    const f = fs.mkdtempSync(path.join(os.tmpdir(), 'r1ts-bf16-'));
    dirs.push(f);
    const m = createModel(tinyDense(), { seed: 4, initStd: 0.3 });
    saveModelDir(f, m);
    const b = loadModelDir(f, { weights: 'bfloat16' }).model;
    const bits = new Uint32Array((m.stateDict().get('embed.weight')!.data as Float32Array).slice().buffer);
    const codes = b.stateDict().get('embed.weight')!.data as Uint16Array;
    for (let i = 0; i < codes.length; i++) {
      const u = bits[i];
      assert.equal(codes[i], (u + 0x7fff + ((u >>> 16) & 1)) >>> 16);
    }
  });

  it('a bf16 model refuses gradients and other ops on its weights', () => {
    const b16 = loadModelDir(bf16Checkpoint(), { weights: 'bfloat16' }).model;
    const w = b16.stateDict().get('layers.0.attn.wq.weight')!;
    const x = randn([2, w.shape[1]]).requiresGrad_();
    assert.throws(() => linear(x, w), /linear: bfloat16 weights are inference-only/);
    assert.throws(() =>
      b16
        .computeLoss(
          new Tensor(Int32Array.from([1, 2]), [1, 2], 'int32'),
          new Tensor(Int32Array.from([2, 3]), [1, 2], 'int32'),
        )
        .loss.backward(),
    );
    assert.throws(() => (w.requiresGrad = true), /only float tensors can require grad/);
  });

  it('a shard whose tensor shape disagrees with the config is one line naming the file and tensor', () => {
    const dir = bf16Checkpoint();
    const index = JSON.parse(fs.readFileSync(path.join(dir, INDEX_FILE), 'utf8'));
    const name = 'model.layers.1.self_attn.o_proj.weight';
    const shard = path.join(dir, index.weight_map[name]);
    // the same values under a transposed shape (same size, so the checkpoint's value count still matches)
    const tensors = loadSafetensors(shard);
    const w = tensors.get(name)!;
    tensors.set(name, new Tensor(w.data, [w.shape[1] / 2, w.shape[0] * 2], 'float32'));
    saveSafetensors(shard, tensors, { dtype: 'BF16' });
    assert.throws(
      () => loadModelDir(dir, { weights: 'bfloat16' }),
      new RegExp(
        `^SafetensorsError: safetensors: tensor "${name.replace(/\./g, '\\.')}": shape \\[12,48\\] does not match the model's \\[24,24\\] \\(.*${path.basename(shard)}\\)$`,
      ),
    );
  });

  it('DeepSeek models are refused in bf16 memory with one line', () => {
    assert.throws(
      () => createModel(tinyDeepseek(), { weightDtype: 'bfloat16' }),
      /bf16 weights in memory are supported for the dense families/,
    );
  });
});

describe('non-finite bf16 weights', () => {
  it('are reported by name, NaN and infinities counted', () => {
    const dir = bf16Checkpoint();
    const b16 = loadModelDir(dir, { weights: 'bfloat16' }).model;
    const w = b16.stateDict().get('layers.1.ffn.w2.weight')!;
    const codes = w.data as Uint16Array;
    codes[0] = 0x7fc0; // NaN
    codes[3] = 0xff80; // -inf
    codes[codes.length - 1] = 0x7f80; // +inf
    const again = fs.mkdtempSync(path.join(os.tmpdir(), 'r1ts-bf16-'));
    dirs.push(again);
    saveModelDir(again, b16, { dtype: 'BF16' });
    const { warnings } = loadModelDir(again, { weights: 'bfloat16' });
    assert.deepEqual(
      warnings.filter((x) => x.includes('NaN')),
      [
        `${again}: tensor model.layers.1.mlp.down_proj.weight holds 1 NaN and 2 infinite value(s) of ${codes.length}; outputs will not be finite`,
      ],
    );
  });
});
