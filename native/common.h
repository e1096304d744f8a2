// r1ts native backend: declarations shared by the N-API glue (addon.cc), the thread pool (pool.cc) and the kernels,
// which are compiled once per instruction set (AVX-512, AVX2+FMA, portable) into separate namespaces.
//
// ISA rule: the per-ISA translation units include only C headers and <immintrin.h>, define everything inside their
// own namespace and use no C++ standard-library templates, so no inline function compiled with AVX-512 flags can be
// picked by the linker for code that runs on an older CPU (the one-definition-rule hazard of per-file -m flags).
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace r1ts {

// ---------------------------------------------------------------------------------------------------------------
// Thread pool (pool.cc). One process-wide pool; the calling thread takes part. Calls from a second thread while a
// parallel region is running (e.g. two Node worker threads) run serially instead of waiting.

/** fn(ctx, task, thread) for task in [0, ntasks), dynamically scheduled; thread is in [0, num_threads()). */
typedef void (*TaskFn)(void* ctx, long task, int thread);
void parallel_for(long ntasks, TaskFn fn, void* ctx);
int num_threads();
void set_num_threads(int n);

// ---------------------------------------------------------------------------------------------------------------
// Kernel table: one per ISA, filled by <isa>::fill_table.

enum BinOp { BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV, BIN_POW, BIN_MAX, BIN_MIN,
             BIN_EQ, BIN_NE, BIN_LT, BIN_LE, BIN_GT, BIN_GE, BIN_COUNT };
/** How the two operands of a binary op line up with the output (n elements). `period` is the operand's length. */
enum BinMode {
  MODE_SAME,       // a[i], b[i]
  MODE_A_SCALAR,   // a[0], b[i]
  MODE_B_SCALAR,   // a[i], b[0]
  MODE_A_SUFFIX,   // a[i % period], b[i]     (a broadcasts over leading dims)
  MODE_B_SUFFIX,   // a[i], b[i % period]
  MODE_A_COLUMN,   // a[i / period], b[i]     (a has trailing size-1 dims: a per-row value; period = row length)
  MODE_B_COLUMN,   // a[i], b[i / period]
};
enum UnOp { UN_NEG, UN_EXP, UN_LOG, UN_SQRT, UN_RSQRT, UN_ABS, UN_SIGN, UN_TANH, UN_ERF, UN_SIGMOID, UN_SILU,
            UN_CLAMP, UN_GELU, UN_GELU_TANH, UN_COUNT };

struct GemmBatch {
  long batch;           // number of products
  const int32_t* offA;  // element offset of each product's A (and B); C is contiguous (batch, M, N)
  const int32_t* offB;
  long M, N, K;
  const float* A; bool transA;  // A is (M, K) row-major, or (K, M) when transA
  const float* B; bool transB;  // B is (K, N) row-major, or (N, K) when transB
  float* C;
};

struct AttnArgs {
  long B, H, Hk, Tq, Tk, Dk, Dv;
  bool causal;
  float scale;
  const float *q, *k, *v;
  /**
   * Element strides of (batch, head, token) for q (and dq), k (dk), v (dv) and out (dout); a head's vector is
   * contiguous. The (B, H, T, D) layout has strides (H*T*D, T*D, D), the (B, T, H, D) layout (T*H*D, D, H*D).
   */
  long qs[3], ks[3], vs[3], os[3];
  /** B * Tq: the first key each query sees (packed samples), or nullptr for 0. */
  const int32_t* key_start;
  /**
   * Keys in two parts (MLA's [k_nope ; k_pe]), or k2 == nullptr: a key's dims [0, Dk1) are read from k (strides ks)
   * and [Dk1, Dk) from k2 (strides k2s; a head stride of 0 shares one part across the heads). The backward then
   * writes the gradient of the first part through ks into dk and of the second into dk2, strides dk2s, per head.
   */
  long Dk1;
  const float* k2;
  long k2s[3];
  float* dk2;
  long dk2s[3];
};

/**
 * One promotion interval [k0, k1) of the FP8 GEMM emulation (fp8.cc) for 4 rows of A and every column of B:
 * part[r * tiles * fp8_tile + j] = the sum of A[r, k] * B[k, j] over k in [k0, k1), added in k order in groups of
 * `group` products, each group's running sum then rounded: kind 0 not at all, 1 to float32, 2 by `mask` on its bits
 * (truncation). The values are decoded FP8 codes, whose products are exact in a double, so any FMA contraction gives
 * the same bits as a separate multiply and add: every ISA matches fp8.cc's scalar loop (and src/backend/ts/fp8.ts).
 */
struct Fp8IntervalArgs {
  const double* A;  // 4 rows: A[r * lda + k]
  long lda;
  const double* Bp;  // B packed per column tile: Bp[(t * K + k) * fp8_tile + c] is B[k, t * fp8_tile + c]
  long K, tiles;
  long k0, k1, group;
  int kind;
  uint64_t mask;
  double* part;  // (4, tiles * fp8_tile)
};

/**
 * Decoding attention of one new token per row over that row's own cache, one key/value head (multi-query attention, as
 * MLA's latent cache is): for each row r and head h, out[r, h] = softmax(scale * q[r, h] . K_r^T) V_r, where K_r's key t
 * is at k + k_off[r] + t * k_stride (Dk floats) and V_r's value t at v + v_off[r] + t * v_stride (Dv floats), for t <
 * len[r]. Keys and values are read where they are (no packing); a row with no key gets zeros.
 */
struct AttnRowsArgs {
  long rows, H, Dk, Dv;
  float scale;
  const float* q;  // (rows, H, Dk)
  const float* k;
  const float* v;
  const int32_t* k_off;
  const int32_t* v_off;
  const int32_t* len;
  long k_stride, v_stride;
};

/** AdamW hyper-parameters, as the reference src/backend/ts/optim.ts has them (bc1 = 1 - beta1^t, bc2 = 1 - beta2^t). */
struct AdamWArgs {
  double lr, beta1, beta2, eps, weight_decay, bc1, bc2;
};

/** One AdamW step in place over n floats, bit-exact with the reference (adamw.cc; not per ISA). */
void adamw_step(float* p, const float* g, float* m, float* v, long n, const AdamWArgs& a);

/** The fast decoders' row kernels, bit-exact with the reference src/backend/ts/rows.ts (rows.cc; not per ISA). */
void rms_rows(const float* x, long stride, long rows, long dim, const float* w, double eps, float* out);
void add_into(float* x, const float* y, long n);
void gather_rows(const float* src, const int32_t* idx, long n, long dim, float* out);
void scatter_add_scaled(float* out, const int32_t* idx, const float* src, const float* g, long n, long dim);

/**
 * One MoE layer's routed experts (moe.cc; src/backend/ts/moe.ts is the reference): xs (M, D) holds the (token,
 * expert) rows sorted by expert, group e's rows at [starts[e], starts[e + 1]) with weights w1[e], w3[e] (I, D) and
 * w2[e] (D, I); row r belongs to token tokens[r] (of n_tokens) and is scaled by weights[slots[r]] (of n_weights).
 */
struct MoeArgs {
  long groups, D, I, n_tokens, n_weights;
  const int32_t* starts;
  const int32_t* tokens;
  const int32_t* slots;
  const float* xs;
  const float* weights;
  const float* const* w1;
  const float* const* w3;
  const float* const* w2;
};

/**
 * y (n_tokens, D) = the scaled expert outputs added at their tokens; h1, h3, act (M, I) and o (M, D) kept. scratch:
 * moe_forward_scratch(M, D) floats.
 */
void moe_forward(const MoeArgs& a, float* y, float* h1, float* h3, float* act, float* o, float* scratch);
long moe_forward_scratch(long M, long D);
/**
 * The gradients of moe_forward from dy: dxs (M, D), dweights (n_weights), and per group dw1, dw3, dw2. A null dxs or
 * dw*[e] is not computed (its products skipped). scratch: moe_backward_scratch(M, D, I) floats.
 */
void moe_backward(const MoeArgs& a, const float* dy, const float* h1, const float* h3, const float* act,
                  const float* o, float* dxs, float* dweights, float* const* dw1, float* const* dw3,
                  float* const* dw2, float* scratch);
long moe_backward_scratch(long M, long D, long I);

struct KernelTable {
  const char* isa;
  void (*gemm)(const GemmBatch& g);
  /** C (M, N) = A (M, K) times Wᵀ, W (N, K) bfloat16 codes (bf16gemm.cc). */
  void (*gemm_bf16)(long M, long N, long K, const float* A, const uint16_t* W, float* C);
  void (*binary)(int op, int mode, const float* a, const float* b, void* out, long n, long period);
  void (*unary)(int op, const float* x, float* out, long n, float p0, float p1);
  void (*gelu_backward)(const float* x, const float* dy, float* out, long n, bool tanh_approx);
  void (*swiglu)(const float* a, const float* b, float* out, long n);
  void (*swiglu_backward)(const float* a, const float* b, const float* dy, float* da, float* db, long n);
  // Reductions over the middle dim of (outer, n, inner).
  void (*reduce)(bool is_max, const float* x, float* out, long outer, long n, long inner);
  void (*softmax)(bool log, const float* x, float* out, long outer, long n, long inner);
  void (*softmax_backward)(bool log, const float* y, const float* dy, float* out, long outer, long n, long inner);
  /** Returns -1, or the first row whose (non-ignored) target is out of range. */
  long (*cross_entropy)(const float* logits, const int32_t* targets, long N, long C, int32_t ignore, float* loss,
                        float* lse);
  void (*cross_entropy_backward)(const float* logits, const int32_t* targets, const float* lse, const float* dloss,
                                 long N, long C, int32_t ignore, float* out);
  void (*rmsnorm)(const float* x, const float* w, long rows, long D, float eps, float* y, float* rstd);
  void (*rmsnorm_backward)(const float* x, const float* w, const float* rstd, const float* dy, long rows, long D,
                           float* dx, float* dw);
  /** Rows of pass + D floats: the first `pass` copied, the last D rotated (cos/sin at row_off[r], D/2 each). */
  void (*rope)(const float* x, const float* cos, const float* sin, const int32_t* row_off, long rows, long D,
               long pass, bool interleaved, bool inverse, float* out);
  void (*attention)(const AttnArgs& a, float* out, float* lse);
  void (*attention_backward)(const AttnArgs& a, const float* out, const float* lse, const float* dout, float* dq,
                             float* dk, float* dv);
  /** Decoding attention over per-row caches (see AttnRowsArgs); out is (rows, H, Dv). */
  void (*attend_rows)(const AttnRowsArgs& a, float* out);
  // Gathers / scatter-adds of (inner)-long rows along the middle dim of (outer, n, inner); src/out have m rows.
  void (*index_select)(const float* x, const int32_t* idx, long outer, long n, long inner, long m, float* out);
  /** out[a, idx[j]] += src[a, j]; out already holds x. */
  void (*index_add)(float* out, const int32_t* idx, const float* src, long outer, long n, long inner, long m);
  /**
   * Strided copy behind the layout kernels: dst[sum i_d * dst_strides_d] = src[sum i_d * src_strides_d] over every
   * index of `shape` (1 <= ndim <= 8), elements of `esize` bytes (1, 2, 4 or 8) moved bit for bit.
   */
  void (*strided_copy)(const void* src, void* dst, int esize, int ndim, const long* shape, const long* src_strides,
                       const long* dst_strides);
  /** One promotion interval of the FP8 GEMM emulation for 4 rows (fp8.cc; see Fp8IntervalArgs). */
  void (*fp8_interval)(const Fp8IntervalArgs& a);
  /** Columns per packed B tile of fp8_interval. */
  int fp8_tile;
  /**
   * out[i] = the 8-bit code of x[i] / s[i] (float32 division), round to nearest even, saturating at the largest finite
   * code, NaN to the format's NaN code with the sign kept: src/tensor/formats.ts's encoder bit for bit.
   * m, bias, max_code, nan_code describe the format (E4M3: 3, 7, 0x7e, 0x7f; E5M2: 2, 15, 0x7b, 0x7e).
   */
  void (*fp8_encode)(const float* x, const float* s, long n, int m, int bias, int max_code, int nan_code, uint8_t* out);
  /** Measured FMA throughput of this ISA's vector unit on one core (FLOP per nanosecond) and vector width. */
  double (*fma_gflops_1core)(double seconds);
  int vector_floats;
};

/** The active ISA's table (addon.cc). */
const KernelTable& active_kernels();

namespace avx512 { void fill_table(KernelTable* t); }
namespace avx2 { void fill_table(KernelTable* t); }
namespace generic { void fill_table(KernelTable* t); }

}  // namespace r1ts
