/**
 * `CausalLM`: the one interface through which trainers, generation, RL and evaluation talk to a model. Every model
 * family (DeepSeek-V3 in ./deepseek_v3.ts, the dense Qwen2/Llama students in ./dense.ts) implements it; code outside
 * src/models never switches on the concrete class. A new family implements this interface, registers itself in
 * ./index.ts's family table and (for Hugging Face files) adds its rows to the name table in src/io/hf.ts; trainers,
 * generation and GRPO need no change.
 *
 * What it is not: the parameter container (that is `Module`, which every CausalLM also is) or the sampling loop
 * (src/infer/generate.ts, which drives a `Decoder`).
 */
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ModelConfig } from './config.js';

/**
 * The key/value cache of incremental decoding, for a batch of rows that all hold `length` tokens. What a family keeps
 * per token is its own business (DeepSeek-V3: the MLA latent and the shared RoPE key; dense: K and V per KV head).
 */
export interface KVCache {
  /** Tokens held per row; the next forward's positions start here. */
  readonly length: number;
  /** Rows held (0 before the first forward). */
  readonly rows: number;
  /** Keeps rows `rows` of the batch, in that order (repeats allowed): row j becomes old row rows[j]. No gradient. */
  select(rows: readonly number[]): void;
  /**
   * Copies a one-row cache to `n` rows, differentiably (the gradient of the copies sums into the one row): the G
   * responses of a GRPO group share their prompt's cache.
   */
  expand(n: number): void;
  /** Floats held per token and layer (DeepSeek-V3: kv_lora_rank + qk_rope_head_dim). */
  valuesPerToken(): number;
}

export interface CausalLMForwardOptions {
  /** Incremental decoding: positions continue from `cache.length`, this call's keys are appended. */
  cache?: KVCache;
  /**
   * Packed samples (training, no cache): (B, T) int32 sample ids, equal ids one contiguous sample. Positions restart
   * at each sample and attention stays inside it (./packing.ts).
   */
  segments?: Tensor;
}

export interface CausalLMOutput {
  /** (B, T, V) next-token logits. */
  logits: Tensor;
  /** (B, T, D) the last hidden state before the final norm (what DeepSeek-V3's MTP modules read). */
  hidden: Tensor;
  /** (B, T, D) the final hidden state after the final norm: what the output head reads, and a reward model's score head. */
  normed: Tensor;
}

/** Settings of the training objective; a family ignores what it has no part for (a dense model: MTP and balance). */
export interface LossOptions {
  /** Targets equal to this carry no loss (default -100, as PyTorch). */
  ignoreIndex?: number;
  /** Multi-Token Prediction weight lambda (default 0.3). */
  mtpLambda?: number;
  /** Sequence-wise MoE balance loss weight alpha (default 0 = off); with packed samples a row counts as the sequence. */
  balanceAlpha?: number;
  /** Packed samples, as in `forward` (targets across samples are the caller's to mask; MTP's are the model's). */
  segments?: Tensor;
}

export interface LossResult {
  /** The loss to back-propagate: mean next-token cross-entropy plus the family's extra terms. */
  loss: Tensor;
  /** The mean next-token cross-entropy alone. */
  mainLoss: number;
  /** One cross-entropy per MTP depth (empty without MTP). */
  mtpLosses: number[];
  /** The balance loss included in `loss` (0 without MoE or when off). */
  balanceLoss: number;
  /** (B, T, V). */
  logits: Tensor;
}

/** What a family does once per optimizer step (after the update). */
export interface AfterStepOptions {
  /** Router-bias speed gamma of DeepSeek-V3's auxiliary-loss-free balancing (0 leaves the bias alone). */
  gamma: number;
}

export interface AfterStepResult {
  /** Mean over MoE layers of max / mean expert load in the step (1 = balanced); null without MoE. */
  imbalance: number | null;
}

/**
 * A stateful batch decoder over flat buffers: feed ids (B, T) to every row and get the logits of each row's last
 * position (B, V); rebuild the batch from some of its rows. The sampling loop (src/infer/generate.ts) drives it.
 */
