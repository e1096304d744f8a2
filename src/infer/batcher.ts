/**
 * Continuous batching: sequences join a running batch at the next step and leave it when done, over one batch decoder
 * (`CausalLM.createDecoder`, src/models/decode.ts) whose rows hold their own number of tokens. Each step feeds every
 * running row its next token and every joining row its whole prompt in one forward pass (sequences added together
 * with the same prompt, the n choices of a request, share one pre-fill), samples, and drops finished and cancelled
 * rows. When nothing runs, the decoder and its caches are released.
 *
 * A sequence's numbers do not depend on the batch it runs in: its row sees only its own keys at its own positions,
 * and it samples from its own random stream (`rng`, one uniform per draw, drawn in a fixed order). With the same
 * stream, plain decoding gives exactly the tokens `generate` gives (tested).
 *
 * Speculative decoding with the MTP module (`speculative: 'mtp'`, DeepSeek-V3 with num_nextn_predict_layers >= 1):
 * the draft decoder reads the main model's hidden state h_i (before the final norm) and the token t_{i+1} and drafts
 * t_{i+2}; the next step feeds the last sampled token and the draft together, and the main model's two positions
 * verify the draft (./speculative.ts) and, when it is accepted, give one more token. A step therefore yields one or
 * two tokens per row. A rejected draft is forgotten (the row is truncated). Greedy output is identical to plain
 * decoding; sampled output has the same distribution (not the same draws: the stream is used differently).
 *
 * Not here: stop strings and text (the caller's `onToken`), HTTP (src/serve), the fixed-batch `generate` (./generate.ts).
 */
import type { BatchDecoder, CausalLM, DecodeStep } from '../models/causal_lm.js';
import type { Generator } from '../tensor/random.js';
import { contextLength } from './context.js';
import {
  type SamplingFilters,
  type SamplingScratch,
  argmaxRow,
  filteredProbs,
  samplingScratch,
  sampleProbs,
  sampleRow,
} from './sampling.js';
import { verifyDraft } from './speculative.js';

/** Why a sequence stopped: its EOS token, a stop (string, by the caller), the token budget, or a cancellation. */
export type FinishReason = 'eos' | 'stop' | 'length';

/** A generated token's log-probability under the model (temperature 1, no filters) and the most likely tokens. */
export interface TokenLogprob {
  logprob: number;
  /** [id, logprob] of the `topLogprobs` most likely tokens, most likely first (ties to the lower id). */
  top: [number, number][];
}

/** One sequence to generate. */
export interface SequenceRequest {
  /** Prompt token ids (non-empty, in the vocabulary). */
  prompt: readonly number[];
  filters: Required<SamplingFilters>;
  /** New tokens at most; prompt + maxTokens must fit the model's context. */
  maxTokens: number;
  /** The sequence's own random stream (e.g. `rowGenerator(seed, choice)`). */
  rng: Generator;
  /** Stop after this id (kept in `tokens`). Default none. */
  eosId?: number | null;
  /** Report each token's logprob and this many top alternatives (0: the token's only). Default: no logprobs. */
  topLogprobs?: number;
  /** Called with each new token in order; returning false finishes the sequence with 'stop'. */
  onToken?: (token: number, logprob: TokenLogprob | null) => boolean | undefined;
  /** Called once when the sequence finishes or is cancelled. */
  onFinish?: (seq: Sequence) => void;
}

/** A sequence in the batcher: its tokens so far, how it finished, its speculative counts. */
export class Sequence {
  readonly tokens: number[] = [];
  /** Null while it runs or waits. */
  finish: FinishReason | 'cancelled' | null = null;
  /** Drafts verified and accepted for this sequence (speculative decoding). */
  drafted = 0;
  accepted = 0;
  /** The last sampled token, fed at the next step. */
  pending = -1;
  /** The draft fed after `pending` at the next step (-1: none) and the distribution it was drawn from. */
  draft = -1;
  q: Float64Array | null = null;
  constructor(readonly req: SequenceRequest) {}
  get done(): boolean {
    return this.finish !== null;
  }
}

export interface BatcherOptions {
  /** Rows decoded together at most (default 32); more sequences wait in the queue. */
  maxBatch?: number;
  /** 'mtp': speculative decoding with the model's MTP module. Default 'none'. */
  speculative?: 'none' | 'mtp';
}

/** Counters since the batcher was made. */
export interface BatcherStats {
  steps: number;
  /** Tokens generated. */
  tokens: number;
  /** Drafts verified, and how many were accepted. */
  drafted: number;
  accepted: number;
  /** Sequences cancelled (a client went away, a shutdown) before they finished. */
  cancelled: number;
}

