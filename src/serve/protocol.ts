/**
 * OpenAI's API as r1ts serves it: request bodies of `POST /v1/chat/completions` and `POST /v1/completions` checked
 * field by field into one `GenerationRequest`, and errors in OpenAI's shape, `{"error": {"message", "type", "param",
 * "code"}}`, with their HTTP status. Every way a body can be wrong is a 400 that names the field (`param`): a wrong
 * type, a value out of range (the ranges are the library's, `checkSamplingParams`), an unknown field ("Unrecognized
 * request argument supplied", as OpenAI says), a known field this server does not implement unless it has its
 * neutral value (`frequency_penalty: 0`, `tools: []`, ...). An unknown model is a 404.
 *
 * Extensions, as vLLM and DeepSeek have them: `top_k`; in responses, `reasoning_content` (./text.ts).
 *
 * Not here: tokenizing the prompt and the context bound and the response bodies (./exchange.ts).
 */
import type { ChatMessage } from '../data/chat.js';
import { type ResolvedSampling, type SamplingParams, checkSamplingParams } from '../infer/sampling.js';

/** An error with its HTTP status, in OpenAI's JSON shape. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }
  /** OpenAI's error type for the status. */
  get type(): string {
    if (this.status === 429) return 'rate_limit_error';
    if (this.status >= 500) return 'server_error';
    return 'invalid_request_error';
  }
  /** The response body. */
  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** A 400 that names the field. */
export function badParam(param: string, message: string, code: string | null = 'invalid_value'): ApiError {
  return new ApiError(400, message, param, code);
}

/** What a generation request asks for, checked; `prompts` hold chat messages or raw prompts. */
export interface GenerationRequest {
  kind: 'chat' | 'completion';
  model: string;
  /** chat: the conversation; completion: one entry per prompt (text, or token ids). */
  messages: ChatMessage[];
  prompts: (string | number[])[];
  /** Sampling settings; `maxTokens` is null when the request leaves it to the context. */
  sampling: Omit<ResolvedSampling, 'maxTokens'> & { maxTokens: number | null };
  /** Whether `seed` was given (otherwise the server draws one). */
  seeded: boolean;
  /** null: no logprobs; k: each token's logprob and its k most likely alternatives. */
  logprobs: number | null;
  stream: boolean;
  includeUsage: boolean;
}

type Body = Record<string, unknown>;

/** Fields accepted only at their neutral value (the value that changes nothing), and that value's description. */
const NEUTRAL: Record<string, [(v: unknown) => boolean, string]> = {
  frequency_penalty: [(v) => v === 0, '0'],
  presence_penalty: [(v) => v === 0, '0'],
  logit_bias: [(v) => isObject(v) && Object.keys(v).length === 0, '{}'],
  user: [(v) => typeof v === 'string', 'a string (it is ignored)'],
  response_format: [(v) => isObject(v) && v.type === 'text', '{"type": "text"}'],
  tools: [(v) => Array.isArray(v) && v.length === 0, '[]'],
  tool_choice: [(v) => v === 'none', "'none'"],
  parallel_tool_calls: [(v) => typeof v === 'boolean', 'a boolean (there are no tools)'],
  store: [(v) => v === false, 'false'],
  metadata: [(v) => isObject(v), 'an object (it is ignored)'],
  service_tier: [(v) => v === 'auto' || v === 'default', "'auto'"],
  echo: [(v) => v === false, 'false'],
  suffix: [(v) => v === '', "''"],
};

const CHAT_FIELDS = [
  'model',
  'messages',
  'temperature',
  'top_p',
  'top_k',
  'max_tokens',
  'max_completion_tokens',
  'stop',
  'n',
  'seed',
  'logprobs',
  'top_logprobs',
  'stream',
  'stream_options',
  'frequency_penalty',
  'presence_penalty',
  'logit_bias',
  'user',
  'response_format',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'store',
  'metadata',
  'service_tier',
];

const COMPLETION_FIELDS = [
  'model',
  'prompt',
  'temperature',
  'top_p',
  'top_k',
  'max_tokens',
  'stop',
  'n',
  'best_of',
  'seed',
  'logprobs',
  'stream',
  'stream_options',
  'echo',
  'suffix',
  'frequency_penalty',
  'presence_penalty',
  'logit_bias',
  'user',
];

/** At most this many stop strings (OpenAI's limit) and prompts in one completions request. */
export const MAX_STOP = 4;
export const MAX_PROMPTS = 64;
/** top_logprobs (chat) at most 20; logprobs (completions) at most 5: OpenAI's limits. */
export const MAX_TOP_LOGPROBS = 20;
export const MAX_COMPLETION_LOGPROBS = 5;

