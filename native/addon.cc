// N-API glue of the r1ts native backend: picks the kernel table for the best instruction set this CPU supports
// (R1TS_ISA=avx512|avx2|generic forces a lower one), checks every argument (type and length, so a wrong call
// throws instead of corrupting memory) and runs the kernel synchronously. Outputs are typed arrays allocated by the
// caller in JavaScript, so the garbage collector owns every buffer; the addon keeps only its per-thread scratch.
// The TypeScript side (src/backend/native/) owns shapes, dtypes and broadcasting rules.
#include <napi.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include <algorithm>

#include "common.h"
#include "fp8.h"

namespace r1ts {
namespace {

KernelTable g_tables[3];
int g_count = 0;
const KernelTable* g_active = nullptr;

void fill_tables() {
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
                      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  // Best first; only ISAs this CPU runs are listed.
  if (avx512) avx512::fill_table(&g_tables[g_count++]);
  if (avx2) avx2::fill_table(&g_tables[g_count++]);
  generic::fill_table(&g_tables[g_count++]);
  g_active = &g_tables[0];
  const char* want = std::getenv("R1TS_ISA");
  if (want && *want) {
    for (int i = 0; i < g_count; i++)
      if (std::strcmp(g_tables[i].isa, want) == 0) g_active = &g_tables[i];
  }
}

/** Fills the tables once per process (Node worker threads each run Init; a function-local static is thread-safe). */
void init_tables() {
  static const bool done = (fill_tables(), true);
  (void)done;
}

const KernelTable& kt() { return *g_active; }

// ---- argument access ---------------------------------------------------------------------------------------------

class Args {
 public:
  explicit Args(const Napi::CallbackInfo& info, const char* fn) : info_(info), fn_(fn) {}

  float* f32(size_t i, size_t min_len) { return static_cast<float*>(typed(i, napi_float32_array, min_len, false)); }
  /** A Float32Array or null/undefined (-> nullptr). */
  float* f32_opt(size_t i, size_t min_len) { return static_cast<float*>(typed(i, napi_float32_array, min_len, true)); }
  int32_t* i32(size_t i, size_t min_len) { return static_cast<int32_t*>(typed(i, napi_int32_array, min_len, false)); }
  /** An Int32Array or null/undefined (-> nullptr). */
  int32_t* i32_opt(size_t i, size_t min_len) {
    return static_cast<int32_t*>(typed(i, napi_int32_array, min_len, true));
  }
  uint8_t* u8(size_t i, size_t min_len) { return static_cast<uint8_t*>(typed(i, napi_uint8_array, min_len, false)); }
  /** An Int32Array of m indices, each in [0, n). */
  const int32_t* indices(size_t i, long m, long n) {
    const int32_t* idx = i32(i, m);
    for (long j = 0; j < m; j++)
      if (idx[j] < 0 || idx[j] >= n) fail(i, "indices in range");
    return idx;
  }
  /** Any typed array with at least min_len elements. */
  void* any(size_t i, size_t min_len) {
    napi_typedarray_type t;
    size_t len;
    void* data = info(i, &t, &len);
    if (len < min_len) short_(i, len, min_len);
    return data;
  }
  /** Bytes per element of the typed array at i. */
  int elementSize(size_t i) {
    napi_typedarray_type t;
    size_t len;
    info(i, &t, &len);
    switch (t) {
      case napi_int8_array: case napi_uint8_array: case napi_uint8_clamped_array: return 1;
      case napi_int16_array: case napi_uint16_array: return 2;
      case napi_int32_array: case napi_uint32_array: case napi_float32_array: return 4;
      default: return 8;  // float64, bigint64, biguint64
    }
  }
  long num(size_t i) {
    Napi::Value v = info_[i];
    if (!v.IsNumber()) fail(i, "a number");
    double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d <= 9.0e15) || d != (double)(long)d) fail(i, "a non-negative integer");
    return (long)d;
  }
  long inum(size_t i) {
    Napi::Value v = info_[i];
    if (!v.IsNumber()) fail(i, "a number");
    return (long)v.As<Napi::Number>().Int64Value();
  }
  double dbl(size_t i) {
    Napi::Value v = info_[i];
    if (!v.IsNumber()) fail(i, "a number");
    return v.As<Napi::Number>().DoubleValue();
  }
  bool flag(size_t i) { return info_[i].ToBoolean().Value(); }
  /** Element count of the typed array at i. */
  size_t length(size_t i) {
    napi_typedarray_type t;
    size_t len;
    info(i, &t, &len);
    return len;
  }

  [[noreturn]] void fail(size_t i, const char* want) {
    throw Napi::TypeError::New(info_.Env(), std::string("r1ts native ") + fn_ + ": argument " + std::to_string(i) +
                                                " must be " + want);
  }

