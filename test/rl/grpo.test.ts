import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import { gradcheck } from '../../src/tensor/gradcheck.js';
import { groupAdvantages, k3, policyLoss, tokenWeights, type PolicyLossArgs } from '../../src/rl/grpo.js';
import { DEFAULT_GRPO_CONFIG, grpoPlan, maxTokensAt, refResetAfter, resolveGrpoConfig } from '../../src/rl/config.js';

const close = (a: number, b: number, tol = 1e-3) => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);
const zero = (a: number, what = '') => assert.ok(a === 0, `${what} expected 0, got ${a}`); // +0 or -0

/** Gradient of the loss w.r.t. logp (float64) for given args. */
function gradOf(logp: number[][], rest: Omit<PolicyLossArgs, 'logp'>): number[] {
  const x = new Tensor(Float64Array.from(logp.flat()), [logp.length, logp[0].length], 'float64').requiresGrad_();
  policyLoss({ ...rest, logp: x }).loss.backward();
  return Array.from(x.grad!.data);
}

describe('GRPO advantages (population std)', () => {
  it('equal rewards give zero advantage, never NaN', () => {
    for (const r of [
      [0, 0, 0, 0],
      [1, 1, 1, 1],
      [0.1, 0.1, 0.1, 0.1],
      [0.3, 0.3, 0.3],
    ]) {
      const a = groupAdvantages(r, r.length);
      for (const v of a) assert.equal(v, 0);
    }
    assert.deepEqual(Array.from(groupAdvantages([5], 1)), [0]);
  });

  it('{1,0,0,0} gives {+1.732, -0.577 x3}; groups are normalised separately; dr-grpo does not scale', () => {
    const a = groupAdvantages([1, 0, 0, 0, 2, 2, 2, 2, 0, 1, 0, 1], 4);
    close(a[0], Math.sqrt(3));
    for (const i of [1, 2, 3]) close(a[i], -1 / Math.sqrt(3));
    for (const i of [4, 5, 6, 7]) assert.equal(a[i], 0);
    for (const i of [8, 10]) close(a[i], -1);
    for (const i of [9, 11]) close(a[i], 1);
    const u = groupAdvantages([1, 0, 0, 0], 4, { scale: false });
    assert.deepEqual(Array.from(u), [0.75, -0.25, -0.25, -0.25]);
    assert.throws(() => groupAdvantages([1, 2, 3], 2), /groups of 2/);
    assert.throws(() => groupAdvantages([1, NaN], 2), /NaN/);
  });
});

