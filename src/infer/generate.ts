/**
 * Batched autoregressive generation with a KV cache: temperature / top-k / top-p sampling, a token budget, stop on EOS
 * and on stop strings, seeded and reproducible, prompts of different lengths in one batch.
 *
 * Prompts of different lengths need no padding: the batch is pre-filled with the first `min length` tokens of every
 * prompt, then all rows advance one position per step, and a row whose prompt is not used up yet is fed its next
 * prompt token instead of a sample ("forced" positions). Every row therefore sees exactly the positions and keys it
 * would see alone, with no attention mask, and batched results equal single-prompt results (tested).
 * Finished rows are dropped from the cache, so long-running rows do not pay for finished ones, and rows with the same
 * prompt (a GRPO group) share one prefill.
 *
 * Randomness: row r of a call with seed s draws from its own counter-based stream (s, block offset (firstRow + r) *
 * 2^32), one uniform per sampled token, so a row's samples do not depend on the batch it runs in.
 *
 * Two decoders feed the model (`engine`): 'model' calls the model's own forward with its KV cache (DeepSeek: absorbed
 * MLA over the latent cache) and is the reference; 'fast' is the family's decoder over flat buffers
 * (`CausalLM.createDecoder`, src/models/*_decode.ts), tested against 'model'. A family without one runs 'model'.
 *
 * Speculative decoding (`speculative: 'mtp'`) runs on the continuous batcher (./batcher.ts) with the same row streams:
 * greedy output is identical to the plain path, sampled output has the same distribution.
 *
 * Not here: chat / R1-Zero prompt formatting (src/data), the sampling filters (sampling.ts).
 */
import type { CausalLM, Decoder, KVCache } from '../models/causal_lm.js';
import { Tensor, noGrad } from '../tensor/tensor.js';
import { Generator } from '../tensor/random.js';
import { checkSamplingParams, samplingScratch, sampleRow, type SamplingParams } from './sampling.js';
import { checkContext, contextLength, encodePrompt } from './context.js';
import type { TextCodec } from './codec.js';
import { Batcher, type FinishReason } from './batcher.js';

export type { TextCodec } from './codec.js';
/** Why a row stopped: its EOS token, a stop string, or the token budget (truncated). */
export type { FinishReason } from './batcher.js';

export interface GenerateOptions extends SamplingParams {
  /** New tokens per row at most (default 64). */
  maxTokens?: number;
  /** Seed of the sampling streams (default 0). */
  seed?: number;
  /** Stream index of the first row (default 0): row r samples from stream firstRow + r. */
  firstRow?: number;
  /** Stop when this id is sampled (it is kept in `tokens`, not in `text`). Default none. */
  eosId?: number | null;
  /** Stop when the decoded response contains one of these (kept in `text`). Needs `decode`. */
  stop?: readonly string[];
  /** Token ids -> text, for stop strings and `text`. */
  decode?: (ids: ArrayLike<number>) => string;
  /** Rows per forward pass (default: all). */
  batchSize?: number;
  /** 'fast' (default): the flat-buffer decoder; 'model': the model's own forward with its cache. */
  engine?: 'fast' | 'model';
  /** 'mtp': speculative decoding with the model's MTP module (the fast engine only). Default 'none'. */
  speculative?: 'none' | 'mtp';
  /** Called after each batch of `batchSize` rows with the rows done so far and the total (progress). */
  onBatch?: (done: number, total: number) => void;
}

export interface Generation {
  prompt: readonly number[];
  /** Generated ids (the EOS id included when the row ended on it). */
  tokens: number[];
  finish: FinishReason;
  /** Decoded response (EOS excluded, cut after a stop string); '' without `decode`. */
  text: string;
  /** With speculative decoding: drafts verified for this row, and how many were accepted. */
  drafted?: number;
  accepted?: number;
}

/** A decoder over the model's own forward and KV cache (the reference path). */
export function createModelRunner(model: CausalLM): Decoder {
  const V = model.config.vocab_size;
  const cache: KVCache = model.createCache();
  return {
    vocabSize: V,
    feed(ids, B, T) {
      return noGrad(() => {
        const { logits } = model.forward(new Tensor(ids, [B, T], 'int32'), { cache });
        const out = new Float32Array(B * V);
        for (let b = 0; b < B; b++) out.set(logits.data.subarray((b * T + T - 1) * V, (b * T + T) * V), b * V);
        return out;
      });
    },
    selectRows(rows) {
      cache.select(rows);
    },
  };
}

