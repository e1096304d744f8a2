/**
 * `r1ts data`: the built-in corpus, SFT data and preference pairs, tokenizer training and inspection of tasks and
 * tokenization.
 *
 *   r1ts data corpus --task add|mul|countdown|lineq|sort|modpow|mix|lineq=4,add,... --out FILE.jsonl [--n N] [--seed S]
 *                    [--difficulty D] [--languages en=0.7,es=0.3] [--mix worked=0.6,...,switched=0.05,facts=0.1]
 *   r1ts data sft --task factqa|identity|translate|writing|all --out FILE.jsonl [--split S] [--n N] [--lang L] [--seed S]
 *   r1ts data prefs --kind helpful|harmless --out FILE.jsonl [--split S] [--n N] [--lang en|es|mix] [--seed S]
 *   r1ts data tokenizer --corpus FILE... --vocab-size N --out tokenizer.json [--min-frequency 2]
 *   r1ts data tasks [--task T] [--n 2] [--split train|test] [--difficulty D] [--seed S] [--lang en|es]
 *   r1ts data encode --tokenizer tokenizer.json (--text TEXT | --corpus FILE...)
 */
import { writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { DOC_KINDS, parseCorpusTasks, parseLanguages, parseMix, writeCorpus } from '../../data/corpus.js';
import { parseLang } from '../../data/language.js';
import { conversational, PREF_KINDS, type PrefKind, prefPairs } from '../../data/prefs/index.js';
import { getSftTask, SFT_TASKS, type LangOption, sftRecord } from '../../data/sft/index.js';
import { newReaderStats, readTexts, type ReaderOptions, type ReaderStats } from '../../data/readers.js';
import { getTask, TASKS } from '../../data/tasks/index.js';
import { Tokenizer } from '../../data/tokenizer.js';
import { PRE_TOKENIZER_PRESETS } from '../../data/pretokenize.js';
import { formatPrompt } from '../../data/tasks/template.js';

function int(name: string, v: string | undefined, min = 0): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`data: ${name} must be an integer >= ${min}, got '${v}'`);
  return n;
}