 private:
  void* info(size_t i, napi_typedarray_type* t, size_t* len) {
    Napi::Value v = info_[i];
    if (!v.IsTypedArray()) fail(i, "a typed array");
    void* data = nullptr;
    napi_status st = napi_get_typedarray_info(info_.Env(), v, t, len, &data, nullptr, nullptr);
    if (st != napi_ok) fail(i, "a typed array");
    return data;
  }
  void* typed(size_t i, napi_typedarray_type want, size_t min_len, bool optional) {
    Napi::Value v = info_[i];
    if (optional && (v.IsNull() || v.IsUndefined())) return nullptr;
    napi_typedarray_type t;
    size_t len;
    void* data = info(i, &t, &len);
    if (t != want) {
      fail(i, want == napi_float32_array ? "a Float32Array" : want == napi_int32_array ? "an Int32Array" : "a Uint8Array");
    }
    if (len < min_len) short_(i, len, min_len);
    return data;
  }
  [[noreturn]] void short_(size_t i, size_t len, size_t min_len) {
    throw Napi::RangeError::New(info_.Env(), std::string("r1ts native ") + fn_ + ": argument " + std::to_string(i) +
                                                 " has " + std::to_string(len) + " elements, needs " +
                                                 std::to_string(min_len));
  }
  const Napi::CallbackInfo& info_;
  const char* fn_;
};

Napi::Value Undef(const Napi::CallbackInfo& info) { return info.Env().Undefined(); }

// ---- kernels -----------------------------------------------------------------------------------------------------

// matmul(A, offA, B, offB, C, batch, M, N, K, transA, transB)
Napi::Value Matmul(const Napi::CallbackInfo& info) {
  Args a(info, "matmul");
  const long batch = a.num(5), M = a.num(6), N = a.num(7), K = a.num(8);
  const int32_t* offA = a.i32(1, batch);
  const int32_t* offB = a.i32(3, batch);
  const float* A = a.f32(0, 0);
  const float* B = a.f32(2, 0);
  const size_t lenA = a.length(0), lenB = a.length(2);
  for (long i = 0; i < batch; i++) {
    if (offA[i] < 0 || (size_t)offA[i] + (size_t)(M * K) > lenA) a.fail(1, "offsets inside A");
    if (offB[i] < 0 || (size_t)offB[i] + (size_t)(K * N) > lenB) a.fail(3, "offsets inside B");
  }
  float* C = a.f32(4, batch * M * N);
  GemmBatch g = {batch, offA, offB, M, N, K, A, a.flag(9), B, a.flag(10), C};
  kt().gemm(g);
  return Undef(info);
}

// matmulBf16(X, W, C, M, N, K): C (M, N) = X (M, K) times Wᵀ, W a Uint16Array of (N, K) bfloat16 codes
Napi::Value MatmulBf16(const Napi::CallbackInfo& info) {
  Args a(info, "matmulBf16");
  const long M = a.num(3), N = a.num(4), K = a.num(5);
  const float* X = a.f32(0, M * K);
  if (a.elementSize(1) != 2) a.fail(1, "a Uint16Array of bfloat16 codes");
  const uint16_t* W = static_cast<const uint16_t*>(a.any(1, N * K));
  float* C = a.f32(2, M * N);
  kt().gemm_bf16(M, N, K, X, W, C);
  return Undef(info);
}

// binary(op, mode, a, b, out, n, period)
Napi::Value Binary(const Napi::CallbackInfo& info) {
  Args a(info, "binary");
  const long op = a.num(0), mode = a.num(1), n = a.num(5), period = a.num(6);
  if (op >= BIN_COUNT || mode > MODE_B_COLUMN) a.fail(0, "a known op and mode");
  if ((mode == MODE_A_SUFFIX || mode == MODE_B_SUFFIX || mode == MODE_A_COLUMN || mode == MODE_B_COLUMN) &&
      (period <= 0 || n % period != 0))
    a.fail(6, "a period that divides n");
  auto need = [&](bool isA) -> long {
    const int scalar = isA ? MODE_A_SCALAR : MODE_B_SCALAR;
    const int suffix = isA ? MODE_A_SUFFIX : MODE_B_SUFFIX;
    const int column = isA ? MODE_A_COLUMN : MODE_B_COLUMN;
    if (n == 0) return 0;
    if (mode == scalar) return 1;
    if (mode == suffix) return period;
    if (mode == column) return n / period;
    return n;
  };
  const float* x = a.f32(2, need(true));
  const float* y = a.f32(3, need(false));
  void* out = op >= BIN_EQ ? (void*)a.u8(4, n) : (void*)a.f32(4, n);
  kt().binary((int)op, (int)mode, x, y, out, n, period);
  return Undef(info);
}

// unary(op, x, out, p0, p1)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  Args a(info, "unary");
  const long op = a.num(0);
  if (op >= UN_COUNT) a.fail(0, "a known op");
  const float* x = a.f32(1, 0);
  size_t n = a.length(1);
  float* out = a.f32(2, n);
  kt().unary((int)op, x, out, (long)n, (float)a.dbl(3), (float)a.dbl(4));
  return Undef(info);
}

// geluBackward(x, dy, out, tanh)
Napi::Value GeluBackward(const Napi::CallbackInfo& info) {
  Args a(info, "geluBackward");
  size_t n = a.length(0);
  kt().gelu_backward(a.f32(0, n), a.f32(1, n), a.f32(2, n), (long)n, a.flag(3));
  return Undef(info);
}

// swiglu(a, b, out)
Napi::Value Swiglu(const Napi::CallbackInfo& info) {
  Args a(info, "swiglu");
  size_t n = a.length(0);
  kt().swiglu(a.f32(0, n), a.f32(1, n), a.f32(2, n), (long)n);
  return Undef(info);
}

