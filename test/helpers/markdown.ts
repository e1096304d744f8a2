/**
 * The little of Markdown the documentation tests need: fenced code blocks with their language and line, inline code
 * spans and relative links outside the fences, and shell-line handling (comments, words, environment prefixes).
 * Not a Markdown renderer: fences must start at column 0, which is how the docs are written.
 */

/** A fenced code block: its language (the fence's info string) and text, and the line of its opening fence. */
export interface CodeBlock {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  code: string;
  /** 1-based line of the block's first code line. */
  firstLine: number;
}

/** Fenced code blocks of `text`; an indented fence or an unclosed one is an error naming the line. */
export function codeBlocks(file: string, text: string): CodeBlock[] {
  const lines = text.split('\n');
  const out: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (/^\s+```/.test(lines[i])) throw new Error(`${file}:${i + 1}: indented code fence (start fences at column 0)`);
    const m = /^```(.*)$/.exec(lines[i]);
    if (!m) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    if (i >= lines.length) throw new Error(`${file}:${start + 1}: code fence never closed`);
    out.push({ file, line: start + 1, lang: m[1].trim(), code: body.join('\n'), firstLine: start + 2 });
  }
  return out;
}

/** `text` with every fenced block's lines blanked (line numbers kept), for scanning prose. */
export function prose(text: string): string {
  let inFence = false;
  return text
    .split('\n')
    .map((l) => {
      if (/^```/.test(l)) {
        inFence = !inFence;
        return '';
      }
      return inFence ? '' : l;
    })
    .join('\n');
}

/** Inline code spans of the prose (single backticks), with their lines. */
export function inlineCode(text: string): { line: number; code: string }[] {
  const out: { line: number; code: string }[] = [];
  prose(text)
    .split('\n')
    .forEach((l, i) => {
      for (const m of l.matchAll(/`([^`]+)`/g)) out.push({ line: i + 1, code: m[1] });
    });
  return out;
}

/** Link targets `[text](target)` of the prose that are not URLs or in-page anchors, without their `#anchor`. */
export function relativeLinks(text: string): { line: number; target: string }[] {
  const out: { line: number; target: string }[] = [];
  prose(text)
    .split('\n')
    .forEach((l, i) => {
      for (const m of l.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1].split('#')[0];
        if (target && !/^[a-z]+:/i.test(target)) out.push({ line: i + 1, target });
      }
    });
  return out;
}

/** The shell line without its trailing `# comment` (a `#` after a blank, outside quotes). */
export function stripComment(line: string): string {
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]))) return line.slice(0, i).trimEnd();
  }
  return line.trimEnd();
}

/** The words of a shell line, quotes removed (no expansions: enough to read a command and its flags). */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g)) words.push(m[1] ?? m[2] ?? m[3]);
  return words;
}

/** Leading `NAME=value` words of a shell line (environment assignments) and the command words after them. */
export function splitEnv(words: string[]): { env: string[]; command: string[] } {
  let i = 0;
  while (i < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i])) i++;
  return { env: words.slice(0, i), command: words.slice(i) };
}
