// The server under load and at shutdown, over loopback with the official `openai` client: 64 concurrent streaming
// clients for a fixed number of requests (every stream complete and well-formed, no rows left, memory back to its
// baseline), and the graceful shutdown (running requests finish within the timeout, later ones are cancelled with an
// error event, new connections are refused).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import OpenAI from 'openai';
import '../../src/tensor/index.js';
import { taughtServer } from './helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap in use after a full collection. */
async function heapAfterGc(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
  return process.memoryUsage().heapUsed;
}

describe('serve under load', () => {
  it('64 concurrent streaming clients, 128 requests: every stream complete, no rows left, memory back', async () => {
    const s = await taughtServer({ maxBatch: 32, maxQueue: 256 });
    const api = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    /** One streamed completion of request i: its text, its finish reason, its usage, checked chunk by chunk. */
    const one = async (i: number) => {
      const maxTokens = 4 + (i % 13);
      const stream = await api.chat.completions.create({
        model: 'toy',
        messages: [{ role: 'user', content: `Add ${i} and ${i % 7}.` }],
        temperature: 1,
        seed: i,
        max_tokens: maxTokens,
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      let finish: string | null = null;
      let usage: OpenAI.CompletionUsage | null = null;
      for await (const chunk of stream) {
        assert.equal(chunk.object, 'chat.completion.chunk');
        assert.equal(finish === null || chunk.choices.length === 0, true, 'nothing after the finish chunk but usage');
        if (chunk.usage) usage = chunk.usage;
        for (const c of chunk.choices) {
          text += (c.delta as { reasoning_content?: string }).reasoning_content ?? '';
          text += c.delta.content ?? '';
          finish = c.finish_reason ?? finish;
        }
      }
      assert.ok(finish === 'stop' || finish === 'length', `request ${i}: finish ${finish}`);
      assert.ok(usage !== null, `request ${i}: a usage chunk`);
      if (finish === 'length') assert.equal(usage.completion_tokens, maxTokens, `request ${i}`);
      else assert.ok(usage.completion_tokens <= maxTokens, `request ${i}`);
      // EOS ends a choice as its last token; any earlier token is text (the toy tokenizer's pieces are ASCII)
      if (usage.completion_tokens >= 2) assert.ok(text.length > 0, `request ${i}: no text`);
      return usage.completion_tokens;
    };
    /** `total` requests through `clients` concurrent clients, each sending its next request when one ends. */
    const round = async (first: number, total: number, clients: number) => {
      let next = first;
      let tokens = 0;
      await Promise.all(
        Array.from({ length: clients }, async () => {
          while (next < first + total) {
            const n = await one(next++);
            tokens += n;
          }
        }),
      );
      return tokens;
    };
    try {
      await round(0, 64, 64); // warm-up: code paths compiled, buffers and sockets made once
      const baseline = await heapAfterGc();
      const before = s.engine.status().stats;
      const tokens = await round(1000, 128, 64);
      const after = s.engine.status();
      assert.equal(after.stats.tokens - before.tokens, tokens, 'every generated token reached its client');
      assert.equal(after.stats.cancelled, before.cancelled, 'nothing cancelled');
      assert.deepEqual([after.running, after.waiting, after.rows], [0, 0, 0], 'no rows left');
      const grown = (await heapAfterGc()) - baseline;
      // one leaked Sequence per request (with its callbacks and response) grows it by ~1.1 MiB over these 128
      assert.ok(grown < 2 ** 20, `heap grew by ${(grown / 2 ** 20).toFixed(1)} MiB over the load`);
    } finally {
      await s.close(1000);
    }
  });
});

describe('graceful shutdown', () => {
  it('running requests finish within the timeout; past it they are cancelled; new connections are refused', async () => {
    const s = await taughtServer();
    const api = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const messages = [{ role: 'user' as const, content: 'Add 2 and 3.' }];
    // a short request finishes although the shutdown starts while it runs
    const short = api.chat.completions.create({ model: 'toy', messages, max_tokens: 8, temperature: 1, seed: 1 });
    while (s.engine.status().running === 0) await new Promise((r) => setTimeout(r, 1));
    const closed = s.close(5000);
    const r = await short;
    assert.equal(r.choices[0].finish_reason === 'length' || r.choices[0].finish_reason === 'stop', true);
    await closed;
    await assert.rejects(api.models.list(), OpenAI.APIConnectionError);

    // a long stream outlives a short timeout: it ends with an error event, which the client throws
    const t = await taughtServer();
    const api2 = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const long = await api2.completions.create({
      model: 'toy',
      prompt: t.prompt,
      max_tokens: 150,
      temperature: 0,
      stream: true,
    });
    let chunks = 0;
    let closing: Promise<void> | null = null;
    await assert.rejects(
      async () => {
        for await (const _ of long) if (++chunks === 2) closing = t.close(0);
      },
      (e: unknown) => e instanceof OpenAI.APIError && /shut down/.test(e.message),
    );
    await closing;
    assert.ok(chunks < 150, `${chunks} chunks before the cancel`);
    assert.equal(t.engine.status().stats.cancelled, 1);
  });
});
