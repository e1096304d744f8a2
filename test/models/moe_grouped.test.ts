/**
 * The grouped routed experts (`moeExperts`, one kernel call each way) against the per-expert path (`groupedExperts =
 * false`: three Linears, SwiGLU and a scale per expert): the same loss, logits and gradients bit for bit on every
 * backend, with the native kernel's experts run in parallel (1 and 2 threads: at least two experts a thread) and one
 * after the other (5 threads: fewer than two a thread). Also the native kernel against the reference on uneven groups,
 * and the checks on its operands.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeepseekV3, MoE } from '../../src/models/index.js';
import { Generator, type Tensor, moeExperts, noGrad, randint, randn, sum, zeros } from '../../src/index.js';
import { getBackend, getKernel } from '../../src/backend/registry.js';
import { nativeAvailable, nativeInfo, setNativeThreads } from '../../src/backend/native/index.js';
import { eachBackend, opsIn } from '../helpers/util.js';
import { tinyDeepseek } from './helpers.js';

const bits = (t: Tensor) => Buffer.from(new Float32Array(t.data).buffer).toString('base64');

/**
 * Loss, logits and every parameter's gradient of one training forward / backward, as bit strings; with `freeze`, the
 * routed experts of the first MoE layer get no gradient (requiresGrad off, as a pipeline's input-only pass does).
 */
function run(grouped: boolean, seed: number, freeze = false): Map<string, string> {
  const c = tinyDeepseek({ n_routed_experts: 8, n_group: 4, topk_group: 2, num_experts_per_tok: 2 });
  const m = new DeepseekV3(c, { initStd: 0.2, seed });
  for (const [, mod] of m.namedModules()) if (mod instanceof MoE) mod.groupedExperts = grouped;
  if (freeze)
    for (const [name, p] of m.namedParameters()) if (name.startsWith('layers.1.ffn.experts.')) p.requiresGrad = false;
  const ids = randint(0, c.vocab_size, [3, 11], { generator: new Generator(seed) });
  const r = m.computeLoss(ids, ids, { balanceAlpha: 0.01 });
  r.loss.backward();
  const out = new Map<string, string>([['loss', bits(r.loss)]]);
  for (const [name, p] of m.namedParameters()) out.set(name, p.grad ? bits(p.grad) : 'none');
  m.eval();
  out.set('logits', bits(noGrad(() => m.forward(ids).logits)));
  return out;
}

describe('MoE: grouped routed experts', () => {
  it('give the per-expert path’s loss, logits and gradients bit for bit (every backend, 1, 2 and 5 threads)', () => {
    const threads = nativeInfo()?.threads ?? 1;
    try {
      eachBackend((backend) => {
        for (const t of backend === 'native' ? [1, 2, 5] : [1]) {
          if (backend === 'native') setNativeThreads(t);
          for (const [seed, freeze] of [
            [1, false],
            [2, false],
            [3, true],
          ] as const) {
            const a = run(true, seed, freeze);
            const b = run(false, seed, freeze);
            const off = [...b.keys()].filter((k) => a.get(k) !== b.get(k));
            assert.deepEqual(
              off,
              [],
              `${backend}, ${t} threads, seed ${seed}: differ in ${off.slice(0, 4).join(', ')} (${off.length} in all)`,
            );
            const frozen = (k: string) => freeze && k.startsWith('layers.1.');
            const experts = [...a.keys()].filter((k) => k.includes('.experts.') && !frozen(k));
            const reached = experts.filter((k) => a.get(k) !== 'none').length;
            assert.ok(
              reached >= experts.length * 0.75,
              `${reached} of ${experts.length} expert weights get a gradient`,
            );
            const still = [...a.keys()].filter((k) => k.includes('.experts.') && frozen(k));
            assert.ok(
              still.every((k) => a.get(k) === 'none'),
              'a frozen expert gets no gradient',
            );
          }
        }
      });
    } finally {
      if (nativeAvailable()) setNativeThreads(threads);
    }
  });

  it('takes an empty batch (no active expert) and gives an empty output', () => {
    const c = tinyDeepseek();
    const moe = new DeepseekV3(c, { seed: 1 }).layers[1].ffn as MoE;
    const x = zeros([1, 0, c.hidden_size]).requiresGrad_();
    const y = moe.forward(x, { balanceAlpha: 0, balanceLosses: [] } as never);
    assert.deepEqual(y.shape, [1, 0, c.hidden_size]);
    sum(y).backward();
    assert.deepEqual(x.grad?.shape, [1, 0, c.hidden_size]);
  });

  it('runs as one graph node per layer (and the per-expert path when asked)', () => {
    const c = tinyDeepseek({ n_routed_experts: 4, n_group: 2, topk_group: 1, num_experts_per_tok: 2 });
    const m = new DeepseekV3(c, { seed: 3 });
    const ids = randint(0, c.vocab_size, [2, 6], { generator: new Generator(3) });
    const ops = opsIn(m.computeLoss(ids, ids).loss);
    assert.ok(ops.has('moeExperts') && !ops.has('indexAddGroups'), [...ops].join(' '));
    for (const [, mod] of m.namedModules()) if (mod instanceof MoE) mod.groupedExperts = false;
    const per = opsIn(m.computeLoss(ids, ids).loss);
    assert.ok(!per.has('moeExperts') && per.has('indexAddGroups'));
  });
});

