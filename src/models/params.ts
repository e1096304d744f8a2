/**
 * Parameter accounting from a config alone (no weights allocated), as SPEC 1.5 does it:
 * total = embedding + head + every layer + final norm; activated = total minus the routed experts a token does not
 * use (n_routed - num_experts_per_tok per MoE layer), so it includes the embedding and the output head;
 * mtp = the unique parameters of the MTP modules (their embedding and head are shared).
 */
import { type ModelConfig, isDeepseek } from './config.js';

export interface ParamCounts {
  total: number;
  activated: number;
  mtp: number;
  /** Per-component figures for the curious. */
  breakdown: Record<string, number>;
}

export function countParams(c: ModelConfig): ParamCounts {
  const D = c.hidden_size;
  const emb = c.vocab_size * D;
  const head = c.tie_word_embeddings ? 0 : c.vocab_size * D;
  const mlp = (inter: number) => 3 * D * inter;
  if (!isDeepseek(c)) {
    const hd = c.head_dim;
    const H = c.num_attention_heads;
    const Hkv = c.num_key_value_heads;
    // q/k/v biases (Qwen2, Llama's attention_bias), and o_proj's too for Llama
    const bias = c.qkv_bias ? H * hd + 2 * Hkv * hd + (c.model_type === 'llama' ? D : 0) : 0;
    const attn = D * H * hd + 2 * D * Hkv * hd + H * hd * D + bias;
    const layer = attn + mlp(c.intermediate_size) + 2 * D;
    const total = emb + head + c.num_hidden_layers * layer + D;
    return { total, activated: total, mtp: 0, breakdown: { embedding: emb, head, attentionPerLayer: attn, layer } };
  }
  const H = c.num_attention_heads;
  const qk = c.qk_nope_head_dim + c.qk_rope_head_dim;
  const ab = c.attention_bias ? 1 : 0;
  const q =
    c.q_lora_rank === null
      ? D * H * qk + ab * H * qk
      : D * c.q_lora_rank + ab * c.q_lora_rank + c.q_lora_rank + c.q_lora_rank * H * qk;
  const mla =
    q +
    D * (c.kv_lora_rank + c.qk_rope_head_dim) +
    ab * (c.kv_lora_rank + c.qk_rope_head_dim) +
    c.kv_lora_rank +
    c.kv_lora_rank * H * (c.qk_nope_head_dim + c.v_head_dim) +
    H * c.v_head_dim * D +
    ab * D;
  const norms = 2 * D;
  const dense = mlp(c.intermediate_size);
  const expert = mlp(c.moe_intermediate_size);
  const gate = c.n_routed_experts * D + (c.topk_method === 'noaux_tc' ? c.n_routed_experts : 0);
  const moe =
    c.n_routed_experts * expert +
    (c.n_shared_experts > 0 ? mlp(c.moe_intermediate_size * c.n_shared_experts) : 0) +
    gate;
  const nDense = Math.min(c.first_k_dense_replace, c.num_hidden_layers);
  const nMoe = c.num_hidden_layers - nDense;
  const total = emb + head + D + nDense * (mla + norms + dense) + nMoe * (mla + norms + moe);
  const inactive = (c.n_routed_experts - c.num_experts_per_tok) * expert;
  const activated = total - nMoe * inactive;
  const mtpBlock = mla + norms + (c.num_hidden_layers >= c.first_k_dense_replace ? moe : dense);
  const mtp = c.num_nextn_predict_layers * (2 * D + 2 * D * D + mtpBlock + D);
  return {
    total,
    activated,
    mtp,
    breakdown: {
      embedding: emb,
      head,
      mlaPerLayer: mla,
      denseFfn: dense,
      expert,
      gate,
      moePerLayer: moe,
      mtpActivated: c.num_nextn_predict_layers * (2 * D + 2 * D * D + mtpBlock + D - inactive),
    },
  };
}
