/**
 * The kernel contract: every primitive a backend may implement, with typed inputs and attributes.
 * Ops (src/tensor/ops) call kernels only through `runKernel`; backends never import ops. The TypeScript backend
 * (src/backend/ts) implements every kernel and is the reference; a faster backend may implement any subset, and the
 * registry falls back to the reference for the rest.
 *
 * Conventions: inputs are contiguous row-major buffers; kernels never mutate their inputs and always return freshly
 * allocated outputs (one exception: `adamwStep` updates the optimizer state in place); float kernels keep the input's
 * float dtype (float32 or float64), so gradient checks run the same code in double precision.
 *
 * Besides the tensor primitives the contract holds every other hot loop that a faster backend replaces: the AdamW
 * step, the FP8 quantise / dequantise / GEMM of DeepSeek-V3's mixed precision, and the strided copy (FP8 transposes).
 * Their callers (src/optim, src/fp8) go through the registry like the ops do, so which backend runs is decided in
 * one place (../backend/select.ts) and every fast path has its reference beside it. docs/kernels.md has the list.
 */
import type { DType, TypedArray } from '../tensor/dtype.js';
import type { FloatFormat, ScaleFormat } from '../tensor/formats.js';

/** A contiguous buffer with its shape and element type. A Tensor is one. */
export interface TensorData {
  readonly data: TypedArray;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export type BinaryKernel = (a: TensorData, b: TensorData) => TensorData;
export type UnaryKernel = (x: TensorData) => TensorData;

export interface AxesAttrs {
  /** Sorted, non-negative, de-duplicated axes. */
  axes: readonly number[];
  keepdim: boolean;
}

/** The hyper-parameters of one AdamW step (`adamwStep`). */
export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step number (for bias correction). */
  step: number;
}

/**
 * A (rows, cols) matrix of 8-bit float codes (row-major) with one float32 scale per (tileRows, tileCols) tile
 * (row-major over the tile grid, edge tiles partial): element (r, c) is `decode(codes[r * cols + c]) * scale of its
 * tile`. src/fp8/quant.ts's `QuantizedMatrix` is one.
 */
export interface QuantizedData {
  readonly codes: Uint8Array;
  readonly scales: Float32Array;
  readonly rows: number;
  readonly cols: number;
  readonly tileRows: number;
  readonly tileCols: number;
  readonly format: FloatFormat<8>;
}

/**
 * How the FP8 GEMM's tensor core accumulates products between promotions (src/fp8/gemm.ts's header has the model):
 * a float of `mantissaBits` fraction bits rounded after every `groupSize` products (truncated or to nearest even),
 * float32 rounding after every group, or exact sums.
 */
export type AccumulatorModel =
  | { kind: 'limited'; mantissaBits: number; groupSize: number; rounding: 'truncate' | 'nearest' }
  | { kind: 'fp32'; groupSize: number }
  | { kind: 'exact' };

/** Attributes of the attention kernels (see `Kernels.attention`). */
export interface AttentionAttrs {
  causal: boolean;
  scale: number;
  /** int32 (B, Tq): the first key each query may see (default 0). */
  keyStart?: TensorData | null;
  /**
   * 'bhtd' (default): q (B, H, Tq, Dk), k (B, Hk, Tk, Dk), v (B, Hk, Tk, Dv), out (B, H, Tq, Dv). 'bthd': the same
   * with the head and token dims swapped (q (B, Tq, H, Dk), ..., out (B, Tq, H, Dv)), the layout of a projection's
   * output, so no transposes are needed around the kernel. lse is (B, H, Tq) in both.
   */
  layout?: AttentionLayout;
}

/** `mlaAttention`'s attributes: attention's, in the (B, T, H, D) layout, and where a head's key splits. */
export interface MlaAttentionAttrs {
  causal: boolean;
  scale: number;
  /** int32 (B, Tq): the first key each query may see (default 0). */
  keyStart?: TensorData | null;
  /** Dims of a key's first part (MLA's qk_nope_head_dim): kv holds them, then the value, per head. */
  nope: number;
}

/** The dims order of attention's q, k, v and out: see `AttentionAttrs.layout`. */
export type AttentionLayout = 'bhtd' | 'bthd';

/** The sizes of `rmsRows` (see there). */
export interface RmsRowsArgs {
  rows: number;
  dim: number;
  /** Floats from one row of x to the next (>= dim). */
  stride: number;
  /** Where row 0 of x starts. */
  offset: number;
  eps: number;
}

