/** A tiny deterministic batch source and model for trainer tests. */
import { Generator, Tensor } from '../../src/index.js';
import { DEFAULT_TRAIN_CONFIG, type BatchSource, type TrainConfig } from '../../src/train/trainer.js';
import { parseConfig, type DeepseekConfig } from '../../src/models/index.js';

/** Sequences of a repeating pattern with noise, so a model can learn something in a few steps. */
export class ToySource implements BatchSource {
  private counter = 0;
  constructor(
    private readonly seed: number,
    private readonly T: number,
    private readonly V: number,
  ) {}
  next(batch: number): { inputs: Tensor; targets: Tensor } {
    const g = new Generator(this.seed);
    g.setState({ seed: this.seed, counter: this.counter * 1000 });
    this.counter++;
    const T = this.T;
    const seq = new Int32Array(batch * (T + 1));
    const u = g.uniform(batch * (T + 2), 'float64');
    for (let b = 0; b < batch; b++) {
      const start = Math.floor(u[b * (T + 2)] * this.V);
      for (let t = 0; t <= T; t++)
        seq[b * (T + 1) + t] =
          u[b * (T + 2) + t + 1] < 0.1
            ? Math.floor(u[b * (T + 2) + t + 1] * 10 * this.V) % this.V
            : (start + t) % this.V;
    }
    const inputs = new Int32Array(batch * T);
    const targets = new Int32Array(batch * T);
    for (let b = 0; b < batch; b++) {
      inputs.set(seq.subarray(b * (T + 1), b * (T + 1) + T), b * T);
      targets.set(seq.subarray(b * (T + 1) + 1, (b + 1) * (T + 1)), b * T);
    }
    return { inputs: new Tensor(inputs, [batch, T], 'int32'), targets: new Tensor(targets, [batch, T], 'int32') };
  }
  position(): unknown {
    return { counter: this.counter };
  }
  restore(p: unknown): void {
    this.counter = (p as { counter: number }).counter;
  }
}

export function toyConfig(): DeepseekConfig {
  return parseConfig({ ...MICRO_HF_CONFIG, vocab_size: 16, num_nextn_predict_layers: 1 }).config as DeepseekConfig;
}

/** The toy run of the trainer tests with ToySource(5, 8, 16): 8-token rows, a batch ramp 2 -> 4, 12 steps. */
export const TOY_TRAIN_CONFIG: TrainConfig = {
  ...DEFAULT_TRAIN_CONFIG,
  steps: 12,
  seqLen: 8,
  batchStart: 2,
  batchEnd: 4,
  microBatch: 2,
  peakLr: 3e-3,
  warmupSteps: 2,
  evalEvery: 4,
  evalBatches: 1,
  checkpointEvery: 3,
};

/** HF config fields of a micro DeepSeek-V3 (vocab_size from the tokenizer) for fast pretrain / CLI runs. */
export const MICRO_HF_CONFIG = {
  model_type: 'deepseek_v3',
  hidden_size: 16,
  intermediate_size: 24,
  moe_intermediate_size: 8,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  n_routed_experts: 4,
  n_group: 2,
  topk_group: 1,
  num_experts_per_tok: 2,
  first_k_dense_replace: 1,
  q_lora_rank: null,
  kv_lora_rank: 8,
  qk_nope_head_dim: 4,
  qk_rope_head_dim: 4,
  v_head_dim: 4,
  num_nextn_predict_layers: 0,
};
