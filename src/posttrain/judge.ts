/**
 * Judging models with a reward model: sample each model's responses to chat prompts (its own chat template, with the
 * generation prompt), score them with the reward model (its own template), and report how often the first model's
 * response scores higher than the second's on the same prompt and sample index: the win rate, ties counting one half.
 * It is how r1ts measures what DPO did to a policy against its reference.
 *
 * A response is what the assistant turn holds: the text the template forces at the start of the turn (R1's
 * `<think>\n`, found by `forcedPrefix`) followed by the sampled text, without the end-of-sequence token.
 *
 * Not here: the reward model (./reward_model.ts), the sampling loop (src/infer/generate.ts).
 */
import type { CausalLM } from '../models/index.js';
import { type ChatMessage, applyChatTemplate } from '../data/chat.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { generate } from '../infer/generate.js';
import { contextLength, checkContext } from '../infer/context.js';
import { type SamplingParams, checkSamplingParams } from '../infer/sampling.js';
import type { RewardModel } from './reward_model.js';

/** A model with the tokenizer (and chat template) it is prompted with. */
export interface ChatModel {
  model: CausalLM;
  tok: Tokenizer;
}

/**
 * The text a chat template puts at the start of the assistant turn when prompted for generation (R1's `<think>\n`;
 * '' for templates whose generation prompt is just the role header).
 */
export function forcedPrefix(tok: Tokenizer, prompt: readonly ChatMessage[]): string {
  const gen = applyChatTemplate(tok, prompt, { addGenerationPrompt: true });
  const turn = applyChatTemplate(tok, [...prompt, { role: 'assistant', content: '\u0001' }]);
  let i = 0;
  while (i < gen.length && i < turn.length && gen[i] === turn[i]) i++;
  return gen.slice(i);
}

/** Options of sampling chat responses: the sampling parameters (n = samples per prompt) and the batch size. */
export interface ChatSamplingOptions extends SamplingParams {
  /** Rows per generation batch (default 32). */
  batchSize?: number;
}

/** `n` sampled responses per prompt (prompt-major), each the forced prefix plus the sampled text. */
export function sampleChat(
  m: ChatModel,
  prompts: readonly (readonly ChatMessage[])[],
  o: ChatSamplingOptions,
): string[] {
  const s = checkSamplingParams(o, { who: 'sample', names: { maxTokens: 'maxTokens', topP: 'topP', topK: 'topK' } });
  const context = contextLength(m.model);
  const rows: number[][] = [];
  const prefixes: string[] = [];
  prompts.forEach((p, i) => {
    const ids = m.tok.encode(applyChatTemplate(m.tok, p, { addGenerationPrompt: true }), { addSpecialTokens: false });
    checkContext(`prompt ${i}`, ids.length, s.maxTokens, context);
    const prefix = forcedPrefix(m.tok, p);
    for (let k = 0; k < s.n; k++) {
      rows.push(ids);
      prefixes.push(prefix);
    }
  });
  const gens = generate(m.model, rows, {
    maxTokens: s.maxTokens,
    temperature: s.temperature,
    topP: s.topP,
    topK: s.topK,
    seed: s.seed,
    stop: s.stop,
    eosId: m.tok.eosId,
    decode: (ids) => m.tok.decode(ids),
    batchSize: o.batchSize ?? 32,
  });
  return gens.map((g, r) => prefixes[r] + g.text);
}

/** The outcome of a comparison. */
export interface WinRate {
  prompts: number;
  /** Comparisons (prompts x samples per prompt). */
  samples: number;
  wins: number;
  ties: number;
  losses: number;
  /** (wins + ties / 2) / samples. */
  winRate: number;
  /** Mean reward of each side. */
  meanA: number;
  meanB: number;
  /** The first comparison's responses and scores, to look at. */
  example: { prompt: string; a: string; b: string; scoreA: number; scoreB: number } | null;
}

/**
 * The reward model's win rate of `a`'s responses over `b`'s on `prompts`, with the same sampling streams for both
 * (identical models tie everywhere).
 */
export function winRate(
  rm: RewardModel,
  a: ChatModel,
  b: ChatModel,
  prompts: readonly (readonly ChatMessage[])[],
  o: ChatSamplingOptions,
): WinRate {
  const n = o.n ?? 1;
  const ra = sampleChat(a, prompts, o);
  const rb = sampleChat(b, prompts, o);
  const rowsPrompts = prompts.flatMap((p) => Array.from({ length: n }, () => p));
  const sa = rm.score(rowsPrompts, ra);
  const sb = rm.score(rowsPrompts, rb);
  let wins = 0;
  let ties = 0;
  for (let i = 0; i < sa.length; i++) {
    if (sa[i] > sb[i]) wins++;
    else if (sa[i] === sb[i]) ties++;
  }
  const mean = (x: Float64Array) => x.reduce((s, v) => s + v, 0) / Math.max(1, x.length);
  const last = (p: readonly ChatMessage[]) => p[p.length - 1]?.content ?? '';
  return {
    prompts: prompts.length,
    samples: sa.length,
    wins,
    ties,
    losses: sa.length - wins - ties,
    winRate: sa.length ? (wins + ties / 2) / sa.length : 0,
    meanA: mean(sa),
    meanB: mean(sb),
    example: sa.length ? { prompt: last(prompts[0]), a: ra[0], b: rb[0], scoreA: sa[0], scoreB: sb[0] } : null,
  };
}