/** One routed expert's SwiGLU weights as `MLP` stores them: w1 (I, D) gate, w3 (I, D) up, w2 (D, I) down. */
export interface ExpertWeights {
  readonly w1: TensorData;
  readonly w3: TensorData;
  readonly w2: TensorData;
}

/** How the rows of `moeExperts`' input map to experts, tokens and gate weights (see there). */
export interface MoeAttrs {
  /** Rows of xs per expert, in the order of `experts` (each at least 1). */
  readonly sizes: readonly number[];
  /** The token (row of y) of each row of xs. */
  readonly tokens: Int32Array;
  /** The gate weight (entry of the flat gate weights) of each row of xs. */
  readonly slots: Int32Array;
  /** Rows of y. */
  readonly nTokens: number;
}

/** Which of `moeExpertsBackward`'s gradients to compute: xs's, and per expert its three matrices'. */
export interface MoeNeed {
  readonly xs: boolean;
  readonly experts: readonly boolean[];
}

/** What `moeExperts` keeps for its backward: per row of xs, w1 x and w3 x (h1, h3: (M, I)), SwiGLU (act), w2 act (o). */
export interface MoeSaved {
  readonly h1: TensorData;
  readonly h3: TensorData;
  readonly act: TensorData;
  readonly o: TensorData;
}

/** The operands of `attendRows` (see there). */
export interface AttendRowsArgs {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  kOff: Int32Array;
  vOff: Int32Array;
  len: Int32Array;
  rows: number;
  H: number;
  Dk: number;
  Dv: number;
  kStride: number;
  vStride: number;
  scale: number;
}

export interface Kernels {
  // Elementwise with NumPy broadcasting. Arithmetic promotes dtypes; comparisons return bool.
  add: BinaryKernel;
  sub: BinaryKernel;
  mul: BinaryKernel;
  /** True division; integer inputs give float32. */
  div: BinaryKernel;
  pow: BinaryKernel;
  maximum: BinaryKernel;
  minimum: BinaryKernel;
  eq: BinaryKernel;
  ne: BinaryKernel;
  lt: BinaryKernel;
  le: BinaryKernel;
  gt: BinaryKernel;
  ge: BinaryKernel;

  // Elementwise unary (float in, same float out; neg/abs also accept int32).
  neg: UnaryKernel;
  exp: UnaryKernel;
  log: UnaryKernel;
  sqrt: UnaryKernel;
  rsqrt: UnaryKernel;
  abs: UnaryKernel;
  sign: UnaryKernel;
  tanh: UnaryKernel;
  sin: UnaryKernel;
  cos: UnaryKernel;
  erf: UnaryKernel;
  sigmoid: UnaryKernel;
  silu: UnaryKernel;
  clamp: (x: TensorData, attrs: { min: number; max: number }) => TensorData;
  cast: (x: TensorData, attrs: { dtype: DType }) => TensorData;
  /** GELU, exact (erf) or the tanh approximation. */
  gelu: (x: TensorData, attrs: { approximate: 'none' | 'tanh' }) => TensorData;
  geluBackward: (x: TensorData, dy: TensorData, attrs: { approximate: 'none' | 'tanh' }) => TensorData;
  /** silu(a) * b, the SwiGLU gate. */
  swiglu: (a: TensorData, b: TensorData) => TensorData;
  swigluBackward: (a: TensorData, b: TensorData, dy: TensorData) => { da: TensorData; db: TensorData };

  // Reductions.
  sum: (x: TensorData, attrs: AxesAttrs) => TensorData;
  max: (x: TensorData, attrs: AxesAttrs) => TensorData;
  /** Index of the first maximum along one axis (int32). */
  argmax: (x: TensorData, attrs: { axis: number; keepdim: boolean }) => TensorData;

  // Layout.
  permute: (x: TensorData, attrs: { perm: readonly number[] }) => TensorData;
  broadcastTo: (x: TensorData, attrs: { shape: readonly number[] }) => TensorData;
  concat: (xs: readonly TensorData[], attrs: { axis: number }) => TensorData;
  /** x[starts[0]:ends[0], starts[1]:ends[1], ...] (step 1). */
  slice: (x: TensorData, attrs: { starts: readonly number[]; ends: readonly number[] }) => TensorData;
  /** A copy of `base` whose region starts..ends is replaced by `src`. */
  sliceScatter: (
    base: TensorData,
    src: TensorData,
    attrs: { starts: readonly number[]; ends: readonly number[] },
  ) => TensorData;