/** The decoder `engine` names for `model`: its fast decoder ('fast', when the family has one) or its forward. */
export function createDecoder(model: CausalLM, engine: 'fast' | 'model' = 'fast'): Decoder {
  return (engine === 'fast' ? model.createDecoder?.() : undefined) ?? createModelRunner(model);
}

/** Sampling parameters are named in errors as the library's options are spelled. */
const LIBRARY_NAMES = { maxTokens: 'maxTokens', topP: 'topP', topK: 'topK' } as const;

/** Blocks of the random stream reserved per row (one block per sampled token). */
const ROW_STRIDE = 2 ** 32;

/** The sampling stream of row `row` for `seed`. */
export function rowGenerator(seed: number, row: number): Generator {
  return new Generator(seed).setState({ seed, counter: row * ROW_STRIDE });
}

/**
 * The checks `generate` makes before it starts (sampling parameters, stop strings, every prompt against the
 * vocabulary and the context), with its messages; returns maxTokens.
 */
export function checkGeneration(
  model: CausalLM,
  prompts: readonly (readonly number[])[],
  opts: GenerateOptions,
  who = 'generate',
): number {
  const V = model.config.vocab_size;
  const { maxTokens } = checkSamplingParams(opts, { who, names: LIBRARY_NAMES });
  if (opts.stop?.length && !opts.decode) throw new Error(`${who}: stop strings need a decode function (a tokenizer)`);
  prompts.forEach((p, i) => {
    if (p.length === 0) throw new RangeError(`${who}: prompt ${i} is empty`);
    checkContext(`${who}: prompt ${i}`, p.length, maxTokens, contextLength(model));
    for (const id of p)
      if (!(Number.isInteger(id) && id >= 0 && id < V))
        throw new RangeError(`${who}: prompt ${i} has token id ${id} outside the vocabulary [0, ${V})`);
  });
  return maxTokens;
}

/**
 * Generates a continuation of every prompt (token ids). Returns one Generation per prompt, in order.
 * Throws on an empty prompt, an out-of-vocabulary id, or a prompt + maxTokens beyond the model's context
 * (max_position_embeddings), naming the prompt.
 */
export function generate(
  model: CausalLM,
  prompts: readonly (readonly number[])[],
  opts: GenerateOptions = {},
): Generation[] {
  const maxTokens = checkGeneration(model, prompts, opts);
  const batch = opts.batchSize ?? Math.max(1, prompts.length);
  if ((opts.speculative ?? 'none') !== 'none') {
    if (opts.engine === 'model') throw new Error("generate: speculative decoding runs on the fast engine, not 'model'");
    return generateSpeculative(model, prompts, { ...opts, maxTokens, batchSize: batch });
  }
  const out: Generation[] = [];
  for (let s = 0; s < prompts.length; s += batch) {
    const rows = prompts.slice(s, s + batch);
    out.push(...generateBatch(model, rows, { ...opts, maxTokens, firstRow: (opts.firstRow ?? 0) + s }));
    opts.onBatch?.(out.length, prompts.length);
  }
  return out;
}

