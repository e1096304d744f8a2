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
 * The writers (corpus, sft, prefs, tokenizer) refuse an existing --out or --config-out file before any work unless
 * given --overwrite.
 */
import { writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import {
  CORPUS_STYLES,
  type CorpusStyle,
  DEFAULT_CORPUS_STYLE,
  DEFAULT_MIX,
  DOC_KINDS,
  PLAIN_TAGGED_SHARE,
  parseCorpusTasks,
  parseLanguages,
  parseMix,
  writeCorpus,
} from '../../data/corpus.js';
import { conversational, PREF_KINDS, prefPairs } from '../../data/prefs/index.js';
import { getSftTask, SFT_TASKS, sftRecord } from '../../data/sft/index.js';
import { newReaderStats, readTexts, type ReaderOptions, type ReaderStats } from '../../data/readers.js';
import { getTask, TASKS } from '../../data/tasks/index.js';
import { DEFAULT_SPECIAL_TOKENS, Tokenizer } from '../../data/tokenizer.js';
import { MAX_VOCAB } from '../../data/bpe.js';
import { PRE_TOKENIZER_PRESETS } from '../../data/pretokenize.js';
import { formatPrompt } from '../../data/tasks/template.js';
import {
  SEED_RANGE,
  checkOutputFree,
  createParentDir,
  type Flags,
  flagsOf,
  ints,
  nums,
  shownDefault,
} from '../flags.js';

/** Documents of one generated corpus at most (about 20 GB of JSONL). */
const CORPUS_DOCS_RANGE = ints(1, 100_000_000);
/** Vocabulary sizes a tokenizer can be trained to: the byte alphabet and the special tokens, up to the BPE limit. */
const VOCAB_RANGE = ints(256 + DEFAULT_SPECIAL_TOKENS.length, MAX_VOCAB - 1);
const TEXT_MODES = ['blocks', 'file'] as const;

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
  n: number;
  seed: number;
  difficulty?: string;
  mix?: string;
  languages?: string;
  templateShare: number;
  corpus: CorpusStyle;
  quiet?: boolean;
}

async function corpusCommand(o: CorpusOpts): Promise<void> {
  const tasks = o.task.split(',').map((s) => s.trim());
  parseCorpusTasks(tasks); // names a bad task or weight before anything is written
  const { n, seed, templateShare } = o;
  createParentDir('data corpus', '--out', o.out);
  const p = progress(o.quiet);
  const t0 = performance.now();
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
      style: o.corpus,
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
  vocabSize: number;
  out: string;
  minFrequency: number;
  field: string;
  preTokenizer: string;
  configOut?: string;
  textMode: (typeof TEXT_MODES)[number];
  skipBad?: boolean;
  quiet?: boolean;
  overwrite?: boolean;
}

function readerOpts(
  o: { field: string; textMode: (typeof TEXT_MODES)[number]; skipBad?: boolean },
  stats?: ReaderStats,
): ReaderOptions {
  return {
    field: o.field,
    textMode: o.textMode,
    onError: o.skipBad ? 'skip' : 'throw',
    stats,
  };
}

function reportSkipped(stats: ReaderStats): void {
  if (stats.skipped === 0) return;
  console.log(`skipped ${stats.skipped} malformed records, e.g. ${stats.errors[0]}`);
}

async function tokenizerCommand(o: TokenizerOpts): Promise<void> {
  const { vocabSize, minFrequency } = o;
  const configOut =
    o.configOut ?? (basename(o.out) === 'tokenizer.json' ? join(dirname(o.out), 'tokenizer_config.json') : undefined);
  // the flags' hook checked --out and an explicit --config-out; the default one beside --out is not replaced either
  if (configOut && !o.configOut) checkOutputFree('data tokenizer', '--config-out', configOut, o.overwrite);
  // the folders of the outputs exist before the training, not only when it is done
  createParentDir('data tokenizer', '--out', o.out);
  if (o.configOut) createParentDir('data tokenizer', '--config-out', o.configOut);
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
  n: number;
  seed: number;
  split: 'train' | 'test';
  difficulty?: string;
  template?: boolean;
  json?: boolean;
  lang: 'en' | 'es';
}

