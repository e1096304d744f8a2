/**
 * `r1ts rm`: reward models.
 *   r1ts rm train --model DIR --data pairs.jsonl --out runs/NAME [--val-data F | --val-share x] [--epochs N] [--lr X]
 *                 [--batch-size N] [--micro-batch N] [--max-length N] [--seed S] [--resume | --overwrite]
 *   r1ts rm score --model RM --data FILE [--by FIELD] [--json]
 *   r1ts rm compare --model RM --policy DIR --reference DIR --data FILE [--n N] [--max-tokens N] [--temperature T]
 * `train` starts from a language model (a new head) or a reward model and writes OUT/model (Hugging Face
 * sequence-classification layout); `score` prints each record's score, and for preference pairs the pair accuracy;
 * `compare` samples both models on the prompts of a file and prints the reward model's win rate of the first.
 */
import type { Command } from 'commander';
import { loadModelAndTokenizer } from '../../io/load.js';
import { loadRewardModel } from '../../posttrain/reward_model.js';
import { DEFAULT_RM_TRAIN, trainRewardModel } from '../../posttrain/rm_train.js';
import { DEFAULT_VAL_SHARE } from '../../posttrain/pair_run.js';
import { type ScoreReport, scoreRecords } from '../../posttrain/rm_score.js';
import { winRate } from '../../posttrain/judge.js';
import { readRecords } from '../../data/readers.js';
import { toChatExample, toPreferenceExample } from '../../posttrain/chat_data.js';
import type { ChatMessage } from '../../data/chat.js';
import { checkSamplingParams } from '../../infer/sampling.js';
import { SAMPLING_FLAG_NAMES, flagsOf, samplingOptions, shownDefault } from '../flags.js';
import { warn } from '../warn.js';
import { type PairFlags, addPairFlags, runPairCommand } from './pair-flags.js';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

interface ScoreFlags {
  model: string;
  data: string[];
  by?: string;
  json?: boolean;
  maxLength?: number;
}

function printReport(r: ScoreReport, o: ScoreFlags): void {
  if (o.json) {
    console.log(JSON.stringify(r));
    return;
  }
  for (const x of r.records) {
    const g = x.group !== undefined ? `  ${o.by} ${x.group}` : '';
    if (x.type === 'pair')
      console.log(
        `${x.where}  chosen ${x.chosen.toFixed(4)}  rejected ${x.rejected.toFixed(4)}  ${x.correct ? 'correct' : 'WRONG'}${g}`,
      );
    else console.log(`${x.where}  score ${x.score.toFixed(4)}${g}`);
  }
  if (r.skipped.length)
    console.log(
      `left out ${r.skipped.length} record(s) longer than the limit (${r.skipped.slice(0, 3).join(', ')}${r.skipped.length > 3 ? ', ...' : ''})`,
    );
  if (r.responses) console.log(`responses: ${r.responses.records}, mean score ${r.responses.mean.toFixed(4)}`);
  if (r.pairs)
    console.log(
      `pairs: ${r.pairs.pairs}, accuracy ${pct(r.pairs.accuracy)} (${r.pairs.correct}/${r.pairs.pairs}), mean margin ${r.pairs.margin.toFixed(4)}`,
    );
  for (const [k, a] of Object.entries(r.groups ?? {}))
    console.log(
      `  ${o.by} ${k}: accuracy ${pct(a.accuracy)} (${a.correct}/${a.pairs}), mean margin ${a.margin.toFixed(4)}`,
    );
}

interface CompareFlags {
  model: string;
  policy: string;
  reference: string;
  data: string[];
  n: number;
  maxTokens: number;
  temperature: number;
  topP?: number;
  seed: number;
  limit?: number;
  json?: boolean;
}

/** The prompts of a file's records: a pair's prompt, or a conversation's turns before its completion. */
async function promptsOf(paths: readonly string[], limit: number | undefined): Promise<ChatMessage[][]> {
  const out: ChatMessage[][] = [];
  for await (const r of readRecords(paths)) {
    if (limit !== undefined && out.length >= limit) break;
    const rec = r.value;
    out.push(
      rec.chosen !== undefined || rec.rejected !== undefined
        ? toPreferenceExample(rec, r.where).prompt
        : toChatExample(rec, r.where).prompt,
    );
  }
  if (!out.length) throw new Error(`rm compare: ${paths.join(', ')} holds no records`);
  return out;
}

