/**
 * A character-level codec over a fixed alphabet: one token per character, plus an optional end-of-sequence token
 * after the alphabet. For toy experiments and tests where a trained BPE tokenizer (src/data/tokenizer.ts) is overkill;
 * it satisfies the same TextCodec interface (defined here, the contract generation codes against).
 */

/** Text <-> token ids: the r1ts Tokenizer satisfies it, and so does a toy character codec (codec.ts). */
export interface TextCodec {
  encode(text: string): number[];
  decode(ids: ArrayLike<number>): string;
  /** End-of-sequence id, or null when the vocabulary has none. */
  readonly eosId: number | null;
  /** The most input bytes one token covers, when every byte lands in one token (context.ts); else absent. */
  readonly maxBytesPerToken?: number;
}

export class CharCodec implements TextCodec {
  readonly chars: readonly string[];
  readonly eosId: number | null;
  private readonly ids = new Map<string, number>();

  /** `alphabet`: the characters, each once (code points). `eos`: add an end-of-sequence id (default true). */
  constructor(alphabet: string, opts: { eos?: boolean } = {}) {
    this.chars = [...alphabet];
    this.chars.forEach((c, i) => {
      if (this.ids.has(c)) throw new Error(`CharCodec: character ${JSON.stringify(c)} appears twice in the alphabet`);
      this.ids.set(c, i);
    });
    this.eosId = opts.eos === false ? null : this.chars.length;
  }

  /** Alphabet size plus the EOS id. */
  get vocabSize(): number {
    return this.chars.length + (this.eosId === null ? 0 : 1);
  }

  encode(text: string): number[] {
    return [...text].map((c, i) => {
      const id = this.ids.get(c);
      if (id === undefined) throw new Error(`CharCodec: character ${JSON.stringify(c)} at ${i} is not in the alphabet`);
      return id;
    });
  }

  /** The EOS id decodes to ''. */
  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id === this.eosId) continue;
      const c = this.chars[id];
      if (c === undefined) throw new RangeError(`CharCodec: id ${id} is outside the vocabulary [0, ${this.vocabSize})`);
      s += c;
    }
    return s;
  }
}