/** Writes JSONL records (the folder is created); the error names the file. */
function writeJsonl(cmd: string, path: string, records: readonly unknown[]): void {
  createParentDir(cmd, '--out', path);
  try {
    writeFileSync(path, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  } catch (e) {
    throw new Error(`${cmd}: cannot write ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** `en 12, es 8` */
function countBy<T>(xs: readonly T[], key: (x: T) => string): string {
  const c = new Map<string, number>();
  for (const x of xs) c.set(key(x), (c.get(key(x)) ?? 0) + 1);
  return [...c].map(([k, v]) => `${k} ${v}`).join(', ');
}

const LANG_OPTIONS = ['en', 'es', 'mix'] as const;

interface SftOpts {
  task: string;
  out: string;
  split: 'train' | 'test';
  n: number;
  lang: (typeof LANG_OPTIONS)[number];
  seed: number;
}

function sftCommand(o: SftOpts): void {
  const opts = { seed: o.seed, split: o.split, lang: o.lang };
  const names = o.task === 'all' ? Object.keys(SFT_TASKS) : o.task.split(',').map((t) => t.trim());
  const tasks = names.map((name) => getSftTask(name));
  const records = tasks.flatMap((t) => t.items(o.n, opts).map(sftRecord));
  writeJsonl('data sft', o.out, records);
  console.log(
    `wrote ${records.length} ${opts.split} records to ${o.out}: ${countBy(records, (r) => r.task)}; ${countBy(records, (r) => r.lang)}`,
  );
}

interface PrefsOpts {
  kind: (typeof PREF_KINDS)[number];
  out: string;
  split: 'train' | 'test';
  n: number;
  lang: (typeof LANG_OPTIONS)[number];
  seed: number;
  format: 'standard' | 'conversational';
}

function prefsCommand(o: PrefsOpts): void {
  const pairs = prefPairs(o.kind, o.n, { seed: o.seed, split: o.split, lang: o.lang });
  writeJsonl('data prefs', o.out, o.format === 'conversational' ? pairs.map(conversational) : pairs);
  console.log(
    `wrote ${pairs.length} ${o.kind} pairs (${o.split}) to ${o.out}: ${countBy(pairs, (p) => p.flaw)}; ${countBy(pairs, (p) => p.lang)}`,
  );
}

function tasksCommand(o: TasksOpts): void {
  const { n, seed, lang } = o;
  const names = o.task ? o.task.split(',') : Object.keys(TASKS);
  for (const name of names) {
    const task = getTask(name.trim());
    const d = task.difficulty;
    const problems = task.problems(n, { seed, split: o.split, difficulty: o.difficulty, lang });
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
  textMode: (typeof TEXT_MODES)[number];
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

/** --field, --text-mode and --skip-bad: how the readers take JSONL, Parquet and text files apart. */
function addReaderOptions(cmd: Command, f: Flags): Command {
  return cmd
    .option('--field <name>', 'JSONL field / Parquet column', 'text')
    .addOption(
      f.choice(
        '--text-mode <mode>',
        'plain text: blank-line separated documents (blocks) or one document per file (file)',
        TEXT_MODES,
        'blocks',
      ),
    )
    .option('--skip-bad', 'skip and count malformed records instead of stopping');
}

export function registerData(program: Command): void {
  const data = program.command('data').description('built-in corpus and tasks, tokenizer training and inspection');
  const corpus = data
    .command('corpus')
    .description('write a pre-training corpus (JSONL) from the built-in tasks (train split only)');
  const fc = flagsOf(corpus);
  corpus
    .requiredOption(
      '--task <name>',
      `${Object.keys(TASKS).join('|')}|mix, or a comma-separated list, each optionally weighted (lineq=4,add,mul)`,
    )
    .addOption(fc.output('--out <file>', 'output JSONL file (its folder is created)').makeOptionMandatory())
    .addOption(fc.overwrite('replace the --out file if it exists'))
    .addOption(fc.int('--n <docs>', 'number of documents', CORPUS_DOCS_RANGE, 20000))
    .addOption(fc.int('--seed <s>', 'random seed', SEED_RANGE, 0))
    .option(
      '--difficulty <d>',
      "N or A-B for every task, or per task (lineq=1-2,add=1-3) (default: each task's corpus range)",
    )
    .option(
      '--mix <shares>',
      `document kinds and their shares (kinds: ${DOC_KINDS.join(', ')}) (default: ${Object.entries(DEFAULT_MIX)
        .filter(([, v]) => v > 0)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')}; the plain style adds tagged=${PLAIN_TAGGED_SHARE} of all documents unless given)`,
    )
    .option('--languages <shares>', 'document languages and their shares, e.g. en=0.7,es=0.3 (default: en=1)')
    .addOption(
      fc.num(
        '--template-share <x>',
        'share of worked/partial documents with the full R1-Zero prompt; the rest use "User: ... Assistant:"',
        nums(0, 1),
        1,
      ),
    )
    .addOption(
      fc.choice(
        '--corpus <style>',
        'how task problems are written: plain (textbook and web layouts, no R1-Zero template, no tags around a solution) or templated (R1-Zero prompt + tagged solution; --template-share applies)',
        CORPUS_STYLES,
        DEFAULT_CORPUS_STYLE,
      ),
    )
    .option('--quiet', 'no progress output')
    .action(corpusCommand);

  const tokenizer = data.command('tokenizer').description('train a byte-level BPE tokenizer and write tokenizer.json');
  const ft = flagsOf(tokenizer);
  tokenizer
    .addOption(
      ft
        .input(
          '--corpus <file>',
          'training text: JSONL, text or Parquet file or directory (repeatable)',
          'file or dir',
          true,
        )
        .makeOptionMandatory(),
    )
    .addOption(
      ft.int('--vocab-size <n>', 'total vocabulary size, special tokens included', VOCAB_RANGE).makeOptionMandatory(),
    )
    .addOption(
      ft
        .output(
          '--out <file>',
          'tokenizer.json to write (its folder is created; tokenizer_config.json is written beside a file named tokenizer.json)',
        )
        .makeOptionMandatory(),
    )
    .addOption(ft.int('--min-frequency <n>', 'never merge pairs seen fewer times', ints(1), 2));
  addReaderOptions(tokenizer, ft)
    .addOption(ft.choice('--pre-tokenizer <name>', 'pre-tokenizer', Object.keys(PRE_TOKENIZER_PRESETS), 'r1ts'))
    .addOption(
      ft.output(
        '--config-out <file>',
        'also write tokenizer_config.json here',
        shownDefault('beside --out when it is named tokenizer.json'),
      ),
    )
    .addOption(ft.overwrite('replace the --out and --config-out files if they exist'))
    .option('--quiet', 'no progress output')
    .action(tokenizerCommand);

  const tasks = data.command('tasks').description('show problems of the built-in tasks with worked solutions');
  const fk = flagsOf(tasks);
  tasks
    .option('--task <name>', 'one task or a comma-separated list (default: all)')
    .addOption(fk.int('--n <n>', 'problems per task', ints(1, 100_000), 1))
    .addOption(fk.int('--seed <s>', 'random seed', SEED_RANGE, 0))
    .addOption(fk.choice('--split <split>', 'problems of', ['train', 'test'] as const, 'train'))
    .option('--difficulty <d>', "N or A-B (default: the task's)")
    .option('--template', 'show the prompt inside the R1-Zero template')
    .option('--json', 'one JSON object per problem')
    .addOption(fk.choice('--lang <lang>', 'language of the prompts and worked solutions', ['en', 'es'] as const, 'en'))
    .action(tasksCommand);

  const sft = data
    .command('sft')
    .description('write {"messages": [...]} records of the non-reasoning SFT tasks (JSONL)');
  const fs = flagsOf(sft);
  sft
    .requiredOption('--task <name>', `${Object.keys(SFT_TASKS).join('|')}|all, or a comma-separated list`)
    .addOption(fs.output('--out <file>', 'output JSONL file (its folder is created)').makeOptionMandatory())
    .addOption(fs.overwrite('replace the --out file if it exists'))
    .addOption(fs.choice('--split <split>', 'records of', ['train', 'test'] as const, 'train'))
    .addOption(fs.int('--n <n>', 'records per task', ints(1, 10_000_000), 100))
    .addOption(fs.choice('--lang <lang>', 'language of the records (mix: half and half)', LANG_OPTIONS, 'en'))
    .addOption(fs.int('--seed <s>', 'random seed', SEED_RANGE, 0))
    .action(sftCommand);

  const prefs = data
    .command('prefs')
    .description('write preference pairs whose ground truth is known: {"prompt", "chosen", "rejected", "kind", ...}');
  const fp = flagsOf(prefs);
  prefs
    .addOption(fp.choice('--kind <kind>', 'what the pairs judge', PREF_KINDS).makeOptionMandatory())
    .addOption(fp.output('--out <file>', 'output JSONL file (its folder is created)').makeOptionMandatory())
    .addOption(fp.overwrite('replace the --out file if it exists'))
    .addOption(fp.choice('--split <split>', 'pairs of', ['train', 'test'] as const, 'train'))
    .addOption(fp.int('--n <n>', 'number of pairs', ints(1, 10_000_000), 100))
    .addOption(fp.choice('--lang <lang>', 'language of the pairs (mix: half and half)', LANG_OPTIONS, 'en'))
    .addOption(fp.int('--seed <s>', 'random seed', SEED_RANGE, 0))
    .addOption(
      fp.choice(
        '--format <f>',
        'standard (strings) or conversational (message lists, as TRL takes)',
        ['standard', 'conversational'] as const,
        'standard',
      ),
    )
    .action(prefsCommand);

  const encode = data
    .command('encode')
    .description('tokenize a text (ids, tokens, round trip) or a corpus (throughput)');
  const fe = flagsOf(encode);
  encode
    .addOption(fe.input('--tokenizer <file>', 'tokenizer.json (or its directory)', 'file or dir').makeOptionMandatory())
    .option('--text <text>', 'text to encode; give --text or --corpus (default: none)')
    .addOption(
      fe.input(
        '--corpus <file>',
        'files to encode, timing the tokenizer (repeatable)',
        'file or dir',
        true,
        shownDefault('none'),
      ),
    );
  addReaderOptions(encode, fe).option('--json', 'print JSON').action(encodeCommand);
}
