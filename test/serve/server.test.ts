// The OpenAI-compatible server driven by the official `openai` client, as a user would: a toy model taught one
// conversation answers it with a known chain of thought, so reasoning_content, content, stop strings and usage have
// exact expected values. Also: n > 1, seeds that give the same tokens alone and under load, completions, logprobs,
// every error status, a client that aborts mid-stream, speculative decoding through the server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import '../../src/tensor/index.js';
import type { RunningServer } from '../../src/serve/server.js';
import { ANSWER, QUESTION, REASONING, type Taught, taughtServer } from './helpers.js';

type Server = RunningServer & Taught;
const MESSAGES = [{ role: 'user' as const, content: QUESTION }];

/** reasoning_content is DeepSeek's field, not in the client's types. */
const reasoningOf = (m: object): string | undefined => (m as { reasoning_content?: string }).reasoning_content;

function client(s: Server): OpenAI {
  return new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'unused', maxRetries: 0 });
}

/** Waits until the server runs nothing and holds no rows (bounded). */
async function settled(s: Server): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const st = s.engine.status();
    if (st.running === 0 && st.waiting === 0 && st.rows === 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`the server did not settle: ${JSON.stringify(s.engine.status())}`);
}

describe('serve: the openai client against r1ts serve', () => {
  let s: Server;
  let api: OpenAI;
  before(async () => {
    s = await taughtServer();
    api = client(s);
  });
  after(() => s.close(1000));

  it('lists the model and answers /health', async () => {
    const models = await api.models.list();
    assert.deepEqual(
      models.data.map((m) => m.id),
      ['toy'],
    );
    assert.equal((await api.models.retrieve('toy')).id, 'toy');
    const health = (await (await fetch(`${s.url}/health`)).json()) as Record<string, unknown>;
    assert.equal(health.status, 'ok');
  });

  it('chat: the chain of thought in reasoning_content, the answer in content, usage counted', async () => {
    const r = await api.chat.completions.create({ model: 'toy', messages: MESSAGES, temperature: 0 });
    const [c] = r.choices;
    assert.equal(r.object, 'chat.completion');
    assert.equal(reasoningOf(c.message), REASONING);
    assert.equal(c.message.content, ANSWER);
    assert.equal(c.finish_reason, 'stop');
    const generated = s.sequence.length - s.prompt.length; // the EOS token included
    assert.deepEqual(
      { ...r.usage, completion_tokens_details: undefined },
      {
        prompt_tokens: s.prompt.length,
        completion_tokens: generated,
        total_tokens: s.sequence.length,
        completion_tokens_details: undefined,
      },
    );
    // reasoning tokens: the generated tokens up to the one that completes `</think>`
    const out = s.sequence.slice(s.prompt.length);
    let thinking = 1;
    while (!s.tok.decode(out.slice(0, thinking)).includes('</think>')) thinking++;
    assert.equal(r.usage?.completion_tokens_details?.reasoning_tokens, thinking);
  });

  it('chat, streaming: reasoning deltas, then content deltas, a finish chunk, a usage chunk, [DONE]', async () => {
    const stream = await api.chat.completions.create({
      model: 'toy',
      messages: MESSAGES,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let reasoning = '';
    let content = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined = null;
    let sawContent = false;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      if (chunk.usage) usage = chunk.usage;
      if (chunk.choices.length === 0) continue;
      const d = chunk.choices[0].delta;
      const r = reasoningOf(d);
      assert.ok(!(r && d.content), 'a chunk carries reasoning or content, not both');
      if (r) {
        assert.ok(!sawContent, 'reasoning comes before content');
        reasoning += r;
      }
      if (d.content) {
        sawContent = true;
        content += d.content;
      }
      finish = chunk.choices[0].finish_reason ?? finish;
    }
    assert.equal(reasoning, REASONING);
    assert.equal(content, ANSWER);
    assert.equal(finish, 'stop');
    assert.equal(usage?.completion_tokens, s.sequence.length - s.prompt.length);
    assert.ok(chunks > 8, `${chunks} chunks: one per token or so`);
  });

  it('stop strings: the text ends before the stop string (reasoning included), finish_reason stop', async () => {
    const r = await api.chat.completions.create({ model: 'toy', messages: MESSAGES, temperature: 0, stop: ['makes'] });
    assert.equal(reasoningOf(r.choices[0].message), '2 plus 2 ');
    assert.equal(r.choices[0].message.content, '');
    assert.equal(r.choices[0].finish_reason, 'stop');
    const inAnswer = await api.chat.completions.create({
      model: 'toy',
      messages: MESSAGES,
      temperature: 0,
      stop: ['is 4', 'nothing'],
      stream: true,
    });
    let content = '';
    for await (const chunk of inAnswer) content += chunk.choices[0]?.delta.content ?? '';
    assert.equal(content, '\n\nThe answer ');
  });

  it('n > 1 with a seed: n choices, reproducible; max_tokens cuts with finish_reason length', async () => {
    const ask = () =>
      api.chat.completions.create({
        model: 'toy',
        messages: MESSAGES,
        n: 3,
        seed: 11,
        temperature: 1.5,
        max_completion_tokens: 6,
      });
    const [a, b] = [await ask(), await ask()];
    assert.deepEqual(
      a.choices.map((c) => c.index),
      [0, 1, 2],
    );
    assert.deepEqual(a.choices, b.choices);
    for (const c of a.choices) assert.equal(c.finish_reason, 'length');
    assert.equal(a.usage?.completion_tokens, 18);
    assert.notDeepEqual(a.choices[0].message, a.choices[1].message);
  });

  it('a seeded request gives the same tokens and logprobs alone and under load', async () => {
    const req = {
      model: 'toy',
      messages: [{ role: 'user' as const, content: 'Add 17 and 25.' }],
      seed: 5,
      temperature: 1,
      max_tokens: 24,
      logprobs: true,
      top_logprobs: 2,
    };
    const alone = await api.chat.completions.create(req);
    const others = Array.from({ length: 12 }, (_, i) =>
      api.chat.completions.create({ ...req, seed: 100 + i, max_tokens: 5 + i, n: 1 + (i % 3) }),
    );
    const [loaded] = await Promise.all([api.chat.completions.create(req), ...others]);
    assert.deepEqual(loaded.choices, alone.choices);
    const lp = alone.choices[0].logprobs as { content: unknown[]; reasoning_content?: unknown[] };
    assert.equal(lp.content.length + (lp.reasoning_content?.length ?? 0), 24, 'one entry per token');
    await settled(s);
  });

  it('completions: raw prompts, n, logprobs with text offsets, usage', async () => {
    const r = await api.completions.create({
      model: 'toy',
      prompt: ['Add 3', 'Add 4'],
      n: 2,
      max_tokens: 5,
      logprobs: 2,
      seed: 1,
    });
    assert.equal(r.object, 'text_completion');
    assert.deepEqual(
      r.choices.map((c) => c.index),
      [0, 1, 2, 3],
    );
    let tokens = 0;
    for (const c of r.choices) {
      // EOS ends a choice (finish_reason stop) and counts in usage, but is no text and has no logprob entry
      const eos = c.finish_reason === 'stop' ? 1 : 0;
      if (!eos) assert.equal(c.logprobs?.tokens?.length, 5);
      tokens += (c.logprobs?.tokens?.length ?? 0) + eos;
      assert.equal(c.logprobs?.tokens?.join(''), c.text, 'the tokens spell the text');
      if (c.logprobs?.tokens?.length) assert.equal(c.logprobs.text_offset?.[0], 0);
      assert.equal(Object.keys(c.logprobs?.top_logprobs?.[0] ?? {}).length <= 2, true);
    }
    assert.equal(r.usage?.completion_tokens, tokens);
    assert.ok(r.choices.filter((c) => c.finish_reason === 'length').length >= 2, 'most choices run to max_tokens');
    // token ids as the prompt: the taught conversation, whose greedy answer is longer than 16 tokens
    assert.ok(s.sequence.length - s.prompt.length > 16);
    const defaults = await api.completions.create({ model: 'toy', prompt: s.prompt, temperature: 0 });
    assert.equal(defaults.usage?.completion_tokens, 16, "OpenAI's default max_tokens");
    assert.equal(defaults.choices[0].text, s.tok.decode(s.sequence.slice(s.prompt.length, s.prompt.length + 16)));
  });

  it('errors: OpenAI shapes and statuses, the field named', async () => {
    const status = async (p: Promise<unknown>, code: number, param?: string | null) => {
      const e = await p.then(
        () => assert.fail(`expected HTTP ${code}`),
        (x: unknown) => x,
      );
      assert.ok(e instanceof OpenAI.APIError, String(e));
      assert.equal(e.status, code, e.message);
      assert.equal(typeof (e.error as { message?: unknown })?.message, 'string');
      if (param !== undefined) assert.equal(e.param, param);
    };
    const base = { model: 'toy', messages: MESSAGES };
    const create = (extra: Record<string, unknown>) =>
      api.chat.completions.create({ ...base, ...extra } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    await status(create({ temperature: 'hot' }), 400, 'temperature');
    await status(create({ top_p: 0 }), 400, 'top_p');
    await status(create({ n: 1.5 }), 400, 'n');
    await status(create({ stop: [1] }), 400, 'stop');
    await status(create({ messages: [{ role: 'wizard', content: 'x' }] }), 400, 'messages[0].role');
    await status(create({ messages: 'hi' }), 400, 'messages');
    await status(create({ frobnicate: true }), 400, 'frobnicate');
    await status(create({ presence_penalty: 1 }), 400, 'presence_penalty');
    await status(create({ top_logprobs: 2 }), 400, 'top_logprobs');
    await status(create({ stream_options: { include_usage: true } }), 400, 'stream_options');
    await status(create({ model: 'gpt-4o' }), 404, 'model');
    await status(create({ messages: [{ role: 'user', content: 'Add 1 and 2. '.repeat(40) }] }), 400, 'messages');
    await status(create({ max_tokens: 400 }), 400, 'messages');
    await status(create({ messages: [{ role: 'user', content: 'x'.repeat(2 << 20) }] }), 413, null);
    await status(api.completions.create({ model: 'toy', prompt: [[1, 2, 99999]] }), 400, 'prompt');
    const raw = async (path: string, init: RequestInit, code: number) => {
      const res = await fetch(`${s.url}${path}`, init);
      assert.equal(res.status, code, path);
      const body = (await res.json()) as {
        error: { message: string; type: string; param: string | null; code: string | null };
      };
      assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
      return body.error;
    };
    const e = await raw('/v1/chat/completions', { method: 'POST', body: '{"model": "toy", "messages": [' }, 400);
    assert.match(e.message, /could not parse the JSON body/);
    await raw('/v1/chat/completions', { method: 'POST', body: '[1, 2]' }, 400);
    await raw('/v1/embeddings', { method: 'POST', body: '{}' }, 404);
    await raw('/v1/chat/completions', { method: 'GET' }, 405);
    await settled(s);
  });

  it('a client that aborts mid-stream is cancelled and its row freed', async () => {
    const before = s.engine.status().stats;
    const controller = new AbortController();
    const stream = await api.completions.create(
      { model: 'toy', prompt: 'Add 1', max_tokens: 200, temperature: 1, seed: 3, stream: true },
      { signal: controller.signal },
    );
    let chunks = 0;
    // the client's stream ends quietly when its signal aborts
    for await (const _ of stream) if (++chunks === 3) controller.abort();
    assert.equal(chunks, 3);
    await settled(s);
    const after = s.engine.status().stats;
    assert.equal(after.cancelled - before.cancelled, 1, 'the server cancelled the sequence');
    assert.ok(after.tokens - before.tokens < 200, `the row stopped after ${after.tokens - before.tokens} tokens`);
  });
});

describe('serve: queue and speculative decoding', () => {
  it('a full queue answers 429 with Retry-After', async () => {
    const s = await taughtServer({ maxBatch: 1, maxQueue: 2 });
    const api = client(s);
    try {
      const asks = Array.from({ length: 6 }, () =>
        api.completions.create({ model: 'toy', prompt: 'Add 2', max_tokens: 30, temperature: 1 }).then(
          () => 200,
          (e: InstanceType<typeof OpenAI.APIError>) => {
            if (e.status === 429) assert.equal(e.headers?.get('retry-after'), '1');
            return e.status;
          },
        ),
      );
      const codes = await Promise.all(asks);
      assert.ok(codes.includes(429) && codes.includes(200), `statuses ${codes}`);
      assert.ok(
        codes.every((c) => c === 200 || c === 429),
        `statuses ${codes}`,
      );
      await settled(s);
    } finally {
      await s.close(1000);
    }
  });

  it('--speculative mtp: the same greedy answer, drafts verified and accepted', async () => {
    const plain = await taughtServer();
    const spec = await taughtServer({ speculative: 'mtp' });
    try {
      const ask = (x: Server) =>
        client(x).chat.completions.create({ model: 'toy', messages: MESSAGES, temperature: 0 });
      const [a, b] = await Promise.all([ask(plain), ask(spec)]);
      assert.deepEqual(b.choices, a.choices);
      const { stats } = spec.engine.status();
      assert.ok(stats.drafted > 5 && stats.accepted > stats.drafted / 2, `${stats.accepted}/${stats.drafted} accepted`);
      const health = (await (await fetch(`${spec.url}/health`)).json()) as Record<string, unknown>;
      assert.equal(health.speculative, 'mtp');
      assert.equal(health.drafted, stats.drafted);
    } finally {
      await Promise.all([plain.close(1000), spec.close(1000)]);
    }
  });
});