  // Indexing (index tensors are int32).
  /** torch.gather: out[..i..] = x[..index[..i..] along axis..]; out has index's shape. */
  gather: (x: TensorData, index: TensorData, attrs: { axis: number }) => TensorData;
  /** torch.scatter_add (out of place): out = x; out[..index[..i..] along axis..] += src[..i..]. */
  scatterAdd: (x: TensorData, index: TensorData, src: TensorData, attrs: { axis: number }) => TensorData;
  /** torch.index_select with a 1-D index. */
  indexSelect: (x: TensorData, index: TensorData, attrs: { axis: number }) => TensorData;
  /** torch.index_add (out of place) with a 1-D index: out = x; out[idx[j] along axis] += src[j along axis]. */
  indexAdd: (x: TensorData, index: TensorData, src: TensorData, attrs: { axis: number }) => TensorData;
  /**
   * indexAdd with src given as its consecutive parts along axis (their sizes sum to the index's length), so that
   * pieces computed apart (an MoE layer's experts) are added without joining them first: the result is
   * indexAdd(x, index, concat(parts)), bit for bit.
   */
  indexAddParts: (
    x: TensorData,
    index: TensorData,
    parts: readonly TensorData[],
    attrs: { axis: number },
  ) => TensorData;
  /** cond ? a : b with broadcasting of all three; cond is bool. */
  where: (cond: TensorData, a: TensorData, b: TensorData) => TensorData;

  // Linear algebra.
  /**
   * Batched matrix product with broadcast batch dims. a is (..., M, K), or (..., K, M) when transA; b is (..., K, N),
   * or (..., N, K) when transB. Transposed operands are read in place, never copied.
   */
  matmul: (a: TensorData, b: TensorData, attrs: { transA: boolean; transB: boolean }) => TensorData;
  /**
   * out[0 : M*N] = x (M, K) times wᵀ for w (N, K), both float32, written into the caller's buffer (nothing allocated,
   * every element written): a linear layer without bias, exactly `matmul(x, w, {transB: true})`'s numbers. For the
   * fast decoders' loops, which own their buffers.
   */
  linearInto: (x: TensorData, w: TensorData, out: Float32Array) => void;
  /**
   * y (M, N) float32 = x (M, K) float32 times wᵀ, for w (N, K) stored as bfloat16 codes (the Hugging Face Linear
   * layout): the inference-only linear layers of large models, whose weights stay bf16 in memory. The reference sums
   * over K in order in double, exactly `matmul` of x by the decoded weights.
   */
  matmulBf16: (x: TensorData, w: TensorData) => TensorData;
  /** Rows `ids` (int32, n) of w (V, D) stored as bfloat16, decoded to float32: (n, D). Embeddings of bf16 models. */
  bf16Rows: (w: TensorData, ids: TensorData) => TensorData;

