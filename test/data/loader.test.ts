import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetMetadataAsync, asyncBufferFromFile } from 'hyparquet';
import { DataLoader, readDocuments, type DataPosition, type LoaderTokenizer } from '../../src/data/index.js';
import { isValidationDoc, type Batch } from '../../src/data/loader.js';
import { newReaderStats, type SourceDoc } from '../../src/data/readers.js';

/** A byte tokenizer for tests: id = UTF-8 byte, BOS 256, EOS 257. */
const byteTok: LoaderTokenizer = {
  encode: (t) => Array.from(new TextEncoder().encode(t)),
  bosId: 256,
  eosId: 257,
};

const FIX = 'test/fixtures/data';
let dir: string;

async function collect(it: AsyncIterable<SourceDoc>): Promise<SourceDoc[]> {
  const out: SourceDoc[] = [];
  for await (const d of it) out.push(d);
  return out;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'r1ts-data-'));
  const lines = Array.from({ length: 300 }, (_, i) =>
    JSON.stringify({ text: `doc ${i} ${'x'.repeat(i % 17)} é😀`, n: i }),
  );
  writeFileSync(join(dir, 'a.jsonl'), lines.slice(0, 150).join('\n') + '\n');
  writeFileSync(join(dir, 'b.jsonl'), lines.slice(150).join('\r\n')); // CRLF, no final newline
  writeFileSync(
    join(dir, 'bad.jsonl'),
    [
      '{"text": "ok 1"}',
      '',
      '{"text": "ok 2"}',
      '{"text": oops}',
      '{"other": 1}',
      '{"text": 5}',
      '[1]',
      '{"text": "ok 3"}',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'blocks.txt'), '\ufefffirst block\nline two\n\n\n  \nsecond block\n\nthird\r\nblock end');
  mkdirSync(join(dir, 'tree', 'sub'), { recursive: true });
  writeFileSync(join(dir, 'tree', 'sub', 'z.txt'), 'zzz');
  writeFileSync(join(dir, 'tree', 'a.txt'), 'aaa\n\nbbb');
  writeFileSync(join(dir, 'tree', 'ignored.bin'), 'nope');
});

