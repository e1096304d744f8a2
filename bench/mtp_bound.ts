/**
 * The most MTP speculative decoding can give at batch 1 on a model, from the costs of its decoding passes alone (no
 * sampling, no bookkeeping): the main model over one token (plain decoding's step) and over two (a speculative step
 * verifies the pending token and its draft, all positions and hidden states), and the MTP module over one and two
 * (the accepted tokens it is fed). With acceptance a, a speculative step yields 1 + a tokens for
 * main(2) + a mtp(2) + (1 - a) mtp(1), so the speed-up is at most (1 + a) main(1) / that.
 *
 *   node --import tsx bench/mtp_bound.ts --model DIR [--context 120] [--reps 2000] [--accept 0.824,0.728]
 *
 * Times each pass over a row holding --context tokens (the cache is cut back after each call), median of 5 rounds of
 * --reps calls. Set R1TS_THREADS as the bench it bounds (bench/serve.ts ran with R1TS_THREADS=1).
 */
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend/select.js';
import { loadModelAndTokenizer } from '../src/io/load.js';

initBackend();
const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    context: { type: 'string', default: '120' },
    reps: { type: 'string', default: '2000' },
    accept: { type: 'string', default: '0.824,0.728' },
  },
});
if (!values.model) throw new Error('bench/mtp_bound.ts: --model DIR is required');
const { model } = loadModelAndTokenizer(values.model);
model.eval();
const D = model.config.hidden_size;
const V = model.config.vocab_size;
const reps = Number(values.reps);
const context = Number(values.context);
const prompt = Int32Array.from({ length: context }, (_, i) => ((i * 7) % (V - 3)) + 3);
/** Median microseconds of one call of f over 5 rounds of `reps` calls (after 200 warm-up calls). */
const time = (f: () => void): number => {
  for (let i = 0; i < 200; i++) f();
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) f();
    rounds.push(((performance.now() - t0) * 1000) / reps);
  }
  return rounds.sort((a, b) => a - b)[2];
};
const main = model.createDecoder?.();
const draft = main?.createDraftDecoder();
if (!main || !draft) throw new Error('bench/mtp_bound.ts: the model has no fast decoder with an MTP module');
main.addRows(1);
main.feedRows(prompt, [context]);
const m1 = time(() => {
  main.feedRows(Int32Array.of(5), [1]);
  main.truncate(0, context);
});
const m2 = time(() => {
  main.feedRows(Int32Array.of(5, 9), [2], { allPositions: true, hidden: true });
  main.truncate(0, context);
});
draft.addRows(1);
draft.feedRows(prompt, [context], { prevHidden: new Float32Array(context * D) });
const d1 = time(() => {
  draft.feedRows(Int32Array.of(5), [1], { prevHidden: new Float32Array(D) });
  draft.truncate(0, context);
});
const d2 = time(() => {
  draft.feedRows(Int32Array.of(5, 9), [2], { prevHidden: new Float32Array(2 * D) });
  draft.truncate(0, context);
});
console.log(`model ${values.model}, a row of ${context} tokens, R1TS_THREADS=${process.env.R1TS_THREADS ?? '(all)'}`);
console.log(
  `main over 1 token ${m1.toFixed(1)} us, over 2 ${m2.toFixed(1)} us; MTP over 1 ${d1.toFixed(1)} us, over 2 ${d2.toFixed(1)} us`,
);
for (const a of values.accept.split(',').map(Number)) {
  const bound = ((1 + a) * m1) / (m2 + a * d2 + (1 - a) * d1);
  console.log(`acceptance ${(100 * a).toFixed(1)}%: speculative decoding at most ${bound.toFixed(2)}x plain`);
}