export interface Decoder {
  readonly vocabSize: number;
  feed(ids: Int32Array, B: number, T: number): Float32Array;
  /** The new batch's row j is the old row rows[j] (any order, repeats allowed). */
  selectRows(rows: readonly number[]): void;
}

/** What one ragged step returns besides the rows' last logits. */
export interface DecodeStepOptions {
  /** Logits of every fed position, (sum of counts, V) in feeding order, instead of each row's last one (B, V). */
  allPositions?: boolean;
  /** Also return the last hidden state before the final norm of every fed position, (sum of counts, D). */
  hidden?: boolean;
  /**
   * The previous model's hidden states (sum of counts, D), one per fed token: what a draft decoder (DeepSeek-V3's MTP
   * module, `createDraftDecoder`) reads beside each token. Required by a draft decoder, refused by a main one.
   */
  prevHidden?: Float32Array;
}

/** The result of `BatchDecoder.feedRows`. */
export interface DecodeStep {
  /** (B, V) each row's last position, or (sum of counts, V) with `allPositions`. */
  logits: Float32Array;
  /** (sum of counts, D) with `hidden`, else null. */
  hidden: Float32Array | null;
}

/**
 * A decoder whose rows hold their own number of tokens: continuous batching (a request joins the batch with an empty
 * row and pre-fills its prompt while other rows decode, and leaves when done) and speculative decoding (a row feeds
 * its draft, then forgets it when rejected). Every row's positions, RoPE angles and attention are its own: a row's
 * results do not depend on the other rows of the batch. `feed(ids, B, T)` is `feedRows` with T tokens per row (the
 * first call adds the B rows).
 */
export interface BatchDecoder extends Decoder {
  /** Tokens held by each row, in batch order. */
  lengths(): number[];
  /** Appends `n` empty rows (0 tokens) at the end of the batch. */
  addRows(n: number): void;
  /** Feeds counts[b] >= 1 tokens to row b (the ids of row 0 first, then row 1, ...), after the tokens it holds. */
  feedRows(ids: Int32Array, counts: readonly number[], opts?: DecodeStepOptions): DecodeStep;
  /** Keeps the first `length` tokens of row `row` and forgets the rest (a rejected draft). */
  truncate(row: number, length: number): void;
  /**
   * A decoder over the model's first multi-token-prediction module (DeepSeek-V3's MTP), for speculative decoding: fed
   * token t_{i+1} with this decoder's hidden state h_i (`prevHidden`), it gives logits for t_{i+2}. It keeps its own
   * cache, one position per position of this decoder. Null when the model has no such module.
   */
  createDraftDecoder(): BatchDecoder | null;
}

/** A decoder-only language model. */
export interface CausalLM extends Module {
  /** The Hugging Face config it was built from (model_type says the family). */
  readonly config: ModelConfig;
  /** ids (B, T) int32 -> logits and the last hidden state. With `cache`, decodes incrementally. */
  forward(ids: Tensor, opts?: CausalLMForwardOptions): CausalLMOutput;
  /** The training loss of next tokens `targets` (B, T) of `ids` (B, T). */
  computeLoss(ids: Tensor, targets: Tensor, opts?: LossOptions): LossResult;
  /** An empty cache for `forward(ids, { cache })`. */
  createCache(): KVCache;
  /**
   * The fast inference path for generation: a decoder over flat buffers that reads the live parameters (no copy),
   * tested against `forward` with a cache. Absent when a family has none (generation then runs `forward`).
   */
  createDecoder?(): BatchDecoder;
  /**
   * The Hugging Face tensor name of a state-dict name, for families outside src/io/hf.ts's table (the built-in
   * families leave it out: their names are that table's).
   */
  hfName?(name: string): string;
  /** Per-step state after an optimizer step (DeepSeek-V3: the router-bias update from the step's expert loads). */
  afterStep(opts: AfterStepOptions): AfterStepResult;
  /**
   * Counters a training forward accumulates for `afterStep` (DeepSeek-V3: expert loads per MoE layer), read and
   * cleared: a data-parallel replica hands them to the main model, which adds them with `addStepCounters`.
   */
  takeStepCounters(): Float64Array[];
  addStepCounters(counters: readonly Float64Array[]): void;
}
