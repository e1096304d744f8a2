/** Prints a digest of several native kernels' outputs on fixed inputs (run with different R1TS_THREADS). */
import { createHash } from 'node:crypto';
import { Generator, getBackend, randn, runKernel, tensor } from '../../src/index.js';

const g = new Generator(11);
const h = createHash('sha256');
const add = (d: { data: ArrayBufferView }) =>
  h.update(new Uint8Array(d.data.buffer, d.data.byteOffset, d.data.byteLength));
const x = randn([300, 96], { generator: g });
const w = randn([96], { generator: g });
const dy = randn([300, 96], { generator: g });
const { y, rstd } = runKernel('rmsNorm', x, w, { eps: 1e-6 });
add(y);
const bwd = runKernel('rmsNormBackward', x, w, rstd, dy);
add(bwd.dx);
add(bwd.dweight!);
add(runKernel('matmul', x, randn([96, 130], { generator: g }), { transA: false, transB: false }));
add(runKernel('matmul', x, dy, { transA: true, transB: false }));
const q = randn([2, 4, 70, 24], { generator: g });
const k = randn([2, 2, 70, 24], { generator: g });
const v = randn([2, 2, 70, 16], { generator: g });
const att = runKernel('attention', q, k, v, { causal: true, scale: 0.2 });
add(att.out);
const ab = runKernel('attentionBackward', q, k, v, att.out, att.lse, randn([2, 4, 70, 16], { generator: g }), {
  causal: true,
  scale: 0.2,
});
add(ab.dq);
add(ab.dk);
add(ab.dv);
add(runKernel('sum', x, { axes: [0], keepdim: false }));
add(runKernel('softmax', x, { axis: 1 }));
const ce = runKernel(
  'crossEntropy',
  x,
  tensor(
    Array.from({ length: 300 }, (_, i) => i % 96),
    { dtype: 'int32' },
  ),
  { ignoreIndex: -100 },
);
add(ce.loss);
process.stdout.write(`${getBackend()} ${h.digest('hex')}\n`);
