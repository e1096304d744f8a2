/**
 * The decoding attention kernel alone (addon.attendRows): 128 rows of 160 cached positions, 4 heads, keys 40 wide
 * (MLA's latent 32 + RoPE 8), values 32 wide (the latent), the shapes of the `tiny` model's absorbed decoding at
 * batch 128. Milliseconds a call over 200 calls, three times. R1TS_NATIVE_PATH picks the build (A/B runs),
 * R1TS_THREADS the kernel threads (default 1).
 *
 *   node --import tsx bench/attend_rows.ts
 */
import { createRequire } from 'node:module';
const addon = createRequire(import.meta.url)(process.env.R1TS_NATIVE_PATH ?? '../build/Release/r1ts_native.node');
addon.setThreads(Number(process.env.R1TS_THREADS ?? 1));
const rows = 128,
  H = 4,
  Dk = 40,
  Dv = 32,
  L = 160,
  cap = 224;
const kStride = 40,
  vStride = 40;
const len = new Int32Array(rows).fill(L);
const kOff = Int32Array.from({ length: rows }, (_, r) => r * cap * kStride);
const vOff = kOff;
const q = Float32Array.from({ length: rows * H * Dk }, () => Math.random() - 0.5);
const k = Float32Array.from({ length: rows * cap * kStride }, () => Math.random() - 0.5);
const out = new Float32Array(rows * H * Dv);
for (let rep = 0; rep < 3; rep++) {
  const t = performance.now();
  for (let i = 0; i < 200; i++) addon.attendRows(q, k, k, kOff, vOff, len, rows, H, Dk, Dv, kStride, vStride, 0.3, out);
  const ms = (performance.now() - t) / 200;
  console.log(`${ms.toFixed(3)} ms a call, ${((rows * H * L * (Dk + Dv) * 2) / ms / 1e6).toFixed(1)} GFLOP/s`);
}
