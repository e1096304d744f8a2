/**
 * `r1ts sample`: rejection sampling. k responses per prompt of a model directory, kept by a rule (the task's checker,
 * a scorer's best-of-k or threshold) and R1's readability filters, written as SFT-ready `{"messages": [...]}` records
 * with provenance.
 *   r1ts sample --model DIR (--task T[,T...] [--split train] [--n N] [--lang en|es|mix] [--difficulty D] | --data FILE)
 *               --k N --out data.jsonl [--template chat|r1-zero] [--temperature 0.7] [--top-p 0.95] [--max-tokens N]
 *               [--seed S] [--stop STR...] [--keep correct|best-of-k|threshold:X|all] [--filters readable|none|LIST]
 *               [--scorer FILE --rm-part summary|all] [--allow-test] [--json] [--overwrite]
 * Prints how many responses passed each check and why the others were dropped (--json: the counts as one object);
 * progress goes to stderr (a line redrawn on a terminal, about ten lines on a pipe). The output file is written
 * atomically when sampling ends; an existing one is refused before any work without --overwrite (src/cli/flags.ts).
 */
import { Buffer } from 'node:buffer';
import type { Command } from 'commander';
import { writeAll, writeFileAtomic } from '../../io/atomic.js';
import { loadModelAndTokenizer } from '../../io/load.js';
import { readConfigFile } from '../../io/model_dir.js';
import { generationBytes } from '../../infer/memory.js';
import { SAMPLING_RANGES, checkSamplingParams } from '../../infer/sampling.js';
import {
  DEFAULT_STOP,
  SAMPLE_FILTERS,
  SAMPLE_SAMPLING,
  SAMPLE_TEMPLATES,
  type SampleTemplate,
  type ScoredPart,
  checkHeldOut,
  describeCounts,
  keepRuleText,
  loadScorerModule,
  parseFilters,
  parseKeepRule,
  recordsJsonl,
  rejectionSample,
} from '../../posttrain/sample.js';
import { SAMPLE_TASKS, filePrompts, taskPrompts, type SamplePrompt } from '../../posttrain/sample_prompts.js';
import {
  PROBLEMS_RANGE,
  SAMPLING_FLAG_NAMES,
  checkFits,
  createParentDir,
  flagsOf,
  parseChoice,
  parseList,
  samplingOptions,
  shownDefault,
} from '../flags.js';
import { warn } from '../warn.js';

/** Rows decoded together. */
const SAMPLE_BATCH = 64;

interface SampleFlags {
  model: string;
  tokenizer?: string;
  task?: string[];
  data?: string;
  split: 'train' | 'test';
  allowTest?: boolean;
  n?: number;
  lang: 'en' | 'es' | 'mix';
  difficulty?: string;
  k: number;
  out: string;
  template: SampleTemplate;
  temperature: number;
  topP: number;
  maxTokens: number;
  seed: number;
  stop?: string[];
  keep: string;
  filters: string;
  scorer?: string;
  rmPart: ScoredPart;
  json?: boolean;
}

