// Packing chat samples for SFT: which tokens carry loss in a packed batch (assistant tokens only: no prompt, system
// or padding token), samples that do not fit (skipped or truncated, named), first-fit rows, epochs that reshuffle
// with the seed, and a data position that restores exactly.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Tokenizer } from '../../src/data/tokenizer.js';
import { tokenizeChat } from '../../src/posttrain/chat_data.js';
import {
  IGNORE_INDEX,
  PackedStream,
  type SftSample,
  buildBatch,
  epochOrder,
  fitSamples,
  packFirstFit,
  packedBatches,
} from '../../src/posttrain/packing.js';

/** A sample of `n` tokens whose last `trained` tokens carry loss. */
function sample(n: number, trained: number, where = `s${n}`): SftSample {
  const ids = Int32Array.from({ length: n }, (_, i) => 10 + i);
  const loss = Uint8Array.from({ length: n }, (_, i) => (i >= n - trained ? 1 : 0));
  return { ids, loss, where };
}

describe('SFT packing', () => {
  it('a packed batch trains the assistant tokens only: no system, prompt, role-header or padding token', async () => {
    const tok = await Tokenizer.train(['Be brief. What is 2 + 3? The answer is 5. Who are you? I am r1ts.'], {
      vocabSize: 300,
    });
    const chats = [
      [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'What is 2 + 3?' },
        { role: 'assistant', content: 'The answer is 5.' },
      ],
      [
        { role: 'user', content: 'Who are you?' },
        { role: 'assistant', content: 'I am r1ts.' },
      ],
    ];
    const samples = chats.map((m, i) => {
      const t = tokenizeChat(tok, m, `chat.jsonl:${i + 1}`);
      return { ids: Int32Array.from(t.ids), loss: t.loss, where: `chat.jsonl:${i + 1}` };
    });
    const T = samples[0].ids.length + samples[1].ids.length + 3; // two samples and padding in one row
    const b = buildBatch([samples], T);
    const inputs = [...b.inputs.data];
    const targets = [...b.targets.data];
    const seg = [...b.segments.data];
    // the text each sample is trained to write, read back from the targets of its segment
    const trainedText = (k: number) =>
      tok.decode(targets.filter((t, i) => seg[i] === k && t !== IGNORE_INDEX) as number[]);
    assert.equal(trainedText(0), 'The answer is 5.<｜end▁of▁sentence｜>');
    assert.equal(trainedText(1), 'I am r1ts.<｜end▁of▁sentence｜>');
    assert.equal(trainedText(2), '', 'padding carries no loss');
    // a sample of n tokens takes n - 1 positions; padding is a segment of its own
    const n0 = samples[0].ids.length;
    const n1 = samples[1].ids.length;
    assert.deepEqual(seg, [...Array(n0 - 1).fill(0), ...Array(n1 - 1).fill(1), ...Array(T - n0 - n1 + 2).fill(2)]);
    assert.deepEqual(inputs.slice(0, n0 - 1), [...samples[0].ids.slice(0, -1)]);
    // no target is another sample's token: the last position of sample 0 predicts its own last token
    assert.equal(targets[n0 - 2], samples[0].ids[n0 - 1]);
    assert.equal(b.lossTokens, targets.filter((t) => t !== IGNORE_INDEX).length);
    assert.equal(b.filled, n0 - 1 + n1 - 1);
    // the system prompt, the question and the role headers are in the inputs, never in the targets
    assert.ok(tok.decode(inputs.slice(0, n0 - 1)).includes('Be brief.'));
    assert.ok(!trainedText(0).includes('brief') && !trainedText(0).includes('2 + 3'));
  });

  it('samples longer than T + 1 tokens are skipped, or truncated to T + 1 when that leaves loss tokens; each named', () => {
    const T = 8;
    const s = [
      sample(9, 3, 'a.jsonl:1'), // fits exactly: 8 positions
      sample(12, 2, 'a.jsonl:2'), // too long; its loss tokens are past T + 1
      sample(12, 8, 'a.jsonl:3'), // too long; truncation keeps loss tokens
      { ...sample(4, 0, 'a.jsonl:4') }, // nothing to learn
    ];
    const plain = fitSamples(s, T);
    assert.deepEqual(
      plain.kept.map((x) => x.where),
      ['a.jsonl:1'],
    );
    assert.deepEqual(plain.skipped, [
      { where: 'a.jsonl:2', tokens: 12 },
      { where: 'a.jsonl:3', tokens: 12 },
    ]);
    assert.deepEqual(plain.empty, [{ where: 'a.jsonl:4', tokens: 4 }]);
    const cut = fitSamples(s, T, true);
    assert.deepEqual(
      cut.kept.map((x) => [x.where, x.ids.length]),
      [
        ['a.jsonl:1', 9],
        ['a.jsonl:3', 9],
      ],
    );
    assert.deepEqual(cut.truncated, [{ where: 'a.jsonl:3', tokens: 12 }]);
    assert.deepEqual(cut.skipped, [{ where: 'a.jsonl:2', tokens: 12 }]);
    assert.deepEqual([...cut.kept[1].ids], [...s[2].ids.slice(0, 9)]);
    assert.deepEqual([...cut.kept[1].loss], [...s[2].loss.slice(0, 9)]);
  });

  it('first-fit in a window of open rows: every sample once, no row over T, deterministic', () => {
    const positions = [5, 3, 7, 2, 6, 1, 4, 8, 2, 3];
    const order = positions.map((_, i) => i);
    const rows = packFirstFit(positions, order, 8, 2);
    assert.deepEqual(rows, [[0, 1], [2, 5], [3, 4], [6, 8], [7], [9]]);
    // a window of one row: a sample that does not fit closes the row
    const narrow = packFirstFit(positions, order, 8, 1);
    assert.deepEqual(narrow, [[0, 1], [2], [3, 4], [5, 6], [7], [8, 9]]);
    for (const rs of [rows, narrow]) {
      assert.deepEqual(
        rs.flat().sort((a, b) => a - b),
        order,
      );
      for (const r of rs) assert.ok(r.reduce((s, i) => s + positions[i], 0) <= 8);
    }
    assert.throws(() => packFirstFit([9], [0], 8, 2), /sample 0 takes 9 positions, rows hold 8/);
  });

  it('epochs reshuffle with the seed: same seed and epoch, same order; another epoch or seed, another', () => {
    const n = 50;
    const e0 = epochOrder(n, 7, 0);
    assert.deepEqual(e0, epochOrder(n, 7, 0));
    assert.deepEqual(
      [...e0].sort((a, b) => a - b),
      Array.from({ length: n }, (_, i) => i),
    );
    assert.notDeepEqual(e0, epochOrder(n, 7, 1));
    assert.notDeepEqual(e0, epochOrder(n, 8, 0));
    const samples = Array.from({ length: 40 }, (_, i) => sample(3 + (i % 6), 1, `x:${i}`));
    const stream = new PackedStream(samples, { seqLen: 16, batch: 3, epochs: 2, seed: 7 });
    const whereOf = (rows: number[][]) => rows.map((r) => r.map((i) => samples[i].where));
    assert.notDeepEqual(whereOf(stream.epochRows(0)), whereOf(stream.epochRows(1)));
    // each epoch holds every sample once
    for (const e of [0, 1]) assert.equal(stream.epochRows(e).flat().length, samples.length);
  });

  it('a data position (epoch, row) restores exactly, across an epoch boundary', () => {
    const samples = Array.from({ length: 30 }, (_, i) => sample(3 + ((i * 7) % 9), 2, `x:${i}`));
    const o = { seqLen: 12, batch: 4, epochs: 3, seed: 3 };
    const key = (s: ReturnType<PackedStream['next']>) =>
      s ? `${s.epoch}|${s.epochsDone}|${s.rows.map((r) => r.map((x) => x.where).join(',')).join(';')}` : 'end';
    const a = new PackedStream(samples, o);
    const all: string[] = [];
    for (let s = a.next(); s; s = a.next()) all.push(key(s));
    assert.equal(
      all.length,
      a.stepsPerEpoch().reduce((x, y) => x + y, 0),
    );
    const steps0 = a.stepsPerEpoch()[0];
    for (const cut of [1, steps0 - 1, steps0, steps0 + 2]) {
      const b = new PackedStream(samples, o);
      for (let i = 0; i < cut; i++) b.next();
      const c = new PackedStream(samples, o);
      c.restore(JSON.parse(JSON.stringify(b.position())));
      const rest: string[] = [];
      for (let s = c.next(); s; s = c.next()) rest.push(key(s));
      assert.deepEqual(rest, all.slice(cut), `restored after ${cut} steps`);
    }
    assert.throws(() => new PackedStream(samples, o).restore({ epoch: 0, row: 999 }), /past the end of its epoch/);
    assert.equal(a.next(), null);
  });

  it('validation batches: every held-out sample once, in micro-batches of rows', () => {
    const samples = Array.from({ length: 11 }, (_, i) => sample(4 + i, 2, `v:${i}`));
    const bs = packedBatches(samples, { seqLen: 16, microBatch: 2, seed: 0 });
    assert.ok(bs.every((b) => b.inputs.shape[0] <= 2 && b.inputs.shape[1] === 16));
    assert.equal(
      bs.reduce((s, b) => s + b.lossTokens, 0),
      samples.length * 2,
    );
  });
});
