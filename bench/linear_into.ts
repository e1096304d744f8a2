/**
 * The fast decoder's linear layers written straight into its buffers (`linearInto`) against the path before it
 * (`matmul`, which allocates its output, then a copy into the buffer), in one process, alternating run by run.
 *
 *   R1TS_THREADS=1 node --import tsx bench/linear_into.ts --model DIR [--batches 1,8,32,128] [--new 48] [--reps 10]
 *
 * Both paths run the same native GEMM, so every run must give the same tokens (checked). Each run samples --new
 * tokens (temperature 1, seeded) for `batch` distinct 20-token prompts; the median of --reps runs per path is reported.
 * Not a test: numbers go to BENCHMARKS.md with the machine and its load.
 */
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend/select.js';
import type { Kernels, TensorData } from '../src/backend/kernels.js';
import { getKernel, listBackends, registerBackend } from '../src/backend/registry.js';
import { loadModelAndTokenizer } from '../src/io/load.js';
import { generate } from '../src/infer/generate.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    batches: { type: 'string', default: '1,8,32,128' },
    new: { type: 'string', default: '48' },
    reps: { type: 'string', default: '10' },
  },
});
if (!values.model) throw new Error('bench/linear_into.ts: --model DIR is required');
initBackend();
const native = listBackends().find((b) => b.name === 'native');
if (!native) throw new Error('bench/linear_into.ts: the native backend is not active');
const kernels: Partial<Kernels> = {};
for (const k of native.kernels) Object.assign(kernels, { [k]: getKernel('native', k) });
const into = kernels.linearInto!;
const matmul = kernels.matmul!;
const before = (x: TensorData, w: TensorData, out: Float32Array) => {
  const y = matmul(x, w, { transA: false, transB: true }).data as Float32Array;
  out.set(y.subarray(0, x.shape[0] * w.shape[0]));
};
const usePath = (old: boolean) => registerBackend('native', { ...kernels, linearInto: old ? before : into });

const { model } = loadModelAndTokenizer(values.model);
const median = (v: number[]) => [...v].sort((p, q) => p - q)[v.length >> 1];
console.log('| batch | matmul + copy, ms | linearInto, ms | speed-up |\n|---|---|---|---|');
for (const B of values.batches.split(',').map(Number)) {
  let s = 1;
  const rnd = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s % model.config.vocab_size;
  };
  const prompts = Array.from({ length: B }, () => Array.from({ length: 20 }, rnd));
  const run = (old: boolean) => {
    usePath(old);
    const t0 = performance.now();
    const g = generate(model, prompts, { maxTokens: Number(values.new), temperature: 1, seed: 0, batchSize: B });
    return { ms: performance.now() - t0, tokens: g.map((x) => x.tokens.join()).join('|') };
  };
  run(true); // warm-up
  run(false);
  const old: number[] = [];
  const now: number[] = [];
  for (let r = 0; r < Number(values.reps); r++) {
    const first = r % 2 === 0; // alternate which goes first
    const a = run(first);
    const b = run(!first);
    (first ? old : now).push(a.ms);
    (first ? now : old).push(b.ms);
    if (a.tokens !== b.tokens) throw new Error(`bench/linear_into.ts: batch ${B}: the two paths gave different tokens`);
  }
  console.log(
    `| ${B} | ${median(old).toFixed(1)} | ${median(now).toFixed(1)} | ${(median(old) / median(now)).toFixed(2)}x |`,
  );
}
usePath(false);
