/**
 * Checkpoint directories: single file vs shards + model.safetensors.index.json, round trips, the index's content,
 * FP8 weights whose scale sits in another shard, stale files of an earlier save, hostile indexes; atomic writes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Tensor, randn, tensor, Generator } from '../../src/index.js';
import { FP8_E4M3, decodeFloat } from '../../src/tensor/formats.js';
import { SafetensorsError, readSafetensorsHeader, serializeSafetensors } from '../../src/io/safetensors.js';
import {
  INDEX_FILE,
  loadCheckpointDir,
  readCheckpointIndex,
  saveCheckpointDir,
} from '../../src/io/safetensors_index.js';
import { writeAll, writeFileAtomic } from '../../src/io/atomic.js';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'r1ts-ckpt-'));
}

function model(): Map<string, Tensor> {
  const g = new Generator(21);
  const m = new Map<string, Tensor>();
  for (let l = 0; l < 3; l++) {
    m.set(`model.layers.${l}.mlp.weight`, randn([8, 16], { generator: g })); // 512 bytes as F32
    m.set(`model.layers.${l}.norm.weight`, randn([16], { generator: g })); // 64 bytes
  }
  m.set('model.embed_tokens.weight', randn([10, 16], { generator: g })); // 640 bytes
  m.set('step', tensor([7], { dtype: 'int32' }));
  return m;
}

function assertSame(a: Map<string, Tensor>, b: Map<string, Tensor>): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [n, t] of a) {
    assert.deepEqual(b.get(n)!.shape, t.shape, n);
    assert.deepEqual([...b.get(n)!.data], [...t.data], n);
  }
}

test('small checkpoints are one model.safetensors; large ones are shards plus an index', () => {
  const dir = tmpDir();
  const m = model();
  assert.deepEqual(saveCheckpointDir(dir, m), ['model.safetensors']);
  assertSame(m, loadCheckpointDir(dir));
  assertSame(m, loadCheckpointDir(path.join(dir, 'model.safetensors')));

  const files = saveCheckpointDir(dir, m, { maxShardBytes: 1200 });
  assert.deepEqual(files, [
    'model-00001-of-00003.safetensors',
    'model-00002-of-00003.safetensors',
    'model-00003-of-00003.safetensors',
    INDEX_FILE,
  ]);
  // The earlier single file is gone: it would shadow the shards.
  assert.deepEqual(fs.readdirSync(dir).sort(), [...files].sort());
  const index = JSON.parse(fs.readFileSync(path.join(dir, INDEX_FILE), 'utf8'));
  assert.equal(index.metadata.total_size, 3 * 512 + 3 * 64 + 640 + 4);
  assert.deepEqual(Object.keys(index.weight_map), [...m.keys()].sort());
  // Greedy in name order: embed (640) + layer 0 mlp (512) = 1152 <= 1200; then layer0 norm...
  assert.equal(index.weight_map['model.embed_tokens.weight'], 'model-00001-of-00003.safetensors');
  assert.equal(index.weight_map['model.layers.0.mlp.weight'], 'model-00001-of-00003.safetensors');
  assert.equal(index.weight_map['model.layers.0.norm.weight'], 'model-00002-of-00003.safetensors');
  for (const f of files.slice(0, 3)) {
    const h = readSafetensorsHeader(path.join(dir, f));
    const bytes = h.tensors.reduce((s, e) => s + e.end - e.begin, 0);
    assert.ok(bytes <= 1200, `${f} holds ${bytes} bytes`);
    assert.deepEqual(h.metadata, { format: 'pt' });
  }
  assertSame(m, loadCheckpointDir(dir));
  assertSame(m, loadCheckpointDir(path.join(dir, INDEX_FILE)));
  const some = loadCheckpointDir(dir, { filter: (n) => n.includes('norm') });
  assert.deepEqual(
    [...some.keys()],
    ['model.layers.0.norm.weight', 'model.layers.1.norm.weight', 'model.layers.2.norm.weight'],
  );

  // Saving small again removes the index and the shards.
  saveCheckpointDir(dir, m);
  assert.deepEqual(fs.readdirSync(dir), ['model.safetensors']);
  fs.rmSync(dir, { recursive: true });
});

test('a tensor larger than the shard limit gets a shard of its own; BF16 sizes count as stored', () => {
  const dir = tmpDir();
  const m = model();
  const files = saveCheckpointDir(dir, m, { maxShardBytes: 300, dtype: 'BF16' });
  const index = readCheckpointIndex(path.join(dir, INDEX_FILE));
  assert.equal(index.metadata.total_size, 3 * 256 + 3 * 32 + 320 + 4);
  assert.equal(new Set(index.weightMap.values()).size, files.length - 1);
  const embedShard = index.weightMap.get('model.embed_tokens.weight')!; // 320 bytes > 300: alone
  assert.deepEqual(
    [...index.weightMap].filter(([, f]) => f === embedShard).map(([n]) => n),
    ['model.embed_tokens.weight'],
  );
  const back = loadCheckpointDir(dir);
  assert.equal(back.get('step')!.data[0], 7);
  assert.equal(
    back.get('model.layers.1.mlp.weight')!.data[3],
    Math.fround(bf16(m.get('model.layers.1.mlp.weight')!.data[3])),
  );
  fs.rmSync(dir, { recursive: true });
});

function bf16(x: number): number {
  // Independent BF16 rounding via float32 bits: round half to even on the low 16 bits.
  const u = new Uint32Array(new Float32Array([x]).buffer)[0];
  const r = (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
  return new Float32Array(new Uint32Array([r << 16]).buffer)[0];
}

test('an FP8 weight and its scale in different shards are dequantised together', () => {
  const dir = tmpDir();
  const codes = new Uint8Array(4 * 130).map((_, i) => (i * 37) % 0x7e);
  const write = (file: string, header: Record<string, unknown>, data: Uint8Array): void => {
    const body = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(8 + body.length + data.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(body.length), true);
    out.set(body, 8);
    out.set(data, 8 + body.length);
    fs.writeFileSync(path.join(dir, file), out);
  };
  write(
    'model-00001-of-00002.safetensors',
    { 'p.weight': { dtype: 'F8_E4M3', shape: [4, 130], data_offsets: [0, 520] } },
    codes,
  );
  write(
    'model-00002-of-00002.safetensors',
    { 'p.weight_scale_inv': { dtype: 'F32', shape: [1, 2], data_offsets: [0, 8] } },
    new Uint8Array(new Float32Array([0.5, 3]).buffer),
  );
  fs.writeFileSync(
    path.join(dir, INDEX_FILE),
    JSON.stringify({
      metadata: { total_size: 528 },
      weight_map: {
        'p.weight': 'model-00001-of-00002.safetensors',
        'p.weight_scale_inv': 'model-00002-of-00002.safetensors',
      },
    }),
  );
  const t = loadCheckpointDir(dir);
  assert.deepEqual([...t.keys()], ['p.weight']);
  const w = t.get('p.weight')!;
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 130; j++) {
      assert.equal(w.data[i * 130 + j], decodeFloat(codes[i * 130 + j], FP8_E4M3) * (j < 128 ? 0.5 : 3));
    }
  }
  assert.deepEqual([...loadCheckpointDir(dir, { dequantize: false }).keys()], ['p.weight', 'p.weight_scale_inv']);
  fs.rmSync(dir, { recursive: true });
});

test('hostile indexes: missing tensor in its shard, missing shard, invalid JSON, paths outside the directory', () => {
  const dir = tmpDir();
  saveCheckpointDir(dir, model(), { maxShardBytes: 1200 });
  const indexPath = path.join(dir, INDEX_FILE);
  const index = JSON.parse(fs.readFileSync(indexPath, 'utf8'));
  const expectErr = (re: RegExp, file: string): void => {
    assert.throws(
      () => loadCheckpointDir(dir),
      (e: unknown) => {
        assert.ok(e instanceof SafetensorsError, String(e));
        assert.match(e.message, re);
        assert.equal(e.file, file);
        assert.ok(!e.message.includes('\n'));
        return true;
      },
    );
  };
  const withMap = (wm: unknown): void => fs.writeFileSync(indexPath, JSON.stringify({ ...index, weight_map: wm }));

  withMap({ ...index.weight_map, ghost: 'model-00002-of-00003.safetensors' });
  expectErr(
    /tensor "ghost" listed in the index is missing from its shard/,
    path.join(dir, 'model-00002-of-00003.safetensors'),
  );
  withMap({ ...index.weight_map, ghost: 'model-00009-of-00009.safetensors' });
  expectErr(/cannot open: ENOENT/, path.join(dir, 'model-00009-of-00009.safetensors'));
  withMap({ ...index.weight_map, ghost: '../etc/passwd' });
  expectErr(/weight_map entry "ghost" names "\.\.\/etc\/passwd", not a file in the index's directory/, indexPath);
  withMap({ a: 3 });
  expectErr(/weight_map entry "a" is not a file name/, indexPath);
  withMap([1]);
  expectErr(/index has no weight_map object/, indexPath);
  fs.writeFileSync(indexPath, '{"weight_map": {');
  expectErr(/index is not valid JSON: /, indexPath);
  fs.rmSync(indexPath);
  expectErr(/no model\.safetensors or model\.safetensors\.index\.json in the directory/, dir);
  assert.throws(() => loadCheckpointDir(path.join(dir, 'nope')), /cannot open: ENOENT/);
  assert.throws(() => saveCheckpointDir(dir, model(), { maxShardBytes: 0 }), /maxShardBytes must be positive/);
  fs.rmSync(dir, { recursive: true });
});

test('atomic writes: a failing write leaves the old file and no temporary file', () => {
  const dir = tmpDir();
  const file = path.join(dir, 'model.safetensors');
  const old = serializeSafetensors(new Map([['a', tensor([1, 2])]]));
  fs.writeFileSync(file, old);
  assert.throws(
    () =>
      writeFileAtomic(file, (fd) => {
        writeAll(fd, new Uint8Array(100));
        throw new Error('disk full');
      }),
    /disk full/,
  );
  assert.deepEqual(fs.readdirSync(dir), ['model.safetensors']);
  assert.deepEqual(new Uint8Array(fs.readFileSync(file)), old);
  writeFileAtomic(file, (fd) => writeAll(fd, new Uint8Array([1, 2, 3])));
  assert.deepEqual([...fs.readFileSync(file)], [1, 2, 3]);
  assert.deepEqual(fs.readdirSync(dir), ['model.safetensors']);
  fs.rmSync(dir, { recursive: true });
});
