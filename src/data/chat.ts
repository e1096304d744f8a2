/**
 * Chat templates: Jinja templates (the `chat_template` of tokenizer_config.json) rendered with `@huggingface/jinja`,
 * the engine transformers.js uses, so a model's own template works unchanged. `R1_CHAT_TEMPLATE` is a DeepSeek-R1-style
 * template for SFT data and chat generation here.
 *
 * Not here: tokenization of the rendered text (tokenizer.ts) and the plain R1-Zero prompt (tasks/template.ts).
 */
import { Template } from '@huggingface/jinja';

/** One chat turn. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | (string & {});
  content: string;
}

/**
 * DeepSeek-R1's chat layout without tool calls: BOS, the system prompt, `<｜User｜>...` and
 * `<｜Assistant｜>...<｜end▁of▁sentence｜>` turns; the generation prompt is `<｜Assistant｜><think>\n` (R1's forced
 * thinking start). As in R1, the reasoning (`...</think>`) of earlier assistant turns is dropped; the last assistant
 * turn is kept whole so that a rendered SFT sample contains its chain of thought.
 */
export const R1_CHAT_TEMPLATE =
  "{%- set ns = namespace(system='') -%}" +
  "{%- for m in messages -%}{%- if m['role'] == 'system' -%}{%- set ns.system = ns.system + m['content'] -%}{%- endif -%}{%- endfor -%}" +
  '{{- bos_token -}}{{- ns.system -}}' +
  '{%- for m in messages -%}' +
  "{%- if m['role'] == 'user' -%}{{- '<｜User｜>' + m['content'] -}}" +
  "{%- elif m['role'] == 'assistant' -%}" +
  "{%- set content = m['content'] -%}" +
  "{%- if not loop.last and '</think>' in content -%}{%- set content = content.split('</think>')[-1] -%}{%- endif -%}" +
  "{{- '<｜Assistant｜>' + content + eos_token -}}" +
  '{%- endif -%}' +
  '{%- endfor -%}' +
  "{%- if add_generation_prompt -%}{{- '<｜Assistant｜><think>\\n' -}}{%- endif -%}";

export interface RenderChatOptions {
  /** Append the assistant prefix so that the model continues with its answer. Default false. */
  addGenerationPrompt?: boolean;
  bosToken?: string;
  eosToken?: string;
  /** More template variables. */
  variables?: Record<string, unknown>;
}

const compiled = new Map<string, Template>();

/** Renders `template` (Jinja, as in tokenizer_config.json) with `messages`. Template errors name the template. */
export function renderChat(template: string, messages: readonly ChatMessage[], opts: RenderChatOptions = {}): string {
  for (const [i, m] of messages.entries()) {
    if (typeof m?.role !== 'string' || typeof m.content !== 'string')
      throw new Error(`chat: message ${i} needs string "role" and "content"`);
  }
  let t = compiled.get(template);
  if (!t) {
    try {
      t = new Template(template);
    } catch (e) {
      throw new Error(`chat template: ${(e as Error).message}`);
    }
    compiled.set(template, t);
  }
  try {
    return t.render({
      ...opts.variables,
      messages,
      add_generation_prompt: opts.addGenerationPrompt ?? false,
      bos_token: opts.bosToken ?? '<｜begin▁of▁sentence｜>',
      eos_token: opts.eosToken ?? '<｜end▁of▁sentence｜>',
    });
  } catch (e) {
    throw new Error(`chat template: ${(e as Error).message}`);
  }
}

/** The subset of Tokenizer that chat rendering needs. */
export interface ChatTokenizer {
  config: { bos_token?: string | null; eos_token?: string | null; chat_template?: string | null };
}

/**
 * Renders `messages` with the tokenizer's own `chat_template` (tokenizer_config.json), or R1_CHAT_TEMPLATE when it has
 * none, using its BOS/EOS token names.
 */
export function applyChatTemplate(
  tok: ChatTokenizer,
  messages: readonly ChatMessage[],
  opts: RenderChatOptions = {},
): string {
  const c = tok.config;
  return renderChat(c.chat_template ?? R1_CHAT_TEMPLATE, messages, {
    ...opts,
    bosToken: opts.bosToken ?? c.bos_token ?? '',
    eosToken: opts.eosToken ?? c.eos_token ?? '',
  });
}
