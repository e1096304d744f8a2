/**
 * The border between r1ts names and Hugging Face names: one table of rules, used to export a model's state dict as
 * a HF checkpoint and to import one. r1ts names follow DeepSeek's reference code (attn.wq_a, ffn.w1, ...); HF names
 * follow transformers' DeepseekV3ForCausalLM / Qwen2ForCausalLM / LlamaForCausalLM.
 *
 * MTP modules are stored as `model.layers.{num_hidden_layers + k}` like the released DeepSeek-V3 weights, with copies
 * of the shared embedding and output head (`embed_tokens`, `shared_head.head`) written on export and dropped on import.
 */
import type { Tensor } from '../tensor/tensor.js';
import { type ModelConfig, isDeepseek } from '../models/config.js';
import type { CausalLM } from '../models/causal_lm.js';

/** r1ts sub-module name -> HF sub-module name, inside a decoder layer. */
const LAYER_TABLE: [string, string][] = [
  ['attn_norm', 'input_layernorm'],
  ['ffn_norm', 'post_attention_layernorm'],
  ['attn.wq_a', 'self_attn.q_a_proj'],
  ['attn.q_norm', 'self_attn.q_a_layernorm'],
  ['attn.wq_b', 'self_attn.q_b_proj'],
  ['attn.wq', 'self_attn.q_proj'],
  ['attn.wk', 'self_attn.k_proj'],
  ['attn.wv', 'self_attn.v_proj'],
  ['attn.wkv_a', 'self_attn.kv_a_proj_with_mqa'],
  ['attn.kv_norm', 'self_attn.kv_a_layernorm'],
  ['attn.wkv_b', 'self_attn.kv_b_proj'],
  ['attn.wo', 'self_attn.o_proj'],
  ['ffn.gate.weight', 'mlp.gate.weight'],
  ['ffn.gate.bias', 'mlp.gate.e_score_correction_bias'],
  ['w1', 'gate_proj'],
  ['w2', 'down_proj'],
  ['w3', 'up_proj'],
  ['ffn', 'mlp'],
];

/** Top-level and MTP names. `{L}` is the MTP layer index (num_hidden_layers + k). */
const TOP_TABLE: [RegExp, (m: RegExpMatchArray, L: number) => string][] = [
  [/^embed\.weight$/, () => 'model.embed_tokens.weight'],
  [/^norm\.weight$/, () => 'model.norm.weight'],
  [/^head\.weight$/, () => 'lm_head.weight'],
  [/^layers\.(\d+)\.(.+)$/, (m) => `model.layers.${m[1]}.${layerToHF(m[2])}`],
  [/^mtp\.(\d+)\.(enorm|hnorm|eh_proj)\.weight$/, (m, L) => `model.layers.${L + Number(m[1])}.${m[2]}.weight`],
  [/^mtp\.(\d+)\.norm\.weight$/, (m, L) => `model.layers.${L + Number(m[1])}.shared_head.norm.weight`],
  [/^mtp\.(\d+)\.block\.(.+)$/, (m, L) => `model.layers.${L + Number(m[1])}.${layerToHF(m[2])}`],
];

function layerToHF(rest: string): string {
  // Replace whole dotted segments (or segment runs) using the layer table, left to right.
  let out = '';
  let s = rest;
  while (s.length) {
    const hit = LAYER_TABLE.find(([ours]) => s === ours || s.startsWith(ours + '.'));
    if (hit) {
      out += (out ? '.' : '') + hit[1];
      s = s.slice(hit[0].length + 1);
      continue;
    }
    const dot = s.indexOf('.');
    const seg = dot < 0 ? s : s.slice(0, dot);
    out += (out ? '.' : '') + seg;
    s = dot < 0 ? '' : s.slice(dot + 1);
  }
  return out;
}

/** The HF name of an r1ts parameter or buffer name. */
export function toHFName(name: string, config: ModelConfig): string {
  const L = config.num_hidden_layers;
  for (const [re, f] of TOP_TABLE) {
    const m = name.match(re);
    if (m) return f(m, L);
  }
  throw new Error(`hf: no Hugging Face name for r1ts tensor '${name}'`);
}

/** HF names of the copies the released MTP layers carry (shared embedding and head). */
function mtpCopies(config: ModelConfig): Map<string, string> {
  const out = new Map<string, string>();
  if (!isDeepseek(config)) return out;
  for (let k = 0; k < config.num_nextn_predict_layers; k++) {
    const L = config.num_hidden_layers + k;
    out.set(`model.layers.${L}.embed_tokens.weight`, 'embed.weight');
    out.set(`model.layers.${L}.shared_head.head.weight`, config.tie_word_embeddings ? 'embed.weight' : 'head.weight');
  }
  return out;
}

/** The HF name of `model`'s tensor `name`: the family's own mapping when it has one, else this file's table. */
export function hfNameOf(model: CausalLM, name: string): string {
  return model.hfName ? model.hfName(name) : toHFName(name, model.config);
}

/** The model's tensors under HF names (live tensors, not copies), plus the MTP embedding/head copies. */
export function exportStateDict(model: CausalLM): Map<string, Tensor> {
  const config = model.config;
  const out = new Map<string, Tensor>();
  const own = model.stateDict();
  for (const [name, t] of own) out.set(hfNameOf(model, name), t);
  for (const [hf, ours] of mtpCopies(config)) {
    const t = own.get(ours);
    if (t) out.set(hf, t);
  }
  return out;
}

export interface ImportReport {
  /** HF tensors that were not used (e.g. extra MTP layers when num_nextn_predict_layers is 0). */
  unused: string[];
}

/**
 * Loads HF-named tensors into `model`. Every model tensor must be present with the right shape and a float dtype for
 * a float parameter (errors name it; `source`, e.g. the model directory, is added to them); the MTP embedding/head
 * copies are ignored, and other unused tensors are reported.
 */
export function importStateDict(model: CausalLM, tensors: Map<string, Tensor>, source?: string): ImportReport {
  const config = model.config;
  const from = source ? ` (${source})` : '';
  const own = model.stateDict();
  const byHF = new Map<string, string>();
  for (const [name] of own) byHF.set(hfNameOf(model, name), name);
  const copies = mtpCopies(config);
  const state = new Map<string, Tensor>();
  const unused: string[] = [];
  for (const [hf, t] of tensors) {
    const ours = byHF.get(hf);
    if (ours) {
      // Integer or bool storage for a float parameter would be copied as numbers (token-id-sized weights): refuse.
      const isFloat = (d: string) => d === 'float32' || d === 'float64';
      if (isFloat(own.get(ours)!.dtype) && !isFloat(t.dtype))
        throw new Error(
          `hf: tensor ${hf} holds ${t.dtype === 'bool' ? 'booleans (BOOL)' : 'integers (an I*/U* dtype)'}, but the ` +
            `model's weights are floating point: store it as F32, F16, BF16 or F8${from}`,
        );
      state.set(ours, t);
    } else if (!copies.has(hf)) unused.push(hf);
  }
  const missing = [...byHF.entries()].filter(([, ours]) => !state.has(ours)).map(([hf]) => hf);
  if (missing.length) {
    throw new Error(
      `hf: checkpoint lacks ${missing.length} tensor(s) the model needs: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}${from}`,
    );
  }
  model.loadStateDict(state);
  return { unused };
}
