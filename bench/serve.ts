/**
 * Serving throughput and latency, and MTP speculative decoding at batch 1.
 *
 * Part 1 starts `r1ts serve` on the model (a child process on an ephemeral loopback port, so the clients here do not
 * share its event loop) and sends the same streamed chat requests (distinct prompts, seeded, temperature 1) through
 * 1, 8 and 32 concurrent clients: tokens/s over the whole set, and p50 / p99 time to the first token (the first
 * chunk that carries text). The requests are the same at every concurrency and seeded, so the server generates the
 * same tokens each time (batch-invariant decoding): only the concurrency changes. 1 client is the requests served one
 * by one.
 *
 * Part 2 decodes prompts one at a time in this process with `generate` (batch 1), plain and with `speculative: 'mtp'`,
 * alternating A/B run by run: tokens/s, the speed-up, and the share of drafts accepted. Greedy and temperature 1.
 *
 *   node --import tsx bench/serve.ts --model DIR [--requests 64] [--max-tokens 64] [--clients 1,8,32]
 *                                    [--mtp-prompts 16] [--mtp-reps 3] [--skip-serve] [--skip-mtp]
 *
 * Not a test: numbers go to BENCHMARKS.md with the machine and its load.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend/select.js';
import { loadModelAndTokenizer } from '../src/io/load.js';
import { generate } from '../src/infer/generate.js';
import { applyChatTemplate } from '../src/data/chat.js';
import { addTask } from '../src/data/tasks/index.js';

initBackend();

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    requests: { type: 'string', default: '64' },
    'max-tokens': { type: 'string', default: '64' },
    clients: { type: 'string', default: '1,8,32' },
    'mtp-prompts': { type: 'string', default: '16' },
    'mtp-reps': { type: 'string', default: '3' },
    'skip-serve': { type: 'boolean', default: false },
    'skip-mtp': { type: 'boolean', default: false },
  },
});
if (!values.model) throw new Error('bench/serve.ts: --model DIR is required');
const dir = values.model;
const maxTokens = Number(values['max-tokens']);
const questions = addTask.problems(Math.max(Number(values.requests), Number(values['mtp-prompts'])), {
  difficulty: 1,
  seed: 123,
});
const load = () => loadavg()[0].toFixed(1);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/** Starts `r1ts serve` on port 0 and resolves with its URL and a stop function. */
async function startServe(): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [
    '--import',
    'tsx',
    'src/cli/main.ts',
    'serve',
    '--model',
    dir,
    '--port',
    '0',
    '--served-model-name',
    'bench',
    '--max-batch',
    '32',
  ]);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr.pipe(process.stderr);
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  for (let i = 0; i < 1200 && !/ on (http:\S+) /.test(out); i++) await new Promise((r) => setTimeout(r, 50));
  const url = / on (http:\S+) /.exec(out)?.[1];
  if (!url) throw new Error(`bench/serve.ts: r1ts serve did not start: ${out}`);
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** One streamed chat request: completion tokens and the time to its first text chunk (ms). */
async function ask(url: string, i: number): Promise<{ tokens: number; ttft: number }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      model: 'bench',
      messages: [{ role: 'user', content: questions[i].prompt }],
      temperature: 1,
      seed: i,
      max_tokens: maxTokens,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (res.status !== 200 || !res.body) throw new Error(`bench/serve.ts: HTTP ${res.status}: ${await res.text()}`);
  let ttft = -1;
  let tokens = -1;
  let buf = '';
  const decoder = new TextDecoder();
  for await (const part of res.body) {
    buf += decoder.decode(part, { stream: true });
    let at = buf.indexOf('\n\n');
    while (at >= 0) {
      const line = buf.slice(0, at);
      buf = buf.slice(at + 2);
      at = buf.indexOf('\n\n');
      if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
      const chunk = JSON.parse(line.slice(6));
      const d = chunk.choices?.[0]?.delta;
      if (ttft < 0 && d && (d.content || d.reasoning_content)) ttft = performance.now() - t0;
      if (chunk.usage) tokens = chunk.usage.completion_tokens;
    }
  }
  if (tokens < 0) throw new Error('bench/serve.ts: a stream ended without its usage chunk');
  return { tokens, ttft };
}

