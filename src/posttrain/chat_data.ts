/**
 * Chat data for post-training: the record formats users bring from Hugging Face / TRL, checked and normalised, and
 * rendered with a model's own chat template into token ids with a loss mask on the assistant's tokens only.
 *
 * Records (JSONL lines or Parquet rows, read by `readRecords`):
 * - conversational SFT: `{"messages": [{"role": "system"|"user"|"assistant", "content": "..."}, ...]}`, ending with an
 *   assistant turn;
 * - prompt / completion: `{"prompt": "..." | [messages], "completion": "..." | [messages]}` (a string prompt is one user
 *   turn, a string completion one assistant turn);
 * - preference pairs: `{"prompt" | "messages": ..., "chosen": ..., "rejected": ...}` (strings or message lists), or
 *   TRL's implicit-prompt form `{"chosen": [messages], "rejected": [messages]}` whose shared leading turns are the prompt.
 * Every problem is one line naming the record (`data.jsonl:7: message 2: empty assistant content`).
 *
 * Which tokens carry loss (`tokenizeChat`): those of each assistant turn as the template renders it, from where the
 * rendering departs from the template's generation prompt (so the role header, and a forced prefix such as R1's
 * `<think>\n` when the turn starts with it, are prompt; the turn's end-of-sequence token is trained, as TRL's
 * assistant-only loss does) to the end of the turn. A turn's span is found by rendering the conversation up to it and
 * up to its end: both renderings must be prefixes of the full one. A template that rewrites earlier turns (R1's drops
 * the reasoning of every assistant turn but the last) fails that test for those turns: they stay in the context
 * without loss, and the count is reported. Token boundaries must agree with the text's at a turn's start and end: the
 * tokens of the conversation before the turn, and up to its end, must be prefixes of the full token sequence, else the
 * record is refused. Inside the turn, a token that straddles the end of the role header or forced prefix (`\n\n`
 * where the generation prompt ends in `<think>\n` and the reply opens with `<think>\n\n</think>`) is trained.
 *
 * Not here: packing rows (./packing.ts), the trainers.
 */
import type { ChatMessage } from '../data/chat.js';
import { applyChatTemplate } from '../data/chat.js';
import type { Tokenizer } from '../data/tokenizer.js';

/** A conversation split into what the model reads (prompt) and what it is trained to write (completion). */
export interface ChatExample {
  prompt: ChatMessage[];
  completion: ChatMessage[];
  /** `file:line` of the record. */
  where: string;
}

/** A prompt with a preferred and a dispreferred completion. */
export interface PreferenceExample {
  prompt: ChatMessage[];
  chosen: ChatMessage[];
  rejected: ChatMessage[];
  where: string;
}

const ROLES = new Set(['system', 'user', 'assistant']);

/** Checks a list of messages; errors name the record, the message and the problem. */
export function checkMessages(v: unknown, where: string, field: string): ChatMessage[] {
  if (!Array.isArray(v)) throw new Error(`${where}: "${field}" must be a list of {"role", "content"} messages`);
  return v.map((m, i) => {
    const at = `${where}: ${field}[${i}]`;
    if (m === null || typeof m !== 'object' || Array.isArray(m))
      throw new Error(`${at}: expected a {"role", "content"} object`);
    const { role, content } = m as Record<string, unknown>;
    if (typeof role !== 'string') throw new Error(`${at}: "role" must be a string`);
    if (!ROLES.has(role)) throw new Error(`${at}: role "${role}" is not one of system, user, assistant`);
    if (typeof content !== 'string') throw new Error(`${at}: "content" must be a string`);
    if (role === 'assistant' && content.trim() === '') throw new Error(`${at}: empty assistant content`);
    return { role, content };
  });
}

/** A string as one turn of `role`, or a checked message list. */
function turns(v: unknown, where: string, field: string, role: 'user' | 'assistant'): ChatMessage[] {
  if (typeof v === 'string') {
    if (role === 'assistant' && v.trim() === '') throw new Error(`${where}: "${field}" is empty`);
    return [{ role, content: v }];
  }
  return checkMessages(v, where, field);
}

/** The SFT example of a record: `messages`, or `prompt` + `completion`. */
export function toChatExample(rec: Record<string, unknown>, where: string): ChatExample {
  let prompt: ChatMessage[];
  let completion: ChatMessage[];
  if (rec.messages !== undefined) {
    const all = checkMessages(rec.messages, where, 'messages');
    const last = all.length - 1;
    if (last < 0 || all[last].role !== 'assistant')
      throw new Error(`${where}: "messages" must end with an assistant turn (the one to learn)`);
    // the completion is the last assistant turn; earlier assistant turns also carry loss when the template allows
    prompt = all.slice(0, last);
    completion = all.slice(last);
  } else if (rec.prompt !== undefined && rec.completion !== undefined) {
    prompt = turns(rec.prompt, where, 'prompt', 'user');
    completion = turns(rec.completion, where, 'completion', 'assistant');
    if (completion.some((m) => m.role !== 'assistant'))
      throw new Error(`${where}: "completion" must hold assistant turns only`);
  } else {
    throw new Error(`${where}: expected {"messages": [...]} or {"prompt", "completion"} (fields: ${Object.keys(rec)})`);
  }
  if (!prompt.some((m) => m.role === 'user')) throw new Error(`${where}: the conversation has no user turn`);
  return { prompt, completion, where };
}

