/**
 * One generation request, from its checked body (./protocol.ts) to OpenAI's response: the prompt rendered with the
 * model's chat template (chat) or taken as it is (completions), tokenized and bounded by the context; one sequence per
 * choice (n per prompt) queued on the engine; then either one JSON body when every choice is done, or server-sent
 * events as tokens arrive (`chat.completion.chunk` / `text_completion` chunks, a usage chunk with
 * `stream_options.include_usage`, then `data: [DONE]`).
 *
 * Seeds: choice i of a request with seed s samples from stream (s, i), the same stream `generate` gives row i, so a
 * seeded request gives the same tokens whatever else the server runs. Without a seed the server draws one.
 *
 * Not here: HTTP plumbing (./server.ts), the text of a choice (./text.ts).
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { CausalLM } from '../models/causal_lm.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { applyChatTemplate } from '../data/chat.js';
import type { Sequence, SequenceRequest, TokenLogprob } from '../infer/batcher.js';
import { checkContext, contextLength, encodePrompt } from '../infer/context.js';
import { rowGenerator } from '../infer/generate.js';
import type { Engine } from './engine.js';
import { ApiError, type GenerationRequest, badParam } from './protocol.js';
import { ChoiceText, type TextDelta, opensThinking } from './text.js';

/** OpenAI's per-token logprob entry (chat). */
interface ChatLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

/** One choice: its tokens, its text, its logprobs by part. */
interface Choice {
  index: number;
  tokens: number[];
  finish: Sequence['finish'];
  text: ChoiceText;
  reasoningTokens: number;
  lpReasoning: ChatLogprob[];
  lpContent: ChatLogprob[];
  /** Characters of text before the next completions logprob entry (its text_offset). */
  offset: number;
}

/** What an exchange needs of the server. */
export interface ExchangeContext {
  model: CausalLM;
  tok: Tokenizer;
  engine: Engine;
  name: string;
}

/** Prompts of a request as token ids, and whether each leaves the model inside a `<think>` block. */
function preparePrompts(ctx: ExchangeContext, r: GenerationRequest): { ids: number[]; thinking: boolean | null }[] {
  const context = contextLength(ctx.model);
  const V = ctx.model.config.vocab_size;
  const room = r.sampling.maxTokens ?? 1;
  const tooLong = (e: unknown, param: string) =>
    new ApiError(400, (e as Error).message, param, 'context_length_exceeded');
  const codec = (special: boolean) => ({
    encode: (t: string) => ctx.tok.encode(t, { addSpecialTokens: special }),
    decode: (ids: ArrayLike<number>) => ctx.tok.decode(ids),
    eosId: ctx.tok.eosId,
    maxBytesPerToken: ctx.tok.maxBytesPerToken,
  });
  if (r.kind === 'chat') {
    let text: string;
    try {
      text = applyChatTemplate(ctx.tok, r.messages, { addGenerationPrompt: true });
    } catch (e) {
      throw badParam('messages', (e as Error).message);
    }
    try {
      return [
        { ids: encodePrompt(codec(false), text, room, context, 'messages'), thinking: opensThinking(text) || null },
      ];
    } catch (e) {
      throw tooLong(e, 'messages');
    }
  }
  return r.prompts.map((p, i) => {
    const what = r.prompts.length > 1 ? `prompt[${i}]` : 'prompt';
    if (typeof p === 'string') {
      try {
        return { ids: encodePrompt(codec(true), p, room, context, what), thinking: false };
      } catch (e) {
        throw tooLong(e, what);
      }
    }
    const bad = p.find((id) => !(id >= 0 && id < V));
    if (bad !== undefined) throw badParam(what, `${what}: token id ${bad} is outside the vocabulary [0, ${V})`);
    try {
      checkContext(what, p.length, room, context);
    } catch (e) {
      throw tooLong(e, what);
    }
    return { ids: p, thinking: false };
  });
}