function generateBatch(
  model: CausalLM,
  prompts: readonly (readonly number[])[],
  opts: GenerateOptions & { maxTokens: number },
): Generation[] {
  const params = checkSamplingParams(opts, { who: 'generate', names: LIBRARY_NAMES });
  const seed = opts.seed ?? 0;
  const eos = opts.eosId ?? null;
  const stops = opts.stop ?? [];
  const runner = createDecoder(model, opts.engine ?? 'fast');
  const V = runner.vocabSize;
  const n = prompts.length;
  const gens = prompts.map((p, r) => ({
    prompt: p,
    tokens: [] as number[],
    finish: 'length' as FinishReason,
    text: '',
    rng: rowGenerator(seed, (opts.firstRow ?? 0) + r),
  }));
  const scratch = samplingScratch(V);
  // live[i] = index (into gens) of the i-th row of the runner's batch
  let live = gens.map((_, r) => r);
  let pos = Math.min(...prompts.map((p) => p.length));
  // Rows whose first `pos` tokens agree (the G samples of a GRPO group) share one prefill, then copy its cache row.
  const firstRow = new Map<string, number>();
  const source = prompts.map((p, r) => {
    const key = p.slice(0, pos).join(',');
    if (!firstRow.has(key)) firstRow.set(key, r);
    return firstRow.get(key)!;
  });
  const distinct = [...new Set(source)];
  const first = new Int32Array(distinct.length * pos);
  distinct.forEach((r, i) => first.set(prompts[r].slice(0, pos), i * pos));
  const prefill = runner.feed(first, distinct.length, pos);
  let logits = prefill;
  if (distinct.length < n) {
    const slot = source.map((r) => distinct.indexOf(r));
    runner.selectRows(slot);
    logits = new Float32Array(n * V);
    slot.forEach((s, r) => logits.set(prefill.subarray(s * V, (s + 1) * V), r * V));
  }
  for (;;) {
    const next = new Int32Array(live.length);
    const keep: number[] = [];
    live.forEach((r, i) => {
      const g = gens[r];
      if (pos < g.prompt.length) {
        next[i] = g.prompt[pos]; // forced: still reading the prompt
        keep.push(i);
        return;
      }
      const u = g.rng.uniform(1, 'float64')[0];
      const id = sampleRow(logits, i * V, V, params, u, scratch);
      g.tokens.push(id);
      next[i] = id;
      if (id === eos) g.finish = 'eos';
      else if (stops.length) {
        const text = opts.decode!(g.tokens);
        const cut = firstStop(text, stops);
        if (cut >= 0) {
          g.finish = 'stop';
          g.text = text.slice(0, cut);
        }
      }
      if (g.finish === 'length' && g.tokens.length < opts.maxTokens) keep.push(i);
    });
    if (keep.length === 0) break;
    if (keep.length < live.length) {
      runner.selectRows(keep);
      live = keep.map((i) => live[i]);
    }
    logits = runner.feed(
      Int32Array.from(keep, (i) => next[i]),
      keep.length,
      1,
    );
    pos++;
  }
  return gens.map((g) => {
    let text = g.text;
    if (g.finish !== 'stop' && opts.decode) text = opts.decode(g.finish === 'eos' ? g.tokens.slice(0, -1) : g.tokens);
    return { prompt: g.prompt, tokens: g.tokens, finish: g.finish, text };
  });
}

/** `generate` with speculative decoding: every prompt through one continuous batcher of `batchSize` rows. */
function generateSpeculative(
  model: CausalLM,
  prompts: readonly (readonly number[])[],
  opts: GenerateOptions & { maxTokens: number; batchSize: number },
): Generation[] {
  const { temperature, topP, topK, seed } = checkSamplingParams(opts, { who: 'generate', names: LIBRARY_NAMES });
  const stops = opts.stop ?? [];
  const batcher = new Batcher(model, { maxBatch: opts.batchSize, speculative: opts.speculative });
  const cut: (string | null)[] = prompts.map(() => null);
  const seqs = prompts.map((prompt, r) =>
    batcher.add({
      prompt,
      filters: { temperature, topP, topK },
      maxTokens: opts.maxTokens,
      rng: rowGenerator(seed, (opts.firstRow ?? 0) + r),
      eosId: opts.eosId ?? null,
      onToken: stops.length
        ? () => {
            const text = opts.decode!(seqs[r].tokens);
            const at = firstStop(text, stops);
            if (at < 0) return true;
            cut[r] = text.slice(0, at);
            return false;
          }
        : undefined,
    }),
  );
  while (batcher.step());
  opts.onBatch?.(prompts.length, prompts.length);
  return seqs.map((q, r) => {
    const finish = q.finish as FinishReason;
    const tokens = q.tokens;
    let text = cut[r] ?? '';
    if (finish !== 'stop' && opts.decode) text = opts.decode(finish === 'eos' ? tokens.slice(0, -1) : tokens);
    return { prompt: prompts[r], tokens, finish, text, drafted: q.drafted, accepted: q.accepted };
  });
}

/** Index just past the earliest-ending stop string in `text`, or -1. */
function firstStop(text: string, stops: readonly string[]): number {
  let best = -1;
  for (const s of stops) {
    const at = text.indexOf(s);
    if (at >= 0 && (best < 0 || at + s.length < best)) best = at + s.length;
  }
  return best;
}

/** Text in, text out: encodes prompts with `codec`, generates, decodes. Stops on the codec's EOS unless told otherwise. */
export function generateText(
  model: CausalLM,
  codec: TextCodec,
  prompts: readonly string[],
  opts: GenerateOptions = {},
): Generation[] {
  const [maxTokens, context] = [opts.maxTokens ?? 64, contextLength(model)];
  return generate(
    model,
    prompts.map((p, i) => encodePrompt(codec, p, maxTokens, context, `generate: prompt ${i}`)),
    { eosId: codec.eosId, decode: (ids) => codec.decode(ids), ...opts },
  );
}