// swigluBackward(a, b, dy, da, db)
Napi::Value SwigluBackward(const Napi::CallbackInfo& info) {
  Args a(info, "swigluBackward");
  size_t n = a.length(0);
  kt().swiglu_backward(a.f32(0, n), a.f32(1, n), a.f32(2, n), a.f32(3, n), a.f32(4, n), (long)n);
  return Undef(info);
}

// reduce(isMax, x, out, outer, n, inner)
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  Args a(info, "reduce");
  const long outer = a.num(3), n = a.num(4), inner = a.num(5);
  kt().reduce(a.flag(0), a.f32(1, outer * n * inner), a.f32(2, outer * inner), outer, n, inner);
  return Undef(info);
}

// softmax(log, x, out, outer, n, inner)
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  Args a(info, "softmax");
  const long outer = a.num(3), n = a.num(4), inner = a.num(5), total = outer * n * inner;
  kt().softmax(a.flag(0), a.f32(1, total), a.f32(2, total), outer, n, inner);
  return Undef(info);
}

// softmaxBackward(log, y, dy, out, outer, n, inner)
Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  Args a(info, "softmaxBackward");
  const long outer = a.num(4), n = a.num(5), inner = a.num(6), total = outer * n * inner;
  kt().softmax_backward(a.flag(0), a.f32(1, total), a.f32(2, total), a.f32(3, total), outer, n, inner);
  return Undef(info);
}

// crossEntropy(logits, targets, N, C, ignore, loss, lse)
Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  Args a(info, "crossEntropy");
  const long N = a.num(2), C = a.num(3);
  kt().cross_entropy(a.f32(0, N * C), a.i32(1, N), N, C, (int32_t)a.inum(4), a.f32(5, N), a.f32(6, N));
  return Undef(info);
}

// crossEntropyBackward(logits, targets, lse, dloss, N, C, ignore, out)
Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  Args a(info, "crossEntropyBackward");
  const long N = a.num(4), C = a.num(5);
  kt().cross_entropy_backward(a.f32(0, N * C), a.i32(1, N), a.f32(2, N), a.f32(3, N), N, C, (int32_t)a.inum(6),
                             a.f32(7, N * C));
  return Undef(info);
}

// rmsNorm(x, w|null, rows, D, eps, y, rstd)
Napi::Value RmsNorm(const Napi::CallbackInfo& info) {
  Args a(info, "rmsNorm");
  const long rows = a.num(2), D = a.num(3);
  kt().rmsnorm(a.f32(0, rows * D), a.f32_opt(1, D), rows, D, (float)a.dbl(4), a.f32(5, rows * D), a.f32(6, rows));
  return Undef(info);
}

// rmsNormBackward(x, w|null, rstd, dy, rows, D, dx, dw|null)
Napi::Value RmsNormBackward(const Napi::CallbackInfo& info) {
  Args a(info, "rmsNormBackward");
  const long rows = a.num(4), D = a.num(5);
  const float* w = a.f32_opt(1, D);
  float* dw = a.f32_opt(7, D);
  if ((w == nullptr) != (dw == nullptr)) a.fail(7, "given exactly when the weight is");
  kt().rmsnorm_backward(a.f32(0, rows * D), w, a.f32(2, rows), a.f32(3, rows * D), rows, D, a.f32(6, rows * D), dw);
  return Undef(info);
}

// rope(x, cos, sin, rowOff, rows, D, interleaved, inverse, out, pass): rows of pass + D floats, the first pass copied
Napi::Value Rope(const Napi::CallbackInfo& info) {
  Args a(info, "rope");
  const long rows = a.num(4), D = a.num(5), pass = a.num(9), W = pass + D;
  if (D % 2) a.fail(5, "even");
  const int32_t* off = a.i32(3, rows);
  size_t lc = a.length(1);
  size_t ls = a.length(2);
  for (long r = 0; r < rows; r++)
    if (off[r] < 0 || (size_t)off[r] + D / 2 > lc || (size_t)off[r] + D / 2 > ls) a.fail(3, "offsets inside cos/sin");
  kt().rope(a.f32(0, rows * W), a.f32(1, 0), a.f32(2, 0), off, rows, D, pass, a.flag(6), a.flag(7), a.f32(8, rows * W));
  return Undef(info);
}

/** Strides (batch, head, token) of a (B, Hn, T, D) tensor, or of a (B, T, Hn, D) one when `bthd`. */
void attn_strides(long* s, bool bthd, long Hn, long T, long D) {
  s[0] = Hn * T * D;
  s[1] = bthd ? D : T * D;
  s[2] = bthd ? Hn * D : D;
}

