/**
 * Byte-level text <-> token-string mapping of GPT-2 / Qwen / DeepSeek tokenizers.
 *
 * Each of the 256 byte values is shown as one printable Unicode character (`bytes_to_unicode` in GPT-2's encoder.py):
 * bytes 33-126, 161-172 and 174-255 map to the same code point; the other 68 bytes map to 256, 257, ... in order.
 * A space (0x20) is therefore `Ġ` (U+0120) and a newline `Ċ` (U+010A). BPE runs on these characters, so every byte
 * sequence is representable and decoding is exact.
 *
 * Not here: splitting text into words (pretokenize.ts) and merging (bpe.ts).
 */

/** BYTE_CHARS[b] is the character that stands for byte b. */
export const BYTE_CHARS: readonly string[] = (() => {
  const out = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    out[b] = String.fromCharCode(printable ? b : 256 + extra++);
  }
  return out;
})();

/** CHAR_BYTES[charCode] is the byte a byte-level character stands for, or -1. Indexed by char code (< 324). */
export const CHAR_BYTES: Int16Array = (() => {
  const out = new Int16Array(324).fill(-1);
  for (let b = 0; b < 256; b++) out[BYTE_CHARS[b].charCodeAt(0)] = b;
  return out;
})();

/**
 * The byte-level string of `text`: its UTF-8 bytes, each shown as its byte character. Lone surrogates become U+FFFD
 * (as TextEncoder does), so the result is always valid.
 */
export function toByteLevel(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out += BYTE_CHARS[c];
      continue;
    }
    if (c < 0x800) {
      out += BYTE_CHARS[0xc0 | (c >> 6)] + BYTE_CHARS[0x80 | (c & 63)];
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        out +=
          BYTE_CHARS[0xf0 | (cp >> 18)] +
          BYTE_CHARS[0x80 | ((cp >> 12) & 63)] +
          BYTE_CHARS[0x80 | ((cp >> 6) & 63)] +
          BYTE_CHARS[0x80 | (cp & 63)];
        continue;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // lone surrogate
    out += BYTE_CHARS[0xe0 | (c >> 12)] + BYTE_CHARS[0x80 | ((c >> 6) & 63)] + BYTE_CHARS[0x80 | (c & 63)];
  }
  return out;
}

/**
 * Appends the bytes of a token string to `out`. A token made only of byte characters gives those bytes; any other
 * token (an added token such as `<｜end▁of▁sentence｜>`) gives its own UTF-8 bytes, as the Hugging Face ByteLevel decoder does.
 */
export function appendTokenBytes(token: string, out: number[]): void {
  const start = out.length;
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    const b = c < CHAR_BYTES.length ? CHAR_BYTES[c] : -1;
    if (b < 0) {
      out.length = start;
      for (const x of utf8.encode(token)) out.push(x);
      return;
    }
    out.push(b);
  }
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

/** Decodes bytes as UTF-8; invalid sequences become U+FFFD (like Rust's `String::from_utf8_lossy`). */
export function decodeUtf8(bytes: ArrayLike<number>): string {
  return utf8Decoder.decode(bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes as ArrayLike<number>));
}
