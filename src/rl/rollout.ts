/**
 * Rollouts: format problems with the R1-Zero template (SPEC 5.2; configurable), sample G responses per problem with
 * the generation engine, and turn them into reward inputs. Shared by GRPO steps, the pre-run sanity check and
 * evaluation.
 *
 * A `responsePrefix` (e.g. `<think>\n`, as R1's README forces) is appended to the prompt and counted as the start of
 * the response when scoring, so format and accuracy rewards see the whole `<think>...</think><answer>...</answer>`.
 */
import type { CausalLM } from '../models/index.js';
import { R1_ZERO_TEMPLATE, formatPrompt } from '../data/tasks/template.js';
import { generate, type GenerateOptions, type Generation, type TextCodec } from '../infer/generate.js';
import type { GenerationWorkers } from '../infer/workers.js';
import { contextLength, encodePrompt } from '../infer/context.js';
import type { RLProblem } from './problems.js';
import type { RewardInput } from './rewards.js';

export interface RolloutOptions {
  /** Prompt template with `{prompt}` (default: the R1-Zero template). */
  template?: string;
  /** Text forced at the start of the response (default ''). */
  responsePrefix?: string;
  maxTokens: number;
  temperature: number;
  topP?: number;
  topK?: number;
  /** Stop strings (default none); the codec's EOS always stops. */
  stop?: readonly string[];
  /** Rows per generation batch (default 64). */
  batchSize?: number;
  engine?: 'fast' | 'model';
  /** Called after each generation batch with the responses done so far and the total (progress). */
  onBatch?: (done: number, total: number) => void;
}

/** One sampled response to one problem. */
export interface Rollout {
  problem: RLProblem;
  /** Index of the problem in the call (samples of problem j are consecutive: the group). */
  group: number;
  promptIds: number[];
  gen: Generation;
  /** The response as scored: responsePrefix + generated text. */
  response: string;
}

/** The prompt text the model sees for `question`. */
export function promptText(question: string, opts: Pick<RolloutOptions, 'template' | 'responsePrefix'> = {}): string {
  return formatPrompt(question, opts.template ?? R1_ZERO_TEMPLATE) + (opts.responsePrefix ?? '');
}

/**
 * Samples `G` responses for each problem (rows problem-major: G consecutive rows per problem). `seed` selects the
 * sampling streams; row r uses stream `firstRow + r`.
 */
export function rollout(
  model: CausalLM,
  codec: TextCodec,
  problems: readonly RLProblem[],
  G: number,
  opts: RolloutOptions & { seed: number; firstRow?: number },
): Rollout[] {
  const { prompts, rows, gen } = rolloutCall(model, codec, problems, G, opts);
  return rollouts(problems, G, prompts, generate(model, rows, gen), opts);
}

/**
 * `rollout` with the rows split across the threads of `workers` (src/infer/workers.ts; made for `model` with
 * `codec`): the same rollouts, sooner on a machine with cores to spare.
 */
export async function rolloutSplit(
  workers: GenerationWorkers,
  model: CausalLM,
  codec: TextCodec,
  problems: readonly RLProblem[],
  G: number,
  opts: RolloutOptions & { seed: number; firstRow?: number },
): Promise<Rollout[]> {
  const { prompts, rows, gen } = rolloutCall(model, codec, problems, G, opts);
  return rollouts(problems, G, prompts, await workers.generate(rows, gen), opts);
}

/** The prompts of `problems`, their G rows each, and the generation options of a rollout. */
function rolloutCall(
  model: CausalLM,
  codec: TextCodec,
  problems: readonly RLProblem[],
  G: number,
  opts: RolloutOptions & { seed: number; firstRow?: number },
): { prompts: number[][]; rows: number[][]; gen: GenerateOptions } {
  // Each prompt must leave room for maxTokens in the context; one far too long is refused before it is tokenized.
  const context = contextLength(model);
  const prompts = problems.map((p) => encodePrompt(codec, promptText(p.question, opts), opts.maxTokens, context, p.id));
  const rows: number[][] = [];
  for (const ids of prompts) for (let g = 0; g < G; g++) rows.push(ids);
  const gen: GenerateOptions = {
    maxTokens: opts.maxTokens,
    temperature: opts.temperature,
    topP: opts.topP,
    topK: opts.topK,
    seed: opts.seed,
    firstRow: opts.firstRow,
    eosId: codec.eosId,
    stop: opts.stop,
    decode: (ids) => codec.decode(ids),
    batchSize: opts.batchSize ?? 64,
    engine: opts.engine,
    onBatch: opts.onBatch,
  };
  return { prompts, rows, gen };
}

function rollouts(
  problems: readonly RLProblem[],
  G: number,
  prompts: number[][],
  gens: Generation[],
  opts: RolloutOptions,
): Rollout[] {
  return gens.map((gen, r) => {
    const group = Math.floor(r / G);
    return {
      problem: problems[group],
      group,
      promptIds: prompts[group],
      gen,
      response: (opts.responsePrefix ?? '') + gen.text,
    };
  });
}

/** The reward function inputs of rollouts. */
export function rewardInputs(rs: readonly Rollout[]): RewardInput[] {
  return rs.map((r) => ({
    response: r.response,
    question: r.problem.question,
    answer: r.problem.answer,
    check: r.problem.check,
    finish: r.gen.finish,
    length: r.gen.tokens.length,
    ...(r.problem.lang ? { lang: r.problem.lang } : {}),
  }));
}
