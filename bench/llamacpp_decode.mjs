// llama.cpp's side of bench/bf16_decode.ts: batch-1 decode and prefill of a GGUF file through node-llama-cpp
// (test/interop/node_modules, CPU only, `threads` threads), in plain Node (no tsx: node-llama-cpp spawns helpers that
// would inherit the loader). Prints one JSON line: load seconds, decode tokens/s (median step of `steps` one-token
// steps after a `prompt`-token prefill), prefill tokens/s (best of two `prefill`-token prefills).
//   node bench/llamacpp_decode.mjs FILE THREADS STEPS PROMPT PREFILL
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [file, threads, steps, promptLen, prefill] = process.argv.slice(2).map((x, i) => (i === 0 ? x : Number(x)));
const root = join(import.meta.dirname, '..', 'test', 'interop', 'node_modules', 'node-llama-cpp', 'dist', 'index.js');
const { getLlama } = await import(pathToFileURL(root).href);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const t0 = performance.now();
const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
const loadSeconds = (performance.now() - t0) / 1000;
const context = await model.createContext({
  contextSize: Math.max(512, prefill + promptLen + steps + 8),
  batchSize: 512,
  threads,
  flashAttention: false,
});
const ids = (n, b) => Array.from({ length: n }, (_, i) => (7 * i + 3 + b * 13) % 290);
const seq = context.getSequence();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// decode: prefill the prompt, then one token per step
const prompt = ids(promptLen, 0);
await seq.controlledEvaluate(
  prompt.map((t, i) => (i === prompt.length - 1 ? [t, { generateNext: { token: true } }] : t)),
);
const times = [];
for (let s = 0; s < steps; s++) {
  const t = performance.now();
  await seq.controlledEvaluate([[ids(1, s + 1)[0], { generateNext: { token: true } }]]);
  times.push((performance.now() - t) / 1000);
}
const prefillRuns = [];
for (let r = 0; r < 2; r++) {
  await seq.clearHistory();
  const p = ids(prefill, r);
  const t = performance.now();
  await seq.controlledEvaluate(
    p.map((tok, i) => (i === p.length - 1 ? [tok, { generateNext: { token: true } }] : tok)),
  );
  prefillRuns.push((performance.now() - t) / 1000);
}
console.log(
  JSON.stringify({
    side: 'llama.cpp',
    threads,
    loadSeconds,
    decode1: 1 / median(times),
    decode1Steps: times.map((x) => Number(x.toFixed(4))),
    prefillTokensPerSecond: prefill / Math.min(...prefillRuns),
    prefillSeconds: prefillRuns,
  }),
);
await context.dispose();
await model.dispose();
await llama.dispose();
