// Runs GGUF files in llama.cpp through node-llama-cpp (test/interop/node_modules), for test/io/gguf_llamacpp.test.ts.
// A child process in plain Node (no tsx: node-llama-cpp spawns helpers that would inherit the loader), so a native
// failure cannot take the test runner down. Reads one JSON job list on stdin, writes one JSON result list on stdout:
//   in:  {"threads": 2, "jobs": [{"file", "vocabSize", "texts": [..], "prompt": [ids], "forced": [ids], "greedy": N}]}
//   out: [{"tokenized": [[ids]..], "detokenized": [..], "greedy": [ids], "logprobs": [[log(p / p_max) or null]..],
//          "bos", "eos", "addBos", "chatTemplate"} | {"error": "..."}]
// `greedy` tokens are llama.cpp's own temperature-0 continuation of `prompt`; `logprobs` has one row per position of
// prompt + forced (the next-token distribution there, full vocabulary, relative to its most likely token).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = join(import.meta.dirname, '..', 'interop', 'node_modules', 'node-llama-cpp', 'dist', 'index.js');
const { getLlama } = await import(pathToFileURL(root).href);
const { threads, jobs } = JSON.parse(readFileSync(0, 'utf8'));
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });

async function run(job) {
  const model = await llama.loadModel({ modelPath: job.file, gpuLayers: 0 });
  // F32 KV cache: llama.cpp's default F16 cache would round keys and values (about 1e-3 relative).
  const context = await model.createContext({
    contextSize: 256,
    threads,
    flashAttention: false,
    experimentalKvCacheKeyType: 'F32',
    experimentalKvCacheValueType: 'F32',
  });
  const seq = context.getSequence();
  const tokenized = job.texts.map((t) => model.tokenize(t, true));
  const detokenized = tokenized.map((ids) => model.detokenize(ids, true));
  const greedy = [];
  const last = job.prompt.length - 1;
  let out = await seq.controlledEvaluate(
    job.prompt.map((t, i) => (i === last ? [t, { generateNext: { token: true } }] : t)),
  );
  let next = out[last].next.token;
  while (greedy.length < job.greedy) {
    greedy.push(next);
    if (greedy.length === job.greedy) break;
    out = await seq.controlledEvaluate([[next, { generateNext: { token: true } }]]);
    next = out[0].next.token;
  }
  await seq.clearHistory();
  const all = [...job.prompt, ...job.forced];
  const res = await seq.controlledEvaluate(all.map((t) => [t, { generateNext: { probabilities: true } }]));
  const logprobs = res.map((r) => {
    const probs = r.next.probabilities;
    let pmax = 0;
    for (const p of probs.values()) pmax = Math.max(pmax, p);
    const row = new Array(job.vocabSize).fill(null);
    for (const [id, p] of probs) row[id] = p > 0 ? Math.log(p / pmax) : null;
    return row;
  });
  const result = {
    tokenized,
    detokenized,
    greedy,
    logprobs,
    bos: model.tokens.bos,
    eos: model.tokens.eos,
    addBos: model.tokens.shouldPrependBosToken,
    chatTemplate: model.fileInfo.metadata?.tokenizer?.chat_template ?? null,
  };
  await context.dispose();
  await model.dispose();
  return result;
}

const results = [];
for (const job of jobs) {
  try {
    results.push(await run(job));
  } catch (e) {
    results.push({ error: String(e?.message ?? e) });
  }
}
process.stdout.write(JSON.stringify(results));
await llama.dispose();