/** The preference example of a record (see the file header for the accepted forms). */
export function toPreferenceExample(rec: Record<string, unknown>, where: string): PreferenceExample {
  if (rec.chosen === undefined || rec.rejected === undefined)
    throw new Error(`${where}: a preference pair needs "chosen" and "rejected" (fields: ${Object.keys(rec)})`);
  let prompt: ChatMessage[];
  let chosen: ChatMessage[];
  let rejected: ChatMessage[];
  const given = rec.prompt ?? rec.messages;
  if (given !== undefined) {
    prompt = turns(given, where, rec.prompt !== undefined ? 'prompt' : 'messages', 'user');
    chosen = turns(rec.chosen, where, 'chosen', 'assistant');
    rejected = turns(rec.rejected, where, 'rejected', 'assistant');
  } else {
    // implicit prompt: the shared leading turns of two full conversations
    const c = checkMessages(rec.chosen, where, 'chosen');
    const r = checkMessages(rec.rejected, where, 'rejected');
    let n = 0;
    while (n < c.length && n < r.length && c[n].role === r[n].role && c[n].content === r[n].content) n++;
    prompt = c.slice(0, n);
    chosen = c.slice(n);
    rejected = r.slice(n);
  }
  for (const [name, side] of [
    ['chosen', chosen],
    ['rejected', rejected],
  ] as const) {
    if (side.length === 0 || side.some((m) => m.role !== 'assistant'))
      throw new Error(`${where}: "${name}" must be one or more assistant turns after the prompt`);
  }
  if (!prompt.some((m) => m.role === 'user')) throw new Error(`${where}: the pair has no user turn in its prompt`);
  if (JSON.stringify(chosen) === JSON.stringify(rejected))
    throw new Error(`${where}: "chosen" and "rejected" are identical (the pair teaches nothing)`);
  return { prompt, chosen, rejected, where };
}

/** Token ids of a rendered conversation with its loss mask. */
export interface TokenizedChat {
  ids: number[];
  /** 1 where the token carries loss (an assistant token), else 0; same length as ids. */
  loss: Uint8Array;
  /** Assistant turns left without loss because the template rewrites them when later turns follow (R1's). */
  untrainedTurns: number;
}

/** The chat template and tokenizer a conversation is rendered with. */
export type ChatRenderer = Pick<Tokenizer, 'config' | 'encode'>;

function isPrefix(a: readonly number[], b: readonly number[]): boolean {
  if (a.length > b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Renders `messages` with the tokenizer's chat template (tokenizer_config.json's `chat_template`, or R1's) and returns
 * the ids with a loss mask over the assistant turns (see the file header). `where` names the record in errors.
 */
export function tokenizeChat(tok: ChatRenderer, messages: readonly ChatMessage[], where: string): TokenizedChat {
  const render = (msgs: readonly ChatMessage[], gen: boolean): string => {
    try {
      return applyChatTemplate(tok, msgs, { addGenerationPrompt: gen });
    } catch (e) {
      throw new Error(`${where}: ${(e as Error).message}`);
    }
  };
  const encode = (text: string): number[] => tok.encode(text, { addSpecialTokens: false });
  const full = render(messages, false);
  const ids = encode(full);
  const loss = new Uint8Array(ids.length);
  let untrainedTurns = 0;
  messages.forEach((m, i) => {
    if (m.role !== 'assistant') return;
    const last = i === messages.length - 1;
    const before = render(messages.slice(0, i), false);
    const upTo = last ? full : render(messages.slice(0, i + 1), false);
    if (!full.startsWith(before) || !full.startsWith(upTo)) {
      if (last) throw new Error(`${where}: the chat template does not render the conversation as a sequence of turns`);
      untrainedTurns++;
      return;
    }
    // the turn's loss starts where the rendering departs from the generation prompt: the role header (and a forced
    // prefix such as R1's `<think>\n`, when the turn starts with it) belong to the prompt
    const gen = render(messages.slice(0, i), true);
    let start = before.length;
    while (start < upTo.length && start < gen.length && upTo[start] === gen[start]) start++;
    // the first trained token is the first one not wholly inside the prompt part: a token that straddles the boundary
    // (`\n\n` where the generation prompt ends in `<think>\n` and the reply opens with an empty think block) is trained
    const a = encode(upTo.slice(0, start));
    let first = 0;
    while (first < a.length && first < ids.length && a[first] === ids[first]) first++;
    const b = last ? ids : encode(upTo);
    if (!isPrefix(encode(before), ids) || first < encode(before).length || !isPrefix(b, ids)) {
      throw new Error(
        `${where}: assistant turn ${i}: its boundaries fall inside a token of the rendered text (the template joins it to its neighbours)`,
      );
    }
    for (let t = first; t < b.length; t++) loss[t] = 1;
  });
  if (!loss.some((x) => x === 1)) throw new Error(`${where}: no assistant token carries loss`);
  return { ids, loss, untrainedTurns };
}