/** A joining row's pre-fill: one prompt, the sequences that share it. */
interface Group {
  prompt: readonly number[];
  members: Sequence[];
}

/** Why speculative decoding with MTP cannot run on a model. */
export const NO_DRAFT_MODULE =
  'speculative decoding with MTP needs a model with an MTP module (DeepSeek-V3 with num_nextn_predict_layers >= 1)';

/** Whether `model` can draft for itself (`speculative: 'mtp'`): its fast decoder has a draft decoder. */
export function hasDraftModule(model: CausalLM): boolean {
  return model.createDecoder?.().createDraftDecoder() != null;
}

/** See the file header. */
export class Batcher {
  readonly maxBatch: number;
  readonly speculative: 'none' | 'mtp';
  readonly stats: BatcherStats = { steps: 0, tokens: 0, drafted: 0, accepted: 0, cancelled: 0 };
  private main: BatchDecoder | null = null;
  private drafter: BatchDecoder | null = null;
  /** Sequences in the decoder's rows, in row order. */
  private live: Sequence[] = [];
  private queue: Sequence[] = [];
  private readonly V: number;
  private readonly scratch: SamplingScratch;
  private readonly p: Float64Array;
  private readonly residual: Float64Array;

  constructor(
    private readonly model: CausalLM,
    opts: BatcherOptions = {},
  ) {
    this.maxBatch = opts.maxBatch ?? 32;
    if (!(Number.isInteger(this.maxBatch) && this.maxBatch >= 1))
      throw new RangeError(`batcher: maxBatch must be an integer >= 1, got ${this.maxBatch}`);
    this.speculative = opts.speculative ?? 'none';
    if (!model.createDecoder) throw new Error('batcher: this model family has no fast decoder (createDecoder)');
    if (this.speculative === 'mtp' && !hasDraftModule(model)) throw new Error(`batcher: ${NO_DRAFT_MODULE}`);
    this.V = model.config.vocab_size;
    this.scratch = samplingScratch(this.V);
    this.p = new Float64Array(this.V);
    this.residual = new Float64Array(this.V);
  }

  /** Queues a sequence; it joins the batch at a next step. Throws a RangeError naming what is wrong with it. */
  add(req: SequenceRequest): Sequence {
    const { prompt, maxTokens } = req;
    if (prompt.length === 0) throw new RangeError('batcher: the prompt is empty');
    for (const id of prompt)
      if (!(Number.isInteger(id) && id >= 0 && id < this.V))
        throw new RangeError(`batcher: prompt token id ${id} is outside the vocabulary [0, ${this.V})`);
    if (!(Number.isInteger(maxTokens) && maxTokens >= 1))
      throw new RangeError(`batcher: maxTokens must be an integer >= 1, got ${maxTokens}`);
    const context = contextLength(this.model);
    if (prompt.length + maxTokens > context)
      throw new RangeError(
        `batcher: ${prompt.length} prompt tokens + ${maxTokens} new tokens exceed the model's context of ${context}`,
      );
    const seq = new Sequence(req);
    this.queue.push(seq);
    return seq;
  }

  /** Cancels a sequence: it stops at once (finish 'cancelled') and its row is freed at the next step. */
  cancel(seq: Sequence): void {
    if (seq.done) return;
    const at = this.queue.indexOf(seq);
    if (at >= 0) this.queue.splice(at, 1);
    this.end(seq, 'cancelled');
  }

  /** Cancels every sequence, waiting or running. */
  cancelAll(): void {
    for (const s of [...this.queue, ...this.live]) this.cancel(s);
  }

  /** Cancels everything and drops the decoders: what is left after a step threw (a callback's error) is not used. */
  reset(): void {
    this.cancelAll();
    this.queue = [];
    this.live = [];
    this.main = null;
    this.drafter = null;
  }

  /** Sequences in the batch that have not finished. */
  get running(): number {
    return this.live.filter((s) => !s.done).length;
  }

  /** Sequences waiting to join. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Rows the decoder holds (0 once idle: the caches are released). */
  get rows(): number {
    return this.main?.lengths().length ?? 0;
  }

  /** Whether a step has anything to do. */
  get busy(): boolean {
    return this.queue.length > 0 || this.live.some((s) => !s.done);
  }

