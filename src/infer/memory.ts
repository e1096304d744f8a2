/**
 * Memory estimates for generation, from a model's config alone (nothing is loaded or allocated), so a caller can refuse
 * a request that cannot fit before it starts: `generate --n 4096 --max-tokens 100000` on a large model fails in one
 * line instead of after minutes of growing caches.
 *
 * What is counted: the KV cache (DeepSeek-V3: per layer the kv_lora_rank latent plus the qk_rope_head_dim RoPE key,
 * float32, as MLACache and the fast decoder hold it; dense: K and V of every key/value head) for every row at its full
 * length, times 2 for the doubling growth of the fast decoder's caches; one float32 row of logits and one float64 row
 * of probabilities per row for each decoding step; the kept responses (token ids and text). Not counted: the weights
 * (already loaded by then), scratch buffers of one layer. An estimate of the big buffers, not a bound on the RSS.
 */
import { type ModelConfig, isDeepseek } from '../models/config.js';

/** Bytes of KV cache that one token takes over all layers of `config` (float32). */
export function kvCacheBytesPerToken(config: ModelConfig): number {
  const perLayer = isDeepseek(config)
    ? config.kv_lora_rank + config.qk_rope_head_dim
    : 2 * config.num_key_value_heads * config.head_dim;
  return 4 * config.num_hidden_layers * perLayer;
}

/** A generation request's sizes. */
export interface GenerationSize {
  /** Rows decoded together (prompts x samples per prompt, or the batch size when smaller). */
  rows: number;
  /** Tokens of the longest prompt. */
  promptTokens: number;
  /** New tokens per row at most. */
  maxTokens: number;
  /** Responses kept until the end (all rows of all batches; default `rows`). */
  samples?: number;
}

/** Bytes a kept response takes per generated token: its id in a number array and its share of the decoded text. */
export const RESPONSE_BYTES_PER_TOKEN = 16;

/** Estimated bytes of the large buffers of generating `size` with a model of `config` (see the file header). */
export function generationBytes(config: ModelConfig, size: GenerationSize): number {
  const tokens = size.promptTokens + size.maxTokens;
  const cache = 2 * size.rows * tokens * kvCacheBytesPerToken(config);
  const logits = size.rows * config.vocab_size * (4 + 8);
  const responses = (size.samples ?? size.rows) * size.maxTokens * RESPONSE_BYTES_PER_TOKEN;
  return cache + logits + responses;
}

/** `bytes` for people: "512 B", "3.1 MB", "6.9 GB", "2.4 TB" (powers of 1000). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  let x = bytes;
  let u = 0;
  while (x >= 1000 && u < units.length - 1) {
    x /= 1000;
    u++;
  }
  return u === 0 ? `${Math.round(x)} B` : `${x.toFixed(x < 10 ? 1 : 0)} ${units[u]}`;
}
