/**
 * What a base model writes under the R1-Zero template before any RL, and what it writes once the response is forced
 * to open with ` <think>`: the share of responses that are untagged, that open `<think>` and write the task's
 * equation or a calculation in it (task work), or that open `<think>` with something else (on the plain corpus: a
 * quiz about words), each with its format rate and its share in the R1 format with the right answer. Sampled as GRPO's
 * rollouts are (temperature 1, top-p 1, stop at `</answer>`, 128 new tokens; sampling seed 5). It shows which of the
 * three things R1-Zero's RL needs a plain-corpus base already does: open the tags, work the problem inside, close them.
 *
 * `--show N` prints the first N task-work responses of each pass as JSON strings.
 *
 *   node --import tsx bench/think_probe.ts runs/zero-plain/base/model [--task lineq] [--difficulty 1] [--n 64] [--k 8]
 *     [--show 0]
 */
import { rewardInputs, rollout } from '../src/rl/rollout.js';
import { accuracyReward } from '../src/rl/rewards.js';
import { loadModelAndTokenizer } from '../src/io/load.js';
import { isR1Format } from '../src/data/tasks/answer.js';
import { holdsTaskWork } from '../src/data/corpus_plain.js';
import { heldOutArgs } from './held_out.js';

const { models, task, difficulty, k, problems, show } = heldOutArgs('think_probe', true);
const KINDS = ['untagged', 'think + task work', 'think + other'] as const;
const kindOf = (response: string): (typeof KINDS)[number] => {
  if (!/^\s*<think>/.test(response)) return 'untagged';
  return holdsTaskWork(response.split('</think>')[0]) ? 'think + task work' : 'think + other';
};
const pct = (a: number, b: number) => (b === 0 ? '     -' : `${((100 * a) / b).toFixed(1).padStart(5)}%`);
console.log(
  `${task} (difficulty ${difficulty}), ${problems.length} held-out problems x ${k} samples, T=1, stop </answer>, 128 tokens`,
);
for (const dir of models) {
  const { model, tok } = loadModelAndTokenizer(dir);
  for (const prefix of ['', ' <think>']) {
    const rolls = rollout(model, tok, problems, k, {
      responsePrefix: prefix,
      maxTokens: 128,
      temperature: 1,
      stop: ['</answer>'],
      seed: 5,
    });
    const count = new Map(KINDS.map((x) => [x, { n: 0, format: 0, right: 0 }]));
    const inputs = rewardInputs(rolls);
    const shown: string[] = [];
    rolls.forEach((r, i) => {
      const kind = kindOf(r.response);
      if (kind === 'think + task work' && shown.length < show) shown.push(JSON.stringify(r.response));
      const c = count.get(kind)!;
      c.n++;
      const format = isR1Format(r.response);
      if (format) c.format++;
      if (format && accuracyReward(inputs[i]) === 1) c.right++;
    });
    console.log(`${dir}, response ${prefix ? 'forced to open with " <think>"' : 'free'}:`);
    console.log('  kind               responses   share   format  format+right');
    for (const [kind, c] of count)
      console.log(
        `  ${kind.padEnd(18)} ${String(c.n).padStart(9)}  ${pct(c.n, rolls.length)}  ${pct(c.format, c.n)}  ${pct(c.right, c.n)}`,
      );
    for (const text of shown) console.log(`  task work: ${text}`);
  }
}
