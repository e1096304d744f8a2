// Reward models as GRPO rewards: the `rm:PATH[@whole|@summary]` names, the part of the response a reward model
// scores, one batched call per step with the question as the user's turn, and the errors.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  parseRewardModelName,
  parseRewardWeights,
  responsePart,
  rewardModelReward,
  scoreRewards,
  type ResponseScorer,
  type RewardInput,
} from '../../src/rl/rewards.js';
import { configuredRewards, runGrpo } from '../../src/rl/trainer.js';
import { resolveGrpoConfig } from '../../src/rl/config.js';
import type { ChatMessage } from '../../src/data/chat.js';
import { toyCodec, toyModel, toySource } from './helpers.js';

const input = (question: string, response: string): RewardInput => ({
  response,
  question,
  answer: '',
  check: () => false,
  finish: 'stop',
  length: 1,
});

/** A scorer that records its calls and scores a response by its length. */
function recorder(): ResponseScorer & { calls: { prompts: ChatMessage[][]; responses: string[] }[] } {
  const calls: { prompts: ChatMessage[][]; responses: string[] }[] = [];
  return {
    calls,
    score(prompts, responses) {
      calls.push({ prompts: prompts.map((p) => [...p]), responses: [...responses] });
      return Float64Array.from(responses, (r) => r.length);
    },
  };
}

describe('reward models as GRPO rewards', () => {
  it('names: rm:PATH scores the whole response, rm:PATH@summary the text after </think>', () => {
    assert.deepEqual(parseRewardModelName('rm:runs/rm/model'), { path: 'runs/rm/model', part: 'whole' });
    assert.deepEqual(parseRewardModelName('rm:runs/rm/model@summary'), { path: 'runs/rm/model', part: 'summary' });
    assert.deepEqual(parseRewardModelName('rm:a@b'), { path: 'a@b', part: 'whole' }, 'an @ that names no part');
    assert.equal(parseRewardModelName('accuracy'), null);
    assert.throws(() => parseRewardModelName('rm:@summary'), /names no reward model/);
    assert.deepEqual(parseRewardWeights('accuracy=1,rm:runs/h/model@summary=0.5,rm:runs/s/model=0.25'), {
      accuracy: 1,
      'rm:runs/h/model@summary': 0.5,
      'rm:runs/s/model': 0.25,
    });
    assert.throws(() => parseRewardWeights('rm:x=1,rm:x=2'), /'rm:x' is given twice/);
    assert.throws(() => parseRewardWeights('rm:x'), /expected NAME=WEIGHT items/);
    assert.equal(responsePart('<think>\nwork\n</think>\n The answer is 4. ', 'summary'), 'The answer is 4.');
    assert.equal(responsePart('<think>\nno end', 'summary'), '');
    assert.equal(responsePart('<think>x</think>y', 'whole'), '<think>x</think>y');
  });

  it("one batched call per step: the questions as the user's turns, the parts as the responses, weighted", () => {
    const rec = recorder();
    const [r] = configuredRewards(
      { rewards: { 'rm:m@summary': 0.5 }, language: 'prompt' },
      {},
      { 'rm:m@summary': rec },
    );
    const xs = [input('q1', '<think>a</think>abc'), input('q2', '<think>bb</think>'), input('q3', 'no think')];
    const s = scoreRewards([r], xs);
    assert.equal(rec.calls.length, 1);
    assert.deepEqual(rec.calls[0].prompts, [
      [{ role: 'user', content: 'q1' }],
      [{ role: 'user', content: 'q2' }],
      [{ role: 'user', content: 'q3' }],
    ]);
    assert.deepEqual(rec.calls[0].responses, ['abc', '', '']);
    assert.deepEqual(Array.from(s.per['rm:m@summary']), [3, 0, 0]);
    assert.deepEqual(Array.from(s.total), [1.5, 0, 0]);
    assert.equal(r.fn(xs[0]), 3, 'one response alone');
    const whole = rewardModelReward(rec, 'whole')([xs[0]]);
    assert.deepEqual(Array.from(whole), ['<think>a</think>abc'.length]);
  });

  it('a reward model that is not loaded, or that returns a bad value, is an error naming it', () => {
    assert.throws(
      () => configuredRewards({ rewards: { 'rm:runs/x': 1 }, language: 'prompt' }),
      /grpo: reward 'rm:runs\/x' needs its reward model \(the grpo command loads runs\/x/,
    );
    const nan: ResponseScorer = { score: (p) => new Float64Array(p.length).fill(Number.NaN) };
    const [r] = configuredRewards({ rewards: { 'rm:n': 1 }, language: 'prompt' }, {}, { 'rm:n': nan });
    assert.throws(() => scoreRewards([r], [input('q', 'a')]), /reward 'rm:n' returned NaN on sample 0/);
    const short: ResponseScorer = { score: () => new Float64Array(1) };
    const [s] = configuredRewards({ rewards: { 'rm:s': 1 }, language: 'prompt' }, {}, { 'rm:s': short });
    assert.throws(() => scoreRewards([s], [input('q', 'a'), input('q', 'b')]), /returned 1 values for 2 samples/);
  });

  it('a GRPO run calls the reward model once per step with all of its responses', () => {
    const dir = mkdtempSync(join(tmpdir(), 'r1ts-rmreward-'));
    try {
      const rec = recorder();
      const config = resolveGrpoConfig({
        steps: 2,
        groupSize: 2,
        promptsPerStep: 2,
        maxTokens: 4,
        beta: 0,
        template: '{prompt}:',
        stop: [],
        rewards: { 'rm:toy': 1 },
        sanityPrompts: 0,
      });
      runGrpo({
        outDir: dir,
        policy: toyModel('dense'),
        codec: toyCodec,
        source: toySource,
        config,
        rewardModels: { 'rm:toy': rec },
      });
      assert.equal(rec.calls.length, 2);
      assert.ok(rec.calls.every((c) => c.responses.length === 4));
      const rows = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      const mean = (c: (typeof rec.calls)[number]) => c.responses.reduce((s, r) => s + r.length, 0) / 4;
      assert.deepEqual(
        rows.map((r) => r.rewards['rm:toy']),
        rec.calls.map(mean),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
