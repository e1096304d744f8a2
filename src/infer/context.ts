/**
 * The model's context as a bound on input: a prompt plus the tokens to generate must fit in `max_position_embeddings`
 * positions, and a prompt far too long is refused from its byte length before it is tokenized.
 *
 * Why a byte bound is valid: a byte-level BPE tokenizer covers every byte of its input with exactly one token (when it
 * has no normalizer, every byte is in its vocabulary and added tokens strip nothing), and no token covers more bytes
 * than its longest vocabulary entry, `maxBytesPerToken` = B. So a text of N UTF-8 bytes has at least ceil(N / B)
 * tokens. (The converse bound, at most N tokens, says nothing about a text being too long.) When ceil(N / B) already
 * exceeds the room left, the text is refused without tokenizing; otherwise at most B x context bytes are tokenized, and
 * the exact count is checked. A codec without the property (Infinity or no `maxBytesPerToken`) is tokenized first.
 *
 * Not here: generation itself (generate.ts), sampling (sampling.ts).
 */
import type { TextCodec } from './codec.js';

/** The positions a model can attend over: its config's max_position_embeddings. */
export function contextLength(model: { readonly config: { readonly max_position_embeddings: number } }): number {
  return model.config.max_position_embeddings;
}

/**
 * Throws a RangeError naming the numbers when a prompt of `promptTokens` tokens plus `maxTokens` new tokens needs more
 * than `context` positions. `what` names the prompt (`generate: prompt 3`, `problems.jsonl:17`).
 */
export function checkContext(what: string, promptTokens: number, maxTokens: number, context: number): void {
  if (promptTokens + maxTokens > context) {
    throw new RangeError(
      `${what}: ${promptTokens} prompt tokens + ${maxTokens} new tokens = ${promptTokens + maxTokens} positions, ` +
        `more than the model's context of ${context} (max_position_embeddings)`,
    );
  }
}

/**
 * Encodes `text` as a prompt that must leave room for `maxTokens` new tokens in `context` positions: refused from its
 * byte length alone when that proves it too long (see the file header), else encoded and checked exactly.
 */
export function encodePrompt(
  codec: TextCodec,
  text: string,
  maxTokens: number,
  context: number,
  what: string,
): number[] {
  const room = context - maxTokens;
  const B = codec.maxBytesPerToken ?? Infinity;
  if (Number.isFinite(B) && B > 0) {
    const bytes = Buffer.byteLength(text, 'utf8');
    const atLeast = Math.ceil(bytes / B);
    if (atLeast > room) {
      throw new RangeError(
        `${what}: the prompt is ${bytes} bytes, so at least ${atLeast} tokens (no token of this tokenizer covers ` +
          `more than ${B} bytes), but only ${Math.max(room, 0)} of the model's ${context} positions ` +
          `(max_position_embeddings) are left after ${maxTokens} new tokens`,
      );
    }
  }
  const ids = codec.encode(text);
  checkContext(what, ids.length, maxTokens, context);
  return ids;
}