  /** One decoding step over every running row and the rows that join now. Returns whether work remains. */
  step(): boolean {
    this.compact();
    const groups = this.admit();
    if (this.live.length === 0 && groups.length === 0) return this.settle();
    this.main ??= this.model.createDecoder!();
    const spec = this.speculative === 'mtp';
    const old = this.live.length;
    // every running row feeds its last token (and its draft); every group its prompt
    const feeds: number[][] = this.live.map((s) => (spec && s.draft >= 0 ? [s.pending, s.draft] : [s.pending]));
    for (const g of groups) feeds.push([...g.prompt]);
    this.main.addRows(groups.length);
    const counts = feeds.map((f) => f.length);
    const out = this.main.feedRows(Int32Array.from(feeds.flat()), counts, { allPositions: spec, hidden: spec });
    const starts: number[] = [];
    let at0 = 0;
    for (const c of counts) {
      starts.push(at0);
      at0 += c;
    }
    // the groups' rows become one row per member
    if (groups.some((g) => g.members.length > 1))
      this.main.selectRows([...this.live.keys(), ...groups.flatMap((g, i) => g.members.map(() => old + i))]);
    const fresh = groups.flatMap((g, i) => g.members.map((s) => ({ s, row: old + i })));
    this.stats.steps++;
    if (!spec) {
      this.live.forEach((s, b) => this.sampleAt(s, out.logits, b));
      for (const { s, row } of fresh) this.sampleAt(s, out.logits, row);
      this.live.push(...fresh.map((f) => f.s));
      return this.settle();
    }
    // speculative: verify drafts, then feed the drafter what each row now knows, then draft
    const drafterFeeds: { ids: number[]; hidden: number[] }[] = [];
    this.live.forEach((s, b) => drafterFeeds.push(this.verify(s, b, out, starts[b], counts[b])));
    for (const { s, row } of fresh) {
      const P = s.req.prompt.length;
      const last = starts[row] + P - 1;
      this.sampleAt(s, out.logits, last);
      drafterFeeds.push({
        ids: [...s.req.prompt.slice(1), s.pending],
        hidden: Array.from({ length: P }, (_, t) => starts[row] + t),
      });
    }
    this.drafter ??= this.main.createDraftDecoder()!;
    this.drafter.addRows(fresh.length);
    this.live.push(...fresh.map((f) => f.s));
    const keep = this.compact();
    if (this.live.length === 0) return this.settle();
    const D = this.model.config.hidden_size;
    const kept = keep.map((b) => drafterFeeds[b]);
    const prev = new Float32Array(kept.reduce((n, f) => n + f.hidden.length, 0) * D);
    let at = 0;
    for (const f of kept) for (const r of f.hidden) prev.set(out.hidden!.subarray(r * D, (r + 1) * D), D * at++);
    const q = this.drafter.feedRows(
      Int32Array.from(kept.flatMap((f) => f.ids)),
      kept.map((f) => f.ids.length),
      { prevHidden: prev },
    ).logits;
    this.live.forEach((s, b) => this.drawDraft(s, q, b));
    return this.settle();
  }

  /** Drops finished rows; when nothing runs or waits, releases the decoders and their caches. Returns `busy`. */
  private settle(): boolean {
    this.compact();
    if (this.busy) return true;
    this.main = null;
    this.drafter = null;
    return false;
  }

  /** Moves waiting sequences into the batch (up to maxBatch rows), grouped by prompt. */
  private admit(): Group[] {
    const groups = new Map<string, Group>();
    let room = this.maxBatch - this.live.length;
    while (room > 0 && this.queue.length > 0) {
      const s = this.queue.shift()!;
      if (s.done) continue;
      const key = s.req.prompt.join(',');
      const g = groups.get(key) ?? { prompt: s.req.prompt, members: [] };
      g.members.push(s);
      groups.set(key, g);
      room--;
    }
    return [...groups.values()];
  }

  /** Drops the rows of finished sequences from the decoders; returns the kept rows' old indices. */
  private compact(): number[] {
    const keep: number[] = [];
    this.live.forEach((s, b) => {
      if (!s.done) keep.push(b);
    });
    if (keep.length < this.live.length) {
      this.main?.selectRows(keep);
      this.drafter?.selectRows(keep);
      this.live = keep.map((b) => this.live[b]);
    }
    return keep;
  }

  /** Samples s's next token from logits row `row` and emits it. */
  private sampleAt(s: Sequence, logits: Float32Array, row: number): void {
    const u = s.req.rng.uniform(1, 'float64')[0];
    this.emit(s, sampleRow(logits, row * this.V, this.V, s.req.filters, u, this.scratch), logits, row);
  }

