/**
 * The matrix products of a `tiny` training step (batch 8 x 256 tokens; shapes as logged from the step: M x N x K,
 * tA / tB = transposed operand), timed one by one on the native addon: GFLOP/s medians of 7 timings. For A/B runs of
 * two builds, point R1TS_NATIVE_PATH at each. R1TS_THREADS sets the kernel threads (default 1).
 *
 *   node --import tsx bench/train_gemms.ts
 */
import { createRequire } from 'node:module';
const req = createRequire(import.meta.url);
const addon = req(process.env.R1TS_NATIVE_PATH ?? '../build/Release/r1ts_native.node');
addon.setThreads(Number(process.env.R1TS_THREADS ?? 1));
// M N K transA transB (as logged in a tiny training step)
const shapes: [number, number, number, boolean, boolean][] = [
  [2048, 64, 96, false, true],
  [2048, 96, 64, false, false],
  [96, 64, 2048, true, false],
  [64, 96, 2048, true, false],
  [2048, 512, 96, false, true],
  [2048, 96, 512, false, false],
  [512, 96, 2048, true, false],
  [2048, 48, 96, false, false],
  [2048, 96, 48, false, true],
  [48, 96, 2048, true, false],
  [40, 96, 2048, true, false],
  [2048, 128, 32, false, true],
  [128, 32, 2048, true, false],
  [2048, 256, 96, false, true],
  [512, 64, 96, false, true],
  [512, 96, 64, false, false],
  [64, 96, 512, true, false],
];
let tot = 0;
for (const [M, N, K, tA, tB] of shapes) {
  const A = new Float32Array(M * K).map(() => Math.random() - 0.5);
  const B = new Float32Array(K * N).map(() => Math.random() - 0.5);
  const C = new Float32Array(M * N);
  const z = new Int32Array([0]);
  const reps = Math.max(5, Math.round(3e8 / (2 * M * N * K)));
  const ts: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t = performance.now();
    for (let i = 0; i < reps; i++) addon.matmul(A, z, B, z, C, 1, M, N, K, tA, tB);
    ts.push((performance.now() - t) / reps);
  }
  ts.sort((a, b) => a - b);
  const ms = ts[3];
  tot += ms;
  console.log(
    `${M}x${N}x${K} ${tA ? 'tA' : '  '} ${tB ? 'tB' : '  '} ${(ms * 1000).toFixed(0).padStart(5)} us ${((2 * M * N * K) / ms / 1e6).toFixed(1).padStart(6)} GFLOP/s`,
  );
}
console.log('sum', (tot * 1000).toFixed(0), 'us');
