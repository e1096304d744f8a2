/**
 * The KV caches of the built-in families as one shape: per layer a few named tensors whose first dimension is the
 * batch row (DeepSeek-V3: the MLA latent `kv` and the RoPE key `pe`; dense: `k` and `v`), grown by the model's forward.
 * `select` and `expand` act on every one of them alike.
 */
import { Tensor, noGrad } from '../tensor/tensor.js';
import { expand, indexSelect } from '../tensor/ops/index.js';
import type { KVCache } from './causal_lm.js';

export abstract class LayerTensorCache<K extends string> implements KVCache {
  readonly layers: Record<K, Tensor | null>[];
  length = 0;
  constructor(
    numLayers: number,
    private readonly keys: readonly K[],
  ) {
    this.layers = Array.from(
      { length: numLayers },
      () => Object.fromEntries(keys.map((k) => [k, null])) as Record<K, Tensor | null>,
    );
  }
  get rows(): number {
    return this.layers[0]?.[this.keys[0]]?.shape[0] ?? 0;
  }
  abstract valuesPerToken(): number;
  private map(f: (t: Tensor) => Tensor): void {
    for (const l of this.layers) for (const k of this.keys) l[k] = l[k] ? f(l[k]) : null;
  }
  select(rows: readonly number[]): void {
    const idx = new Tensor(Int32Array.from(rows), [rows.length], 'int32');
    noGrad(() => this.map((t) => indexSelect(t, 0, idx)));
  }
  expand(n: number): void {
    this.map((t) => expand(t, [n, ...t.shape.slice(1)]));
  }
}
