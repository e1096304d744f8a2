/**
 * The BPE model of a byte-level tokenizer: a vocabulary (token string -> id) and ranked merges.
 *
 * Encoding one word (a pre-token, already mapped to byte characters) starts from its characters and repeatedly applies
 * the lowest-ranked merge present, leftmost first: the priority-queue algorithm of Hugging Face tokenizers'
 * `Word::merge_all`, so results agree with it even for unusual merge lists. Each word's ids are cached.
 *
 * Not here: text splitting (pretokenize.ts), special tokens and the tokenizer.json format (tokenizer.ts), training
 * (bpe_train.ts).
 */
import { toByteLevel } from './bytelevel.js';
import { jsonPreview } from '../util/format.js';

/** Ids must stay below this so a pair packs into one safe integer. */
export const MAX_VOCAB = 1 << 21;
const PAIR = MAX_VOCAB;

/** The key of the ordered pair (a, b) of token ids. */
export const pairKey = (a: number, b: number): number => a * PAIR + b;

/** Binary min-heap of (key, value) with numeric keys; used for merge candidates. */
class MinHeap {
  keys: number[] = [];
  vals: number[] = [];
  get size(): number {
    return this.keys.length;
  }
  push(k: number, v: number): void {
    const { keys, vals } = this;
    let i = keys.length;
    keys.push(k);
    vals.push(v);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (keys[p] <= k) break;
      keys[i] = keys[p];
      vals[i] = vals[p];
      i = p;
    }
    keys[i] = k;
    vals[i] = v;
  }
  /** Removes the minimum; read it first from keys[0], vals[0]. */
  pop(): void {
    const { keys, vals } = this;
    const k = keys.pop() as number;
    const v = vals.pop() as number;
    const n = keys.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && keys[c + 1] < keys[c]) c++;
      if (keys[c] >= k) break;
      keys[i] = keys[c];
      vals[i] = vals[c];
      i = c;
    }
    keys[i] = k;
    vals[i] = v;
  }
}

export interface BpeOptions {
  /** Token used for characters missing from the vocabulary; without one they are dropped (as in tokenizers). */
  unkToken?: string | null;
  /** Merge consecutive unknown characters into one unk token. */
  fuseUnk?: boolean;
  /** Look the whole word up in the vocabulary before merging (Llama-3's `ignore_merges`). */
  ignoreMerges?: boolean;
  /** Words cached at most (cached words are never evicted). */
  cacheSize?: number;
}

/** Vocabulary + ranked merges; encodes byte-level words to ids. */
export class BpeModel {
  readonly vocab: Map<string, number>;
  /** idToToken[id]; holes for ids not in the vocabulary. */
  readonly idToToken: string[];
  /** Merges in rank order, as token-string pairs. */
  readonly merges: [string, string][];
  /** pairKey(a, b) -> rank * MAX_VOCAB + merged id. */
  private readonly mergeMap = new Map<number, number>();
  private readonly unkId: number;
  private readonly fuseUnk: boolean;
  private readonly ignoreMerges: boolean;
  private readonly cache = new Map<string, Int32Array>();
  private readonly cacheSize: number;
  readonly options: BpeOptions;

