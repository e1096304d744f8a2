/**
 * FP8 emulation kernels on the tiny preset's shapes (hidden 96, MLP 256, micro-batch 6 x 256 = 1536 tokens): median
 * time of `quantize` and of `fp8Gemm` (V3's 14-bit truncating accumulator, N_C = 128) on the native backend, against
 * the TypeScript references and the native float32 matmul of the same shape. One native thread, as each
 * data-parallel worker of a training run has.
 *
 *   node --import tsx bench/fp8_gemm.ts [--repeat 30]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Generator, matmul, randn, setBackend } from '../src/index.js';
import { fp8Gemm } from '../src/fp8/gemm.js';
import { quantize } from '../src/fp8/quant.js';
import { nativeInfo, setNativeThreads } from '../src/backend/native/index.js';

const { values } = parseArgs({ options: { repeat: { type: 'string', default: '30' } } });
const repeat = Number(values.repeat);
setBackend('native');
const info = nativeInfo();
if (!info) throw new Error('fp8_gemm: the native backend is not built');
setNativeThreads(1);

/** fn on the TypeScript reference backend (the same ops, the kernels of src/backend/ts). */
function onTs<T>(fn: () => T): T {
  setBackend('ts');
  try {
    return fn();
  } finally {
    setBackend('native');
  }
}
const quantizeTs = (...a: Parameters<typeof quantize>) => onTs(() => quantize(...a));
const fp8GemmTs = (...a: Parameters<typeof fp8Gemm>) => onTs(() => fp8Gemm(...a));

function median(fn: () => unknown, n: number): number {
  fn();
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(n / 2)];
}

const g = new Generator(0);
const rand = (n: number): Float32Array => g.normal(n, 'float32') as Float32Array;
const ms = (x: number): string => (x < 1 ? `${(1000 * x).toFixed(0)} us` : `${x.toFixed(2)} ms`);
console.log(
  `${os.cpus()[0]?.model ?? 'cpu'}, ISA ${info.isa}, 1 thread, load average ${os.loadavg()[0].toFixed(1)}, median of ${repeat}`,
);
console.log('kernel, shape (M x N x K)                      TypeScript   native   native f32 matmul');
const shapes: [string, number, number, number, [number, number], [number, number]][] = [
  ['Fprop  (tokens x out x in)', 1536, 256, 96, [1, 128], [128, 128]],
  ['Dgrad  (tokens x in x out)', 1536, 96, 256, [1, 128], [128, 128]],
  ['Wgrad  (out x in x tokens)', 256, 96, 1536, [1, 128], [1, 128]],
];
const x = rand(1536 * 96);
const q = median(() => quantize(x, 1536, 96, { tile: [1, 128] }), repeat);
const qTs = median(() => quantizeTs(x, 1536, 96, { tile: [1, 128] }), Math.max(3, repeat / 5));
console.log(`${'quantize 1536x96, 1x128 tiles'.padEnd(46)} ${ms(qTs).padStart(10)} ${ms(q).padStart(8)}`);
const qt = median(() => quantize(x, 1536, 96, { tile: [128, 1] }), repeat);
const qtTs = median(() => quantizeTs(x, 1536, 96, { tile: [128, 1] }), Math.max(3, repeat / 5));
console.log(`${'quantize 1536x96, 128x1 tiles'.padEnd(46)} ${ms(qtTs).padStart(10)} ${ms(qt).padStart(8)}`);
for (const [name, M, N, K, ta, tb] of shapes) {
  const qa = quantizeTs(rand(M * K), M, K, { tile: ta });
  const qb = quantizeTs(rand(N * K), N, K, { tile: tb });
  const nat = median(() => fp8Gemm(qa, qb), repeat);
  const ts = median(() => fp8GemmTs(qa, qb), Math.max(3, Math.round(repeat / 10)));
  const a = randn([M, K]);
  const b = randn([K, N]);
  const f32 = median(() => matmul(a, b), repeat);
  console.log(
    `${`fp8Gemm ${name} ${M}x${N}x${K}`.padEnd(46)} ${ms(ts).padStart(10)} ${ms(nat).padStart(8)} ${ms(f32).padStart(12)}`,
  );
}
