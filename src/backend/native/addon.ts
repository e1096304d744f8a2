/**
 * Loads the native addon (build/Release/r1ts_native.node, built from native/ by `npm ci`) and describes its
 * functions. Every function works on caller-allocated typed arrays (outputs included), checks argument types and
 * lengths, and runs synchronously on the addon's thread pool. Loading never throws: `addon` is null and
 * `addonError` says why when the file is missing or cannot be loaded.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { profiledAddon } from './profile.js';

/** Op codes shared with native/common.h (BinOp, BinMode, UnOp); the order must match. */
export const BIN_OPS = [
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
] as const;
export type BinOpName = (typeof BIN_OPS)[number];
export const BinMode = {
  /** a[i], b[i] */
  Same: 0,
  /** a[0], b[i] */
  AScalar: 1,
  /** a[i], b[0] */
  BScalar: 2,
  /** a[i % period], b[i]: a broadcasts over leading dims */
  ASuffix: 3,
  BSuffix: 4,
  /** a[i / period], b[i]: a has trailing size-1 dims (one value per row of `period` elements) */
  AColumn: 5,
  BColumn: 6,
} as const;
export type BinMode = (typeof BinMode)[keyof typeof BinMode];
export const UN_OPS = [
  'neg',
  'exp',
  'log',
  'sqrt',
  'rsqrt',
  'abs',
  'sign',
  'tanh',
  'erf',
  'sigmoid',
  'silu',
  'clamp',
  'gelu',
  'geluTanh',
] as const;
export type UnOpName = (typeof UN_OPS)[number];

type F32 = Float32Array;
type I32 = Int32Array;
/** Attention's operands: q, k, v (MLA: q, kv, kPe), dims, causal, scale. */
type AttnOperands = [q: F32, k: F32, v: F32, dims: I32, causal: boolean, scale: number];
type AttnForward = [...AttnOperands, out: F32, lse: F32, keyStart: I32 | null];
/** The backward writes every element of its three outputs (what they hold on entry does not matter). */
type AttnBackward = [...AttnOperands, out: F32, lse: F32, dout: F32, dq: F32, dk: F32, dv: F32, keyStart: I32 | null];
/** The operands both MoE calls share: rows, gate weights, group starts (groups + 1 row offsets), each row's token and
 *  gate-weight slot, each group's three matrices, hidden size, expert width, tokens. */
export type MoeOperands = [
  xs: F32,
  weights: F32,
  starts: I32,
  tokens: I32,
  slots: I32,
  w1s: F32[],
  w3s: F32[],
  w2s: F32[],
  D: number,
  I: number,
  nTokens: number,
];

