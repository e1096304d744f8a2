/**
 * Generation split across threads by rows (src/infer/workers.ts): exactly `generate`'s results on all prompts at once
 * (tokens, finish reasons, text, stop strings), for every split, after the model's weights change, and with a
 * tokenizer the workers rebuild; a worker's error reaches the caller; calls that cannot be split run on the main thread.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import '../../src/tensor/index.js';
import { createModel, type CausalLM } from '../../src/models/index.js';
import { generate, type GenerateOptions } from '../../src/infer/generate.js';
import { CharCodec } from '../../src/infer/codec.js';
import { GenerationWorkers, codecFromSpec, codecSpec, splitRows } from '../../src/infer/workers.js';
import { Tokenizer } from '../../src/data/tokenizer.js';
import { tinyDeepseek } from '../models/helpers.js';

const codec = new CharCodec('abcdefghijklmnopqrstuvwxyz0123456789?! ');
const prompts = ['hello', 'what is 2 2?', 'a', 'the quick brown fox', 'hello', 'hello', 'zzz', 'count 1 2 3', 'b?'].map(
  (t) => codec.encode(t),
);

function strip(gens: { tokens: number[]; finish: string; text: string }[]) {
  return gens.map((g) => ({ tokens: g.tokens, finish: g.finish, text: g.text }));
}

describe('generation split across worker threads', () => {
  let model: CausalLM;
  let pool: GenerationWorkers;
  let three: GenerationWorkers;
  before(async () => {
    model = createModel(tinyDeepseek({ num_nextn_predict_layers: 0 }), { seed: 7, initStd: 0.2 }).eval();
    pool = await GenerationWorkers.create(model, { ranks: 2, codec });
    three = await GenerationWorkers.create(model, { ranks: 3, codec });
  });
  after(async () => {
    await pool.close();
    await three.close();
  });

  it('splitRows cuts n rows into contiguous parts that differ by at most one row', () => {
    assert.deepEqual(splitRows(9, 2), [
      [0, 4],
      [4, 9],
    ]);
    assert.deepEqual(splitRows(3, 3), [
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
    assert.deepEqual(splitRows(0, 2), [
      [0, 0],
      [0, 0],
    ]);
  });

  it('gives exactly the generations of generate() on all the prompts, sampled and greedy, with stop strings', async () => {
    const decode = (ids: ArrayLike<number>) => codec.decode(ids);
    const cases: GenerateOptions[] = [
      { maxTokens: 12, temperature: 1, seed: 3, decode },
      { maxTokens: 12, temperature: 0.7, topP: 0.9, seed: 5, firstRow: 11, decode, eosId: codec.eosId, batchSize: 4 },
      { maxTokens: 10, temperature: 0, decode, stop: ['e', '1'] },
      { maxTokens: 6, temperature: 1, seed: 9 },
    ];
    for (const opts of cases) {
      const want = strip(generate(model, prompts, opts));
      assert.deepEqual(
        strip(await pool.generate(prompts, opts)),
        want,
        JSON.stringify({ ...opts, decode: !!opts.decode }),
      );
      assert.deepEqual(strip(await three.generate(prompts, opts)), want, '3 ranks');
    }
    // stop strings really stopped some rows
    const stopped = await pool.generate(prompts, cases[2]);
    assert.ok(stopped.some((g) => g.finish === 'stop'));
  });

  it('sees the weights as they are at each call (a policy trained between calls)', async () => {
    const opts = { maxTokens: 8, temperature: 1, seed: 1 };
    const before = strip(await pool.generate(prompts, opts));
    const w = model.namedParameters().find(([n]) => n.endsWith('embed.weight') || n.endsWith('embed_tokens.weight'))!;
    const saved = Float32Array.from(w[1].data as Float32Array);
    try {
      (w[1].data as Float32Array).forEach((v, i, a) => {
        a[i] = v * (1 + (i % 7) * 0.3);
      });
      const want = strip(generate(model, prompts, opts));
      assert.notDeepEqual(want, before, 'the change alters the generations');
      assert.deepEqual(strip(await pool.generate(prompts, opts)), want);
    } finally {
      (w[1].data as Float32Array).set(saved);
    }
  });

  it('reports progress, and runs calls it cannot split on the main thread', async () => {
    const seen: [number, number][] = [];
    await pool.generate(prompts, { maxTokens: 4, seed: 2, batchSize: 2, onBatch: (d, t) => seen.push([d, t]) });
    assert.deepEqual(seen.at(-1), [prompts.length, prompts.length]);
    assert.ok(seen.length > 1);
    const one = [prompts[0]];
    assert.deepEqual(
      strip(await pool.generate(one, { maxTokens: 5, seed: 4 })),
      strip(generate(model, one, { maxTokens: 5, seed: 4 })),
    );
    const opts = { maxTokens: 5, seed: 4, engine: 'model' as const };
    assert.deepEqual(strip(await pool.generate(prompts, opts)), strip(generate(model, prompts, opts)));
  });

  it("checks the prompts first with generate's messages, and refuses to run once a worker has died", {
    timeout: 60_000, // a call left waiting for a closed pool would otherwise hang the run
  }, async () => {
    await assert.rejects(pool.generate([[1], []], { maxTokens: 2 }), /generate: prompt 1 is empty/);
    await assert.rejects(pool.generate(prompts, { maxTokens: 2, stop: ['x'] }), /stop strings need a decode function/);
    // without a codec at create, a call that decodes runs on the main thread alone (and gives the same results)
    const plain = await GenerationWorkers.create(model, { ranks: 2 });
    try {
      const opts = { maxTokens: 6, seed: 3, decode: (ids: ArrayLike<number>) => codec.decode(ids), stop: ['a'] };
      assert.deepEqual(strip(await plain.generate(prompts, opts)), strip(generate(model, prompts, opts)));
      // a worker that dies (here: terminated from outside) fails every later call with the reason
      await (plain as unknown as { workers: { terminate(): Promise<number> }[] }).workers[0].terminate();
      await assert.rejects(plain.generate(prompts, { maxTokens: 2 }), /a worker failed \(exited with code 1\)/);
    } finally {
      await plain.close();
    }
    await assert.rejects(plain.generate(prompts, { maxTokens: 2 }), /closed/);
    // closed while a call waits for its workers: the call fails instead of waiting forever
    const busy = await GenerationWorkers.create(model, { ranks: 2 });
    let closing: Promise<void> | null = null;
    await assert.rejects(
      busy.generate(prompts, {
        maxTokens: 20,
        seed: 1,
        batchSize: 1,
        onBatch: () => {
          closing ??= busy.close();
        },
      }),
      /closed while generating/,
    );
    await closing;
  });

  it('rebuilds an r1ts tokenizer in the workers from its JSON', () => {
    const tok = Tokenizer.fromJSON({
      version: '1.0',
      added_tokens: [],
      normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: null,
      decoder: { type: 'ByteLevel' },
      model: { type: 'BPE', vocab: Object.fromEntries([...'abcdefgh'].map((c, i) => [c, i])), merges: [] },
    });
    const spec = codecSpec(tok)!;
    const back = codecFromSpec(structuredClone(spec));
    assert.deepEqual(back.encode('badge'), tok.encode('badge'));
    assert.equal(back.decode([1, 0, 3]), tok.decode([1, 0, 3]));
    assert.equal(codecSpec({ encode: () => [], decode: () => '', eosId: null }), undefined);
  });
});