AttnArgs attn_args(Args& a, const Napi::CallbackInfo& info, size_t dimsAt) {
  const int32_t* d = a.i32(dimsAt, 8);
  AttnArgs r;
  r.B = d[0], r.H = d[1], r.Hk = d[2], r.Tq = d[3], r.Tk = d[4], r.Dk = d[5], r.Dv = d[6];
  for (int i = 0; i < 7; i++)
    if (d[i] < 0) a.fail(dimsAt, "non-negative dims");
  if (r.Hk == 0 || r.H % r.Hk != 0) a.fail(dimsAt, "dims with H a multiple of Hk");
  if (d[7] != 0 && d[7] != 1) a.fail(dimsAt, "a layout of 0 (B, H, T, D) or 1 (B, T, H, D)");
  const bool bthd = d[7] == 1;
  attn_strides(r.qs, bthd, r.H, r.Tq, r.Dk);
  attn_strides(r.ks, bthd, r.Hk, r.Tk, r.Dk);
  attn_strides(r.vs, bthd, r.Hk, r.Tk, r.Dv);
  attn_strides(r.os, bthd, r.H, r.Tq, r.Dv);
  r.causal = a.flag(dimsAt + 1);
  r.scale = (float)a.dbl(dimsAt + 2);
  r.q = a.f32(0, r.B * r.H * r.Tq * r.Dk);
  r.k = a.f32(1, r.B * r.Hk * r.Tk * r.Dk);
  r.v = a.f32(2, r.B * r.Hk * r.Tk * r.Dv);
  r.key_start = nullptr;
  r.Dk1 = r.Dk;
  r.k2 = nullptr;
  r.dk2 = nullptr;
  for (int i = 0; i < 3; i++) r.k2s[i] = r.dk2s[i] = 0;
  (void)info;
  return r;
}

/** The optional keyStart argument (B * Tq first keys, each >= 0) at position i. */
void attn_key_start(Args& a, AttnArgs& r, size_t i) {
  const int32_t* ks = a.i32_opt(i, r.B * r.Tq);
  if (ks)
    for (long x = 0; x < r.B * r.Tq; x++)
      if (ks[x] < 0) a.fail(i, "first keys >= 0");
  r.key_start = ks;
}

/**
 * MLA's attention operands (dims [B, H, Tq, Tk, nope, R, vDim] at dimsAt, then causal and scale): q (B, Tq, H, nope +
 * R); kv (B, Tk, H, nope + vDim), per head the key's first part and the value, read in place; kPe (B, Tk, R), the key's
 * second part shared by every head; the backward's dkPe is per head, (B, Tk, H, R).
 */
AttnArgs mla_args(Args& a, size_t dimsAt) {
  const int32_t* d = a.i32(dimsAt, 7);
  for (int i = 0; i < 7; i++)
    if (d[i] < 0) a.fail(dimsAt, "non-negative dims");
  const long B = d[0], H = d[1], Tq = d[2], Tk = d[3], nope = d[4], R = d[5], Dv = d[6];
  if (H == 0 || nope == 0 || R == 0) a.fail(dimsAt, "at least one head, one no-RoPE and one RoPE dim");
  AttnArgs r;
  r.B = B, r.H = H, r.Hk = H, r.Tq = Tq, r.Tk = Tk, r.Dk = nope + R, r.Dv = Dv;
  attn_strides(r.qs, true, H, Tq, nope + R);
  attn_strides(r.os, true, H, Tq, Dv);
  attn_strides(r.ks, true, H, Tk, nope + Dv);  // k and v both read from kv
  attn_strides(r.vs, true, H, Tk, nope + Dv);
  r.causal = a.flag(dimsAt + 1);
  r.scale = (float)a.dbl(dimsAt + 2);
  r.q = a.f32(0, B * Tq * H * (nope + R));
  r.k = a.f32(1, B * Tk * H * (nope + Dv));
  r.v = r.k + nope;
  r.key_start = nullptr;
  r.Dk1 = nope;
  r.k2 = a.f32(2, B * Tk * R);
  r.k2s[0] = Tk * R, r.k2s[1] = 0, r.k2s[2] = R;
  r.dk2 = nullptr;
  r.dk2s[0] = Tk * H * R, r.dk2s[1] = R, r.dk2s[2] = H * R;
  return r;
}

// mlaAttention(q, kv, kPe, dims[B,H,Tq,Tk,nope,R,vDim], causal, scale, out, lse, keyStart|null)
Napi::Value MlaAttention(const Napi::CallbackInfo& info) {
  Args a(info, "mlaAttention");
  AttnArgs r = mla_args(a, 3);
  attn_key_start(a, r, 8);
  kt().attention(r, a.f32(6, r.B * r.H * r.Tq * r.Dv), a.f32(7, r.B * r.H * r.Tq));
  return Undef(info);
}

// mlaAttentionBackward(q, kv, kPe, dims, causal, scale, out, lse, dout, dq, dkv, dkPe, keyStart|null): writes all of
// dq, dkv (the keys' first parts and the values, interleaved as in kv) and dkPe (B, Tk, H, R).
Napi::Value MlaAttentionBackward(const Napi::CallbackInfo& info) {
  Args a(info, "mlaAttentionBackward");
  AttnArgs r = mla_args(a, 3);
  attn_key_start(a, r, 12);
  const long nq = r.B * r.H * r.Tq, R = r.Dk - r.Dk1;
  float* dkv = a.f32(10, r.B * r.Tk * r.H * (r.Dk1 + r.Dv));
  r.dk2 = a.f32(11, r.B * r.Tk * r.H * R);
  kt().attention_backward(r, a.f32(6, nq * r.Dv), a.f32(7, nq), a.f32(8, nq * r.Dv), a.f32(9, nq * r.Dk), dkv,
                          dkv + r.Dk1);
  return Undef(info);
}


// attention(q, k, v, dims[B,H,Hk,Tq,Tk,Dk,Dv,layout], causal, scale, out, lse, keyStart|null)
Napi::Value Attention(const Napi::CallbackInfo& info) {
  Args a(info, "attention");
  AttnArgs r = attn_args(a, info, 3);
  attn_key_start(a, r, 8);
  kt().attention(r, a.f32(6, r.B * r.H * r.Tq * r.Dv), a.f32(7, r.B * r.H * r.Tq));
  return Undef(info);
}