describe('GRPO loss', () => {
  const base = { epsLow: 0.2, epsHigh: 0.2, beta: 0 };

  it('the k3 KL is >= 0 everywhere and 0 when the policies agree', () => {
    for (let lp = -8; lp <= 0; lp += 0.25)
      for (let ref = -8; ref <= 0; ref += 0.25) assert.ok(k3(lp, ref) >= 0, `${lp} ${ref}`);
    assert.equal(k3(-1.3, -1.3), 0);
    // through the loss: beta * KL with zero advantages is the loss, and its KL statistic
    const w = [0.5, 0.5];
    const r = policyLoss({
      logp: new Tensor(Float64Array.from([-1, -2]), [1, 2], 'float64'),
      oldLogp: [-1, -2],
      refLogp: [-1, -2],
      advantages: [0],
      weights: w,
      ...base,
      beta: 0.1,
    });
    assert.equal(r.loss.item(), 0);
    assert.equal(r.stats.kl, 0);
    const s = policyLoss({
      logp: new Tensor(Float64Array.from([-1, -2]), [1, 2], 'float64'),
      oldLogp: [-1, -2],
      refLogp: [-0.5, -3],
      advantages: [0],
      weights: w,
      ...base,
      beta: 0.1,
    });
    close(s.stats.kl, (k3(-1, -0.5) + k3(-2, -3)) / 2, 1e-12);
    close(s.loss.item(), 0.1 * s.stats.kl, 1e-12);
  });

  it('the gradient of the KL term matches the analytic derivative and finite differences', () => {
    const logp = [
      [-1.2, -0.3, -2.0],
      [-0.7, -1.5, -0.1],
    ];
    const ref = [-1.0, -0.8, -2.5, -0.2, -1.5, -0.9];
    const w = tokenWeights([1, 1, 1, 1, 1, 0], 2, 3, 'dapo', 3);
    const beta = 0.5;
    const g = gradOf(logp, { oldLogp: logp.flat(), refLogp: ref, advantages: [0, 0], weights: w, ...base, beta });
    logp.flat().forEach((lp, i) => close(g[i], w[i] * beta * (1 - Math.exp(ref[i] - lp)), 1e-12)); // d/dlogp of k3
    zero(g[5], 'masked token');
    const old = logp.flat().map((v) => v + 0.05);
    const x = new Tensor(Float64Array.from(logp.flat()), [2, 3], 'float64').requiresGrad_();
    const res = gradcheck(
      (t) =>
        policyLoss({
          logp: t,
          oldLogp: old,
          refLogp: ref,
          advantages: [0.7, -1.1],
          weights: w,
          epsLow: 0.2,
          epsHigh: 0.3,
          beta,
        }).loss,
      [x],
    );
    assert.ok(res.ok, res.message);
  });

  it('with eps = 0.2 and A > 0 the gradient is 0 once the ratio exceeds 1.2; with eps = 10 clipping is inactive', () => {
    const old = [0, 0, 0, 0];
    const logp = [[Math.log(1.1), Math.log(1.25), Math.log(1.5), Math.log(0.7)]]; // ratios 1.1, 1.25, 1.5, 0.7
    const w = [0.25, 0.25, 0.25, 0.25];
    const g = gradOf(logp, { oldLogp: old, refLogp: null, advantages: [2], weights: w, ...base });
    close(g[0], -0.25 * 2 * 1.1, 1e-12); // inside: d(-rho A w)/dlogp = -rho A w
    zero(g[1]);
    zero(g[2]);
    close(g[3], -0.25 * 2 * 0.7, 1e-12); // A > 0 and rho < 1 - eps: the unclipped branch is the minimum
    const wide = gradOf(logp, {
      oldLogp: old,
      refLogp: null,
      advantages: [2],
      weights: w,
      epsLow: 10,
      epsHigh: 10,
      beta: 0,
    });
    [1.1, 1.25, 1.5, 0.7].forEach((rho, i) => close(wide[i], -0.25 * 2 * rho, 1e-12));
    // A < 0: clipped below 1 - eps
    const neg = gradOf(logp, { oldLogp: old, refLogp: null, advantages: [-1], weights: w, ...base });
    close(neg[2], 0.25 * 1.5, 1e-12);
    zero(neg[3]);
    const st = policyLoss({
      logp: new Tensor(Float64Array.from(logp[0]), [1, 4], 'float64'),
      oldLogp: old,
      refLogp: null,
      advantages: [2],
      weights: w,
      ...base,
    }).stats;
    assert.equal(st.clipFrac, 0.5);
  });

  it('clip-higher: a separate upper range', () => {
    const logp = [[Math.log(1.25)]];
    const g = gradOf(logp, {
      oldLogp: [0],
      refLogp: null,
      advantages: [1],
      weights: [1],
      epsLow: 0.2,
      epsHigh: 0.28,
      beta: 0,
    });
    close(g[0], -1.25, 1e-12);
  });

  it('aggregation weights: grpo = per-sequence mean, dapo = token mean, dr-grpo = constant denominator', () => {
    const mask = [1, 1, 1, 1, 1, 0, 0, 0]; // lengths 4 and 1
    const sum = (w: Float64Array, row: number) => w.slice(row * 4, row * 4 + 4).reduce((a, b) => a + b, 0);
    const g = tokenWeights(mask, 2, 4, 'grpo', 10);
    close(sum(g, 0), 0.5, 1e-12);
    close(sum(g, 1), 0.5, 1e-12);
    const d = tokenWeights(mask, 2, 4, 'dapo', 10);
    for (let i = 0; i < 5; i++) close(d[i], 1 / 5, 1e-12);
    const r = tokenWeights(mask, 2, 4, 'dr-grpo', 10);
    for (let i = 0; i < 5; i++) close(r[i], 1 / 20, 1e-12);
    assert.equal(d[5] + g[5] + r[5], 0);
    // a fully masked sequence gets no weight and does not break the others
    const z = tokenWeights([0, 0, 1, 1], 2, 2, 'grpo', 2);
    assert.deepEqual(Array.from(z), [0, 0, 0.25, 0.25]);
  });

  it('with ratio 1 the loss value is -mean(A) (about 0), yet the gradient is not 0', () => {
    const logp = [
      [-1, -2],
      [-0.5, -0.1],
    ];
    const w = tokenWeights([1, 1, 1, 1], 2, 2, 'grpo', 2);
    const x = new Tensor(Float64Array.from(logp.flat()), [2, 2], 'float64').requiresGrad_();
    const r = policyLoss({ logp: x, oldLogp: logp.flat(), refLogp: null, advantages: [1, -1], weights: w, ...base });
    assert.equal(r.loss.item(), 0);
    r.loss.backward();
    assert.deepEqual(Array.from(x.grad!.data), [-0.25, -0.25, 0.25, 0.25]);
  });
});

