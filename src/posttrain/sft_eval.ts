/**
 * The quality check of the built-in non-reasoning SFT tasks (src/data/sft: factqa, identity, translate, writing) on
 * their test split: each held-out prompt is rendered with the model's chat template and a generation prompt, answered
 * by greedy decoding, and judged by the task's own automatic check (`verify`, on the text after `</think>`).
 *
 * Held out means held out: prompts that appear as a user turn in the training data are left out of the evaluation,
 * and counted.
 *
 * Not here: the reasoning tasks' evaluation (src/eval), the training loop (./sft.ts).
 */
import type { ChatMessage } from '../data/chat.js';
import { applyChatTemplate } from '../data/chat.js';
import { getSftTask, type LangOption } from '../data/sft/index.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { generate } from '../infer/generate.js';
import type { CausalLM } from '../models/causal_lm.js';

export interface TaskEvalOptions {
  /** Built-in SFT task names. */
  tasks: readonly string[];
  /** Held-out items per task. */
  n: number;
  /** Language of the items (default 'mix'). */
  lang?: LangOption;
  /** Seed of the item streams (default 0). */
  seed?: number;
  /** New tokens per answer at most (default 64). */
  maxTokens?: number;
  /** User prompts seen in training: such items are left out. */
  exclude?: ReadonlySet<string>;
}

export interface TaskEvalResult {
  task: string;
  /** Items evaluated. */
  n: number;
  /** Items whose answer passed the task's check. */
  passed: number;
  /** Items left out because their prompt is in the training data. */
  excluded: number;
}

/** The token ids of `messages` with the template's generation prompt (the assistant turn starts after them). */
export function chatPromptIds(tok: Tokenizer, messages: readonly ChatMessage[]): number[] {
  return tok.encode(applyChatTemplate(tok, messages, { addGenerationPrompt: true }), { addSpecialTokens: false });
}

/** Greedy answers to each task's held-out items, judged by the task's check. */
export function evaluateSftTasks(model: CausalLM, tok: Tokenizer, o: TaskEvalOptions): TaskEvalResult[] {
  return o.tasks.map((name) => {
    const task = getSftTask(name);
    const all = task.items(o.n, { split: 'test', lang: o.lang ?? 'mix', seed: o.seed ?? 0 });
    const items = all.filter((it) => !o.exclude?.has(it.prompt));
    if (items.length === 0) return { task: name, n: 0, passed: 0, excluded: all.length };
    const gens = generate(
      model,
      items.map((it) => chatPromptIds(tok, [{ role: 'user', content: it.prompt }])),
      {
        maxTokens: o.maxTokens ?? 64,
        temperature: 0,
        eosId: tok.eosId,
        decode: (ids) => tok.decode(ids),
      },
    );
    const passed = gens.filter((g, i) => task.verify(items[i], g.text)).length;
    return { task: name, n: items.length, passed, excluded: all.length - items.length };
  });
}

/** "factqa 12/50 (24.0%), identity 3/50 (6.0%)": a result list as one line. */
export function describeTaskEval(rs: readonly TaskEvalResult[]): string {
  return rs
    .map((r) => `${r.task} ${r.passed}/${r.n}${r.n ? ` (${((100 * r.passed) / r.n).toFixed(1)}%)` : ''}`)
    .join(', ');
}