/** OpenAI's finish_reason of a finished choice (EOS and stop strings are both 'stop'). */
function finishReason(c: Choice): 'stop' | 'length' {
  return c.finish === 'length' ? 'length' : 'stop';
}

/** The error a cancelled request reports: the server shut down (503) or a step failed (500). */
function cancelledError(engine: Engine): ApiError {
  return engine.status().draining
    ? new ApiError(503, 'The server shut down before the request finished', null, 'shutting_down')
    : new ApiError(500, 'The request was cancelled by a server error', null, 'server_error');
}

/**
 * Runs one generation request to its response on `res`. Throws an ApiError before anything is written (bad prompt,
 * queue full); afterwards errors are reported in the response (an error event when streaming).
 */
export async function runExchange(ctx: ExchangeContext, r: GenerationRequest, res: ServerResponse): Promise<void> {
  const { tok, engine } = ctx;
  const prompts = preparePrompts(ctx, r);
  const context = contextLength(ctx.model);
  const seed = r.seeded ? r.sampling.seed : randomInt(2 ** 47);
  const filters = { temperature: r.sampling.temperature, topP: r.sampling.topP, topK: r.sampling.topK };
  const decode = (ids: readonly number[]) => tok.decode(ids, { skipSpecialTokens: true });
  const chat = r.kind === 'chat';
  const head = {
    id: `${chat ? 'chatcmpl' : 'cmpl'}-${randomBytes(12).toString('hex')}`,
    object: chat ? 'chat.completion.chunk' : 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model: ctx.name,
  };
  const usageNull = r.includeUsage ? { usage: null } : {};
  const write = (choice: Record<string, unknown>) => {
    if (!res.writableEnded) res.write(`data: ${JSON.stringify({ ...head, choices: [choice], ...usageNull })}\n\n`);
  };
  /** Streams a choice's new text (reasoning and content in separate chunks, as DeepSeek does) with its logprobs. */
  const stream = (c: Choice, delta: TextDelta, lp: ChatLogprob | null, finish: string | null) => {
    if (!chat) {
      const logprobs = lp && completionLogprobs(c, [lp]);
      write({ index: c.index, text: delta.content, logprobs, finish_reason: finish });
      return;
    }
    const parts: [Record<string, string>, boolean][] = [];
    if (delta.reasoning) parts.push([{ reasoning_content: delta.reasoning }, true]);
    if (delta.content) parts.push([{ content: delta.content }, false]);
    if (parts.length === 0) parts.push([{}, c.text.inReasoning]);
    parts.forEach(([d, reasoning], j) => {
      const logprobs =
        lp && j === 0 ? (reasoning ? { content: [], reasoning_content: [lp] } : { content: [lp] }) : null;
      write({ index: c.index, delta: d, logprobs, finish_reason: j === parts.length - 1 ? finish : null });
    });
  };
  const choices: Choice[] = [];
  let pending = 0;
  let allDone: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    allDone = resolve;
  });
  const reqs: SequenceRequest[] = [];
  prompts.forEach((p, pi) => {
    const maxTokens = r.sampling.maxTokens ?? context - p.ids.length;
    for (let j = 0; j < r.sampling.n; j++) {
      const c: Choice = {
        index: pi * r.sampling.n + j,
        tokens: [],
        finish: null,
        text: new ChoiceText(decode, r.sampling.stop, p.thinking),
        reasoningTokens: 0,
        lpReasoning: [],
        lpContent: [],
        offset: 0,
      };
      choices.push(c);
      reqs.push({
        prompt: p.ids,
        filters,
        maxTokens,
        rng: rowGenerator(seed, c.index),
        eosId: tok.eosId,
        topLogprobs: r.logprobs ?? undefined,
        onToken: (token, lp) => {
          const reasoning = c.text.inReasoning;
          if (reasoning) c.reasoningTokens++;
          // the EOS token ends the choice but is not text (decoded without special tokens): no logprob entry
          const entry = lp && token !== tok.eosId ? logprobEntry(tok, token, lp) : null;
          if (entry) (reasoning ? c.lpReasoning : c.lpContent).push(entry);
          c.tokens.push(token);
          const delta = c.text.update(c.tokens);
          if (r.stream && (entry || delta.reasoning || delta.content)) stream(c, delta, entry, null);
          return !c.text.stopped;
        },
        onFinish: (seq) => {
          c.finish = seq.finish;
          if (seq.finish !== 'cancelled') {
            const tail = c.text.update(c.tokens, true);
            if (r.stream) stream(c, tail, null, finishReason(c));
          }
          if (--pending === 0) allDone();
        },
      });
    }
  });
  pending = reqs.length;
  const seqs = engine.submit(reqs);
  res.on('close', () => {
    if (!res.writableFinished) engine.cancel(seqs);
  });
  if (r.stream) {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    if (chat)
      for (const c of choices)
        write({ index: c.index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null });
  }
  await done;
  if (res.destroyed) return;
  const promptTokens = chat ? prompts[0].ids.length : prompts.reduce((n, p) => n + p.ids.length, 0);
  const completionTokens = choices.reduce((n, c) => n + c.tokens.length, 0);
  const usage: Record<string, unknown> = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
  if (chat && choices.some((c) => c.text.hasReasoning))
    usage.completion_tokens_details = { reasoning_tokens: choices.reduce((n, c) => n + c.reasoningTokens, 0) };
  const cancelled = choices.some((c) => c.finish === 'cancelled');
  if (r.stream) {
    if (cancelled) res.write(`data: ${JSON.stringify(cancelledError(engine).body())}\n\n`);
    else if (r.includeUsage) res.write(`data: ${JSON.stringify({ ...head, choices: [], usage })}\n\n`);
    res.end('data: [DONE]\n\n');
    return;
  }
  if (cancelled) {
    const err = cancelledError(engine);
    sendJson(res, err.status, err.body());
    return;
  }
  const logprobs = (c: Choice) =>
    r.logprobs === null
      ? null
      : chat
        ? { content: c.lpContent, ...(c.text.hasReasoning ? { reasoning_content: c.lpReasoning } : {}) }
        : completionLogprobs(c, c.lpContent);
  const body = {
    ...head,
    object: chat ? 'chat.completion' : 'text_completion',
    choices: choices.map((c) => {
      const { reasoning, content } = c.text.parts();
      const out = chat
        ? { message: { role: 'assistant', content, ...(c.text.hasReasoning ? { reasoning_content: reasoning } : {}) } }
        : { text: content };
      return { index: c.index, ...out, logprobs: logprobs(c), finish_reason: finishReason(c) };
    }),
    usage,
  };
  sendJson(res, 200, body);
}

/** Writes a JSON response. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** OpenAI's chat logprob entry of one token. */
function logprobEntry(tok: Tokenizer, token: number, lp: TokenLogprob): ChatLogprob {
  const piece = (id: number) => ({ token: tok.decode([id]), bytes: [...tok.tokenBytes(id)] });
  return {
    ...piece(token),
    logprob: lp.logprob,
    top_logprobs: lp.top.map(([i, l]) => ({ ...piece(i), logprob: l })),
  };
}

/** The completions endpoint's logprobs of some of a choice's tokens (text_offset counts characters on from c.offset). */
function completionLogprobs(c: Choice, entries: ChatLogprob[]) {
  const text_offset = entries.map((e) => {
    const o = c.offset;
    c.offset += e.token.length;
    return o;
  });
  return {
    tokens: entries.map((e) => e.token),
    token_logprobs: entries.map((e) => e.logprob),
    top_logprobs: entries.map((e) => Object.fromEntries(e.top_logprobs.map((t) => [t.token, t.logprob]))),
    text_offset,
  };
}