// attendRows(q, k, v, kOff, vOff, len, rows, H, Dk, Dv, kStride, vStride, scale, out): decoding attention over
// per-row caches (AttnRowsArgs); every key and value a row reads is checked to lie inside k / v.
Napi::Value AttendRows(const Napi::CallbackInfo& info) {
  Args a(info, "attendRows");
  AttnRowsArgs r;
  r.rows = a.num(6), r.H = a.num(7), r.Dk = a.num(8), r.Dv = a.num(9);
  r.k_stride = a.num(10), r.v_stride = a.num(11);
  r.scale = (float)a.dbl(12);
  r.q = a.f32(0, r.rows * r.H * r.Dk);
  r.k = a.f32(1, 0);
  r.v = a.f32(2, 0);
  r.k_off = a.i32(3, r.rows);
  r.v_off = a.i32(4, r.rows);
  r.len = a.i32(5, r.rows);
  const size_t lenK = a.length(1), lenV = a.length(2);
  for (long i = 0; i < r.rows; i++) {
    const long n = r.len[i];
    if (n < 0) a.fail(5, "non-negative lengths");
    if (r.k_off[i] < 0) a.fail(3, "non-negative offsets");
    if (r.v_off[i] < 0) a.fail(4, "non-negative offsets");
    // in double (exact below 2^53): a huge stride must not wrap around and pass
    if (n > 0 && (double)r.k_off[i] + (double)(n - 1) * (double)r.k_stride + (double)r.Dk > (double)lenK)
      a.fail(3, "keys inside k");
    if (n > 0 && (double)r.v_off[i] + (double)(n - 1) * (double)r.v_stride + (double)r.Dv > (double)lenV)
      a.fail(4, "values inside v");
  }
  kt().attend_rows(r, a.f32(13, r.rows * r.H * r.Dv));
  return Undef(info);
}

// attentionBackward(q, k, v, dims, causal, scale, out, lse, dout, dq, dk, dv, keyStart|null); writes all of dq/dk/dv.
Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  Args a(info, "attentionBackward");
  AttnArgs r = attn_args(a, info, 3);
  attn_key_start(a, r, 12);
  const long nq = r.B * r.H * r.Tq;
  kt().attention_backward(r, a.f32(6, nq * r.Dv), a.f32(7, nq), a.f32(8, nq * r.Dv), a.f32(9, nq * r.Dk),
                         a.f32(10, r.B * r.Hk * r.Tk * r.Dk), a.f32(11, r.B * r.Hk * r.Tk * r.Dv));
  return Undef(info);
}

// indexSelect(x, idx, outer, n, inner, m, out)
Napi::Value IndexSelect(const Napi::CallbackInfo& info) {
  Args a(info, "indexSelect");
  const long outer = a.num(2), n = a.num(3), inner = a.num(4), m = a.num(5);
  const int32_t* idx = a.indices(1, m, n);
  kt().index_select(a.f32(0, outer * n * inner), idx, outer, n, inner, m, a.f32(6, outer * m * inner));
  return Undef(info);
}

// indexAdd(out, idx, src, outer, n, inner, m): out (already a copy of x) += src rows at idx[j]
Napi::Value IndexAdd(const Napi::CallbackInfo& info) {
  Args a(info, "indexAdd");
  const long outer = a.num(3), n = a.num(4), inner = a.num(5), m = a.num(6);
  const int32_t* idx = a.indices(1, m, n);
  kt().index_add(a.f32(0, outer * n * inner), idx, a.f32(2, outer * m * inner), outer, n, inner, m);
  return Undef(info);
}

// rmsRows(x, w, out, rows, dim, stride, offset, eps): out (rows, dim) = RMSNorm of x's strided rows (rows.cc)
Napi::Value RmsRows(const Napi::CallbackInfo& info) {
  Args a(info, "rmsRows");
  const long rows = a.num(3), dim = a.num(4), stride = a.num(5), offset = a.num(6);
  if (stride < dim) a.fail(5, "at least dim");
  // the floats the rows span, in double so that huge strides cannot wrap around (as AttendRows checks)
  const double need = rows > 0 ? (double)offset + (double)(rows - 1) * (double)stride + (double)dim : 0.0;
  if (need > (double)a.length(0)) a.fail(0, "a Float32Array holding every row (offset + (rows - 1) stride + dim)");
  const float* x = a.f32(0, (size_t)need);
  rms_rows(x + offset, stride, rows, dim, a.f32(1, dim), a.dbl(7), a.f32(2, rows * dim));
  return Undef(info);
}

// addInto(x, y, n): x[0 : n] += y[0 : n] (rows.cc)
Napi::Value AddInto(const Napi::CallbackInfo& info) {
  Args a(info, "addInto");
  const long n = a.num(2);
  add_into(a.f32(0, n), a.f32(1, n), n);
  return Undef(info);
}

/**
 * The float32 arrays of the JS array at argument i: `count` of them, each with at least `len` elements (or null, with
 * `nulls`). The lists are read before the typed-array arguments (an element of a JS array may be a getter that runs
 * JS); the pointers of one list are taken before the next is read, which is safe for the plain arrays r1ts passes.
 */
