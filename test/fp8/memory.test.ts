/**
 * The real memory saving of FP8 training: after a forward pass of a DeepSeek-V3 model in fp8 mode, no float32 Linear
 * input is alive except those another high-precision op reads anyway (the MoE gate reads the shared expert's input;
 * the float32 head keeps its input; attention keeps its output, wo's input); the measured graph bytes are well below
 * float32's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, manualSeed } from '../../src/index.js';
import { DeepseekV3, MLP, parseConfig, type DeepseekConfig } from '../../src/models/index.js';
import { Linear } from '../../src/nn/layers.js';
import { setModelPrecision } from '../../src/fp8/precision.js';
import { forceGc } from '../../src/tensor/memory.js';
import { SyntheticSource, experimentModelConfig, graphMemoryByPrecision } from '../../src/experiments/fp8.js';
import { toyConfig } from '../train/fixtures.js';

/** The toy model with q_lora (wq_a, q_norm, wq_b) so that every Linear of MLA is there. */
function config(): DeepseekConfig {
  return parseConfig({ ...toyConfig(), q_lora_rank: 12, num_hidden_layers: 3 }).config as DeepseekConfig;
}

/** The Linear inputs still alive (by layer name) after a forward pass in `precision`, the loss kept. */
async function aliveLinearInputs(precision: 'fp8' | 'fp32'): Promise<string[]> {
  manualSeed(0);
  const model = new DeepseekV3(config(), { seed: 3 });
  setModelPrecision(model, precision);
  const refs: [string, WeakRef<ArrayBuffer>][] = [];
  for (const [name, m] of model.namedModules()) {
    // an MLP's input is its w1's and w3's (the fused FP8 MLP calls no Linear)
    if (!(m instanceof Linear) && !(m instanceof MLP)) continue;
    const fwd = m.forward.bind(m);
    m.forward = (x: Tensor): Tensor => {
      refs.push([m instanceof MLP ? `${name}.w1` : name, new WeakRef(x.data.buffer as ArrayBuffer)]);
      return fwd(x);
    };
  }
  const { inputs, targets } = new SyntheticSource(1, 12, 16).next(3);
  const loss = ((): Tensor => model.computeLoss(inputs, targets).loss)();
  await new Promise((r) => setImmediate(r)); // WeakRef targets stay alive until the job that made them ends
  forceGc();
  const alive = refs.filter(([, r]) => r.deref() !== undefined).map(([n]) => n);
  loss.backward(); // the graph is still whole
  return [...new Set(alive)].sort();
}

test('fp8: after the forward pass only the Linear inputs a high-precision op also reads are alive', async () => {
  const alive8 = await aliveLinearInputs('fp8');
  // The MoE gate reads the shared expert's input; the float32 head keeps its input; attention's backward reads its
  // own output, which is attn.wo's input (the (B, T, H, D) layout needs no transposed copy in between).
  const allowed = (n: string): boolean =>
    n === 'head' || n.endsWith('.head') || n.includes('.shared_experts.') || n.endsWith('.attn.wo');
  assert.deepEqual(
    alive8.filter((n) => !allowed(n)),
    [],
    'float32 Linear inputs kept by the fp8 graph',
  );
  const alive32 = await aliveLinearInputs('fp32');
  assert.ok(
    alive32.includes('layers.0.attn.wo') && alive32.includes('layers.0.ffn.w2'),
    'float32 matmuls keep their inputs',
  );
  assert.ok(
    alive8.every((n) => !n.includes('.experts.')) && !alive8.includes('layers.0.ffn.w1'),
    'fp8: no MLP input alive but the shared expert',
  );
  assert.ok(
    alive32.length > alive8.length + 10,
    `float32 keeps its Linear inputs (${alive32.length} layers alive vs ${alive8.length})`,
  );
});

test('measured graph bytes of the experiment model: fp8 holds less than fp32, by at least the Linear inputs freed', () => {
  const cfg = experimentModelConfig(); // 64-wide Linear inputs, 256 tokens: activations outweigh the FP8 weight copies
  const { inputs, targets } = new SyntheticSource(2, 32, cfg.vocab_size).next(8);
  const [fp32, bf16, fp8] = graphMemoryByPrecision(cfg, inputs, targets, 0);
  assert.deepEqual([fp32.precision, bf16.precision, fp8.precision], ['fp32', 'bf16', 'fp8']);
  assert.ok(fp32.saved.bytes / fp8.saved.bytes > 3.5, `accounted ${fp32.saved.bytes} vs ${fp8.saved.bytes}`);
  assert.ok(
    fp8.graphBytes < bf16.graphBytes && fp8.graphBytes < fp32.graphBytes,
    `fp8 ${fp8.graphBytes} B, bf16 ${bf16.graphBytes} B, fp32 ${fp32.graphBytes} B`,
  );
  // float32 matmuls account an input shared by two Linears twice (one buffer); even so the measured saving is a large
  // part of the accounted one (it would be ~0 if the graph kept the float32 inputs)
  const saving = fp32.graphBytes - fp8.graphBytes;
  assert.ok(
    saving > 0.3 * (fp32.saved.bytes - fp8.saved.bytes),
    `measured saving ${saving} B vs accounted ${fp32.saved.bytes - fp8.saved.bytes} B`,
  );
});