/** The request set through `clients` concurrent clients. */
async function round(url: string, n: number, clients: number) {
  let next = 0;
  const ttfts: number[] = [];
  let tokens = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < n) {
        const r = await ask(url, next++);
        tokens += r.tokens;
        if (r.ttft >= 0) ttfts.push(r.ttft);
      }
    }),
  );
  const sec = (performance.now() - t0) / 1000;
  return { tokens, sec, tps: tokens / sec, p50: pct(ttfts, 50), p99: pct(ttfts, 99) };
}

if (!values['skip-serve']) {
  const n = Number(values.requests);
  const levels = values.clients.split(',').map(Number);
  const server = await startServe();
  try {
    await round(server.url, Math.min(n, 8), 8); // warm-up
    console.log(`serve: ${n} streamed chat requests, max_tokens ${maxTokens}, temperature 1, seeded (${dir})`);
    console.log('clients  tokens  seconds  tokens/s  vs 1 client  TTFT p50 ms  TTFT p99 ms  load');
    let base = 0;
    for (const c of levels) {
      const r = await round(server.url, n, c);
      base ||= r.tps;
      console.log(
        `${String(c).padStart(7)}  ${String(r.tokens).padStart(6)}  ${r.sec.toFixed(1).padStart(7)}  ${r.tps.toFixed(0).padStart(8)}  ${(r.tps / base).toFixed(2).padStart(10)}x  ${r.p50.toFixed(0).padStart(11)}  ${r.p99.toFixed(0).padStart(11)}  ${load()}`,
      );
    }
  } finally {
    await server.stop();
  }
}

if (!values['skip-mtp']) {
  const { model, tok } = loadModelAndTokenizer(dir);
  const prompts = questions.slice(0, Number(values['mtp-prompts'])).map((q) =>
    tok.encode(applyChatTemplate(tok, [{ role: 'user', content: q.prompt }], { addGenerationPrompt: true }), {
      addSpecialTokens: false,
    }),
  );
  /** Every prompt alone (batch 1), in order: tokens, seconds, drafts and accepted drafts. */
  const run = (speculative: 'none' | 'mtp', temperature: number) => {
    let tokens = 0;
    let drafted = 0;
    let accepted = 0;
    const t0 = performance.now();
    prompts.forEach((p, i) => {
      const [g] = generate(model, [p], { maxTokens, temperature, seed: i, speculative, eosId: tok.eosId });
      tokens += g.tokens.length;
      drafted += g.drafted ?? 0;
      accepted += g.accepted ?? 0;
    });
    return { tokens, sec: (performance.now() - t0) / 1000, drafted, accepted };
  };
  console.log(`\nMTP speculative decoding, batch 1: ${prompts.length} prompts, max_tokens ${maxTokens} (${dir})`);
  console.log('temperature  rep  plain tok/s  mtp tok/s  speed-up  accepted  load');
  for (const temperature of [0, 1]) {
    run('none', temperature); // warm-up
    run('mtp', temperature);
    const ratios: number[] = [];
    let drafted = 0;
    let accepted = 0;
    for (let rep = 0; rep < Number(values['mtp-reps']); rep++) {
      // alternate which goes first, so a change in the machine's load hits both
      let plain: ReturnType<typeof run>;
      let spec: ReturnType<typeof run>;
      if (rep % 2 === 0) {
        plain = run('none', temperature);
        spec = run('mtp', temperature);
      } else {
        spec = run('mtp', temperature);
        plain = run('none', temperature);
      }
      const r = spec.tokens / spec.sec / (plain.tokens / plain.sec);
      ratios.push(r);
      drafted += spec.drafted;
      accepted += spec.accepted;
      console.log(
        `${String(temperature).padStart(11)}  ${String(rep + 1).padStart(3)}  ${(plain.tokens / plain.sec).toFixed(0).padStart(11)}  ${(spec.tokens / spec.sec).toFixed(0).padStart(9)}  ${r.toFixed(2).padStart(7)}x  ${((100 * spec.accepted) / spec.drafted).toFixed(1).padStart(7)}%  ${load()}`,
      );
    }
    console.log(
      `temperature ${temperature}: median speed-up ${pct(ratios, 50).toFixed(2)}x, ${accepted}/${drafted} drafts accepted (${((100 * accepted) / drafted).toFixed(1)}%)`,
    );
  }
}
