// The fast decoders as batch decoders: rows that join mid-flight and hold their own number of tokens (continuous
// batching), several tokens per row in one step and forgotten drafts (speculative decoding), checked against the
// model's own full forward; a row's numbers independent of the other rows, bit for bit; the MTP draft decoder against
// the model's MTP module.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import '../../src/tensor/index.js'; // registers the native backend when its addon is built
import { eachBackend } from '../helpers/util.js';
import { type BatchDecoder, type CausalLM, DeepseekV3, createModel } from '../../src/models/index.js';
import { Tensor, noGrad } from '../../src/tensor/tensor.js';
import { narrow } from '../../src/tensor/ops/index.js';
import { tinyDeepseek, tinyDense } from './helpers.js';

function models(): [string, CausalLM][] {
  return [
    ['deepseek', createModel(tinyDeepseek(), { seed: 3, initStd: 0.2 }).eval()],
    ['dense', createModel(tinyDense(), { seed: 5, initStd: 0.2 }).eval()],
  ];
}

/** The last-position logits of the full forward (no cache) over `seq`. */
function fullLogits(m: CausalLM, seq: readonly number[]): Float32Array {
  const V = m.config.vocab_size;
  const out = noGrad(() => m.forward(new Tensor(Int32Array.from(seq), [1, seq.length], 'int32')).logits).data;
  return Float32Array.from(out.subarray((seq.length - 1) * V));
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** A scripted run: rows join, feed ragged counts, forget drafts; every fed position's logits are recorded per row. */
function script(d: BatchDecoder, rows: number[][], V: number): Map<number, [number[], Float32Array][]> {
  const seen = new Map<number, [number[], Float32Array][]>();
  const held: number[][] = [];
  const ids: number[] = []; // the row ids (into `rows`) of the decoder's rows, in batch order
  const step = (feeds: number[][]) => {
    const flat = Int32Array.from(feeds.flat());
    const { logits } = d.feedRows(
      flat,
      feeds.map((f) => f.length),
      { allPositions: true },
    );
    let at = 0;
    feeds.forEach((f, b) => {
      for (const tok of f) {
        held[b].push(tok);
        const list = seen.get(ids[b]) ?? [];
        list.push([[...held[b]], logits.slice(at * V, (at + 1) * V)]);
        seen.set(ids[b], list);
        at++;
      }
    });
  };
  const join = (r: number) => {
    d.addRows(1);
    ids.push(r);
    held.push([]);
  };
  join(0);
  step([rows[0].slice(0, 5)]); // row 0 pre-fills alone
  join(1);
  step([[rows[0][5]], rows[1].slice(0, 3)]); // row 1 joins and pre-fills while row 0 decodes
  step([rows[0].slice(6, 8), [rows[1][3]]]); // row 0 feeds a draft
  d.truncate(0, 7); // ... which is rejected
  held[0].length = 7;
  step([[rows[0][8]], rows[1].slice(4, 6)]);
  join(2);
  step([[rows[0][9]], [rows[1][6]], rows[2].slice(0, 4)]);
  d.selectRows([2, 0]); // row 1 leaves, the others swap
  ids.splice(0, 3, 2, 0);
  held.splice(0, 3, held[2], held[0]);
  step([rows[2].slice(4, 6), [rows[0][10]]]);
  assert.deepEqual(d.lengths(), [6, 10]);
  return seen;
}

const rows = [
  [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8],
  [2, 7, 1, 8, 2, 8, 1, 8],
  [1, 4, 1, 4, 2, 1, 3, 5],
];

describe('batch decoders (rows of their own lengths)', () => {
  for (const [name, m] of models()) {
    it(`${name}: ragged steps, rows joining and leaving, forgotten drafts: every position equals the full forward`, () => {
      eachBackend((backend) => {
        const V = m.config.vocab_size;
        const seen = script(m.createDecoder!(), rows, V);
        let worst = 0;
        let checked = 0;
        for (const list of seen.values())
          for (const [seq, logits] of list) {
            worst = Math.max(worst, maxDiff(logits, fullLogits(m, seq)));
            checked++;
          }
        assert.equal(checked, 24);
        assert.ok(worst < 2e-5, `${backend}: max |batch decoder - full forward| = ${worst}`);
      });
    });

    it(`${name}: a row's logits do not depend on the other rows (bit for bit)`, () => {
      eachBackend((backend) => {
        const V = m.config.vocab_size;
        const batched = script(m.createDecoder!(), rows, V);
        // row 0's same feeds, alone: pre-fill 5, then the same chunks (the forgotten draft included)
        const d = m.createDecoder!();
        d.addRows(1);
        const alone: Float32Array[] = [];
        const feed = (toks: number[]) => {
          const { logits } = d.feedRows(Int32Array.from(toks), [toks.length], { allPositions: true });
          for (let t = 0; t < toks.length; t++) alone.push(logits.slice(t * V, (t + 1) * V));
        };
        feed(rows[0].slice(0, 5));
        feed([rows[0][5]]);
        feed(rows[0].slice(6, 8));
        d.truncate(0, 7);
        for (const t of [8, 9, 10]) feed([rows[0][t]]);
        const together = batched.get(0)!.map(([, l]) => l);
        assert.equal(together.length, alone.length);
        together.forEach((l, i) => assert.deepEqual(l, alone[i], `${backend}: position ${i}`));
      });
    });
  }

  it('feed(ids, B, T) is feedRows with T tokens per row; bad counts and rows are named', () => {
    const [, m] = models()[1];
    const a = m.createDecoder!();
    const b = m.createDecoder!();
    const ids = Int32Array.from([1, 2, 3, 4, 5, 6]);
    b.addRows(2);
    assert.deepEqual(a.feed(ids, 2, 3), b.feedRows(ids, [3, 3]).logits);
    assert.deepEqual(a.lengths(), [3, 3]);
    assert.throws(() => a.feed(ids, 3, 2), /fed 3 rows, the cache holds 2/);
    assert.throws(() => a.feedRows(ids, [3, 2]), /5 tokens/);
    assert.throws(() => a.feedRows(Int32Array.from([1, 2]), [2, 0]), />= 1 tokens/);
    assert.throws(() => a.truncate(1, 4), /holds 3 tokens, cannot keep 4/);
    assert.throws(() => a.truncate(2, 0), /row 2 is not in the cache/);
    assert.throws(() => a.feedRows(Int32Array.from([1, 2]), [1, 1], { prevHidden: new Float32Array(48) }), /draft/);
    assert.equal(a.createDraftDecoder(), null);
  });
});

describe('the MTP draft decoder', () => {
  it("equals the model's MTP module (h_i before the final norm, Emb(t_i+1), its block over its own cache)", () => {
    eachBackend((backend) => {
      const m = createModel(tinyDeepseek(), { seed: 7, initStd: 0.2 }).eval();
      assert.ok(m instanceof DeepseekV3);
      const V = m.config.vocab_size;
      const D = m.config.hidden_size;
      const seq = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3];
      const T = seq.length;
      // reference: computeLoss's MTP path over the whole sequence
      const ref = noGrad(() => {
        const ids = new Tensor(Int32Array.from(seq), [1, T], 'int32');
        const { hidden } = m.forward(ids);
        const h = m.mtp[0].forward(
          narrow(hidden, 1, 0, T - 1),
          m.embed.forward(narrow(ids, 1, 1, T - 1)),
          m.ropeContext(0, T - 1),
        );
        const n = m.mtp[0].norm.forward(h);
        return m.head!.forward(n).data;
      });
      const main = m.createDecoder();
      const draft = main.createDraftDecoder()!;
      assert.ok(draft, 'a DeepSeek-V3 with MTP has a draft decoder');
      main.addRows(1);
      draft.addRows(1);
      // pre-fill 6 tokens, then one at a time; the drafter reads (h_i, t_i+1)
      let worst = 0;
      const first = main.feedRows(Int32Array.from(seq.slice(0, 6)), [6], { hidden: true });
      const h0 = first.hidden!;
      const d0 = draft.feedRows(Int32Array.from(seq.slice(1, 6)), [5], {
        prevHidden: h0.subarray(0, 5 * D),
        allPositions: true,
      });
      worst = Math.max(worst, maxDiff(d0.logits, ref.subarray(0, 5 * V)));
      let hPrev: Float32Array = h0.slice(5 * D, 6 * D);
      for (let i = 6; i < T; i++) {
        const d = draft.feedRows(Int32Array.from([seq[i]]), [1], { prevHidden: hPrev });
        worst = Math.max(worst, maxDiff(d.logits, ref.subarray((i - 1) * V, i * V)));
        hPrev = main.feedRows(Int32Array.from([seq[i]]), [1], { hidden: true }).hidden!;
      }
      assert.ok(worst < 2e-5, `${backend}: max |draft decoder - MTP module| = ${worst}`);
      assert.deepEqual(draft.lengths(), [T - 1]);
      assert.throws(() => draft.feedRows(Int32Array.from([1]), [1]), /prevHidden/);
      assert.equal(
        createModel(tinyDeepseek({ num_nextn_predict_layers: 0 })).createDecoder!().createDraftDecoder(),
        null,
      );
    });
  });
});
