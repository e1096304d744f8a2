/**
 * `mlaAttention` (MLA's naive attention reading keys and values from wkv_b's output and the shared RoPE key in place)
 * against the ops it replaces, `scaledDotProductAttention` on keys built with `concat` + `expand` and values split off
 * with `split`: the same output and the same gradients of q, kv and kPe, bit for bit, on every backend, for several
 * shapes (more keys than queries, packed samples, a query that sees no key, sizes across the kernels' blocks), at 1
 * and 2 threads. Also its operand checks.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  Generator,
  Tensor,
  concat,
  expand,
  mlaAttention,
  mul,
  randn,
  reshape,
  scaledDotProductAttention,
  split,
  sum,
} from '../../src/index.js';
import { nativeAvailable, nativeInfo, setNativeThreads } from '../../src/backend/native/index.js';
import { eachBackend } from '../helpers/util.js';

const bits = (t: Tensor | null) => (t ? Buffer.from(new Float32Array(t.data).buffer).toString('base64') : 'none');

interface Case {
  B: number;
  Tq: number;
  Tk: number;
  H: number;
  nope: number;
  R: number;
  Dv: number;
  keyStart?: number[];
}

function run(c: Case, fused: boolean, seed: number): string[] {
  const g = new Generator(seed);
  const q = randn([c.B, c.Tq, c.H, c.nope + c.R], { generator: g }).requiresGrad_();
  const kv = randn([c.B, c.Tk, c.H, c.nope + c.Dv], { generator: g }).requiresGrad_();
  const kPe = randn([c.B, c.Tk, c.R], { generator: g }).requiresGrad_();
  const w = randn([c.B, c.Tq, c.H, c.Dv], { generator: g });
  const keyStart = c.keyStart ? new Tensor(Int32Array.from(c.keyStart), [c.B, c.Tq], 'int32') : null;
  const opts = { causal: true, scale: 0.37, keyStart };
  let o: Tensor;
  if (fused) o = mlaAttention(q, kv, kPe, { ...opts, nope: c.nope });
  else {
    const [kNope, v] = split(kv, [c.nope, c.Dv], -1);
    const k = concat([kNope, expand(reshape(kPe, [c.B, c.Tk, 1, c.R]), [c.B, c.Tk, c.H, c.R])], -1);
    o = scaledDotProductAttention(q, k, v, { ...opts, layout: 'bthd' });
  }
  sum(mul(o, w)).backward();
  return [bits(o), bits(q.grad), bits(kv.grad), bits(kPe.grad)];
}

const CASES: Case[] = [
  { B: 2, Tq: 7, Tk: 7, H: 3, nope: 16, R: 8, Dv: 16 },
  { B: 1, Tq: 5, Tk: 9, H: 2, nope: 5, R: 3, Dv: 7 },
  { B: 2, Tq: 6, Tk: 6, H: 2, nope: 4, R: 2, Dv: 3, keyStart: [0, 0, 2, 2, 2, 5, 0, 1, 1, 3, 3, 3] },
  { B: 1, Tq: 150, Tk: 150, H: 2, nope: 16, R: 8, Dv: 16 },
];

describe('mlaAttention', () => {
  it('gives the built-keys path’s output and gradients bit for bit (every backend, 1 and 2 threads)', () => {
    const threads = nativeInfo()?.threads ?? 1;
    try {
      eachBackend((backend) => {
        for (const t of backend === 'native' ? [1, 2] : [1]) {
          if (backend === 'native') setNativeThreads(t);
          CASES.forEach((c, i) => {
            const a = run(c, true, i + 1);
            const b = run(c, false, i + 1);
            const names = ['out', 'dq', 'dkv', 'dkPe'];
            const off = names.filter((_, j) => a[j] !== b[j]);
            assert.deepEqual(off, [], `${backend}, ${t} threads, case ${i}: ${off.join(', ')} differ`);
          });
        }
      });
    } finally {
      if (nativeAvailable()) setNativeThreads(threads);
    }
  });

  it('refuses operands that do not fit, in one line naming them', () => {
    const g = new Generator(1);
    const q = randn([1, 3, 2, 6], { generator: g });
    const kv = randn([1, 4, 2, 8], { generator: g });
    eachBackend(() => {
      assert.throws(
        () => mlaAttention(q, kv, randn([1, 4, 3], { generator: g }), { nope: 4 }),
        /mlaAttention: q \[1,3,2,6\], kv \[1,4,2,8\], kPe \[1,4,3\], nope 4: batch, heads, keys or R do not match/,
      );
      assert.throws(
        () => mlaAttention(q, kv, randn([1, 4, 2], { generator: g }), { nope: 8 }),
        /mlaAttention: .* nope 8: nope must leave R >= 1 and Dv >= 1/,
      );
    });
  });
});