  // Fused neural-network primitives.
  softmax: (x: TensorData, attrs: { axis: number }) => TensorData;
  /** dx = y * (dy - sum(dy * y)) along axis, given the softmax output y. */
  softmaxBackward: (y: TensorData, dy: TensorData, attrs: { axis: number }) => TensorData;
  logSoftmax: (x: TensorData, attrs: { axis: number }) => TensorData;
  /** dx = dy - exp(y) * sum(dy) along axis, given the log-softmax output y. */
  logSoftmaxBackward: (y: TensorData, dy: TensorData, attrs: { axis: number }) => TensorData;
  /**
   * Per-row cross-entropy of logits (N, C) against int32 targets (N). Rows whose target equals ignoreIndex get loss 0.
   * Also returns each row's log-sum-exp for the backward pass.
   */
  crossEntropy: (
    logits: TensorData,
    targets: TensorData,
    attrs: { ignoreIndex: number },
  ) => { loss: TensorData; lse: TensorData };
  /** dlogits = dloss[n] * (softmax(logits[n]) - onehot(target[n])); zero on ignored rows. */
  crossEntropyBackward: (
    logits: TensorData,
    targets: TensorData,
    lse: TensorData,
    dloss: TensorData,
    attrs: { ignoreIndex: number },
  ) => TensorData;
  /** RMSNorm over the last dim: y = x / sqrt(mean(x^2) + eps) * weight. Returns 1/rms per row too. */
  rmsNorm: (x: TensorData, weight: TensorData | null, attrs: { eps: number }) => { y: TensorData; rstd: TensorData };
  rmsNormBackward: (
    x: TensorData,
    weight: TensorData | null,
    rstd: TensorData,
    dy: TensorData,
  ) => { dx: TensorData; dweight: TensorData | null };
  /**
   * Rotary embedding over the last D features of x's last dim, after `pass` (default 0) features copied unrotated
   * (MLA's query heads: the no-RoPE part, then the RoPE part). cos and sin have D/2 entries in their last dim and
   * broadcast against x's leading dims. interleaved: pairs (2i, 2i+1); otherwise pairs (i, i + D/2). inverse rotates
   * by -theta.
   */
  rope: (
    x: TensorData,
    cos: TensorData,
    sin: TensorData,
    attrs: { interleaved: boolean; inverse: boolean; pass?: number },
  ) => TensorData;
  /**
   * Scaled dot-product attention. q (B, H, Tq, Dk), k (B, Hk, Tk, Dk), v (B, Hk, Tk, Dv); H a multiple of Hk
   * (grouped-query attention). causal: query i sees keys j <= i + Tk - Tq. keyStart (int32 (B, Tq), optional): query
   * i of row b also sees no key before keyStart[b, i] (packed samples: the start of its own sample). Returns out
   * (B, H, Tq, Dv) and the log-sum-exp of the scaled scores (B, H, Tq), -Infinity (and output 0) for a query that
   * sees no key. With `layout: 'bthd'` every operand and out has its head and token dims swapped; the same numbers.
   */
  attention: (
    q: TensorData,
    k: TensorData,
    v: TensorData,
    attrs: AttentionAttrs,
  ) => { out: TensorData; lse: TensorData };
  attentionBackward: (
    q: TensorData,
    k: TensorData,
    v: TensorData,
    out: TensorData,
    lse: TensorData,
    dout: TensorData,
    attrs: AttentionAttrs,
  ) => { dq: TensorData; dk: TensorData; dv: TensorData };
  /**
   * Multi-head Latent Attention's naive (training) attention without building its keys and values: q (B, Tq, H, nope
   * + R), kv (B, Tk, H, nope + Dv) = per head a key's first part then the value (`wkv_b`'s output), kPe (B, Tk, R) = a
   * key's second part, the same for every head (the decoupled RoPE key). The result is `attention(q, k, v)` in the
   * 'bthd' layout with k = [kv[..., :nope] ; kPe broadcast over heads] and v = kv[..., nope:], bit for bit: out
   * (B, Tq, H, Dv), lse (B, H, Tq).
   */
  mlaAttention: (
    q: TensorData,
    kv: TensorData,
    kPe: TensorData,
    attrs: MlaAttentionAttrs,
  ) => { out: TensorData; lse: TensorData };
  /**
   * mlaAttention's gradients, as `attentionBackward` on the built k and v gives them: dq, dkv (kv's shape: each head's
   * dk[..., :nope] then dv) and dkPe per head (B, Tk, H, R) = dk[..., nope:] (the caller sums it over the heads).
   */
  mlaAttentionBackward: (
    q: TensorData,
    kv: TensorData,
    kPe: TensorData,
    out: TensorData,
    lse: TensorData,
    dout: TensorData,
    attrs: MlaAttentionAttrs,
  ) => { dq: TensorData; dkv: TensorData; dkPe: TensorData };
  /**
   * Decoding attention over per-row caches with one key/value head (multi-query attention, MLA's latent cache): for
   * each query r (rows of q (rows, H, Dk)) and head h, out[r, h] (Dv floats of out (rows, H, Dv)) = softmax(scale *
   * q[r, h] . K_r^T) V_r, where K_r holds len[r] keys, key t at k[kOff[r] + t * kStride ...] (Dk floats), and V_r its
   * values, value t at v[vOff[r] + t * vStride ...] (Dv floats). Keys and values are read where they are; a query with
   * no key gets zeros. Each query's numbers depend only on its own q, keys and values.
   */
  attendRows: (a: AttendRowsArgs, out: Float32Array) => void;
  /**
   * The routed experts of an MoE layer in one call. xs (M, D) holds the layer's (token, expert) pairs sorted by
   * expert: the first sizes[0] rows go to experts[0], and so on. For row r of expert e, with g = weights[slots[r]]:
   *   h1 = xs_r w1ᵀ, h3 = xs_r w3ᵀ, act = silu(h1) h3, o = act w2ᵀ, and y[tokens[r]] += o g,
   * y (nTokens, D) starting at zeros and rows added in order. Each expert's products, SwiGLU and scale are the
   * `matmul`, `swiglu` and `mul` kernels' on that expert's rows (the same bits as those kernels called one expert at
   * a time, whatever the thread count).
   */
  moeExperts: (
    xs: TensorData,
    weights: TensorData,
    experts: readonly ExpertWeights[],
    attrs: MoeAttrs,
  ) => { y: TensorData } & MoeSaved;
  /**
   * moeExperts' gradients from dy (nTokens, D): dxs (M, D), dweights (the gate weights' shape: zeros but at `slots`)
   * and per expert dw1, dw3, dw2, each computed by the kernels that the unfused ops' backward calls (`matmul` for
   * the products, `swigluBackward`, `mul` and `sum` for the gate weights, `add` for the two halves of dxs). What
   * `need` leaves out is null and its products are skipped (as `matmul`'s backward skips an operand that needs none).
   */
  moeExpertsBackward: (
    dy: TensorData,
    xs: TensorData,
    weights: TensorData,
    experts: readonly ExpertWeights[],
    saved: MoeSaved,
    attrs: MoeAttrs,
    need: MoeNeed,
  ) => {
    dxs: TensorData | null;
    dweights: TensorData;
    dw1: (TensorData | null)[];
    dw3: (TensorData | null)[];
    dw2: (TensorData | null)[];
  };

