/**
 * Byte-level BPE training: from word counts to a vocabulary and ranked merges.
 *
 * The alphabet is all 256 byte characters (ids 0-255 in byte order), so any text stays encodable. Each step merges the
 * most frequent adjacent pair (counts weighted by word frequency); ties go to the pair whose token strings sort first,
 * so the result depends only on the word counts, never on corpus order or hash iteration. Pair counts are updated
 * incrementally for the words that contain the merged pair; the best pair comes from a lazily invalidated heap.
 * Training stops at the requested vocabulary size or when no pair occurs `minFrequency` times.
 *
 * Not here: splitting text into words (the tokenizer does that with its own pre-tokenizer, so training and encoding
 * see the same words).
 */
import { BYTE_CHARS } from './bytelevel.js';
import { MAX_VOCAB, pairKey } from './bpe.js';

export interface BpeTrainOptions {
  /** Size of the BPE vocabulary (256 bytes + merged tokens), excluding added/special tokens. */
  vocabSize: number;
  /** Pairs seen fewer times than this are never merged (default 2). */
  minFrequency?: number;
  /** Called now and then with (merges done, merges wanted). */
  onProgress?: (done: number, total: number) => void;
}

export interface BpeTrainResult {
  vocab: Map<string, number>;
  merges: [string, string][];
}

/** Max-heap of pair keys by (count desc, token strings asc). Entries go stale when counts change; callers re-check. */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];
  constructor(private readonly tokens: string[]) {}
  get size(): number {
    return this.keys.length;
  }
  /** True when entry (c1, k1) should come out before (c2, k2). */
  private before(c1: number, k1: number, c2: number, k2: number): boolean {
    if (c1 !== c2) return c1 > c2;
    const t = this.tokens;
    const a1 = t[Math.floor(k1 / MAX_VOCAB)];
    const a2 = t[Math.floor(k2 / MAX_VOCAB)];
    if (a1 !== a2) return a1 < a2;
    return t[k1 % MAX_VOCAB] < t[k2 % MAX_VOCAB];
  }
  push(count: number, key: number): void {
    const { counts, keys } = this;
    let i = keys.length;
    counts.push(count);
    keys.push(key);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(count, key, counts[p], keys[p])) break;
      counts[i] = counts[p];
      keys[i] = keys[p];
      i = p;
    }
    counts[i] = count;
    keys[i] = key;
  }
  /** Removes and returns the top entry. */
  pop(): [number, number] {
    const { counts, keys } = this;
    const top: [number, number] = [counts[0], keys[0]];
    const c = counts.pop() as number;
    const k = keys.pop() as number;
    const n = keys.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        let ch = 2 * i + 1;
        if (ch >= n) break;
        if (ch + 1 < n && this.before(counts[ch + 1], keys[ch + 1], counts[ch], keys[ch])) ch++;
        if (!this.before(counts[ch], keys[ch], c, k)) break;
        counts[i] = counts[ch];
        keys[i] = keys[ch];
        i = ch;
      }
      counts[i] = c;
      keys[i] = k;
    }
    return top;
  }
}

/**
 * Learns merges from `wordCounts` (byte-level word -> frequency) until the vocabulary has `vocabSize` tokens.
 * Deterministic: the same counts give the same merges.
 */
export function trainBpe(wordCounts: Map<string, number>, opts: BpeTrainOptions): BpeTrainResult {
  const { vocabSize } = opts;
  const minFrequency = opts.minFrequency ?? 2;
  if (!Number.isInteger(vocabSize) || vocabSize < 256)
    throw new Error(`tokenizer: vocab size must be at least 256 (the byte alphabet), got ${vocabSize}`);
  if (vocabSize >= MAX_VOCAB) throw new Error(`tokenizer: vocab size ${vocabSize} exceeds ${MAX_VOCAB - 1}`);
  const tokens: string[] = [...BYTE_CHARS];
  const vocab = new Map<string, number>(tokens.map((t, i) => [t, i]));
  const byteId = (ch: string): number => {
    const id = vocab.get(ch);
    if (id === undefined) throw new Error(`tokenizer: training word has a non-byte character ${JSON.stringify(ch)}`);
    return id;
  };

  // Words as id arrays, with their counts; pair statistics.
  const words: number[][] = [];
  const freq: number[] = [];
  for (const [w, c] of wordCounts) {
    if (w.length < 2) continue; // single characters have no pairs
    words.push(Array.from(w, byteId));
    freq.push(c);
  }
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, number[]>();
  const addPairs = (w: number, sign: number, changed: Set<number> | null): void => {
    const s = words[w];
    const f = freq[w] * sign;
    for (let i = 0; i + 1 < s.length; i++) {
      const k = pairKey(s[i], s[i + 1]);
      pairCount.set(k, (pairCount.get(k) ?? 0) + f);
      if (sign > 0) {
        let list = pairWords.get(k);
        if (!list) pairWords.set(k, (list = []));
        if (list[list.length - 1] !== w) list.push(w);
      }
      changed?.add(k);
    }
  };
  for (let w = 0; w < words.length; w++) addPairs(w, 1, null);

  const heap = new PairHeap(tokens);
  for (const [k, c] of pairCount) heap.push(c, k);

  const merges: [string, string][] = [];
  const wanted = vocabSize - tokens.length;
  const stamp = new Int32Array(words.length).fill(-1);
  while (tokens.length < vocabSize && heap.size > 0) {
    const [count, key] = heap.pop();
    if (pairCount.get(key) !== count) continue; // stale entry
    if (count < minFrequency) break;
    const a = Math.floor(key / MAX_VOCAB);
    const b = key % MAX_VOCAB;
    const merged = tokens[a] + tokens[b];
    let id = vocab.get(merged);
    if (id === undefined) {
      id = tokens.length;
      tokens.push(merged);
      vocab.set(merged, id);
    }
    merges.push([tokens[a], tokens[b]]);
    const changed = new Set<number>();
    for (const w of pairWords.get(key) ?? []) {
      if (stamp[w] === merges.length) continue;
      stamp[w] = merges.length;
      const s = words[w];
      let has = false;
      for (let i = 0; i + 1 < s.length && !has; i++) has = s[i] === a && s[i + 1] === b;
      if (!has) continue;
      addPairs(w, -1, changed);
      const out: number[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          out.push(id);
          i++;
        } else out.push(s[i]);
      }
      words[w] = out;
      addPairs(w, 1, changed);
    }
    pairWords.delete(key);
    pairCount.delete(key);
    for (const k of changed) {
      const c = pairCount.get(k) ?? 0;
      if (c <= 0) pairCount.delete(k);
      else if (k !== key) heap.push(c, k);
    }
    if (opts.onProgress && (merges.length % 256 === 0 || tokens.length === vocabSize))
      opts.onProgress(merges.length, wanted);
  }
  return { vocab, merges };
}
