/**
 * What the autograd graph keeps alive between forward and backward. The graph's edges point to grad nodes, not to
 * input tensors (src/tensor/tensor.ts), so an intermediate that no backward closure captures is garbage after the
 * forward pass: checked with WeakRefs on the data buffers after a forced full collection (no timing involved), and
 * with the live ArrayBuffer bytes of a chain of FP8 Linear layers against the same chain in float32.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, type Tensor, add, randn, sum, mul, linear, split, tensor } from '../../src/index.js';
import { forceGc, heldArrayBufferBytes } from '../../src/tensor/memory.js';
import { fp8Linear } from '../../src/fp8/linear.js';

/** Lets the current job end (WeakRef targets created in a job stay alive until it ends), then collects. */
async function collect(): Promise<void> {
  await new Promise((r) => setImmediate(r));
  forceGc();
}

test('an op with several outputs (split) keeps neither its input nor its parts alive', async () => {
  const x = tensor([1, 2, 3, 4, 5, 6], { requiresGrad: true });
  const build = (): { loss: Tensor; h: WeakRef<ArrayBuffer>; part: WeakRef<ArrayBuffer> } => {
    const h = x.mul(2);
    const [p, q] = split(h, [2, 4]);
    const loss = add(sum(p), sum(mul(q, 3))); // sum and mul-by-a-constant read none of their inputs
    return { loss, h: new WeakRef(h.data.buffer as ArrayBuffer), part: new WeakRef(p.data.buffer as ArrayBuffer) };
  };
  const { loss, h, part } = build();
  await collect();
  assert.equal(h.deref(), undefined, "split's nodes hold its input");
  assert.equal(part.deref(), undefined, "split's nodes hold its parts");
  loss.backward();
  assert.deepEqual(x.grad!.toList(), [2, 2, 6, 6, 6, 6]);
});

test('an intermediate no backward closure captures is collected after the forward pass; backward still works', async () => {
  // h = 3x is consumed only by add (whose rule needs no operand) and by mul with a constant-free rule on the other side.
  const x = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20], { requiresGrad: true });
  const build = (): { loss: Tensor; h: WeakRef<ArrayBuffer>; kept: WeakRef<ArrayBuffer> } => {
    const h = x.mul(3);
    const e = add(h, 1); // add saves nothing: h is garbage once this returns
    const loss = sum(mul(e, e)); // mul saves e (both sides): e must stay
    return { loss, h: new WeakRef(h.data.buffer as ArrayBuffer), kept: new WeakRef(e.data.buffer as ArrayBuffer) };
  };
  const { loss, h, kept } = build();
  await collect();
  assert.equal(h.deref(), undefined, 'the graph still holds an intermediate that no backward rule reads');
  assert.notEqual(kept.deref(), undefined, 'a tensor a backward rule reads must stay alive');
  loss.backward();
  assert.deepEqual(
    x.grad!.toList(),
    x.toList().map((v) => 2 * (3 * v + 1) * 3),
  ); // d/dx (3x+1)^2
});

test('retainGrad keeps a non-leaf alive and gives it its .grad; leaves re-check requiresGrad at backward time', async () => {
  const x = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17], { requiresGrad: true });
  const w = tensor([2], { requiresGrad: true });
  const build = (): { loss: Tensor; h: WeakRef<Tensor> } => {
    const h = x.mul(3).retainGrad();
    return { loss: sum(add(h, w)), h: new WeakRef(h) };
  };
  const { loss, h } = build();
  await collect();
  const ht = h.deref();
  assert.ok(ht, 'retainGrad must keep the tensor reachable from the graph');
  w.requiresGrad = false; // frozen after the forward pass: gets no gradient
  loss.backward();
  assert.deepEqual(ht.grad!.toList(), new Array(17).fill(1));
  assert.deepEqual(x.grad!.toList(), new Array(17).fill(3));
  assert.equal(w.grad, null);
});

/**
 * A chain of Linear layers, its loss and (with `track`) WeakRefs to the intermediates' data. A WeakRef keeps its
 * target alive until the current job ends, so byte measurements (synchronous) run without them.
 */
function chain(
  gemm: 'fp8' | 'fp32',
  ws: Tensor[],
  x: Tensor,
  track = true,
): { loss: Tensor; refs: WeakRef<ArrayBuffer>[] } {
  const refs: WeakRef<ArrayBuffer>[] = [];
  let h = x;
  for (const w of ws) {
    h = gemm === 'fp8' ? fp8Linear(h, w) : linear(h, w);
    if (track) refs.push(new WeakRef(h.data.buffer as ArrayBuffer));
  }
  return { loss: sum(mul(h, h)), refs: refs.slice(0, -1) }; // the last output is read by mul's rule
}

test('a chain of fp8Linear layers: the float32 intermediates are collected; the graph holds FP8 bytes, not float32', async () => {
  const g = new Generator(11);
  const depth = 6;
  const x = randn([64, 256], { generator: g }).requiresGrad_();
  const ws = Array.from({ length: depth }, () => {
    const w = randn([256, 256], { generator: g });
    for (let i = 0; i < w.size; i++) w.data[i] *= 0.06;
    return w.requiresGrad_();
  });
  // 1. collectability (would fail with an engine whose graph references op inputs)
  const built = chain('fp8', ws, x);
  await collect();
  const alive = built.refs.filter((r) => r.deref() !== undefined).length;
  assert.equal(alive, 0, `${alive} of ${built.refs.length} float32 intermediates of the FP8 chain are still alive`);
  const f32 = chain('fp32', ws, x);
  await collect();
  assert.equal(
    f32.refs.filter((r) => r.deref() !== undefined).length,
    depth - 1,
    'float32 matmul keeps its inputs (it needs them)',
  );
  built.loss.backward();
  assert.ok(ws[0].grad!.data.every(Number.isFinite));
  // 2. the bytes the graph holds, measured (warm-up runs above filled any one-time caches)
  const held = (gemm: 'fp8' | 'fp32'): number => heldArrayBufferBytes(() => chain(gemm, ws, x, false).loss).bytes;
  const b32 = held('fp32');
  const b8 = held('fp8');
  const act = 64 * 256; // elements of one layer input (x itself existed before: not counted)
  // float32: each matmul keeps its 4 B/element input, and mul keeps the last output
  assert.ok(Math.abs(b32 - depth * act * 4) < 1024, `float32 graph holds ${b32} B, expected ${depth * act * 4}`);
  // FP8: per layer its input as 1 B/element + one float32 scale per 1x128 tile and its weight's FP8 copy (1 B/element +
  // one scale per 128x128 block), plus the last output (float32, read by mul)
  const expected8 = depth * (act + 64 * 2 * 4) + depth * (256 * 256 + 4 * 4) + act * 4;
  assert.ok(Math.abs(b8 - expected8) < 1024, `FP8 graph holds ${b8} B, expected ${expected8}`);
  // the activations alone: float32 keeps 5 intermediates x 4 B, FP8 6 inputs x ~1 B
  const fp8Acts = b8 - depth * (256 * 256 + 4 * 4) - act * 4;
  const f32Acts = b32 - act * 4;
  assert.ok(f32Acts / fp8Acts > 3, `saved activations: float32 ${f32Acts} B vs FP8 ${fp8Acts} B`);
});