template <class P>
std::vector<P> f32_list(Args& a, const Napi::CallbackInfo& info, size_t i, long count, long len, bool nulls = false) {
  Napi::Value v = info[i];
  if (!v.IsArray() || (long)v.As<Napi::Array>().Length() != count) a.fail(i, "an array with one Float32Array per group");
  Napi::Array arr = v.As<Napi::Array>();
  std::vector<P> out((size_t)count);
  for (long e = 0; e < count; e++) {
    Napi::Value t = arr.Get((uint32_t)e);
    if (nulls && t.IsNull()) {
      out[(size_t)e] = nullptr;
      continue;
    }
    napi_typedarray_type type;
    size_t n = 0;
    void* data = nullptr;
    if (!t.IsTypedArray() || napi_get_typedarray_info(info.Env(), t, &type, &n, &data, nullptr, nullptr) != napi_ok ||
        type != napi_float32_array || (long)n < len)
      a.fail(i, "an array of Float32Arrays, each holding one expert's matrix");
    out[(size_t)e] = static_cast<P>(data);
  }
  return out;
}

/**
 * The operands shared by moeExperts and moeExpertsBackward from argument `b` on: xs, weights, starts, tokens, slots,
 * w1s, w3s, w2s, D, I, nTokens. Checks every size and index (rows sorted into non-empty groups, tokens and slots in
 * range) before anything runs.
 */
struct MoeCall {
  MoeArgs m;
  std::vector<const float*> w1, w3, w2;
  long M;
};
MoeCall moe_call(Args& a, const Napi::CallbackInfo& info, size_t b) {
  MoeCall c;
  const long D = a.num(b + 8), I = a.num(b + 9), nt = a.num(b + 10);
  const size_t ns = a.length(b + 2);
  if (ns < 2) a.fail(b + 2, "an Int32Array of group starts (groups + 1 entries)");
  const long groups = (long)ns - 1;
  c.w1 = f32_list<const float*>(a, info, b + 5, groups, I * D);
  c.w3 = f32_list<const float*>(a, info, b + 6, groups, I * D);
  c.w2 = f32_list<const float*>(a, info, b + 7, groups, D * I);
  const int32_t* starts = a.i32(b + 2, ns);
  if (starts[0] != 0) a.fail(b + 2, "group starts beginning at 0");
  for (long e = 0; e < groups; e++)
    if (starts[e + 1] <= starts[e]) a.fail(b + 2, "increasing group starts (no empty group)");
  const long M = starts[groups];
  const long nw = (long)a.length(b + 1);
  c.M = M;
  c.m = {groups, D, I, nt, nw, starts, a.indices(b + 3, M, nt), a.indices(b + 4, M, nw), a.f32(b, M * D),
         a.f32(b + 1, 0), c.w1.data(), c.w3.data(), c.w2.data()};
  return c;
}

// moeExperts(xs, weights, starts, tokens, slots, w1s, w3s, w2s, D, I, nTokens, y, h1, h3, act, o, scratch) (moe.cc)
Napi::Value MoeExperts(const Napi::CallbackInfo& info) {
  Args a(info, "moeExperts");
  MoeCall c = moe_call(a, info, 0);
  const long M = c.M, D = c.m.D, I = c.m.I;
  moe_forward(c.m, a.f32(11, c.m.n_tokens * D), a.f32(12, M * I), a.f32(13, M * I), a.f32(14, M * I), a.f32(15, M * D),
              a.f32(16, moe_forward_scratch(M, D)));
  return Undef(info);
}

// moeExpertsBackward(dy, xs, weights, starts, tokens, slots, w1s, w3s, w2s, D, I, nTokens, h1, h3, act, o,
//                    dxs|null, dweights, dw1s, dw3s, dw2s (entries may be null), scratch) (moe.cc)
Napi::Value MoeExpertsBackward(const Napi::CallbackInfo& info) {
  Args a(info, "moeExpertsBackward");
  const size_t ns = a.length(3);
  if (ns < 2) a.fail(3, "an Int32Array of group starts (groups + 1 entries)");
  const long G = (long)ns - 1, D0 = a.num(9), I0 = a.num(10);
  std::vector<float*> dw1 = f32_list<float*>(a, info, 18, G, I0 * D0, true);
  std::vector<float*> dw3 = f32_list<float*>(a, info, 19, G, I0 * D0, true);
  std::vector<float*> dw2 = f32_list<float*>(a, info, 20, G, D0 * I0, true);
  MoeCall c = moe_call(a, info, 1);
  const long M = c.M, D = c.m.D, I = c.m.I;
  const float* dy = a.f32(0, c.m.n_tokens * D);
  moe_backward(c.m, dy, a.f32(12, M * I), a.f32(13, M * I), a.f32(14, M * I), a.f32(15, M * D), a.f32_opt(16, M * D),
               a.f32(17, c.m.n_weights), dw1.data(), dw3.data(), dw2.data(), a.f32(21, moe_backward_scratch(M, D, I)));
  return Undef(info);
}

// gatherRows(src, idx, n, dim, out): out row j = src row idx[j] (rows.cc)
Napi::Value GatherRows(const Napi::CallbackInfo& info) {
  Args a(info, "gatherRows");
  const long n = a.num(2), dim = a.num(3);
  const float* src = a.f32(0, 0);
  const int32_t* idx = a.indices(1, n, dim > 0 ? (long)(a.length(0) / dim) : 0);
  gather_rows(src, idx, n, dim, a.f32(4, n * dim));
  return Undef(info);
}

