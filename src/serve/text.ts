/**
 * The text of one choice as it streams: tokens in, safe-to-send text out, cut at a stop string and split into the
 * reasoning and the answer as DeepSeek's API returns them (`reasoning_content` before `</think>`, `content` after).
 *
 * - Incremental decoding: the token list is decoded whole each time (byte-level BPE: more tokens only append bytes),
 *   and a trailing U+FFFD (an incomplete UTF-8 character) is held back until its bytes arrive.
 * - Stop strings (OpenAI's `stop`) apply to the whole generated text, reasoning included; the returned text ends
 *   before the stop string. Text that could be the start of a stop string is held back until it is decided.
 * - Reasoning: when the prompt ends inside an open `<think>` block (R1's template ends its generation prompt with
 *   `<think>\n`) or the output starts with `<think>`, everything before `</think>` is reasoning and everything after it
 *   is content; without a `</think>` (cut by the token budget) it is all reasoning. Otherwise it is all content.
 *   The tag itself belongs to neither; text that could be the start of `</think>` is held back.
 *
 * Not here: the JSON shapes (./exchange.ts), generation (src/infer/batcher.ts).
 */

const OPEN = '<think>';
const CLOSE = '</think>';

/** New text of one update: reasoning first, then content (either may be empty). */
export interface TextDelta {
  reasoning: string;
  content: string;
}

/** Whether a rendered prompt leaves the model inside an open `<think>` block. */
export function opensThinking(prompt: string): boolean {
  const at = prompt.lastIndexOf(OPEN);
  return at >= 0 && prompt.indexOf(CLOSE, at) < 0 && prompt.slice(at + OPEN.length).trim() === '';
}

/** Length of the longest suffix of `text` that is a proper prefix of `word`. */
function partialSuffix(text: string, word: string): number {
  for (let k = Math.min(word.length - 1, text.length); k > 0; k--) if (text.endsWith(word.slice(0, k))) return k;
  return 0;
}

/** See the file header. */
export class ChoiceText {
  /** Characters of the text already sent. */
  private sent = 0;
  private text = '';
  /** Where `</think>` starts in the text (-1: not seen). */
  private thinkEnd = -1;
  /** Where the reasoning starts (after a leading `<think>` of the output). */
  private reasoningStart = 0;
  /** Whether the output is in thinking mode: known from the prompt, or decided by the output's first characters. */
  private thinking: boolean | null;
  /** Set when a stop string ended the text. */
  stopped = false;

  /**
   * `thinking`: true when the prompt opened a `<think>` block (`opensThinking`), null to decide from the output's
   * start, false for raw text (completions).
   */
  constructor(
    private readonly decode: (ids: readonly number[]) => string,
    private readonly stops: readonly string[],
    thinking: boolean | null,
  ) {
    this.thinking = thinking;
  }

  /** Whether the next token belongs to the reasoning (thinking, `</think>` not yet complete). */
  get inReasoning(): boolean {
    return this.thinking === true && this.thinkEnd < 0;
  }

  /** Whether the choice has reasoning at all (the field is left out otherwise). */
  get hasReasoning(): boolean {
    return this.thinking === true;
  }

  /** The whole text so far, split (after `finish`: the final answer). */
  parts(): TextDelta {
    const end = this.sent;
    if (this.thinking !== true) return { reasoning: '', content: this.text.slice(0, end) };
    const rEnd = this.thinkEnd < 0 ? end : Math.min(end, this.thinkEnd);
    const cStart = this.thinkEnd < 0 ? end : this.thinkEnd + CLOSE.length;
    return { reasoning: this.text.slice(this.reasoningStart, rEnd), content: this.text.slice(cStart, end) };
  }

  /**
   * The tokens so far (all of them) -> the text that became safe to send. `final`: nothing more will come, send the
   * rest. After a stop string matched, `stopped` is set and later calls return nothing.
   */
  update(tokens: readonly number[], final = false): TextDelta {
    if (this.stopped) return { reasoning: '', content: '' };
    let text = this.decode(tokens);
    let cut = -1;
    for (const s of this.stops) {
      const at = text.indexOf(s, this.sent);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    let last = final;
    if (cut >= 0) {
      text = text.slice(0, cut);
      this.stopped = true;
      last = true;
    }
    this.text = text;
    let end = text.length;
    if (!last) {
      while (end > this.sent && text[end - 1] === '\uFFFD') end--;
      end -= Math.max(0, ...this.stops.map((s) => partialSuffix(text.slice(0, end), s)));
    }
    if (this.thinking === null) {
      if (text.startsWith(OPEN)) {
        this.thinking = true;
        this.reasoningStart = OPEN.length;
      } else if (!last && OPEN.startsWith(text)) end = 0;
      else this.thinking = false;
    }
    if (this.thinking) {
      if (this.thinkEnd < 0) this.thinkEnd = text.indexOf(CLOSE, this.reasoningStart);
      if (this.thinkEnd < 0 && !last) end -= partialSuffix(text.slice(0, end), CLOSE);
      if (this.thinkEnd >= 0 && end > this.thinkEnd && end < this.thinkEnd + CLOSE.length) end = this.thinkEnd;
    }
    end = Math.max(end, this.sent);
    const delta = this.slice(this.sent, end);
    this.sent = end;
    return delta;
  }

  /** The text in [from, to) split into reasoning and content. */
  private slice(from: number, to: number): TextDelta {
    if (this.thinking !== true) return { reasoning: '', content: this.text.slice(from, to) };
    const rEnd = this.thinkEnd < 0 ? to : Math.min(to, this.thinkEnd);
    const reasoning = this.text.slice(Math.max(from, this.reasoningStart), Math.max(rEnd, this.reasoningStart));
    const cStart = this.thinkEnd < 0 ? to : this.thinkEnd + CLOSE.length;
    const content = this.text.slice(Math.max(from, cStart), Math.max(to, cStart));
    return { reasoning: from < rEnd ? reasoning : '', content };
  }
}
