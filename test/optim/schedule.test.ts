import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { V3, batchSizeAt, gammaAt, lrAt, mtpLambdaAt, scaledV3Schedule, v3Schedule } from '../../src/optim/index.js';

describe("DeepSeek-V3's schedules (SPEC 4)", () => {
  const s = v3Schedule();
  const late = 10_000; // a step count well past warmup

  it('warmup is linear to the peak over 2K steps', () => {
    assert.ok(Math.abs(lrAt(s, 0, 0) - 2.2e-4 / 2000) < 1e-15);
    assert.ok(Math.abs(lrAt(s, 999, 1e9) - 1.1e-4) < 1e-12);
    assert.equal(lrAt(s, 2000, 1e9), 2.2e-4);
  });

  it('lr is continuous at 10T and 14.3T and steps only at 14.633T; phases sum to 14.8T', () => {
    const eps = 1e6; // tokens
    assert.ok(Math.abs(lrAt(s, late, 10e12 - eps) - lrAt(s, late, 10e12 + eps)) < 1e-12);
    assert.ok(Math.abs(lrAt(s, late, 14.3e12 - eps) - lrAt(s, late, 14.3e12 + eps)) < 1e-12);
    assert.equal(lrAt(s, late, 14.3e12), 2.2e-5);
    assert.ok(Math.abs(lrAt(s, late, 14.633e12 - eps) - 2.2e-5) < 1e-15);
    assert.equal(lrAt(s, late, 14.633e12 + eps), 7.3e-6);
    assert.ok(lrAt(s, late, 12e12) < 2.2e-4 && lrAt(s, late, 12e12) > 2.2e-5, 'cosine in between');
    assert.ok(Math.abs(V3.cosineUntil + 333e9 - V3.holdUntil) < 1);
    assert.ok(Math.abs(V3.holdUntil + 167e9 - V3.totalTokens) < 1);
  });

  it('batch ramps 3072 -> 15360 over 469B tokens, monotone', () => {
    assert.equal(batchSizeAt(s, 0), 3072);
    assert.equal(batchSizeAt(s, 469e9), 15360);
    assert.equal(batchSizeAt(s, 1e12), 15360);
    let prev = 0;
    for (let t = 0; t <= 469e9; t += 1e9) {
      const b = batchSizeAt(s, t);
      assert.ok(b >= prev);
      prev = b;
    }
  });

  it('gamma switches at 14.3T, lambda at 10T', () => {
    assert.equal(gammaAt(s, 14.29e12), 0.001);
    assert.equal(gammaAt(s, 14.31e12), 0);
    assert.equal(mtpLambdaAt(s, 9.99e12), 0.3);
    assert.equal(mtpLambdaAt(s, 10.01e12), 0.1);
  });

  it('the scaled schedule keeps the phase fractions and LR ratios', () => {
    const t = scaledV3Schedule({ totalTokens: 14.8e6, peakLr: 1e-3, warmupSteps: 10, batchStart: 8, batchEnd: 32 });
    assert.ok(Math.abs(t.constantUntil - 10e6) < 1e-6);
    assert.ok(Math.abs(t.finalLr1 - 1e-4) < 1e-15);
    assert.ok(Math.abs(t.finalLr2 - (1e-3 * 7.3e-6) / 2.2e-4) < 1e-15);
    assert.equal(lrAt(t, 100, 14.7e6), t.finalLr2);
    assert.equal(batchSizeAt(t, 0), 8);
  });
});
