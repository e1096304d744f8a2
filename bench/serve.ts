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
 * Part 2 runs the same requests through `generate` without HTTP, one by one and in fixed batches of 32: the CPU time
 * per token that batching can at best reach on this model, to compare the server's with.
 *
 * Part 3 decodes prompts one at a time in this process with `generate` (batch 1), plain and with `speculative: 'mtp'`,
 * alternating A/B run by run: tokens/s, the speed-up, and the share of drafts accepted. Greedy and temperature 1.
 *
 *   node --import tsx bench/serve.ts --model DIR [--requests 64] [--max-tokens 64] [--clients 1,8,32]
 *       [--serve-reps 3] [--mtp-prompts 16] [--mtp-reps 3] [--skip-serve] [--skip-fixed] [--skip-mtp]
 *
 * Not a test: numbers go to BENCHMARKS.md with the machine and its load.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
    'serve-reps': { type: 'string', default: '3' },
    'mtp-prompts': { type: 'string', default: '16' },
    'mtp-reps': { type: 'string', default: '3' },
    'skip-serve': { type: 'boolean', default: false },
    'skip-mtp': { type: 'boolean', default: false },
    'skip-fixed': { type: 'boolean', default: false },
  },
});
if (!values.model) throw new Error('bench/serve.ts: --model DIR is required');
const dir = values.model;
const maxTokens = Number(values['max-tokens']);
const questions = addTask.problems(Math.max(Number(values.requests), Number(values['mtp-prompts'])), {
  split: 'test',
  seed: 123,
});
const load = () => loadavg()[0].toFixed(1);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/** CPU seconds a process has used (user + system), from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** Starts `r1ts serve` on port 0 and resolves with its URL, its CPU seconds so far, and a stop function. */
async function startServe(): Promise<{ url: string; cpu: () => number; stop: () => Promise<void> }> {
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
    cpu: () => cpuSeconds(child.pid!),
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

/** The request set through `clients` concurrent clients; `cpu` reads the server's CPU seconds. */
async function round(url: string, n: number, clients: number, cpu: () => number = () => 0) {
  let next = 0;
  const ttfts: number[] = [];
  let tokens = 0;
  const t0 = performance.now();
  const c0 = cpu();
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
  const cpuMs = ((cpu() - c0) * 1000) / tokens;
  return { tokens, sec, tps: tokens / sec, cpuMs, p50: pct(ttfts, 50), p99: pct(ttfts, 99) };
}

if (!values['skip-serve']) {
  const n = Number(values.requests);
  const levels = values.clients.split(',').map(Number);
  const reps = Number(values['serve-reps']);
  const server = await startServe();
  try {
    await round(server.url, Math.min(n, 8), 8); // warm-up
    console.log(`serve: ${n} streamed chat requests, max_tokens ${maxTokens}, temperature 1, seeded (${dir})`);
    console.log('rep  clients  tokens  seconds  tokens/s  server CPU ms/token  TTFT p50 ms  TTFT p99 ms  load');
    const best = new Map<number, { tps: number; cpuMs: number; p50: number; p99: number }>();
    for (let rep = 0; rep < reps; rep++) {
      // the order of the levels alternates rep by rep, so a change in the machine's load hits all of them
      for (const c of rep % 2 === 0 ? levels : [...levels].reverse()) {
        const r = await round(server.url, n, c, server.cpu);
        const b = best.get(c);
        best.set(c, {
          tps: Math.max(b?.tps ?? 0, r.tps),
          cpuMs: Math.min(b?.cpuMs ?? Infinity, r.cpuMs),
          p50: Math.min(b?.p50 ?? Infinity, r.p50),
          p99: Math.min(b?.p99 ?? Infinity, r.p99),
        });
        console.log(
          `${String(rep + 1).padStart(3)}  ${String(c).padStart(7)}  ${String(r.tokens).padStart(6)}  ${r.sec.toFixed(1).padStart(7)}  ${r.tps.toFixed(0).padStart(8)}  ${r.cpuMs.toFixed(2).padStart(19)}  ${r.p50.toFixed(0).padStart(11)}  ${r.p99.toFixed(0).padStart(11)}  ${load()}`,
        );
      }
    }
    const one = best.get(levels[0])!;
    console.log(`best of ${reps}:`);
    for (const [c, b] of best)
      console.log(
        `  ${c} client(s): ${b.tps.toFixed(0)} tokens/s (${(b.tps / one.tps).toFixed(2)}x), ${b.cpuMs.toFixed(2)} CPU ms/token (${(one.cpuMs / b.cpuMs).toFixed(2)}x less), TTFT p50 ${b.p50.toFixed(0)} ms, p99 ${b.p99.toFixed(0)} ms`,
      );
  } finally {
    await server.stop();
  }
}

if (!values['skip-fixed']) {
  // the same requests without HTTP: `generate` in fixed batches (what the server's batching can at best approach)
  const { model, tok } = loadModelAndTokenizer(dir);
  const n = Number(values.requests);
  const prompts = questions.slice(0, n).map((q) =>
    tok.encode(applyChatTemplate(tok, [{ role: 'user', content: q.prompt }], { addGenerationPrompt: true }), {
      addSpecialTokens: false,
    }),
  );
  console.log(`\nthe same ${n} requests through generate() (no HTTP), fixed batches, CPU ms per generated token:`);
  for (const batch of [1, 32, 1, 32]) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const opts = { maxTokens, temperature: 1, seed: 0, eosId: tok.eosId };
    const gens =
      batch === 1
        ? prompts.flatMap((p, i) => generate(model, [p], { ...opts, seed: i }))
        : generate(model, prompts, { ...opts, batchSize: batch });
    const c = process.cpuUsage(c0);
    const tokens = gens.reduce((t, g) => t + g.tokens.length, 0);
    const sec = (performance.now() - t0) / 1000;
    console.log(
      `  batch ${batch}: ${tokens} tokens, ${(tokens / sec).toFixed(0)} tokens/s, ${((c.user + c.system) / 1000 / tokens).toFixed(2)} CPU ms/token, load ${load()}`,
    );
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
    const outputs: number[][] = [];
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    prompts.forEach((p, i) => {
      const [g] = generate(model, [p], { maxTokens, temperature, seed: i, speculative, eosId: tok.eosId });
      outputs.push(g.tokens);
      tokens += g.tokens.length;
      drafted += g.drafted ?? 0;
      accepted += g.accepted ?? 0;
    });
    const c = process.cpuUsage(c0);
    return { tokens, outputs, sec: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6, drafted, accepted };
  };
  console.log(`\nMTP speculative decoding, batch 1: ${prompts.length} prompts, max_tokens ${maxTokens} (${dir})`);
  console.log(
    'temperature  rep  plain tok/s  mtp tok/s  wall speed-up  plain CPU ms/tok  mtp CPU ms/tok  CPU speed-up  accepted  load',
  );
  for (const temperature of [0, 1]) {
    run('none', temperature); // warm-up
    run('mtp', temperature);
    const wall: number[] = [];
    const cpu: number[] = [];
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
      // greedy decoding is exact: the same tokens with and without drafts
      if (temperature === 0 && JSON.stringify(spec.outputs) !== JSON.stringify(plain.outputs))
        throw new Error('bench/serve.ts: greedy output differs with --speculative mtp');
      const w = spec.tokens / spec.sec / (plain.tokens / plain.sec);
      const pc = (1000 * plain.cpu) / plain.tokens;
      const sc = (1000 * spec.cpu) / spec.tokens;
      wall.push(w);
      cpu.push(pc / sc);
      drafted += spec.drafted;
      accepted += spec.accepted;
      console.log(
        `${String(temperature).padStart(11)}  ${String(rep + 1).padStart(3)}  ${(plain.tokens / plain.sec).toFixed(0).padStart(11)}  ${(spec.tokens / spec.sec).toFixed(0).padStart(9)}  ${w.toFixed(2).padStart(12)}x  ${pc.toFixed(3).padStart(16)}  ${sc.toFixed(3).padStart(14)}  ${(pc / sc).toFixed(2).padStart(11)}x  ${((100 * spec.accepted) / spec.drafted).toFixed(1).padStart(7)}%  ${load()}`,
      );
    }
    console.log(
      `temperature ${temperature}: median speed-up ${pct(wall, 50).toFixed(2)}x wall, ${pct(cpu, 50).toFixed(2)}x CPU time per token; ${accepted}/${drafted} drafts accepted (${((100 * accepted) / drafted).toFixed(1)}%)`,
    );
  }
}