  constructor(vocab: Map<string, number>, merges: [string, string][], opts: BpeOptions = {}, where = 'model') {
    this.vocab = vocab;
    this.merges = merges;
    this.options = opts;
    this.idToToken = [];
    for (const [tok, id] of vocab) {
      if (!Number.isInteger(id) || id < 0 || id >= MAX_VOCAB)
        throw new Error(`${where}.vocab: invalid id ${jsonPreview(id)} for ${jsonPreview(tok, 100)}`);
      const other = this.idToToken[id];
      if (other !== undefined)
        throw new Error(
          `${where}.vocab: id ${id} is given to both ${jsonPreview(other, 100)} and ${jsonPreview(tok, 100)}`,
        );
      this.idToToken[id] = tok;
    }
    merges.forEach(([a, b], rank) => {
      const ia = vocab.get(a);
      const ib = vocab.get(b);
      const im = vocab.get(a + b);
      if (ia === undefined || ib === undefined)
        throw new Error(
          `${where}.merges[${rank}]: ${jsonPreview(`${a} ${b}`, 100)} uses a token missing from the vocabulary`,
        );
      if (im === undefined)
        throw new Error(
          `${where}.merges[${rank}]: merged token ${jsonPreview(a + b, 100)} is missing from the vocabulary`,
        );
      this.mergeMap.set(pairKey(ia, ib), rank * PAIR + im); // a repeated pair keeps its last rank, as in tokenizers
    });
    const unk = opts.unkToken ?? null;
    this.unkId = unk === null ? -1 : (vocab.get(unk) ?? -1);
    if (unk !== null && this.unkId < 0)
      throw new Error(`${where}.unk_token: ${jsonPreview(unk, 100)} is not in the vocabulary`);
    this.fuseUnk = opts.fuseUnk ?? false;
    this.ignoreMerges = opts.ignoreMerges ?? false;
    this.cacheSize = opts.cacheSize ?? 200_000;
  }

  /** Number of ids the vocabulary covers (max id + 1). */
  get size(): number {
    return this.idToToken.length;
  }

  /** Appends the ids of one pre-token (plain text; mapped to byte characters here) to `out`. Cached per text. */
  encodeWord(text: string, out: number[]): void {
    let ids = this.cache.get(text);
    if (ids === undefined) {
      ids = this.merge(toByteLevel(text));
      if (this.cache.size < this.cacheSize) this.cache.set(text, ids);
    }
    for (let i = 0; i < ids.length; i++) out.push(ids[i]);
  }

  /** The BPE segmentation of one word, uncached. */
  merge(word: string): Int32Array {
    if (this.ignoreMerges) {
      const whole = this.vocab.get(word);
      if (whole !== undefined) return Int32Array.of(whole);
    }
    const n = word.length;
    const ids = new Int32Array(n);
    let m = 0;
    for (let i = 0; i < n; i++) {
      // Byte-level words are BMP characters; a surrogate pair (not byte-level) is kept together.
      const cp = word.codePointAt(i) as number;
      const ch = cp > 0xffff ? word.slice(i, i + 2) : word[i];
      if (cp > 0xffff) i++;
      const id = this.vocab.get(ch);
      if (id !== undefined) ids[m++] = id;
      else if (this.unkId >= 0) {
        if (this.fuseUnk && m > 0 && ids[m - 1] === this.unkId) continue;
        ids[m++] = this.unkId;
      }
    }
    if (m < 2) return ids.slice(0, m);
    const next = new Int32Array(m);
    const prev = new Int32Array(m);
    const alive = new Uint8Array(m).fill(1);
    for (let i = 0; i < m; i++) {
      next[i] = i + 1 < m ? i + 1 : -1;
      prev[i] = i - 1;
    }
    // Heap key: rank * 2^31 + position (leftmost first among equal ranks); value: the merged id expected.
    const heap = new MinHeap();
    const POS = 2147483648;
    const consider = (p: number): void => {
      const q = next[p];
      if (p < 0 || q < 0) return;
      const v = this.mergeMap.get(pairKey(ids[p], ids[q]));
      if (v !== undefined) heap.push(Math.floor(v / PAIR) * POS + p, v % PAIR);
    };
    for (let i = 0; i + 1 < m; i++) consider(i);
    while (heap.size > 0) {
      const key = heap.keys[0];
      const newId = heap.vals[0];
      heap.pop();
      const p = key % POS;
      if (!alive[p]) continue;
      const q = next[p];
      if (q < 0) continue;
      const v = this.mergeMap.get(pairKey(ids[p], ids[q]));
      if (v === undefined || v % PAIR !== newId) continue; // stale: the pair changed since it was queued
      ids[p] = newId;
      alive[q] = 0;
      next[p] = next[q];
      if (next[q] >= 0) prev[next[q]] = p;
      consider(prev[p]);
      consider(p);
    }
    const res: number[] = [];
    for (let i = 0; i >= 0; i = next[i]) res.push(ids[i]);
    return Int32Array.from(res);
  }
}