  /**
   * Verifies row b's draft against the main model's positions (p0 at `first`, p1 after it), emits one or two tokens,
   * and returns what the drafter reads next: (hidden row, token) pairs for the positions now known.
   */
  private verify(
    s: Sequence,
    b: number,
    out: DecodeStep,
    first: number,
    count: number,
  ): { ids: number[]; hidden: number[] } {
    const V = this.V;
    const rng = s.req.rng;
    if (count === 1) {
      this.sampleAt(s, out.logits, first);
      return { ids: [s.pending], hidden: [first] };
    }
    const p = filteredProbs(out.logits, first * V, V, s.req.filters, this.p, this.scratch);
    const [uAccept, uNext] = rng.uniform(2, 'float64');
    const v = verifyDraft(p, s.q!, V, s.draft, uAccept, uNext, this.residual);
    s.drafted++;
    this.stats.drafted++;
    if (!v.accepted) {
      this.main!.truncate(b, this.main!.lengths()[b] - 1);
      this.emit(s, v.token, out.logits, first);
      return { ids: [v.token], hidden: [first] };
    }
    s.accepted++;
    this.stats.accepted++;
    if (!this.emit(s, s.draft, out.logits, first)) return { ids: [], hidden: [] };
    // the bonus token from the draft's own position, drawn from the next uniform of the stream
    const bonus = sampleRow(out.logits, (first + 1) * V, V, s.req.filters, rng.uniform(1, 'float64')[0], this.scratch);
    this.emit(s, bonus, out.logits, first + 1);
    return { ids: [s.draft, bonus], hidden: [first, first + 1] };
  }

  /** Draws row b's next draft from the drafter's logits, when the sequence has room for two more tokens. */
  private drawDraft(s: Sequence, q: Float32Array, b: number): void {
    s.draft = -1;
    s.q = null;
    if (s.req.maxTokens - s.tokens.length < 2) return;
    const probs = filteredProbs(q, b * this.V, this.V, s.req.filters, new Float64Array(this.V), this.scratch);
    s.draft =
      s.req.filters.temperature === 0
        ? argmaxRow(q, b * this.V, this.V)
        : sampleProbs(probs, this.V, s.req.rng.uniform(1, 'float64')[0]);
    s.q = probs;
  }

  /** Appends a token to s (reporting it), finishing s on EOS, the caller's stop, or the budget. Returns whether s goes on. */
  private emit(s: Sequence, token: number, logits: Float32Array, row: number): boolean {
    s.tokens.push(token);
    s.pending = token;
    this.stats.tokens++;
    const lp =
      s.req.topLogprobs === undefined ? null : tokenLogprob(logits, row * this.V, this.V, token, s.req.topLogprobs);
    let goOn: boolean | undefined = true;
    try {
      goOn = s.req.onToken?.(token, lp);
    } catch (e) {
      this.end(s, 'cancelled');
      throw e;
    }
    if (token === (s.req.eosId ?? null)) this.end(s, 'eos');
    else if (goOn === false) this.end(s, 'stop');
    else if (s.tokens.length >= s.req.maxTokens) this.end(s, 'length');
    return !s.done;
  }

  private end(s: Sequence, why: FinishReason | 'cancelled'): void {
    if (s.done) return;
    s.finish = why;
    if (why === 'cancelled') this.stats.cancelled++;
    s.req.onFinish?.(s);
  }
}

/** log-softmax of entry `id` of row[off, off+V) and the `k` largest entries' (most likely first, ties to the lower id). */
export function tokenLogprob(row: ArrayLike<number>, off: number, V: number, id: number, k: number): TokenLogprob {
  let m = -Infinity;
  for (let i = 0; i < V; i++) m = Math.max(m, row[off + i]);
  let z = 0;
  for (let i = 0; i < V; i++) z += Math.exp(row[off + i] - m);
  const lse = m + Math.log(z);
  // the k best ids by insertion into a sorted list of at most k (O(V k); k is small)
  const best: number[] = [];
  for (let i = 0; i < V && k > 0; i++) {
    const x = row[off + i];
    if (best.length === k && !(x > row[off + best[k - 1]])) continue;
    let j = Math.min(best.length, k - 1);
    while (j > 0 && x > row[off + best[j - 1]]) j--;
    best.splice(j, 0, i);
    if (best.length > k) best.pop();
  }
  return { logprob: row[off + id] - lse, top: best.map((i) => [i, row[off + i] - lse]) };
}