async function rmCompare(o: CompareFlags): Promise<void> {
  const s = checkSamplingParams(
    { n: o.n, maxTokens: o.maxTokens, temperature: o.temperature, topP: o.topP, seed: o.seed },
    { who: 'rm compare', names: SAMPLING_FLAG_NAMES },
  );
  const prompts = await promptsOf(o.data, o.limit);
  const rm = loadRewardModel(o.model, { warn: (w) => warn(w) });
  const load = (dir: string) => {
    const { model, tok, warnings } = loadModelAndTokenizer(dir);
    warn(...warnings);
    return { model, tok };
  };
  const r = winRate(rm, load(o.policy), load(o.reference), prompts, s);
  if (o.json) {
    console.log(JSON.stringify(r));
    return;
  }
  console.log(
    `${r.samples} comparisons (${r.prompts} prompts x ${s.n}): win rate of ${o.policy} over ${o.reference} ${pct(r.winRate)} ` +
      `(${r.wins} wins, ${r.ties} ties, ${r.losses} losses); mean reward ${r.meanA.toFixed(4)} vs ${r.meanB.toFixed(4)}`,
  );
  if (r.example)
    console.log(
      `example: ${JSON.stringify(r.example.prompt)}\n  policy    (${r.example.scoreA.toFixed(3)}): ${JSON.stringify(r.example.a)}\n  reference (${r.example.scoreB.toFixed(3)}): ${JSON.stringify(r.example.b)}`,
    );
}

export function registerRm(program: Command): void {
  const rm = program
    .command('rm')
    .description('reward models: train on preference pairs, score records, compare models');
  const train = rm
    .command('train')
    .description(
      'train a reward model (Bradley-Terry loss on preference pairs) from a language model or a reward model; resumable',
    );
  addPairFlags(
    train,
    DEFAULT_RM_TRAIN,
    DEFAULT_VAL_SHARE,
    'a language model directory (a new reward head) or a reward model directory to train further; required for a new run',
  );
  train.action((o: PairFlags) => runPairCommand('rm train', o, 'pair accuracy', trainRewardModel));

  const score = rm
    .command('score')
    .description("a reward model's scores of records; for preference pairs, the pair accuracy");
  const f = flagsOf(score);
  score
    .addOption(f.input('--model <dir>', 'reward model directory', 'dir').makeOptionMandatory())
    .addOption(
      f
        .input(
          '--data <file...>',
          'JSONL or Parquet records: pairs {"prompt", "chosen", "rejected"} or conversations {"messages"} / {"prompt", "completion"}',
          'file or dir',
          true,
        )
        .makeOptionMandatory(),
    )
    .addOption(
      f.text(
        '--by <field>',
        'also report pair accuracy per value of this record field (e.g. flaw, kind)',
        shownDefault('none'),
      ),
    )
    .addOption(
      f.int(
        '--max-length <n>',
        'records with more tokens are left out (and listed)',
        { min: 2, max: 1 << 20, integer: true },
        shownDefault("the model's context"),
      ),
    )
    .option('--json', 'print the report as one JSON object')
    .action(async (o: ScoreFlags) => {
      const model = loadRewardModel(o.model, { warn: (w) => warn(w) });
      printReport(await scoreRecords(model, o.data, { by: o.by, maxLength: o.maxLength }), o);
    });

  const compare = rm
    .command('compare')
    .description(
      "sample two models on the prompts of a file and report the reward model's win rate of the first over the second",
    );
  const g = flagsOf(compare);
  compare
    .addOption(g.input('--model <dir>', 'reward model directory (the judge)', 'dir').makeOptionMandatory())
    .addOption(g.input('--policy <dir>', "the model judged (e.g. a DPO run's OUT/model)", 'dir').makeOptionMandatory())
    .addOption(g.input('--reference <dir>', 'the model it is compared with', 'dir').makeOptionMandatory())
    .addOption(
      g
        .input('--data <file...>', 'records whose prompts are used: pairs or conversations', 'file or dir', true)
        .makeOptionMandatory(),
    )
    .addOption(
      g.int('--limit <n>', 'use the first N records', { min: 1, max: 1e7, integer: true }, shownDefault('all')),
    )
    .addOption(g.int('--n <n>', 'samples per prompt and model', { min: 1, max: 4096, integer: true }, 1));
  for (const opt of samplingOptions(g, { maxTokens: 128, temperature: 1, topP: 1, seed: 0 })) compare.addOption(opt);
  compare.option('--json', 'print the result as one JSON object').action(rmCompare);
}