describe('readers', () => {
  it('JSONL: documents from the field, positions resume exactly (also mid-file, across files, CRLF)', async () => {
    const files = [join(dir, 'a.jsonl'), join(dir, 'b.jsonl')];
    const all = await collect(readDocuments(files));
    assert.equal(all.length, 300);
    assert.equal(all[0].text, 'doc 0  é😀');
    assert.equal(all[151].where, `${files[1]}:2`);
    for (const k of [1, 77, 149, 150, 299]) {
      const rest = await collect(readDocuments(files, {}, all[k].next));
      assert.deepEqual(
        rest.map((d) => d.text),
        all.slice(k + 1).map((d) => d.text),
        `resume after ${k}`,
      );
    }
    const ns = await collect(readDocuments([files[0]], { field: 'n', onError: 'skip', stats: newReaderStats() }));
    assert.equal(ns.length, 0, 'a non-string field is not a document');
  });

  it('JSONL: malformed lines name file and line, or are skipped and counted', async () => {
    const f = join(dir, 'bad.jsonl');
    await assert.rejects(collect(readDocuments([f])), (e: Error) => {
      assert.match(e.message, new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:4: invalid JSON \\(.+\\)$`));
      return true;
    });
    const stats = newReaderStats();
    const docs = await collect(readDocuments([f], { onError: 'skip', stats }));
    assert.deepEqual(
      docs.map((d) => d.text),
      ['ok 1', 'ok 2', 'ok 3'],
    );
    assert.equal(stats.skipped, 4);
    assert.match(stats.errors[1], /bad\.jsonl:5: missing field "text"$/);
    assert.match(stats.errors[2], /bad\.jsonl:6: field "text" is not a string \(got number\)$/);
    assert.match(stats.errors[3], /bad\.jsonl:7: expected an object, got an array$/);
  });

  it('plain text: blank-line separated blocks (BOM and CRLF handled) or one document per file; directories expand', async () => {
    const f = join(dir, 'blocks.txt');
    const docs = await collect(readDocuments([f]));
    assert.deepEqual(
      docs.map((d) => d.text),
      ['first block\nline two', 'second block', 'third\nblock end'],
    );
    assert.deepEqual(
      docs.map((d) => d.where),
      [`${f}:1`, `${f}:6`, `${f}:8`],
    );
    const rest = await collect(readDocuments([f], {}, docs[0].next));
    assert.deepEqual(
      rest.map((d) => d.text),
      ['second block', 'third\nblock end'],
    );
    const whole = await collect(readDocuments([f], { textMode: 'file' }));
    assert.equal(whole.length, 1);
    assert.ok(whole[0].text.startsWith('\ufefffirst') || whole[0].text.startsWith('first'));
    const { expandPaths } = await import('../../src/data/readers.js');
    assert.deepEqual(await expandPaths([join(dir, 'tree')]), [
      join(dir, 'tree', 'a.txt'),
      join(dir, 'tree', 'sub', 'z.txt'),
    ]);
    await assert.rejects(expandPaths([join(dir, 'nope')]), /no such file or directory: .*nope/);
  });

  it('Parquet: rows of a string column across row groups, resumable by row; bad columns and nulls reported', async () => {
    const f = join(FIX, 'docs.parquet');
    const meta = await parquetMetadataAsync(await asyncBufferFromFile(f));
    assert.equal(meta.row_groups.length, 3, 'fixture has several row groups');
    const docs = await collect(readDocuments([f]));
    assert.equal(docs.length, 25);
    assert.equal(docs[13].text, `document 13: é日😀 169`);
    const rest = await collect(readDocuments([f], {}, docs[8].next));
    assert.deepEqual(
      rest.map((d) => d.text),
      docs.slice(9).map((d) => d.text),
    );
    await assert.rejects(
      collect(readDocuments([f], { field: 'body' })),
      /docs\.parquet: no column "body" \(columns: id, text\)/,
    );
    const nulls = join(FIX, 'nulls.parquet');
    await assert.rejects(
      collect(readDocuments([nulls])),
      /nulls\.parquet: row 3: field "text" is not a string \(got null\)/,
    );
    const stats = newReaderStats();
    assert.deepEqual(
      (await collect(readDocuments([nulls], { onError: 'skip', stats }))).map((d) => d.text),
      ['a', 'b', 'c', 'e', 'f'],
    );
    assert.equal(stats.skipped, 1);
  });
});

async function batches(loader: DataLoader, k: number, B?: number): Promise<Batch[]> {
  const out: Batch[] = [];
  for (let i = 0; i < k; i++) {
    const b = await loader.next(B);
    if (!b) break;
    out.push(b);
  }
  return out;
}

const rowsOf = (b: Batch): number[][] => {
  const [B, T1] = b.tokens.shape;
  return Array.from({ length: B }, (_, r) => Array.from(b.tokens.data.slice(r * T1, (r + 1) * T1)));
};

describe('DataLoader', () => {
  const base = () => ({
    paths: [join(dir, 'a.jsonl'), join(dir, 'b.jsonl')],
    tokenizer: byteTok,
    batchSize: 4,
    seqLen: 32,
    valFraction: 0.1,
  });

  it('packs [BOS] doc [EOS] ... into (B, T+1) int32 rows that overlap by one token; inputs/targets are the shifts', async () => {
    const loader = await DataLoader.open({ ...base(), shuffle: false, split: 'all' });
    const [b1, b2] = await batches(loader, 2);
    assert.deepEqual(b1.tokens.shape, [4, 33]);
    assert.equal(b1.tokens.dtype, 'int32');
    assert.deepEqual(b1.inputs.shape, [4, 32]);
    const stream = [...rowsOf(b1), ...rowsOf(b2)];
    // expected stream: every document in order, as [256, bytes..., 257]
    const docs = await collect(readDocuments(base().paths));
    const expected = docs.flatMap((d) => [256, ...new TextEncoder().encode(d.text), 257]);
    for (let r = 0; r < stream.length; r++)
      assert.deepEqual(stream[r], expected.slice(r * 32, r * 32 + 33), `row ${r}`);
    const T = 32;
    for (let r = 0; r < 4; r++) {
      assert.deepEqual(Array.from(b1.inputs.data.slice(r * T, (r + 1) * T)), stream[r].slice(0, T));
      assert.deepEqual(Array.from(b1.targets.data.slice(r * T, (r + 1) * T)), stream[r].slice(1));
    }
  });

  it('shuffles deterministically by seed; train and val are disjoint by document and fixed by content', async () => {
    const a = rowsOf((await (await DataLoader.open({ ...base(), seed: 1 })).next()) as Batch);
    const a2 = rowsOf((await (await DataLoader.open({ ...base(), seed: 1 })).next()) as Batch);
    const b = rowsOf((await (await DataLoader.open({ ...base(), seed: 2 })).next()) as Batch);
    assert.deepEqual(a, a2);
    assert.notDeepEqual(a, b);
    const docs = (await collect(readDocuments(base().paths))).map((d) => d.text);
    const val = docs.filter((t) => isValidationDoc(t, 0.1));
    assert.ok(val.length > 10 && val.length < 60, `val docs: ${val.length}`);
    // the val loader yields exactly the val documents, in order, then ends
    const vl = await DataLoader.open({ ...base(), split: 'val', batchSize: 1000 });
    const vb = (await vl.next()) as Batch;
    assert.equal(await vl.next(), null);
    const stream = rowsOf(vb).flatMap((r, i) => (i === 0 ? r : r.slice(1)));
    const expected = val.flatMap((t) => [256, ...new TextEncoder().encode(t), 257]);
    assert.deepEqual(stream, expected.slice(0, stream.length));
    assert.ok(expected.length - stream.length < 33, 'only the incomplete last row is dropped');
    // train never contains a val document: count BOS-delimited documents of one epoch
    const tl = await DataLoader.open({ ...base(), batchSize: 64, seqLen: 64 });
    const seen = new Set<string>();
    while (tl.stats.epochs === 0) {
      const bt = (await tl.next()) as Batch;
      const flat = rowsOf(bt).flatMap((r) => r.slice(0, -1));
      let cur: number[] | null = null;
      for (const t of flat) {
        if (t === 256) cur = [];
        else if (t === 257 && cur) {
          seen.add(new TextDecoder().decode(Uint8Array.from(cur)));
          cur = null;
        } else cur?.push(t);
      }
    }
    for (const v of val) assert.ok(!seen.has(v), `val document in train: ${v}`);
    assert.ok(seen.size > 200);
  });

  it('resumes exactly: k batches, save the position (JSON), restore in a fresh loader, the next batches are identical', async () => {
    for (const opts of [
      { ...base(), seed: 7, batchSize: 8, seqLen: 64 },
      { ...base(), seed: 7, batchSize: 8, seqLen: 64, shuffleWindow: 16 }, // many windows
      {
        ...base(),
        seed: 3,
        shuffleWindow: 5,
        paths: [join(FIX, 'docs.parquet'), join(dir, 'blocks.txt')],
        valFraction: 0,
      },
    ]) {
      const ref = await DataLoader.open(opts);
      const all = await batches(ref, 40); // crosses epochs
      assert.ok(ref.stats.epochs >= 1, 'the run crosses an epoch boundary');
      for (const k of [0, 1, 5, 17, 33]) {
        const first = await DataLoader.open(opts);
        await batches(first, k);
        const pos = JSON.parse(JSON.stringify(first.position())) as DataPosition;
        const resumed = await DataLoader.open({ ...opts, position: pos });
        const next = await batches(resumed, 4);
        for (let i = 0; i < next.length; i++)
          assert.deepEqual(rowsOf(next[i]), rowsOf(all[k + i]), `batch ${k + i} after resuming at ${k}`);
        assert.deepEqual(next[next.length - 1].position, all[k + next.length - 1].position);
      }
    }
  });

  it('counts tokens, not batches: the batch size may change between calls (batch-size ramp)', async () => {
    const a = await DataLoader.open({ ...base(), seed: 4 });
    const big = rowsOf((await a.next(6)) as Batch);
    const b = await DataLoader.open({ ...base(), seed: 4 });
    const small = [...rowsOf((await b.next(2)) as Batch), ...rowsOf((await b.next(4)) as Batch)];
    assert.deepEqual(small, big);
  });

  it('rejects a position saved with other options, and bad options', async () => {
    const a = await DataLoader.open({ ...base(), seed: 1 });
    await a.next();
    await assert.rejects(
      DataLoader.open({ ...base(), seed: 2, position: a.position() }),
      /saved with other data options/,
    );
    await assert.rejects(DataLoader.open({ ...base(), seqLen: 0 }), /seqLen must be a positive integer, got 0/);
    await assert.rejects(DataLoader.open({ ...base(), tokenizer: { ...byteTok, eosId: null } }), /no EOS token/);
    await assert.rejects(
      (async () => (await DataLoader.open({ ...base(), valFraction: 0.999999, split: 'train' })).next())(),
      /no documents in the train split/,
    );
  });
});