  // The fast decoders' row operations on flat float32 buffers they own (src/models/decode.ts): in place, nothing
  // allocated, the same bits on every backend (float32 sums and products; the norm in double, as `rmsNorm`'s reference).
  /**
   * out (rows, dim) = RMSNorm of the rows of x, row r at x[offset + r * stride ...] (dim floats): the sum of squares
   * in double in order, rs = 1 / sqrt(sum / dim + eps), out = x * rs * w in double, rounded to float32 once.
   */
  rmsRows: (x: Float32Array, w: Float32Array, out: Float32Array, a: RmsRowsArgs) => void;
  /** x[0 : n] += y[0 : n], float32 sums. */
  addInto: (x: Float32Array, y: Float32Array, n: number) => void;
  /** Row j of out (dim floats) = row idx[j] of src, for every j of idx. */
  gatherRows: (src: Float32Array, idx: Int32Array, dim: number, out: Float32Array) => void;
  /** Row idx[j] of out += float32(row j of src * g[j]), float32 products and sums, j in order. */
  scatterAddScaled: (out: Float32Array, idx: Int32Array, src: Float32Array, g: Float32Array, dim: number) => void;
  /** The k largest (or smallest) entries along an axis, sorted; ties keep the lower index first. */
  topk: (
    x: TensorData,
    attrs: { k: number; axis: number; largest: boolean },
  ) => { values: TensorData; indices: TensorData };

  // Memory.
  /**
   * A strided view gathered into a fresh contiguous array of src's type: out[i] = src[offset + sum_d i_d * strides[d]]
   * for every index i of `shape`, in row-major order. Any typed array (FP8 codes and scales included); values move
   * unchanged. The caller checks that every index lands inside src.
   */
  stridedCopy: (
    src: TypedArray,
    attrs: { shape: readonly number[]; strides: readonly number[]; offset: number },
  ) => TypedArray;

  // Optimizer.
  /**
   * One AdamW step (decoupled weight decay) over flat float32 buffers of one length, IN PLACE on param, m and v (the
   * optimizer state lives in them); grad is read only. Per element, in double precision and in this order:
   *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g g
   *   p = p - (lr wd) p - (lr (m / (1 - b1^t))) / (sqrt(v / (1 - b2^t)) + eps)
   * with m, v and p each rounded to float32 once. Every backend gives the reference's bits (exact resume). The
   * caller checks lengths and the step number.
   */
  adamwStep: (param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, attrs: AdamWHyper) => void;

