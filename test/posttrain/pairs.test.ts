// Preference pairs for the pairwise trainers: the held-out split by prompt, the seeded order per epoch, the length
// limit that leaves pairs out and says so, and the learning-rate schedule.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  encodePairs,
  epochOrder,
  loadPairSplit,
  skippedLine,
  splitPairs,
  stepBatch,
} from '../../src/posttrain/pairs.js';
import { pairLrAt } from '../../src/posttrain/pair_trainer.js';
import { toPreferenceExample } from '../../src/posttrain/chat_data.js';

const pair = (prompt: string, chosen = 'a', rejected = 'b', where = 'x') =>
  toPreferenceExample({ prompt, chosen, rejected }, where);

describe('preference pairs', () => {
  it('the held-out share goes by prompt: every pair of a prompt is on one side, about the share asked', () => {
    const pairs = Array.from({ length: 2000 }, (_, i) => pair(`p${i % 500}`, `c${i}`, `r${i}`));
    const { train, val } = splitPairs(pairs, 0.2);
    const side = new Map<string, string>();
    for (const [name, ps] of [
      ['train', train],
      ['val', val],
    ] as const)
      for (const p of ps) {
        const k = p.prompt[0].content;
        assert.equal(side.get(k) ?? name, name, `prompt ${k} on both sides`);
        side.set(k, name);
      }
    assert.ok(val.length > 300 && val.length < 500, `${val.length} held out`);
    assert.deepEqual(splitPairs(pairs, 0).val, []);
  });

  it('each epoch visits every pair once, in a seeded order that differs between epochs and seeds', () => {
    const n = 10;
    const o0 = Array.from(epochOrder(n, 0, 0));
    assert.deepEqual(
      [...o0].sort((a, b) => a - b),
      [...Array(n).keys()],
    );
    assert.deepEqual(Array.from(epochOrder(n, 0, 0)), o0);
    assert.notDeepEqual(Array.from(epochOrder(n, 0, 1)), o0);
    assert.notDeepEqual(Array.from(epochOrder(n, 1, 0)), o0);
    const seen: number[] = [];
    for (let s = 0; s < 4; s++) {
      const b = stepBatch(n, 3, 0, s);
      assert.equal(b.epoch, 0);
      seen.push(...b.idx);
    }
    assert.deepEqual(seen, o0, 'batches of 3, 3, 3, then the last 1');
    assert.equal(stepBatch(n, 3, 0, 4).epoch, 1);
  });

  it('pairs over the length limit are left out and listed, never silently', () => {
    const ps = [pair('a', 'x', 'y', 'f:1'), pair('b', 'long'.repeat(5), 'y', 'f:2')];
    const r = encodePairs(
      ps,
      (p) => p.chosen[0].content.length,
      (n) => n,
      4,
    );
    assert.deepEqual(r.pairs, [1]);
    assert.deepEqual(r.skipped, ['f:2']);
    assert.equal(
      skippedLine('training', 2, r.skipped, 4),
      'left out 1 of 2 training pairs longer than --max-length 4 tokens (f:2)',
    );
  });

  it('held-out files whose prompts occur in the training data are refused, naming the pairs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'r1ts-pairs-'));
    try {
      const line = (p: string) => JSON.stringify({ prompt: p, chosen: 'a', rejected: 'b' });
      writeFileSync(join(dir, 't.jsonl'), `${line('p1')}\n${line('p2')}\n`);
      writeFileSync(join(dir, 'v.jsonl'), `${line('p3')}\n${line('p2')}\n`);
      await assert.rejects(
        loadPairSplit({ data: [join(dir, 't.jsonl')], valData: [join(dir, 'v.jsonl')], valShare: 0 }, 'rm train'),
        /rm train: 1 held-out pair\(s\) have a prompt that is also in the training pairs \(.*v\.jsonl:2\)/,
      );
      const ok = await loadPairSplit({ data: [join(dir, 't.jsonl')], valShare: 0 }, 'rm train');
      assert.equal(ok.train.length, 2);
      assert.match(ok.fingerprint.train, /^[0-9a-f]{16}$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('learning rate: linear warmup to the peak, then linear decay towards 0', () => {
    const c = { lr: 1, warmup: 0.2 };
    const lrs = Array.from({ length: 10 }, (_, s) => pairLrAt(c, s, 10));
    assert.deepEqual(lrs.slice(0, 2), [0.5, 1]);
    assert.equal(lrs[2], 1);
    assert.ok(lrs.slice(2).every((x, i, a) => i === 0 || x < a[i - 1]));
    assert.equal(lrs[9], 1 / 8);
    assert.equal(pairLrAt({ lr: 1, warmup: 0 }, 0, 4), 1);
  });
});