describe('moeExperts kernel', () => {
  const D = 24;
  const I = 20;
  const sizes = [1, 37, 5, 64, 2, 19, 33, 8, 1]; // uneven groups, one row and many
  const M = sizes.reduce((a, b) => a + b, 0);
  const nTokens = 90;
  const g = new Generator(11);
  const tokens = Int32Array.from({ length: M }, (_, r) => (r * 7) % nTokens);
  const slots = Int32Array.from({ length: M }, (_, r) => (r * 13) % (nTokens * 2));
  const attrs = { sizes, tokens, slots, nTokens };
  const xs = randn([M, D], { generator: g });
  const weights = randn([nTokens, 2], { generator: g });
  const experts = sizes.map(() => ({
    w1: randn([I, D], { generator: g }),
    w3: randn([I, D], { generator: g }),
    w2: randn([D, I], { generator: g }),
  }));
  const dy = randn([nTokens, D], { generator: g });

  it('native equals the reference to float32 rounding (forward and backward)', { skip: !nativeAvailable() }, () => {
    const ref = getKernel('ts', 'moeExperts')!(xs, weights, experts, attrs);
    const nat = getKernel('native', 'moeExperts')!(xs, weights, experts, attrs);
    const close = (what: string, a: { data: ArrayLike<number> }, b: { data: ArrayLike<number> }) => {
      let num = 0;
      let den = 0;
      for (let i = 0; i < b.data.length; i++) {
        num = Math.max(num, Math.abs(a.data[i] - b.data[i]));
        den = Math.max(den, Math.abs(b.data[i]));
      }
      assert.equal(a.data.length, b.data.length, what);
      assert.ok(num <= 1e-5 * den, `${what}: max |d| ${num} vs max ${den}`);
    };
    for (const k of ['y', 'h1', 'h3', 'act', 'o'] as const) close(k, nat[k], ref[k]);
    const saved = { h1: ref.h1, h3: ref.h3, act: ref.act, o: ref.o };
    const all = { xs: true, experts: sizes.map(() => true) };
    const rb = getKernel('ts', 'moeExpertsBackward')!(dy, xs, weights, experts, saved, attrs, all);
    const nb = getKernel('native', 'moeExpertsBackward')!(dy, xs, weights, experts, saved, attrs, all);
    close('dxs', nb.dxs!, rb.dxs!);
    close('dweights', nb.dweights, rb.dweights);
    sizes.forEach((_, e) => {
      close(`dw1[${e}]`, nb.dw1[e]!, rb.dw1[e]!);
      close(`dw3[${e}]`, nb.dw3[e]!, rb.dw3[e]!);
      close(`dw2[${e}]`, nb.dw2[e]!, rb.dw2[e]!);
    });
    // the gate weights' gradient is zero but at the slots used
    const used = new Set(slots);
    for (let i = 0; i < nb.dweights.data.length; i++) if (!used.has(i)) assert.equal(nb.dweights.data[i], 0);
    // what is not needed is not computed; the rest is unchanged (bit for bit on each backend)
    const some = { xs: false, experts: sizes.map((_, e) => e % 2 === 0) };
    for (const backend of ['ts', 'native']) {
      const full = backend === 'ts' ? rb : nb;
      const part = getKernel(backend, 'moeExpertsBackward')!(dy, xs, weights, experts, saved, attrs, some);
      assert.equal(part.dxs, null);
      assert.deepEqual([...part.dweights.data], [...full.dweights.data]);
      sizes.forEach((_, e) => {
        for (const k of ['dw1', 'dw3', 'dw2'] as const) {
          if (e % 2 === 0) assert.deepEqual([...part[k][e]!.data], [...full[k][e]!.data], `${backend} ${k}[${e}]`);
          else assert.equal(part[k][e], null, `${backend} ${k}[${e}] is skipped`);
        }
      });
    }
  });

  it('refuses operands that do not fit, in one line naming them', () => {
    eachBackend((backend) => {
      const bad = (a: typeof attrs, re: RegExp) =>
        assert.throws(() => moeExperts(xs, weights, experts, a), re, `${backend}: ${re}`);
      bad({ ...attrs, sizes: [...sizes.slice(0, -1), 2] }, /moeExperts: group sizes sum to 171, xs has 170 rows/);
      bad({ ...attrs, sizes: [0, ...sizes.slice(1)] }, /moeExperts: group sizes must be whole numbers >= 1/);
      const t = Int32Array.from(tokens);
      t[3] = nTokens;
      bad({ ...attrs, tokens: t }, /moeExperts: token 90 of row 3 is not in \[0, 90\)/);
      const s = Int32Array.from(slots);
      s[0] = -1;
      bad({ ...attrs, slots: s }, /moeExperts: slot -1 of row 0 is not in \[0, 180\)/);
      assert.throws(
        () => moeExperts(xs, weights, [{ ...experts[0], w2: experts[0].w1 }, ...experts.slice(1)], attrs),
        /moeExperts: expert 0: w1 \[20,24\], w3 \[20,24\], w2 \[20,24\] do not fit hidden 24 and width 20/,
      );
      assert.equal(getBackend(), backend);
    });
  });
});
