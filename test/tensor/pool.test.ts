/**
 * The training step's buffer pool (src/tensor/pool.ts): arrays allocated in a scope are recycled when it ends, zero-
 * filled when handed out again, except those the scope keeps; a throwing scope recycles nothing; `check` mode poisons
 * released arrays with NaN and never reuses them. Training with the pool gives the same bits as without it, and the
 * `check` mode run proves that nothing a training micro-batch releases is read afterwards.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  POOL_MIN,
  allocF32,
  drainBufferPool,
  poolCapacity,
  gradsOf,
  inBufferPool,
  poolStats,
  pooledBytes,
  setPoolMaxBytes,
  setPoolMode,
  withBufferPool,
} from '../../src/tensor/pool.js';
import { DeepseekV3, parseConfig, type DeepseekConfig } from '../../src/models/index.js';
import { AdamW, clipGradNorm } from '../../src/optim/adamw.js';
import { runMicroBatch } from '../../src/train/data_parallel.js';
import { getBackend, setBackend } from '../../src/backend/registry.js';
import { nativeAvailable } from '../../src/backend/native/index.js';
import { MICRO_HF_CONFIG, ToySource } from '../train/fixtures.js';
import { Tensor, mul, sum } from '../../src/tensor/index.js';

const N = POOL_MIN * 4;

describe('buffer pool', () => {
  afterEach(() => setPoolMode('on'));

  it('hands a released array out again, zero-filled, and only inside a scope', () => {
    setPoolMode('on');
    let first = null as Float32Array | null;
    withBufferPool(
      () => {
        assert.equal(inBufferPool(), true);
        first = allocF32(N);
        first.fill(7);
      },
      () => [],
    );
    assert.equal(inBufferPool(), false);
    assert.ok(pooledBytes() >= N * 4);
    // outside a scope: a fresh array
    assert.notEqual(allocF32(N), first);
    const again = withBufferPool(
      () => allocF32(N),
      () => [],
    );
    assert.ok(again === first, 'the same array');
    assert.ok(again.every((v) => v === 0));
  });

  it('lengths of one capacity class share arrays: the caller gets a zero-filled view of its own length', () => {
    assert.equal(poolCapacity(1024), 1024);
    assert.equal(poolCapacity(1000), 1024);
    assert.equal(poolCapacity(1025), 1280);
    for (let n = 9; n < 5000; n += 7) {
      const c = poolCapacity(n);
      assert.ok(c >= n && c <= 1.25 * n, `capacity ${c} for ${n}`);
    }
    setPoolMode('on');
    const a = withBufferPool(
      () => allocF32(1000).fill(2),
      () => [],
    );
    const b = withBufferPool(
      () => allocF32(1010),
      () => [],
    );
    assert.equal(b.length, 1010);
    assert.equal(b.buffer, a.buffer, 'the same array underneath');
    assert.ok(b.every((v) => v === 0));
    // a kept view keeps its whole array out of the pool
    let v = null as Float32Array | null;
    withBufferPool(
      () => {
        v = allocF32(1001).fill(8);
      },
      () => [v],
    );
    assert.equal(v!.buffer, a.buffer);
    const w = withBufferPool(
      () => allocF32(1002),
      () => [],
    );
    assert.notEqual(w.buffer, a.buffer);
    assert.ok(v!.every((x) => x === 8));
  });

  it('a request takes a longer free array (up to twice its capacity) when its own capacity has none', () => {
    setPoolMode('on');
    const a = withBufferPool(
      () => allocF32(1300).fill(5), // capacity 1536
      () => [],
    );
    const b = withBufferPool(
      () => allocF32(1000), // capacity 1024: none free, 1536 is
      () => [],
    );
    assert.ok(b.buffer === a.buffer, 'the longer array underneath');
    assert.equal(b.length, 1000);
    assert.ok(
      b.every((v) => v === 0),
      'zero-filled like a fresh one',
    );
    const c = withBufferPool(
      () => allocF32(600), // capacity 640: 1536 is more than twice it, so a fresh array
      () => [],
    );
    assert.ok(c.buffer !== a.buffer, 'a fresh array');
  });

  it('keeps what the scope names, and small arrays are never pooled', () => {
    setPoolMode('on');
    const kept = withBufferPool(
      () => {
        const k = allocF32(N);
        k.fill(3);
        allocF32(POOL_MIN - 1).fill(5);
        return k;
      },
      function* () {
        yield null;
      },
    );
    // `kept` was not named by keep: it went back to the pool; now name it
    const k2 = withBufferPool(
      () => {
        const a = allocF32(N);
        a.fill(4);
        return a;
      },
      () => [kept],
    );
    assert.equal(k2, kept);
    const other = withBufferPool(
      () => allocF32(N),
      () => [],
    );
    assert.notEqual(other, k2);
    assert.ok(k2.every((v) => v === 4));
  });

  it('recycles nothing when the scope throws, and a nested scope belongs to the outer one', () => {
    setPoolMode('on');
    let lost = null as Float32Array | null;
    assert.throws(
      () =>
        withBufferPool(
          () => {
            lost = allocF32(N * 2);
            throw new Error('boom');
          },
          () => [],
        ),
      /boom/,
    );
    assert.equal(inBufferPool(), false);
    const next = withBufferPool(
      () => allocF32(N * 2),
      () => [],
    );
    assert.notEqual(next, lost);
    let inner = null as Float32Array | null;
    withBufferPool(
      () => {
        inner = withBufferPool(
          () => allocF32(N * 3),
          () => [],
        );
        // still the outer scope's: not released yet
        inner.fill(1);
        assert.equal(inBufferPool(), true);
      },
      () => [],
    );
    assert.equal(
      withBufferPool(
        () => allocF32(N * 3),
        () => [],
      ),
      inner,
    );
  });

  it("'check' poisons released arrays with NaN, of every length, and never reuses them", () => {
    setPoolMode('check');
    const small = withBufferPool(
      () => allocF32(2),
      () => [],
    );
    const big = withBufferPool(
      () => allocF32(N),
      () => [],
    );
    assert.ok(Number.isNaN(small[0]) && Number.isNaN(big[N - 1]));
    assert.notEqual(
      withBufferPool(
        () => allocF32(N),
        () => [],
      ),
      big,
    );
    assert.equal(pooledBytes(), 0);
  });

  for (const backend of ['ts', 'native'] as const)
    it(`training with the pool gives the same bits as without; in check mode nothing released is read again (${backend} kernels)`, {
      skip: backend === 'native' && !nativeAvailable() ? 'the native addon is not built' : false,
    }, () => {
      const prevBackend = getBackend();
      setBackend(backend);
      try {
        // micro DeepSeek-V3 (MoE, MLA, MTP) with rows long enough that its activations are pooled
        const config = parseConfig({ ...MICRO_HF_CONFIG, vocab_size: 64, num_nextn_predict_layers: 1 })
          .config as DeepseekConfig;
        const trainOnce = (): { losses: number[]; params: Float32Array[] } => {
          const model = new DeepseekV3(config, { seed: 3, initStd: 0.1 });
          const opt = new AdamW(model.namedParameters(), { lr: 1e-2 });
          const src = new ToySource(5, 32, 64);
          const losses: number[] = [];
          model.train();
          for (let step = 0; step < 3; step++) {
            for (let m = 0; m < 2; m++) {
              const b = src.next(2);
              losses.push(runMicroBatch(model, { ...b, weight: 0.5 }, { balanceAlpha: 1e-3, mtpLambda: 0.3 }).loss);
            }
            clipGradNorm(model.parameters(), 1);
            opt.step();
            opt.zeroGrad();
            model.afterStep({ gamma: 1e-3 });
          }
          return { losses, params: model.parameters().map((p) => Float32Array.from(p.data as Float32Array)) };
        };
        setPoolMode('off');
        const off = trainOnce();
        setPoolMode('on');
        const reused = poolStats.reused;
        const on = trainOnce();
        assert.ok(poolStats.reused > reused, 'the second micro-batch takes arrays from the pool');
        setPoolMode('check');
        const check = trainOnce();
        for (const r of [on, check]) {
          assert.deepEqual(r.losses, off.losses);
          r.params.forEach((p, i) => assert.deepEqual(p, off.params[i]));
        }
        assert.ok(off.losses.every(Number.isFinite));
      } finally {
        setBackend(prevBackend);
      }
    });

  it("a parameter's gradient sums into its own array, kept from step to step; one set from outside is left alone", () => {
    setPoolMode('on');
    const w = new Tensor(
      Float32Array.from({ length: N }, (_, i) => (i % 7) - 3),
      [N],
      'float32',
    ).requiresGrad_();
    const x = Float32Array.from({ length: N }, (_, i) => (i % 5) * 0.25);
    const microBatch = (scale: number) =>
      withBufferPool(
        () =>
          sum(
            mul(
              w,
              new Tensor(
                x.map((v) => v * scale),
                [N],
                'float32',
              ),
            ),
          ).backward(),
        () => gradsOf([w]),
      );
    microBatch(1);
    const buf = w.grad!.data;
    assert.equal(buf, w.gradBuffer, "the gradient is the parameter's own array, not one of the pool");
    microBatch(3); // added in place: 1x + 3x
    assert.equal(w.grad!.data, buf);
    assert.deepEqual(
      Array.from(w.grad!.data),
      Array.from(x, (v) => Math.fround(v + Math.fround(v * 3))),
    );
    w.grad = null; // zeroGrad
    microBatch(2);
    assert.equal(w.grad!.data, buf, 'the next step writes the same array');
    assert.deepEqual(
      Array.from(w.grad!.data),
      Array.from(x, (v) => Math.fround(v * 2)),
    );
    const outside = new Tensor(new Float32Array(N).fill(1), [N], 'float32');
    w.grad = outside;
    microBatch(1);
    assert.notEqual(w.grad!.data, outside.data);
    assert.ok(
      outside.data.every((v) => v === 1),
      'a gradient set from outside is not written',
    );
    assert.deepEqual(
      Array.from(w.grad!.data),
      Array.from(x, (v) => Math.fround(1 + v)),
    );
    // outside a scope, backward keeps the old behaviour: the gradient is the backward's own array
    w.grad = null;
    sum(mul(w, new Tensor(x, [N], 'float32'))).backward();
    assert.notEqual(w.grad!.data, buf);
  });

  it('holds only what the last scope released, and drains', () => {
    setPoolMode('on');
    withBufferPool(
      () => {
        for (let i = 0; i < 3; i++) allocF32(N);
        allocF32(N * 2);
      },
      () => [],
    );
    assert.equal(pooledBytes(), (3 * N + 2 * N) * 4);
    withBufferPool(
      () => allocF32(N),
      () => [],
    );
    assert.equal(pooledBytes(), N * 4, 'one array of the one capacity the last scope used');
    drainBufferPool();
    assert.equal(pooledBytes(), 0);
  });

  it('records at most the bound: later arrays of the scope are plain ones', () => {
    setPoolMode('on');
    const prev = setPoolMaxBytes(3 * N * 4);
    try {
      const arrays = withBufferPool(
        () => [allocF32(N), allocF32(N), allocF32(N), allocF32(N), allocF32(N)],
        () => [],
      );
      assert.equal(pooledBytes(), 3 * N * 4, 'three recorded, two left to the garbage collector');
      const again = withBufferPool(
        () => [allocF32(N), allocF32(N), allocF32(N), allocF32(N)],
        () => [],
      );
      assert.deepEqual(
        again.map((a) => arrays.indexOf(a)),
        [2, 1, 0, -1],
      );
    } finally {
      setPoolMaxBytes(prev);
    }
  });

  it("'check' starts the outputs of kernels that write every element as NaN; async scopes are refused", () => {
    setPoolMode('check');
    let seen: number[] = [];
    withBufferPool(
      () => {
        seen = [allocF32(N, false)[0], allocF32(N)[0]];
      },
      () => [],
    );
    assert.ok(Number.isNaN(seen[0]));
    assert.equal(seen[1], 0);
    setPoolMode('on');
    assert.throws(
      () =>
        withBufferPool(
          async () => 1,
          () => [],
        ),
      /synchronous/,
    );
  });

  it('a bad R1TS_BUFFER_POOL or R1TS_BUFFER_POOL_MB fails when a scope opens, not on import', () => {
    const code = `import { allocF32, withBufferPool } from './src/tensor/pool.ts';
allocF32(1000);
try { withBufferPool(() => 0, () => []); } catch (e) { console.log(e.message); }`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      encoding: 'utf8',
      env: { ...process.env, R1TS_BUFFER_POOL: 'sometimes' },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /R1TS_BUFFER_POOL: expected on, off or check \(got 'sometimes'\)/);
    const mb = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      encoding: 'utf8',
      env: { ...process.env, R1TS_BUFFER_POOL: 'on', R1TS_BUFFER_POOL_MB: 'lots' },
    });
    assert.match(mb.stdout, /R1TS_BUFFER_POOL_MB: expected a number of MiB >= 0 \(got 'lots'\)/);
  });

  it('gradsOf lists the gradients that exist', () => {
    const g = new Float32Array(3);
    assert.deepEqual(gradsOf([{ grad: { data: g } }, { grad: null }]), [g, undefined]);
  });
});