/** Progress on stderr: one line redrawn on a terminal; on a pipe, a line every `every` prompts (from the library). */
function progressPrinter(tty: boolean): { update(msg: string): void; done(): void } {
  let shown = false;
  return {
    update(msg) {
      if (tty) {
        process.stderr.write(`\r${msg}\x1b[K`);
        shown = true;
      } else process.stderr.write(`${msg}\n`);
    },
    done() {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

async function sampleCommand(o: SampleFlags): Promise<void> {
  const c = 'sample';
  if ((o.task === undefined) === (o.data === undefined))
    throw new Error(`${c}: give either --task T[,T...] or --data FILE`);
  if (o.split === 'test' && !o.allowTest)
    throw new Error(
      `${c}: --split test draws the held-out evaluation problems, and records made from them would leak the test ` +
        'split into training (held out means held out); add --allow-test to sample them anyway, to study the filters, never to train',
    );
  const keep = parseKeepRule(o.keep, `${c}: --keep`);
  const filters = parseFilters(o.filters, `${c}: --filters`);
  if ((keep.bestOfK || keep.threshold !== null) && !o.scorer)
    throw new Error(`${c}: --keep ${o.keep} needs scores: add --scorer FILE`);
  const sampling = checkSamplingParams(
    {
      n: o.k,
      temperature: o.temperature,
      topP: o.topP,
      maxTokens: o.maxTokens,
      seed: o.seed,
      stop: o.stop ?? DEFAULT_STOP[o.template],
    },
    { who: c, names: { ...SAMPLING_FLAG_NAMES, n: '--k' } },
  );
  const prompts: SamplePrompt[] = o.task
    ? taskPrompts(o.task, { split: o.split, n: o.n ?? 64, lang: o.lang, difficulty: o.difficulty })
    : await filePrompts([o.data!], o.n);
  checkHeldOut(prompts, o.allowTest, '--allow-test');
  const { config } = readConfigFile(o.model);
  // a prompt plus its response fits the context (each prompt is checked when it is encoded), so the context bounds both
  const samples = prompts.length * sampling.n;
  checkFits(
    c,
    generationBytes(config, {
      rows: Math.min(SAMPLE_BATCH, samples),
      promptTokens: Math.max(1, config.max_position_embeddings - sampling.maxTokens),
      maxTokens: sampling.maxTokens,
      samples,
    }),
    `${prompts.length} prompts x --k ${sampling.n} samples of up to --max-tokens ${sampling.maxTokens} tokens`,
  );
  const scorer = o.scorer ? await loadScorerModule(o.scorer) : undefined;
  createParentDir(c, '--out', o.out);
  const { model, tok, warnings } = loadModelAndTokenizer(o.model, o.tokenizer);
  warn(...warnings);
  const source = o.task ? `${o.task.join(',')} ${o.split}` : o.data!;
  if (!o.json)
    console.log(
      `${c}: ${prompts.length} prompts (${source}) x k=${sampling.n} from ${o.model}, template ${o.template}, ` +
        `T ${sampling.temperature}, top-p ${sampling.topP}, max ${sampling.maxTokens} tokens, seed ${sampling.seed}, ` +
        `keep ${keepRuleText(keep)}, filters ${filters.length ? filters.join(',') : 'none'}`,
    );
  const tty = process.stderr.isTTY === true;
  const progress = progressPrinter(tty);
  const chunk = Math.max(1, Math.floor(SAMPLE_BATCH / sampling.n));
  const t0 = performance.now();
  const r = rejectionSample(model, tok, prompts, {
    ...sampling,
    k: sampling.n,
    template: o.template,
    keep,
    filters,
    scorer,
    rmPart: o.rmPart,
    allowTest: o.allowTest,
    batchSize: SAMPLE_BATCH,
    model: o.model,
    progressEvery: tty ? chunk : Math.max(chunk, Math.ceil(prompts.length / 10)),
    onProgress: (p) =>
      progress.update(
        `sample: ${p.done}/${p.total} prompts, kept ${p.kept} of ${p.samples} responses, ${p.seconds.toFixed(0)} s` +
          (p.done < p.total ? `, about ${((p.seconds * (p.total - p.done)) / p.done).toFixed(0)} s left` : ''),
      ),
  });
  progress.done();
  writeFileAtomic(o.out, (fd) => writeAll(fd, Buffer.from(recordsJsonl(r.records))));
  const seconds = (performance.now() - t0) / 1000;
  if (o.json) {
    console.log(JSON.stringify({ ...r.counts, out: o.out, seconds }));
    return;
  }
  for (const line of describeCounts(r.counts)) console.log(line);
  console.log(`wrote ${r.records.length} records to ${o.out} (${seconds.toFixed(1)} s)`);
  if (r.records.length === 0) warn(`${c}: no response was kept: ${o.out} is empty`);
}

export function registerSample(program: Command): void {
  const cmd = program
    .command('sample')
    .description(
      'rejection sampling: k samples per prompt kept by a checker, a scorer and readability filters -> SFT records',
    );
  const f = flagsOf(cmd);
  const taskList = (raw: string) =>
    parseList('sample', '--task', raw, (t, name) => parseChoice('sample', name, t, SAMPLE_TASKS));
  cmd
    .addOption(
      f
        .input('--model <dir>', 'model directory (config.json, model.safetensors, tokenizer.json)', 'dir')
        .makeOptionMandatory(),
    )
    .addOption(f.input('--tokenizer <file>', 'tokenizer.json (default: the one in --model)', 'file or dir'))
    .addOption(
      f
        .text(
          '--task <names>',
          `built-in tasks, comma-separated: reasoning (checked answers) and SFT tasks: ${SAMPLE_TASKS.join('|')}`,
          shownDefault('none: give --task or --data'),
        )
        .argParser(taskList),
    )
    .addOption(
      f.input(
        '--data <file>',
        'JSONL or Parquet records: {"messages"} or {"prompt"}, optional "answer"',
        'file',
        false,
        shownDefault('none: give --task or --data'),
      ),
    )
    .addOption(
      f.choice(
        '--split <s>',
        'problems of the built-in tasks (test needs --allow-test)',
        ['train', 'test'] as const,
        'train',
      ),
    )
    .option('--allow-test', 'allow held-out (test split) prompts: to study the filters, never to train on')
    .addOption(
      f.int(
        '--n <n>',
        'prompts per task (--data: the first n records)',
        PROBLEMS_RANGE,
        shownDefault('64 per task; the whole file'),
      ),
    )
    .addOption(
      f.choice('--lang <l>', 'language of the task prompts (mix: half and half)', ['en', 'es', 'mix'] as const, 'en'),
    )
    .option('--difficulty <d>', "reasoning task difficulty N or A-B (default: the task's)")
    .addOption(f.int('--k <k>', 'samples per prompt', SAMPLING_RANGES.n).makeOptionMandatory())
    .addOption(f.output('--out <file>', 'the records (JSONL)').makeOptionMandatory())
    .addOption(f.overwrite('replace the --out file if it exists'))
    .addOption(
      f.choice(
        '--template <t>',
        "how prompts are rendered: the model's chat template (else R1's) or the R1-Zero prompt of a base",
        SAMPLE_TEMPLATES,
        'chat',
      ),
    );
  const { temperature, topP, maxTokens } = SAMPLE_SAMPLING as Required<typeof SAMPLE_SAMPLING>;
  for (const opt of samplingOptions(f, { temperature, topP, maxTokens, seed: 0 })) cmd.addOption(opt);
  cmd
    .option('--stop <str...>', 'stop strings, kept in the response (default: </answer> for r1-zero, none for chat)')
    .addOption(
      f.text(
        '--keep <rule>',
        'which responses to keep: correct, best-of-k, threshold:X, a comma list, or all',
        'correct',
      ),
    )
    .addOption(
      f.text(
        '--filters <f>',
        `readability filters: readable (all), none, or a list of ${SAMPLE_FILTERS.join(',')}`,
        'readable',
      ),
    )
    .addOption(
      f.input(
        '--scorer <file>',
        'JS/TS module exporting a scorer (prompts, responses) => scores, e.g. a reward model',
        'file',
        false,
        shownDefault('none'),
      ),
    )
    .addOption(
      f.choice(
        '--rm-part <p>',
        'what the scorer sees: the summary after </think>, or the whole response',
        ['summary', 'all'] as const,
        'summary',
      ),
    )
    .option('--json', 'print the counts as one JSON object')
    .action(sampleCommand);
}