// scatterAddScaled(out, idx, src, g, n, dim): out row idx[j] += src row j * g[j] (rows.cc)
Napi::Value ScatterAddScaled(const Napi::CallbackInfo& info) {
  Args a(info, "scatterAddScaled");
  const long n = a.num(4), dim = a.num(5);
  float* out = a.f32(0, 0);
  const int32_t* idx = a.indices(1, n, dim > 0 ? (long)(a.length(0) / dim) : 0);
  scatter_add_scaled(out, idx, a.f32(2, n * dim), a.f32(3, n), n, dim);
  return Undef(info);
}

// adamw(p, g, m, v, lr, beta1, beta2, eps, weightDecay, biasCorrection1, biasCorrection2): in place, bit-exact with
// src/backend/ts/optim.ts (adamw.cc)
Napi::Value AdamW(const Napi::CallbackInfo& info) {
  Args a(info, "adamw");
  size_t n = a.length(0);
  AdamWArgs h = {a.dbl(4), a.dbl(5), a.dbl(6), a.dbl(7), a.dbl(8), a.dbl(9), a.dbl(10)};
  adamw_step(a.f32(0, n), a.f32(1, n), a.f32(2, n), a.f32(3, n), (long)n, h);
  return Undef(info);
}

// stridedCopy(src, dst, dims: Int32Array [shape | srcStrides | dstStrides], srcOffset, dstOffset):
// dst[dstOffset + sum i_d * dstStrides_d] = src[srcOffset + sum i_d * srcStrides_d] over every index of shape.
// src and dst are typed arrays of one element size (1, 2, 4 or 8 bytes) that do not share memory.
Napi::Value StridedCopy(const Napi::CallbackInfo& info) {
  Args a(info, "stridedCopy");
  const size_t len = a.length(2);
  const size_t nd = len / 3;
  if (len % 3 != 0 || nd == 0 || nd > 8) a.fail(2, "3 x (1 to 8) dims");
  const int32_t* dims = a.i32(2, len);
  const long srcOff = a.num(3), dstOff = a.num(4);
  long shape[8], ss[8], ds[8];
  long n = 1, srcMax = srcOff, dstMax = dstOff;
  for (size_t d = 0; d < nd; d++) {
    shape[d] = dims[d];
    ss[d] = dims[nd + d];
    ds[d] = dims[2 * nd + d];
    if (shape[d] < 0 || ss[d] < 0 || ds[d] < 0) a.fail(2, "non-negative sizes and strides");
    n *= shape[d];
    if (shape[d] > 0) {
      srcMax += (shape[d] - 1) * ss[d];
      dstMax += (shape[d] - 1) * ds[d];
    }
  }
  const int esize = a.elementSize(0);
  if (a.elementSize(1) != esize) a.fail(1, "a typed array with the element size of argument 0");
  char* src = static_cast<char*>(a.any(0, n ? srcMax + 1 : 0));
  char* dst = static_cast<char*>(a.any(1, n ? dstMax + 1 : 0));
  if (n == 0) return Undef(info);
  if (src + (srcMax + 1) * esize > dst && dst + (dstMax + 1) * esize > src) a.fail(1, "memory apart from argument 0");
  kt().strided_copy(src + srcOff * esize, dst + dstOff * esize, esize, (int)nd, shape, ss, ds);
  return Undef(info);
}

// ---- runtime -----------------------------------------------------------------------------------------------------

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("isa", kt().isa);
  Napi::Array isas = Napi::Array::New(env, g_count);
  for (int i = 0; i < g_count; i++) isas.Set((uint32_t)i, g_tables[i].isa);
  o.Set("isas", isas);
  o.Set("threads", num_threads());
  o.Set("vectorFloats", kt().vector_floats);
  return o;
}

Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  std::string want = info[0].As<Napi::String>().Utf8Value();
  for (int i = 0; i < g_count; i++) {
    if (want == g_tables[i].isa) {
      g_active = &g_tables[i];
      return Napi::Boolean::New(info.Env(), true);
    }
  }
  return Napi::Boolean::New(info.Env(), false);
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Args a(info, "setThreads");
  long n = a.num(0);
  if (n < 1 || n > 1024) a.fail(0, "between 1 and 1024");
  set_num_threads((int)n);
  return Undef(info);
}

// fmaPeak(seconds): vector FMA GFLOP/s of the calling thread with the active ISA.
Napi::Value FmaPeak(const Napi::CallbackInfo& info) {
  Args a(info, "fmaPeak");
  return Napi::Number::New(info.Env(), kt().fma_gflops_1core(a.dbl(0)));
}