export interface NativeAddon {
  matmul(
    A: F32,
    offA: I32,
    B: F32,
    offB: I32,
    C: F32,
    batch: number,
    M: number,
    N: number,
    K: number,
    transA: boolean,
    transB: boolean,
  ): void;
  /** Streaming read bandwidth (GB/s), the best of `passes` parallel sums over `buf` (benchmarks). */
  readBandwidth(buf: F32, passes: number): number;
  /** C (M, N) = X (M, K) times Wᵀ for W (N, K) bfloat16 codes. */
  matmulBf16(X: F32, W: Uint16Array, C: F32, M: number, N: number, K: number): void;
  binary(op: number, mode: BinMode, a: F32, b: F32, out: F32 | Uint8Array, n: number, period: number): void;
  unary(op: number, x: F32, out: F32, p0: number, p1: number): void;
  geluBackward(x: F32, dy: F32, out: F32, tanh: boolean): void;
  swiglu(a: F32, b: F32, out: F32): void;
  swigluBackward(a: F32, b: F32, dy: F32, da: F32, db: F32): void;
  reduce(isMax: boolean, x: F32, out: F32, outer: number, n: number, inner: number): void;
  softmax(log: boolean, x: F32, out: F32, outer: number, n: number, inner: number): void;
  softmaxBackward(log: boolean, y: F32, dy: F32, out: F32, outer: number, n: number, inner: number): void;
  crossEntropy(logits: F32, targets: I32, N: number, C: number, ignore: number, loss: F32, lse: F32): void;
  crossEntropyBackward(
    logits: F32,
    targets: I32,
    lse: F32,
    dloss: F32,
    N: number,
    C: number,
    ignore: number,
    out: F32,
  ): void;
  rmsNorm(x: F32, w: F32 | null, rows: number, D: number, eps: number, y: F32, rstd: F32): void;
  rmsNormBackward(x: F32, w: F32 | null, rstd: F32, dy: F32, rows: number, D: number, dx: F32, dw: F32 | null): void;
  rope(
    x: F32,
    cos: F32,
    sin: F32,
    rowOff: I32,
    rows: number,
    D: number,
    interleaved: boolean,
    inverse: boolean,
    out: F32,
    /** leading floats of each row copied unrotated (rows of pass + D floats) */
    pass: number,
  ): void;
  /** dims = [B, H, Hk, Tq, Tk, Dk, Dv, layout]: layout 0 for (B, H, T, D) operands, 1 for (B, T, H, D). */
  /** keyStart: per (batch row, query) the first visible key, or null for none. */
  attention(...a: AttnForward): void;
  /** Decoding attention over per-row caches (the `attendRows` kernel); out (rows, H, Dv). */
  attendRows(
    q: F32,
    k: F32,
    v: F32,
    kOff: I32,
    vOff: I32,
    len: I32,
    rows: number,
    H: number,
    Dk: number,
    Dv: number,
    kStride: number,
    vStride: number,
    scale: number,
    out: F32,
  ): void;
  /** Writes every element of dq, dk and dv (what they hold on entry does not matter). */
  attentionBackward(...a: AttnBackward): void;
  /**
   * MLA's attention (Kernels.mlaAttention): the operands are q, kv, kPe and dims [B, H, Tq, Tk, nope, R, vDim]; the
   * backward's outputs dq, dkv and dkPe (per head).
   */
  mlaAttention(...a: AttnForward): void;
  mlaAttentionBackward(...a: AttnBackward): void;
  indexSelect(x: F32, idx: I32, outer: number, n: number, inner: number, m: number, out: F32): void;
  /** out (already holding x) += src rows scattered to idx[j]. */
  indexAdd(out: F32, idx: I32, src: F32, outer: number, n: number, inner: number, m: number): void;
  adamw(
    p: F32,
    g: F32,
    m: F32,
    v: F32,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    bc1: number,
    bc2: number,
  ): void;
  /** The fast decoders' row kernels (native/rows.cc; see Kernels.rmsRows and the three after it). */
  rmsRows(x: F32, w: F32, out: F32, rows: number, dim: number, stride: number, offset: number, eps: number): void;
  addInto(x: F32, y: F32, n: number): void;
  gatherRows(src: F32, idx: I32, n: number, dim: number, out: F32): void;
  scatterAddScaled(out: F32, idx: I32, src: F32, g: F32, n: number, dim: number): void;
  /**
   * One MoE layer's routed experts (native/moe.cc; see Kernels.moeExperts); null gradients are not computed. scratch:
   * M + M D floats forward, 2 M + M (3 D + 3 I) backward.
   */
  moeExperts(...a: [...MoeOperands, y: F32, h1: F32, h3: F32, act: F32, o: F32, scratch: F32]): void;
  moeExpertsBackward(
    ...a: [
      dy: F32,
      ...MoeOperands,
      h1: F32,
      h3: F32,
      act: F32,
      o: F32,
      dxs: F32 | null,
      dweights: F32,
      dw1s: (F32 | null)[],
      dw3s: (F32 | null)[],
      dw2s: (F32 | null)[],
      scratch: F32,
    ]
  ): void;
  /**
   * dst[dstOffset + sum i_d * dstStrides_d] = src[srcOffset + sum i_d * srcStrides_d] over every index of shape;
   * dims = [...shape, ...srcStrides, ...dstStrides] (1 to 8 dims). Any typed arrays of one element size, apart in memory.
   */
  stridedCopy(src: ArrayBufferView, dst: ArrayBufferView, dims: I32, srcOffset: number, dstOffset: number): void;
  /** FP8 kernels (native/fp8.cc). Format: 0 = E4M3, 1 = E5M2. */
  fp8Quantize(
    x: F32,
    rows: number,
    cols: number,
    tileRows: number,
    tileCols: number,
    format: number,
    ue8m0: boolean,
    codes: Uint8Array,
    scales: F32,
  ): void;
  fp8Dequantize(
    codes: Uint8Array,
    scales: F32,
    rows: number,
    cols: number,
    tileRows: number,
    tileCols: number,
    format: number,
    out: F32,
  ): void;
  /** kind: 0 exact, 1 fp32, 2 limited (mantissaBits, groupSize, nearest). */
  fp8Gemm(
    aCodes: Uint8Array,
    aScales: F32,
    M: number,
    K: number,
    aTileRows: number,
    aTileCols: number,
    bCodes: Uint8Array,
    bScales: F32,
    N: number,
    bTileRows: number,
    bTileCols: number,
    format: number,
    kind: number,
    mantissaBits: number,
    groupSize: number,
    nearest: boolean,
    interval: number,
    C: F32,
  ): void;
  info(): { isa: string; isas: string[]; threads: number; vectorFloats: number };
  /** Switches the kernel table (one of info().isas); false if this CPU lacks it. For tests and benchmarks. */
  setIsa(isa: string): boolean;
  setThreads(n: number): void;
  /** Vector FMA GFLOP/s of one core with the active ISA, measured for about `seconds`. */
  fmaPeak(seconds: number): number;
  /** Core clock (GHz) from a chain of dependent multiplies, best of rounds over about `seconds`. */
  cpuGhz(seconds: number): number;
}

/**
 * Where the addon is built: <repo>/build/Release, three levels above both src/backend/native and dist/backend/native.
 * R1TS_NATIVE_PATH points elsewhere (another build; a missing file makes r1ts behave as if the build had failed).
 */
const ADDON_PATH =
  process.env.R1TS_NATIVE_PATH || fileURLToPath(new URL('../../../build/Release/r1ts_native.node', import.meta.url));

function load(): { addon: NativeAddon | null; error: string | null } {
  if (!existsSync(ADDON_PATH)) return { addon: null, error: `${ADDON_PATH} is not built` };
  try {
    const req = createRequire(import.meta.url);
    const addon = req(ADDON_PATH) as NativeAddon;
    const profile = process.env.R1TS_PROFILE_KERNELS;
    return { addon: profile && profile !== '0' ? profiledAddon(addon, profile) : addon, error: null };
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return { addon: null, error: `${ADDON_PATH} failed to load: ${msg}` };
  }
}

const loaded = load();
/** The addon, or null when it is not built or does not load. */
export const addon: NativeAddon | null = loaded.addon;
/** Why `addon` is null (one line), else null. */
export const addonError: string | null = loaded.error;