  // FP8 (DeepSeek-V3 fine-grained quantisation and FP8 GEMM emulation; the ops are src/fp8/quant.ts and gemm.ts).
  /**
   * Quantises x (rows, cols), float32 or float64 (rounded to float32 first), tile by tile: each (tileRows, tileCols)
   * tile gets the scale s = fround(max(amax, 1e-4)) / format.maxFinite in float32 (UE8M0: rounded up to a power of
   * two), and each element the code of fround(x) / s (float32 division, round to nearest even, saturating). A NaN
   * makes its tile's scale NaN. Tiles are clamped by the caller (tileRows <= max(rows, 1), same for columns).
   */
  fp8Quantize: (
    x: TensorData,
    attrs: { tileRows: number; tileCols: number; format: FloatFormat<8>; scaleFmt: ScaleFormat },
  ) => { codes: Uint8Array; scales: Float32Array };
  /** The values a quantised matrix stands for: fround(decode(code) * scale), a float32 (rows, cols) tensor. */
  fp8Dequantize: (q: QuantizedData) => TensorData;
  /**
   * C (M, N) = A (M, K) · B (N, K)ᵀ on the codes, as an FP8 tensor core with promotion computes it: partial sums
   * rounded by `accumulator` after each group of products, promoted every `interval` elements of K into a float32
   * accumulator as fround(acc + partial * fround(sa * sb)). The caller checks that both K match and that `interval`
   * (<= K) divides both operands' tile widths along K unless it is K. Returns a float32 (M, N) tensor.
   */
  fp8Gemm: (
    a: QuantizedData,
    b: QuantizedData,
    attrs: { accumulator: AccumulatorModel; interval: number },
  ) => TensorData;
}

export type KernelName = keyof Kernels;

/** Every kernel name, for registries, coverage tests and `r1ts info`. The type check below keeps it complete. */
export const KERNEL_NAMES = [
  'add',
  'sub',
  'mul',
  'div',
  'pow',
  'maximum',
  'minimum',
  'eq',
  'ne',
  'lt',
  'le',
  'gt',
  'ge',
  'neg',
  'exp',
  'log',
  'sqrt',
  'rsqrt',
  'abs',
  'sign',
  'tanh',
  'sin',
  'cos',
  'erf',
  'sigmoid',
  'silu',
  'clamp',
  'cast',
  'gelu',
  'geluBackward',
  'swiglu',
  'swigluBackward',
  'sum',
  'max',
  'argmax',
  'permute',
  'broadcastTo',
  'concat',
  'slice',
  'sliceScatter',
  'gather',
  'scatterAdd',
  'indexSelect',
  'indexAdd',
  'indexAddParts',
  'where',
  'matmul',
  'linearInto',
  'matmulBf16',
  'bf16Rows',
  'softmax',
  'softmaxBackward',
  'logSoftmax',
  'logSoftmaxBackward',
  'crossEntropy',
  'crossEntropyBackward',
  'rmsNorm',
  'rmsNormBackward',
  'rope',
  'attention',
  'attentionBackward',
  'mlaAttention',
  'mlaAttentionBackward',
  'attendRows',
  'moeExperts',
  'moeExpertsBackward',
  'rmsRows',
  'addInto',
  'gatherRows',
  'scatterAddScaled',
  'topk',
  'stridedCopy',
  'adamwStep',
  'fp8Quantize',
  'fp8Dequantize',
  'fp8Gemm',
] as const satisfies readonly KernelName[];

type MissingKernel = Exclude<KernelName, (typeof KERNEL_NAMES)[number]>;
/** Compile-time proof that KERNEL_NAMES lists every kernel (fails to type-check otherwise). */
export const KERNEL_NAMES_COMPLETE: [MissingKernel] extends [never] ? true : never = true;

/** The (M, K, Kb, N) of a `matmul` per its contract: op(a) is (M, K), op(b) is (Kb, N); K must equal Kb. */
export function matmulDims(
  a: TensorData,
  b: TensorData,
  transA: boolean,
  transB: boolean,
): { M: number; K: number; Kb: number; N: number } {
  const ar = a.shape.length;
  const br = b.shape.length;
  return {
    M: transA ? a.shape[ar - 1] : a.shape[ar - 2],
    K: transA ? a.shape[ar - 2] : a.shape[ar - 1],
    Kb: transB ? b.shape[br - 1] : b.shape[br - 2],
    N: transB ? b.shape[br - 2] : b.shape[br - 1],
  };
}