/** Progress on stderr: rewritten in place on a terminal, a line every few seconds otherwise; silent with quiet. */
function progress(quiet: boolean | undefined): { update(msg: string): void; done(): void } {
  const tty = process.stderr.isTTY === true;
  let last = tty ? 0 : Date.now();
  let shown = false;
  return {
    update(msg) {
      if (quiet) return;
      const now = Date.now();
      if (tty) {
        if (now - last < 100) return;
        process.stderr.write(`\r${msg}\x1b[K`);
        shown = true;
      } else {
        if (now - last < 5000) return;
        process.stderr.write(`${msg}\n`);
      }
      last = now;
    },
    done() {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(2)} MB`;

interface CorpusOpts {
  task: string;
  out: string;
  n: string;
  seed: string;
  difficulty?: string;
  mix?: string;
  languages?: string;
  templateShare: string;
  quiet?: boolean;
}

async function corpusCommand(o: CorpusOpts): Promise<void> {
  const tasks = o.task.split(',').map((s) => s.trim());
  parseCorpusTasks(tasks); // names a bad task or weight before anything is written
  const n = int('--n', o.n) as number;
  const seed = int('--seed', o.seed) as number;
  const p = progress(o.quiet);
  const t0 = performance.now();
  const templateShare = Number(o.templateShare);
  const stats = await writeCorpus(
    o.out,
    {
      tasks,
      n,
      seed,
      difficulty: o.difficulty,
      mix: o.mix ? parseMix(o.mix) : undefined,
      languages: o.languages ? parseLanguages(o.languages) : undefined,
      templateShare,
    },
    (docs, bytes) => p.update(`corpus: ${docs}/${n} documents, ${mb(bytes)}`),
  );
  p.done();
  const secs = (performance.now() - t0) / 1000;
  const share = DOC_KINDS.filter((k) => stats.kinds[k] > 0)
    .map((k) => `${k} ${((100 * stats.kinds[k]) / Math.max(1, stats.docs)).toFixed(0)}%`)
    .join(', ');
  console.log(`wrote ${stats.docs} documents (${mb(stats.bytes)}) to ${o.out} in ${secs.toFixed(1)} s: ${share}`);
  const tasksLine = Object.entries(stats.tasks)
    .map(([t, c]) => `${t} ${c}`)
    .join(', ');
  if (tasksLine) console.log(`tasks: ${tasksLine}`);
}

interface TokenizerOpts {
  corpus: string[];
  vocabSize: string;
  out: string;
  minFrequency: string;
  field: string;
  preTokenizer: string;
  configOut?: string;
  textMode: string;
  skipBad?: boolean;
  quiet?: boolean;
}

function readerOpts(o: { field: string; textMode?: string; skipBad?: boolean }, stats?: ReaderStats): ReaderOptions {
  if (o.textMode !== undefined && o.textMode !== 'blocks' && o.textMode !== 'file') {
    throw new Error(`data: --text-mode must be blocks or file, got '${o.textMode}'`);
  }
  return {
    field: o.field,
    textMode: o.textMode as 'blocks' | 'file' | undefined,
    onError: o.skipBad ? 'skip' : 'throw',
    stats,
  };
}

function reportSkipped(stats: ReaderStats): void {
  if (stats.skipped === 0) return;
  console.log(`skipped ${stats.skipped} malformed records, e.g. ${stats.errors[0]}`);
}

async function tokenizerCommand(o: TokenizerOpts): Promise<void> {
  const vocabSize = int('--vocab-size', o.vocabSize, 1) as number;
  const minFrequency = int('--min-frequency', o.minFrequency, 1) as number;
  if (!PRE_TOKENIZER_PRESETS[o.preTokenizer]) {
    throw new Error(
      `data: unknown --pre-tokenizer '${o.preTokenizer}' (known: ${Object.keys(PRE_TOKENIZER_PRESETS).join(', ')})`,
    );
  }
  const p = progress(o.quiet);
  const t0 = performance.now();
  let countSecs = 0;
  const stats = newReaderStats();
  const tok = await Tokenizer.train(readTexts(o.corpus, readerOpts(o, stats)), {
    vocabSize,
    minFrequency,
    preTokenizer: o.preTokenizer,
    onProgress: (phase, done, total) => {
      if (phase === 'count') {
        p.update(`tokenizer: read ${done} documents (${mb(total)})`);
        countSecs = (performance.now() - t0) / 1000;
      } else p.update(`tokenizer: ${done}/${total} merges`);
    },
  });
  p.done();
  const configOut =
    o.configOut ?? (basename(o.out) === 'tokenizer.json' ? join(dirname(o.out), 'tokenizer_config.json') : undefined);
  tok.save(o.out, configOut);
  const secs = (performance.now() - t0) / 1000;
  const merges = tok.model.merges.length;
  console.log(
    `trained a byte-level BPE tokenizer: ${tok.vocabSize} tokens (256 bytes + ${merges} merges + ${tok.addedTokens.length} special) ` +
      `in ${secs.toFixed(1)} s (counting ${countSecs.toFixed(1)} s)`,
  );
  if (tok.vocabSize < vocabSize)
    console.log(`note: stopped below --vocab-size ${vocabSize}: no pair occurs ${minFrequency} times any more`);
  reportSkipped(stats);
  console.log(`wrote ${o.out}${configOut ? ` and ${configOut}` : ''}`);
}

interface TasksOpts {
  task?: string;
  n: string;
  seed: string;
  split: string;
  difficulty?: string;
  template?: boolean;
  json?: boolean;
  lang: string;
}

function split(v: string): 'train' | 'test' {
  if (v !== 'train' && v !== 'test') throw new Error(`data: --split must be train or test, got '${v}'`);
  return v;
}

function langOption(v: string): LangOption {
  if (v !== 'en' && v !== 'es' && v !== 'mix') throw new Error(`data: --lang must be en, es or mix, got '${v}'`);
  return v;
}

/** Writes JSONL records; the error names the file. */
function writeJsonl(path: string, records: readonly unknown[]): void {
  try {
    writeFileSync(path, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  } catch (e) {
    throw new Error(`data: cannot write ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** `en 12, es 8` */
function countBy<T>(xs: readonly T[], key: (x: T) => string): string {
  const c = new Map<string, number>();
  for (const x of xs) c.set(key(x), (c.get(key(x)) ?? 0) + 1);
  return [...c].map(([k, v]) => `${k} ${v}`).join(', ');
}

interface SftOpts {
  task: string;
  out: string;
  split: string;
  n: string;
  lang: string;
  seed: string;
}

function sftCommand(o: SftOpts): void {
  const n = int('--n', o.n, 1) as number;
  const seed = int('--seed', o.seed) as number;
  const opts = { seed, split: split(o.split), lang: langOption(o.lang) };
  const names = o.task === 'all' ? Object.keys(SFT_TASKS) : o.task.split(',').map((t) => t.trim());
  const tasks = names.map((name) => getSftTask(name));
  const records = tasks.flatMap((t) => t.items(n, opts).map(sftRecord));
  writeJsonl(o.out, records);
  console.log(
    `wrote ${records.length} ${opts.split} records to ${o.out}: ${countBy(records, (r) => r.task)}; ${countBy(records, (r) => r.lang)}`,
  );
}

interface PrefsOpts {
  kind: string;
  out: string;
  split: string;
  n: string;
  lang: string;
  seed: string;
  format: string;
}

function prefsCommand(o: PrefsOpts): void {
  if (!PREF_KINDS.includes(o.kind as PrefKind))
    throw new Error(`data: --kind must be ${PREF_KINDS.join(' or ')}, got '${o.kind}'`);
  if (o.format !== 'standard' && o.format !== 'conversational')
    throw new Error(`data: --format must be standard or conversational, got '${o.format}'`);
  const n = int('--n', o.n, 1) as number;
  const seed = int('--seed', o.seed) as number;
  const pairs = prefPairs(o.kind as PrefKind, n, { seed, split: split(o.split), lang: langOption(o.lang) });
  writeJsonl(o.out, o.format === 'conversational' ? pairs.map(conversational) : pairs);
  console.log(
    `wrote ${pairs.length} ${o.kind} pairs (${o.split}) to ${o.out}: ${countBy(pairs, (p) => p.flaw)}; ${countBy(pairs, (p) => p.lang)}`,
  );
}

function tasksCommand(o: TasksOpts): void {
  const n = int('--n', o.n, 1) as number;
  const seed = int('--seed', o.seed) as number;
  split(o.split);
  const lang = parseLang(o.lang, 'data: --lang');
  const names = o.task ? o.task.split(',') : Object.keys(TASKS);
  for (const name of names) {
    const task = getTask(name.trim());
    const d = task.difficulty;
    const problems = task.problems(n, { seed, split: o.split as 'train' | 'test', difficulty: o.difficulty, lang });
    if (o.json) {
      for (const p of problems)
        console.log(
          JSON.stringify({
            task: p.task,
            id: p.id,
            split: p.split,
            difficulty: p.difficulty,
            lang: p.lang,
            prompt: p.prompt,
            answer: p.answer,
            solution: task.solution(p),
          }),
        );
      continue;
    }
    console.log(
      `== ${task.name}: ${task.description} (difficulty ${d.min}-${d.max}, default ${d.default}, corpus ${d.corpus[0]}-${d.corpus[1]})`,
    );
    for (const p of problems) {
      const sol = task.solution(p);
      console.log(`[${p.split} d=${p.difficulty}] ${o.template ? formatPrompt(p.prompt) : p.prompt}`);
      console.log(sol);
      console.log(`verified: ${task.verify(p, sol) ? 'yes' : 'NO'}\n`);
    }
  }
}

interface EncodeOpts {
  tokenizer: string;
  text?: string;
  corpus?: string[];
  field: string;
  textMode: string;
  skipBad?: boolean;
  json?: boolean;
}

async function encodeCommand(o: EncodeOpts): Promise<void> {
  const tok = Tokenizer.load(o.tokenizer);
  if ((o.text === undefined) === (o.corpus === undefined))
    throw new Error('data: encode needs exactly one of --text or --corpus');
  if (o.text !== undefined) {
    const ids = tok.encode(o.text, { addSpecialTokens: false });
    if (o.json) {
      console.log(JSON.stringify({ ids, tokens: ids.map((i) => tok.idToToken(i)) }));
      return;
    }
    console.log(`${ids.length} tokens: ${ids.join(' ')}`);
    console.log(ids.map((i) => JSON.stringify(tok.decode([i]))).join(' '));
    console.log(`round trip: ${tok.decode(ids) === o.text ? 'exact' : 'DIFFERENT'}`);
    return;
  }
  const texts: string[] = [];
  let bytes = 0;
  const stats = newReaderStats();
  for await (const t of readTexts(o.corpus as string[], readerOpts(o, stats))) {
    texts.push(t);
    bytes += Buffer.byteLength(t);
  }
  const t0 = performance.now();
  let tokens = 0;
  for (const t of texts) tokens += tok.encode(t, { addSpecialTokens: false }).length;
  const secs = (performance.now() - t0) / 1000;
  const row = {
    docs: texts.length,
    bytes,
    tokens,
    bytesPerToken: bytes / Math.max(1, tokens),
    mbPerSec: bytes / 1e6 / secs,
  };
  if (o.json) console.log(JSON.stringify({ ...row, skipped: stats.skipped }));
  else {
    reportSkipped(stats);
    console.log(
      `${row.docs} documents, ${mb(bytes)}, ${tokens} tokens (${row.bytesPerToken.toFixed(2)} bytes/token); ` +
        `encoded in ${secs.toFixed(2)} s = ${row.mbPerSec.toFixed(2)} MB/s`,
    );
  }
}

const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

export function registerData(program: Command): void {
  const data = program.command('data').description('built-in corpus and tasks, tokenizer training and inspection');
  data
    .command('corpus')
    .description('write a pre-training corpus (JSONL) from the built-in tasks (train split only)')
    .requiredOption(
      '--task <name>',
      `${Object.keys(TASKS).join('|')}|mix, or a comma-separated list, each optionally weighted (lineq=4,add,mul)`,
    )
    .requiredOption('--out <file>', 'output JSONL file')
    .option('--n <docs>', 'number of documents', '20000')
    .option('--seed <s>', 'random seed', '0')
    .option(
      '--difficulty <d>',
      "N or A-B for every task, or per task (lineq=1-2,add=1-3); default: each task's corpus range",
    )
    .option(
      '--mix <shares>',
      `document kinds, e.g. worked=0.6,answer=0.15,partial=0.1,text=0.15 (also drill, copy, terse, switched, facts)`,
    )
    .option('--languages <shares>', 'document languages, e.g. en=0.7,es=0.3 (default: all English)')
    .option(
      '--template-share <x>',
      'share of worked/partial documents with the full R1-Zero prompt; the rest use "User: ... Assistant:"',
      '1',
    )
    .option('--quiet', 'no progress output')
    .action(corpusCommand);
  data
    .command('tokenizer')
    .description('train a byte-level BPE tokenizer and write tokenizer.json')
    .requiredOption('--corpus <file>', 'training text: JSONL, text or Parquet file or directory (repeatable)', collect)
    .requiredOption('--vocab-size <n>', 'total vocabulary size, special tokens included')
    .requiredOption(
      '--out <file>',
      'tokenizer.json to write (tokenizer_config.json is written beside a file named tokenizer.json)',
    )
    .option('--min-frequency <n>', 'never merge pairs seen fewer times', '2')
    .option('--field <name>', 'JSONL field / Parquet column', 'text')
    .option(
      '--text-mode <mode>',
      'plain text: blocks (blank-line separated documents) or file (one document per file)',
      'blocks',
    )
    .option('--skip-bad', 'skip and count malformed records instead of stopping')
    .option('--pre-tokenizer <name>', `${Object.keys(PRE_TOKENIZER_PRESETS).join('|')}`, 'r1ts')
    .option('--config-out <file>', 'also write tokenizer_config.json here')
    .option('--quiet', 'no progress output')
    .action(tokenizerCommand);
  data
    .command('tasks')
    .description('show problems of the built-in tasks with worked solutions')
    .option('--task <name>', 'one task or a comma-separated list (default: all)')
    .option('--n <n>', 'problems per task', '1')
    .option('--seed <s>', 'random seed', '0')
    .option('--split <split>', 'train or test', 'train')
    .option('--difficulty <d>', 'N or A-B (default: the task default)')
    .option('--template', 'show the prompt inside the R1-Zero template')
    .option('--json', 'one JSON object per problem')
    .option('--lang <lang>', 'language of the prompts and worked solutions: en or es', 'en')
    .action(tasksCommand);
  data
    .command('sft')
    .description('write {"messages": [...]} records of the non-reasoning SFT tasks (JSONL)')
    .requiredOption('--task <name>', `${Object.keys(SFT_TASKS).join('|')}|all, or a comma-separated list`)
    .requiredOption('--out <file>', 'output JSONL file')
    .option('--split <split>', 'train or test', 'train')
    .option('--n <n>', 'records per task', '100')
    .option('--lang <lang>', 'en, es or mix (half and half)', 'en')
    .option('--seed <s>', 'random seed', '0')
    .action(sftCommand);
  data
    .command('prefs')
    .description('write preference pairs whose ground truth is known: {"prompt", "chosen", "rejected", "kind", ...}')
    .requiredOption('--kind <kind>', 'helpful or harmless')
    .requiredOption('--out <file>', 'output JSONL file')
    .option('--split <split>', 'train or test', 'train')
    .option('--n <n>', 'number of pairs', '100')
    .option('--lang <lang>', 'en, es or mix (half and half)', 'en')
    .option('--seed <s>', 'random seed', '0')
    .option('--format <f>', 'standard (strings) or conversational (message lists, as TRL takes)', 'standard')
    .action(prefsCommand);
  data
    .command('encode')
    .description('tokenize a text (ids, tokens, round trip) or a corpus (throughput)')
    .requiredOption('--tokenizer <file>', 'tokenizer.json (or its directory)')
    .option('--text <text>', 'text to encode')
    .option('--corpus <file>', 'files to encode, timing the tokenizer (repeatable)', collect)
    .option('--field <name>', 'JSONL field / Parquet column', 'text')
    .option(
      '--text-mode <mode>',
      'plain text: blocks (blank-line separated documents) or file (one document per file)',
      'blocks',
    )
    .option('--skip-bad', 'skip and count malformed records instead of stopping')
    .option('--json', 'print JSON')
    .action(encodeCommand);
}