describe('GRPO bookkeeping (SPEC 5.3)', () => {
  it('32 problems x 16 = 512 per optimizer step; 8,192 rollouts / 16 mini-batches = 512; 1 inner epoch', () => {
    const perStep = grpoPlan({ promptsPerStep: 32, groupSize: 16, miniBatches: 1, mu: 1 });
    assert.equal(perStep.samplesPerStep, 512);
    const rollout = grpoPlan({ promptsPerStep: 512, groupSize: 16, miniBatches: 16, mu: 1 });
    assert.equal(rollout.samplesPerStep, 8192);
    assert.equal(rollout.samplesPerOptimizerStep, 512);
    assert.equal(rollout.promptsPerOptimizerStep, 32);
    assert.equal(rollout.optimizerStepsPerStep, 16);
    assert.throws(() => resolveGrpoConfig({ promptsPerStep: 30, miniBatches: 16 }), /multiple of miniBatches/);
  });

  it('the reference is refreshed every 400 steps; the budget switches 32,768 -> 65,536 at step 8,200', () => {
    const c = resolveGrpoConfig({
      refResetEvery: 400,
      beta: 0.001,
      maxTokens: 32768,
      maxTokensRaise: { step: 8200, maxTokens: 65536 },
    });
    const resets = Array.from({ length: 1200 }, (_, i) => i + 1).filter((s) => refResetAfter(c, s));
    assert.deepEqual(resets, [400, 800, 1200]);
    assert.equal(refResetAfter({ ...c, beta: 0 }, 400), false, 'no reference when beta is 0');
    assert.equal(maxTokensAt(c, 8199), 32768);
    assert.equal(maxTokensAt(c, 8200), 65536);
  });

  it('config: defaults, strict keys and types named in errors', () => {
    assert.equal(resolveGrpoConfig({}).beta, 0.001);
    assert.equal(DEFAULT_GRPO_CONFIG.epsilonHigh, null);
    assert.throws(() => resolveGrpoConfig({ gropuSize: 4 }), /unknown key 'gropuSize'/);
    assert.throws(() => resolveGrpoConfig({ lr: '1e-3' }), /'lr' must be a number/);
    assert.throws(() => resolveGrpoConfig({ loss: 'ppo' }), /'loss' must be one of grpo\|dr-grpo\|dapo/);
    assert.throws(() => resolveGrpoConfig({ groupSize: 0 }), {
      message: "grpo config: 'groupSize' must be an integer in [1, 4096], got 0",
    });
    assert.throws(() => resolveGrpoConfig({ stop: 'x' }), /'stop' must be an array of strings/);
    assert.equal(resolveGrpoConfig({ epsilonHigh: 0.28 }).epsilonHigh, 0.28);
  });

  it('config: sizes are bounded; sampling is checked by the one sampling validator (greedy refused)', () => {
    const bad: [Record<string, unknown>, string][] = [
      [{ temperature: 0 }, "grpo config: 'temperature' must be > 0 (sampled responses, not greedy ones), got 0"],
      [{ topP: 1.5 }, "grpo config: 'topP' must be a number in (0, 1], got 1.5"],
      [{ maxTokens: 2 ** 21 }, "grpo config: 'maxTokens' must be an integer in [1, 1048576], got 2097152"],
      [{ stop: [''] }, `grpo config: 'stop' must be non-empty strings, got ""`],
      [{ promptsPerStep: 1e8 }, "grpo config: 'promptsPerStep' must be an integer in [1, 4096], got 100000000"],
      [{ genBatch: 0 }, "grpo config: 'genBatch' must be an integer in [1, 4096], got 0"],
      [
        { maxTokensRaise: { step: 10, maxTokens: 0 } },
        "grpo config: 'maxTokensRaise.maxTokens' must be an integer in [1, 1048576], got 0",
      ],
    ];
    for (const [over, message] of bad) assert.throws(() => resolveGrpoConfig(over), { message });
  });
});