function isObject(v: unknown): v is Body {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function wrongType(param: string, expected: string, v: unknown): ApiError {
  return badParam(
    param,
    `Invalid type for '${param}': expected ${expected}, but got ${kindOf(v)} instead.`,
    'invalid_type',
  );
}

/** body[key] when present and not null. */
function opt(body: Body, key: string): unknown {
  return body[key] ?? undefined;
}

function num(body: Body, key: string): number | undefined {
  const v = opt(body, key);
  if (v !== undefined && typeof v !== 'number') throw wrongType(key, 'a number', v);
  return v;
}

function bool(body: Body, key: string): boolean | undefined {
  const v = opt(body, key);
  if (v !== undefined && typeof v !== 'boolean') throw wrongType(key, 'a boolean', v);
  return v;
}

/** Refuses unknown fields and unimplemented ones at a value that would change the result. */
function checkFields(body: Body, known: readonly string[]): void {
  for (const key of Object.keys(body)) {
    if (!known.includes(key))
      throw badParam(key, `Unrecognized request argument supplied: ${key}`, 'unknown_parameter');
    const neutral = NEUTRAL[key];
    if (neutral && body[key] !== null && !neutral[0](body[key]))
      throw badParam(
        key,
        `'${key}' is not supported by this server; leave it out or set it to ${neutral[1]}`,
        'unsupported_value',
      );
  }
}

/** The sampling fields, each type- and range-checked with the library's validator, errors naming the field. */
function sampling(body: Body, maxTokensKey: string): GenerationRequest['sampling'] & { seeded: boolean } {
  const names: Record<keyof SamplingParams, string> = {
    temperature: 'temperature',
    topP: 'top_p',
    topK: 'top_k',
    maxTokens: maxTokensKey,
    seed: 'seed',
    stop: 'stop',
    n: 'n',
  };
  const p: SamplingParams = {};
  for (const k of ['temperature', 'topP', 'topK', 'maxTokens', 'seed', 'n'] as const) {
    const v = num(body, names[k]);
    if (v === undefined) continue;
    try {
      checkSamplingParams({ [k]: v }, { who: 'invalid value', names });
    } catch (e) {
      throw badParam(names[k], (e as Error).message);
    }
    p[k] = v;
  }
  const stop = opt(body, 'stop');
  if (stop !== undefined) {
    const list = typeof stop === 'string' ? [stop] : stop;
    if (!Array.isArray(list) || list.some((s) => typeof s !== 'string'))
      throw wrongType('stop', 'a string or an array of strings', stop);
    if (list.length > MAX_STOP) throw badParam('stop', `'stop' holds at most ${MAX_STOP} strings, got ${list.length}`);
    if (list.some((s) => s === '')) throw badParam('stop', "'stop' strings must not be empty");
    p.stop = list as string[];
  }
  const r = checkSamplingParams(p, { who: 'invalid value', names });
  return { ...r, maxTokens: p.maxTokens ?? null, seeded: p.seed !== undefined };
}

function streaming(body: Body): { stream: boolean; includeUsage: boolean } {
  const stream = bool(body, 'stream') ?? false;
  const so = opt(body, 'stream_options');
  if (so === undefined) return { stream, includeUsage: false };
  if (!isObject(so)) throw wrongType('stream_options', 'an object', so);
  if (!stream) throw badParam('stream_options', "'stream_options' is only allowed when 'stream' is true");
  for (const k of Object.keys(so))
    if (k !== 'include_usage')
      throw badParam(`stream_options.${k}`, `Unrecognized stream option: ${k}`, 'unknown_parameter');
  const iu = so.include_usage ?? false;
  if (typeof iu !== 'boolean') throw wrongType('stream_options.include_usage', 'a boolean', iu);
  return { stream, includeUsage: iu };
}

/** `model`: a string naming the served model (a 404 names any other). */
function model(body: Body, served: string): string {
  const m = body.model;
  if (m === undefined || m === null)
    throw badParam('model', "you must provide a model parameter ('model')", 'missing_required_parameter');
  if (typeof m !== 'string') throw wrongType('model', 'a string', m);
  if (m !== served)
    throw new ApiError(
      404,
      `The model '${m}' does not exist (this server serves '${served}')`,
      'model',
      'model_not_found',
    );
  return m;
}

/** The text of a message's content: a string, or an array of text parts. */
function contentText(v: unknown, param: string): string {
  if (typeof v === 'string') return v;
  if (!Array.isArray(v)) throw wrongType(param, 'a string or an array of text parts', v);
  return v
    .map((part, j) => {
      const where = `${param}[${j}]`;
      if (!isObject(part)) throw wrongType(where, 'an object', part);
      if (part.type !== 'text')
        throw badParam(`${where}.type`, `only text parts are supported, got type ${JSON.stringify(part.type)}`);
      if (typeof part.text !== 'string') throw wrongType(`${where}.text`, 'a string', part.text);
      return part.text;
    })
    .join('');
}

const ROLES = ['system', 'developer', 'user', 'assistant'];

/** Checks a `POST /v1/chat/completions` body. */
export function parseChatRequest(body: unknown, served: string): GenerationRequest {
  if (!isObject(body)) throw new ApiError(400, `The request body must be a JSON object, got ${kindOf(body)}`);
  checkFields(body, CHAT_FIELDS);
  const name = model(body, served);
  const raw = body.messages;
  if (raw === undefined || raw === null)
    throw badParam('messages', "you must provide 'messages'", 'missing_required_parameter');
  if (!Array.isArray(raw)) throw wrongType('messages', 'an array', raw);
  if (raw.length === 0) throw badParam('messages', "'messages' must hold at least one message");
  const messages = raw.map((m, i): ChatMessage => {
    const where = `messages[${i}]`;
    if (!isObject(m)) throw wrongType(where, 'an object', m);
    for (const k of Object.keys(m))
      if (!['role', 'content', 'name', 'reasoning_content'].includes(k))
        throw badParam(`${where}.${k}`, `Unrecognized message field: ${k}`, 'unknown_parameter');
    if (typeof m.role !== 'string') throw wrongType(`${where}.role`, 'a string', m.role);
    if (!ROLES.includes(m.role))
      throw badParam(`${where}.role`, `'${m.role}' is not one of ${ROLES.map((r) => `'${r}'`).join(', ')}`);
    // DeepSeek's rule: earlier turns' reasoning is not sent back (a `reasoning_content` there is ignored)
    return { role: m.role === 'developer' ? 'system' : m.role, content: contentText(m.content, `${where}.content`) };
  });
  const s = sampling(body, opt(body, 'max_completion_tokens') !== undefined ? 'max_completion_tokens' : 'max_tokens');
  const logprobs = bool(body, 'logprobs') ?? false;
  const top = num(body, 'top_logprobs');
  if (top !== undefined) {
    if (!(Number.isInteger(top) && top >= 0 && top <= MAX_TOP_LOGPROBS))
      throw badParam('top_logprobs', `'top_logprobs' must be an integer in [0, ${MAX_TOP_LOGPROBS}], got ${top}`);
    if (!logprobs) throw badParam('top_logprobs', "'top_logprobs' needs 'logprobs' set to true");
  }
  const { seeded, ...samplingOnly } = s;
  return {
    kind: 'chat',
    model: name,
    messages,
    prompts: [],
    sampling: samplingOnly,
    seeded,
    logprobs: logprobs ? (top ?? 0) : null,
    ...streaming(body),
  };
}

/** Checks a `POST /v1/completions` body (max_tokens defaults to 16, as OpenAI's). */
export function parseCompletionRequest(body: unknown, served: string): GenerationRequest {
  if (!isObject(body)) throw new ApiError(400, `The request body must be a JSON object, got ${kindOf(body)}`);
  checkFields(body, COMPLETION_FIELDS);
  const name = model(body, served);
  const prompts = promptList(body.prompt);
  const s = sampling(body, 'max_tokens');
  const bestOf = num(body, 'best_of');
  if (bestOf !== undefined && bestOf !== s.n)
    throw badParam(
      'best_of',
      `'best_of' is not supported by this server; leave it out or set it to n (${s.n})`,
      'unsupported_value',
    );
  const lp = num(body, 'logprobs');
  if (lp !== undefined && !(Number.isInteger(lp) && lp >= 0 && lp <= MAX_COMPLETION_LOGPROBS))
    throw badParam('logprobs', `'logprobs' must be an integer in [0, ${MAX_COMPLETION_LOGPROBS}], got ${lp}`);
  const { seeded, ...samplingOnly } = s;
  return {
    kind: 'completion',
    model: name,
    messages: [],
    prompts,
    sampling: { ...samplingOnly, maxTokens: samplingOnly.maxTokens ?? 16 },
    seeded,
    logprobs: lp ?? null,
    ...streaming(body),
  };
}

/** `prompt`: a string, an array of strings, an array of token ids, or an array of those. */
function promptList(v: unknown): (string | number[])[] {
  if (v === undefined || v === null)
    throw badParam('prompt', "you must provide 'prompt'", 'missing_required_parameter');
  const isIds = (x: unknown): x is number[] => Array.isArray(x) && x.length > 0 && x.every((t) => Number.isInteger(t));
  let list: unknown[];
  if (typeof v === 'string' || isIds(v)) list = [v];
  else if (Array.isArray(v) && v.length > 0) list = v;
  else throw wrongType('prompt', 'a string, an array of strings or an array of token ids', v);
  if (list.length > MAX_PROMPTS)
    throw badParam('prompt', `'prompt' holds at most ${MAX_PROMPTS} prompts, got ${list.length}`);
  return list.map((p, i) => {
    if (typeof p === 'string' || isIds(p)) return p;
    throw wrongType(`prompt[${i}]`, 'a string or an array of token ids', p);
  });
}
