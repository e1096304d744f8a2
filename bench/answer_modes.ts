/**
 * How a model answers held-out problems: the share and accuracy of terse responses (at most one line inside
 * `<think>`: the problem restated, then the answer) and worked ones (more lines), over k samples per problem at
 * `r1ts eval`'s settings (temperature 0.6, top-p 0.95, seed 0). It shows what R1-Zero's RL changed in `r1ts zero`.
 *
 *   node --import tsx bench/answer_modes.ts runs/zero/base/model runs/zero/grpo/model [--task lineq] [--difficulty 1] [--n 64] [--k 8]
 */
import { rewardInputs, rollout } from '../src/rl/rollout.js';
import { accuracyReward } from '../src/rl/rewards.js';
import { loadModelAndTokenizer } from '../src/io/load.js';
import { heldOutArgs } from './held_out.js';

const { models, task, difficulty, k, problems } = heldOutArgs('answer_modes');
const pct = (a: number, b: number) => (b === 0 ? '   -' : `${((100 * a) / b).toFixed(1)}%`);
console.log(
  `${task} (difficulty ${difficulty}), ${problems.length} held-out problems x ${k} samples, T=0.6, top-p 0.95`,
);
console.log('model                          terse share  terse acc  worked share  worked acc  all acc');
for (const dir of models) {
  const { model, tok } = loadModelAndTokenizer(dir);
  const rolls = rollout(model, tok, problems, k, {
    maxTokens: 256,
    temperature: 0.6,
    topP: 0.95,
    stop: ['</answer>'],
    seed: 0,
  });
  const count = { terse: 0, worked: 0, terseOk: 0, workedOk: 0 };
  rewardInputs(rolls).forEach((x, i) => {
    const thinkLines = rolls[i].response.split('</think>')[0].replace('<think>', '').trim().split('\n').length;
    const ok = accuracyReward(x);
    if (thinkLines <= 1) {
      count.terse++;
      count.terseOk += ok;
    } else {
      count.worked++;
      count.workedOk += ok;
    }
  });
  const all = rolls.length;
  console.log(
    `${dir.padEnd(30)} ${pct(count.terse, all).padStart(11)}  ${pct(count.terseOk, count.terse).padStart(9)}  ` +
      `${pct(count.worked, all).padStart(12)}  ${pct(count.workedOk, count.worked).padStart(10)}  ${pct(count.terseOk + count.workedOk, all).padStart(7)}`,
  );
}