// readBandwidth(buf, passes): the machine's streaming read bandwidth in GB/s, the best of `passes` passes of a sum
// over buf (make it much larger than the last-level cache) split over the thread pool, four independent vector
// accumulators per task so that the adds never wait on each other. What memory-bound kernels can reach at best.
struct ReadCtx {
  const float* p;
  long n, per;
  float* partial;
};
void read_task(void* vctx, long t, int) {
  typedef float v4 __attribute__((vector_size(16)));
  const ReadCtx* c = static_cast<const ReadCtx*>(vctx);
  const long b = t * c->per, e = std::min(c->n, b + c->per);
  v4 a0 = {}, a1 = {}, a2 = {}, a3 = {};
  long i = b;
  for (; i + 16 <= e; i += 16) {
    v4 x0, x1, x2, x3;
    std::memcpy(&x0, c->p + i, 16);
    std::memcpy(&x1, c->p + i + 4, 16);
    std::memcpy(&x2, c->p + i + 8, 16);
    std::memcpy(&x3, c->p + i + 12, 16);
    a0 += x0;
    a1 += x1;
    a2 += x2;
    a3 += x3;
  }
  v4 s = (a0 + a1) + (a2 + a3);
  float r = s[0] + s[1] + s[2] + s[3];
  for (; i < e; i++) r += c->p[i];
  c->partial[t] = r;
}
Napi::Value ReadBandwidth(const Napi::CallbackInfo& info) {
  Args a(info, "readBandwidth");
  const long n = (long)a.length(0), passes = a.num(1);
  const float* p = a.f32(0, 0);
  const long tasks = 16L * num_threads();
  const long per = (n + tasks - 1) / tasks;
  std::vector<float> partial(tasks);
  ReadCtx ctx = {p, n, per, partial.data()};
  double best = 0;
  for (long r = 0; r < passes; r++) {
    auto t0 = std::chrono::steady_clock::now();
    parallel_for(tasks, &read_task, &ctx);
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, n * 4.0 / dt / 1e9);
  }
  volatile float sink = partial[0];
  (void)sink;
  return Napi::Number::New(info.Env(), best);
}

// cpuGhz(seconds): core clock from a chain of dependent 64-bit multiplies (3 cycles each on every x86-64 core of
// the last decade), the best of several rounds.
Napi::Value CpuGhz(const Napi::CallbackInfo& info) {
  Args a(info, "cpuGhz");
  const double seconds = a.dbl(0);
  double best = 0;
  const auto t_end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  do {
    long n = 200000, x = 1;
    auto t0 = std::chrono::steady_clock::now();
#if defined(__x86_64__)
    __asm__ volatile(
        "1:\n\t"
        ".rept 20\n\t"
        "imul %0, %0\n\t"
        ".endr\n\t"
        "dec %1\n\t"
        "jnz 1b"
        : "+r"(x), "+r"(n));
#endif
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double ghz = 200000.0 * 20 * 3 / dt / 1e9;
    if (ghz > best) best = ghz;
  } while (std::chrono::steady_clock::now() < t_end);
  return Napi::Number::New(info.Env(), best);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  init_tables();
  exports.Set("matmul", Napi::Function::New(env, Matmul));
  exports.Set("matmulBf16", Napi::Function::New(env, MatmulBf16));
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("geluBackward", Napi::Function::New(env, GeluBackward));
  exports.Set("swiglu", Napi::Function::New(env, Swiglu));
  exports.Set("swigluBackward", Napi::Function::New(env, SwigluBackward));
  exports.Set("reduce", Napi::Function::New(env, Reduce));
  exports.Set("softmax", Napi::Function::New(env, Softmax));
  exports.Set("softmaxBackward", Napi::Function::New(env, SoftmaxBackward));
  exports.Set("crossEntropy", Napi::Function::New(env, CrossEntropy));
  exports.Set("crossEntropyBackward", Napi::Function::New(env, CrossEntropyBackward));
  exports.Set("rmsNorm", Napi::Function::New(env, RmsNorm));
  exports.Set("rmsNormBackward", Napi::Function::New(env, RmsNormBackward));
  exports.Set("rope", Napi::Function::New(env, Rope));
  exports.Set("attention", Napi::Function::New(env, Attention));
  exports.Set("attendRows", Napi::Function::New(env, AttendRows));
  exports.Set("attentionBackward", Napi::Function::New(env, AttentionBackward));
  exports.Set("mlaAttention", Napi::Function::New(env, MlaAttention));
  exports.Set("mlaAttentionBackward", Napi::Function::New(env, MlaAttentionBackward));
  exports.Set("indexSelect", Napi::Function::New(env, IndexSelect));
  exports.Set("indexAdd", Napi::Function::New(env, IndexAdd));
  exports.Set("adamw", Napi::Function::New(env, AdamW));
  exports.Set("rmsRows", Napi::Function::New(env, RmsRows));
  exports.Set("addInto", Napi::Function::New(env, AddInto));
  exports.Set("gatherRows", Napi::Function::New(env, GatherRows));
  exports.Set("scatterAddScaled", Napi::Function::New(env, ScatterAddScaled));
  exports.Set("moeExperts", Napi::Function::New(env, MoeExperts));
  exports.Set("moeExpertsBackward", Napi::Function::New(env, MoeExpertsBackward));
  exports.Set("stridedCopy", Napi::Function::New(env, StridedCopy));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("setIsa", Napi::Function::New(env, SetIsa));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("fmaPeak", Napi::Function::New(env, FmaPeak));
  exports.Set("cpuGhz", Napi::Function::New(env, CpuGhz));
  exports.Set("readBandwidth", Napi::Function::New(env, ReadBandwidth));
  register_fp8(env, exports);
  return exports;
}

}  // namespace

const KernelTable& active_kernels() { return kt(); }

}  // namespace r1ts

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return r1ts::Init(env, exports); }

NODE_API_MODULE(r1ts_native, InitAddon)
