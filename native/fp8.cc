// r1ts native FP8 kernels: the fast twins of src/fp8/quant.ts (quantize, dequantize) and src/fp8/gemm.ts (fp8Gemm),
// bit-exact with them (test/fp8/native.test.ts checks every code, scale and output bit on random shapes).
//
// fp8Quantize: per tile amax (NaN propagates), a = max(amax, 1e-4f), s = a / 448 (E4M3) or / 57344 (E5M2) in float32,
//   optionally rounded up to a power of two (UE8M0); code = round-to-nearest-even(x / s) in float32, saturating.
// fp8Dequantize: out = decode(code) * s in float32.
// fp8Gemm: C (M, N) = A (M, K) · B (N, K)ᵀ on codes; per row, partial sums in double over groups of `group` products,
//   rounded after each group by the accumulator model (truncate / nearest to `mbits` fraction bits, float32, or none),
//   promoted every `interval` elements of K: acc = float(acc + partial * float(sa * sb)). Rows run on the thread pool.
// Compiled with the addon (generic x86-64 flags, no FMA), so double arithmetic rounds exactly as JavaScript's does.
#include "fp8.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "common.h"

namespace r1ts {
namespace {

struct Fmt {
  int m, bias, max_code, nan_code;
  float max_finite;
};

const Fmt kFormats[2] = {
    {3, 7, 0x7e, 0x7f, 448.0f},     // E4M3 ("fn": no infinities)
    {2, 15, 0x7b, 0x7e, 57344.0f},  // E5M2
};

/** Float32 bit pattern -> 8-bit code, round to nearest even, saturating (the rule of formats.ts encodeBits32). */
inline uint8_t encode8(float x, const Fmt& f) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  const uint32_t a = u & 0x7fffffffu;
  const uint32_t sign = (u >> 31) << 7;
  if (a > 0x7f800000u) return (uint8_t)(sign | (uint32_t)f.nan_code);  // NaN: canonical payload, sign kept
  int code;
  if (a == 0x7f800000u) {
    code = f.max_code + 1;
  } else {
    const int emin = 1 - f.bias;
    int e = (int)(a >> 23) - 127;
    uint32_t s = (a & 0x7fffffu) | 0x800000u;
    if (a < 0x800000u) {
      e = -126;
      s = a;
    }
    const int shift = (e > emin ? e : emin) - f.m - e + 23;
    uint32_t q = 0;
    if (shift < 25) {
      q = s >> shift;
      const uint32_t rem = s & ((1u << shift) - 1);
      const uint32_t half = 1u << (shift - 1);
      q += (uint32_t)(rem > half) | ((uint32_t)(rem == half) & q & 1u);  // branchless: ties go to even
    }
    code = e >= emin ? ((e - emin + 1) << f.m) + (int)q - (1 << f.m) : (int)q;
  }
  if (code > f.max_code) code = f.max_code;
  return (uint8_t)(sign | (uint32_t)code);
}

/** Value of every code (NaN codes give NaN). */
void decode_table(const Fmt& f, float* t) {
  const int expMask = f.m == 3 ? 0xf : 0x1f;
  const int manMask = (1 << f.m) - 1;
  for (int c = 0; c < 256; c++) {
    const int neg = (c >> 7) & 1;
    const int e = (c >> f.m) & expMask;
    const int fr = c & manMask;
    double v;
    if (f.m == 2 && e == expMask) v = fr == 0 ? INFINITY : NAN;
    else if (f.m == 3 && e == expMask && fr == manMask) v = NAN;
    else if (e == 0) v = std::ldexp((double)fr, 1 - f.bias - f.m);
    else v = std::ldexp((double)((1 << f.m) + fr), e - f.bias - f.m);
    t[c] = (float)(neg ? -v : v);
  }
}

// ---- argument helpers --------------------------------------------------------------------------------------------

[[noreturn]] void fail(const Napi::CallbackInfo& info, const char* fn, size_t i, const std::string& want) {
  throw Napi::TypeError::New(info.Env(), std::string("r1ts native ") + fn + ": argument " + std::to_string(i) + " must be " + want);
}

template <typename T>
T* typed(const Napi::CallbackInfo& info, const char* fn, size_t i, napi_typedarray_type want, size_t min_len) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray()) fail(info, fn, i, "a typed array");
  napi_typedarray_type t;
  size_t len;
  void* data = nullptr;
  if (napi_get_typedarray_info(info.Env(), v, &t, &len, &data, nullptr, nullptr) != napi_ok) fail(info, fn, i, "a typed array");
  if (t != want) fail(info, fn, i, want == napi_float32_array ? "a Float32Array" : "a Uint8Array");
  if (len < min_len) fail(info, fn, i, "at least " + std::to_string(min_len) + " elements long");
  return static_cast<T*>(data);
}

long num(const Napi::CallbackInfo& info, const char* fn, size_t i, long lo, long hi) {
  Napi::Value v = info[i];
  if (!v.IsNumber()) fail(info, fn, i, "a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= (double)lo && d <= (double)hi) || d != std::floor(d)) fail(info, fn, i, "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return (long)d;
}

long cdiv(long a, long b) { return (a + b - 1) / b; }

const long kMaxDim = 1L << 31;

// fp8Quantize(x, rows, cols, tileRows, tileCols, format, ue8m0, codes, scales)
Napi::Value Quantize(const Napi::CallbackInfo& info) {
  const char* fn = "fp8Quantize";
  const long rows = num(info, fn, 1, 0, kMaxDim), cols = num(info, fn, 2, 0, kMaxDim);
  const long tr = num(info, fn, 3, 1, kMaxDim), tc = num(info, fn, 4, 1, kMaxDim);
  const Fmt& f = kFormats[num(info, fn, 5, 0, 1)];
  const bool ue8m0 = info[6].ToBoolean().Value();
  const float* x = typed<float>(info, fn, 0, napi_float32_array, rows * cols);
  const long sr = cdiv(rows, tr), sc = cdiv(cols, tc);
  uint8_t* codes = typed<uint8_t>(info, fn, 7, napi_uint8_array, rows * cols);
  float* scales = typed<float>(info, fn, 8, napi_float32_array, sr * sc);
  std::vector<float> amax(sr * sc, 0.0f);
  for (long r = 0; r < rows; r++) {
    float* am = &amax[(r / tr) * sc];
    const float* xr = x + r * cols;
    for (long t = 0; t < sc; t++) {
      const long end = std::min(cols, (t + 1) * tc);
      float m = am[t];
      for (long c = t * tc; c < end; c++) {
        const float a = std::fabs(xr[c]);
        if (a != a) m = NAN;
        else if (a > m) m = a;
      }
      am[t] = m;
    }
  }
  for (long i = 0; i < sr * sc; i++) {
    const float a = amax[i] != amax[i] ? NAN : std::max(amax[i], 1e-4f);
    float s = a / f.max_finite;
    if (ue8m0 && std::isfinite(s)) {
      int e;
      const float mant = std::frexp(s, &e);  // s = mant * 2^e, mant in [0.5, 1)
      s = mant == 0.5f ? s : std::ldexp(1.0f, e);
    }
    scales[i] = s;
  }
  for (long r = 0; r < rows; r++) {
    const float* sr_ = scales + (r / tr) * sc;
    const float* xr = x + r * cols;
    uint8_t* cr = codes + r * cols;
    for (long t = 0; t < sc; t++) {
      const float s = sr_[t];
      const long end = std::min(cols, (t + 1) * tc);
      for (long c = t * tc; c < end; c++) cr[c] = encode8(xr[c] / s, f);
    }
  }
  return info.Env().Undefined();
}

// fp8Dequantize(codes, scales, rows, cols, tileRows, tileCols, format, out)
Napi::Value Dequantize(const Napi::CallbackInfo& info) {
  const char* fn = "fp8Dequantize";
  const long rows = num(info, fn, 2, 0, kMaxDim), cols = num(info, fn, 3, 0, kMaxDim);
  const long tr = num(info, fn, 4, 1, kMaxDim), tc = num(info, fn, 5, 1, kMaxDim);
  const Fmt& f = kFormats[num(info, fn, 6, 0, 1)];
  const long sc = cdiv(cols, tc);
  const uint8_t* codes = typed<uint8_t>(info, fn, 0, napi_uint8_array, rows * cols);
  const float* scales = typed<float>(info, fn, 1, napi_float32_array, cdiv(rows, tr) * sc);
  float* out = typed<float>(info, fn, 7, napi_float32_array, rows * cols);
  float table[256];
  decode_table(f, table);
  for (long r = 0; r < rows; r++) {
    const float* s = scales + (r / tr) * sc;
    for (long c = 0; c < cols; c++) out[r * cols + c] = table[codes[r * cols + c]] * s[c / tc];
  }
  return info.Env().Undefined();
}

struct GemmJob {
  long M, N, K, interval, group;
  const double* av;  // (M, K) decoded A codes
  const double* bt;  // (K, N) decoded B codes, transposed
  const float* as;
  long a_tr, a_tc, a_sc;
  const float* bs;
  long b_tr, b_tc, b_sc;
  int kind;  // 0 exact, 1 fp32, 2 limited
  int mbits;
  bool nearest;
  float* C;
};

double round_nearest(double v, int mb) {
  if (v == 0 || !std::isfinite(v) || mb >= 52) return v;
  uint64_t bits;
  std::memcpy(&bits, &v, 8);
  const int e = (int)((bits >> 52) & 0x7ff) - 1023;
  const double q = std::ldexp(1.0, e - mb);
  const double s = std::fabs(v) / q;
  const double fl = std::floor(s);
  const double d = s - fl;
  const double r = d > 0.5 || (d == 0.5 && std::fmod(fl, 2.0) == 1.0) ? fl + 1 : fl;
  return (v < 0 ? -r : r) * q;
}

void gemm_rows(void* ctx, long task, int /*thread*/) {
  const GemmJob& g = *static_cast<const GemmJob*>(ctx);
  const long N = g.N, K = g.K;
  std::vector<double> part(N), acc(N), scale(N);
  const uint64_t mask = g.mbits >= 52 ? ~0ull : ~((1ull << (52 - g.mbits)) - 1);
  const long i = task;
  const double* arow = g.av + i * K;
  const float* as = g.as + (i / g.a_tr) * g.a_sc;
  std::fill(acc.begin(), acc.end(), 0.0);
  for (long k0 = 0; k0 < K; k0 += g.interval) {
    const long kEnd = std::min(K, k0 + g.interval);
    std::fill(part.begin(), part.end(), 0.0);
    for (long s0 = k0; s0 < kEnd; s0 += g.group) {
      const long sEnd = std::min(kEnd, s0 + g.group);
      for (long k = s0; k < sEnd; k++) {
        const double ak = arow[k];
        if (ak == 0) continue;
        const double* brow = g.bt + k * N;
        for (long j = 0; j < N; j++) part[j] += ak * brow[j];
      }
      if (g.kind == 1) {
        for (long j = 0; j < N; j++) part[j] = (double)(float)part[j];
      } else if (g.kind == 2 && g.nearest) {
        for (long j = 0; j < N; j++) part[j] = round_nearest(part[j], g.mbits);
      } else if (g.kind == 2) {
        for (long j = 0; j < N; j++) {
          uint64_t bits;
          std::memcpy(&bits, &part[j], 8);
          bits &= mask;
          std::memcpy(&part[j], &bits, 8);
        }
      }
    }
    const double sa = as[k0 / g.a_tc];
    const long tk = k0 / g.b_tc;
    for (long j = 0; j < N; j++) scale[j] = (double)(float)(sa * (double)g.bs[(j / g.b_tr) * g.b_sc + tk]);
    for (long j = 0; j < N; j++) acc[j] = (double)(float)(acc[j] + part[j] * scale[j]);
  }
  for (long j = 0; j < N; j++) g.C[i * N + j] = (float)acc[j];
}

// fp8Gemm(aCodes, aScales, M, K, aTileRows, aTileCols, bCodes, bScales, N, bTileRows, bTileCols, format,
//         kind, mantissaBits, groupSize, nearest, interval, C)
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  const char* fn = "fp8Gemm";
  GemmJob g;
  g.M = num(info, fn, 2, 0, kMaxDim);
  g.K = num(info, fn, 3, 0, kMaxDim);
  g.a_tr = num(info, fn, 4, 1, kMaxDim);
  g.a_tc = num(info, fn, 5, 1, kMaxDim);
  g.N = num(info, fn, 8, 0, kMaxDim);
  g.b_tr = num(info, fn, 9, 1, kMaxDim);
  g.b_tc = num(info, fn, 10, 1, kMaxDim);
  const Fmt& f = kFormats[num(info, fn, 11, 0, 1)];
  g.kind = (int)num(info, fn, 12, 0, 2);
  g.mbits = (int)num(info, fn, 13, 1, 52);
  g.group = num(info, fn, 14, 1, kMaxDim);
  g.nearest = info[15].ToBoolean().Value();
  g.interval = num(info, fn, 16, 1, kMaxDim);
  g.a_sc = cdiv(g.K, g.a_tc);
  g.b_sc = cdiv(g.K, g.b_tc);
  const uint8_t* ac = typed<uint8_t>(info, fn, 0, napi_uint8_array, g.M * g.K);
  g.as = typed<float>(info, fn, 1, napi_float32_array, cdiv(g.M, g.a_tr) * g.a_sc);
  const uint8_t* bc = typed<uint8_t>(info, fn, 6, napi_uint8_array, g.N * g.K);
  g.bs = typed<float>(info, fn, 7, napi_float32_array, cdiv(g.N, g.b_tr) * g.b_sc);
  g.C = typed<float>(info, fn, 17, napi_float32_array, g.M * g.N);
  if (g.kind == 0) g.group = g.interval;
  float table[256];
  decode_table(f, table);
  std::vector<double> av(g.M * g.K), bt(g.K * g.N);
  for (long i = 0; i < g.M * g.K; i++) av[i] = table[ac[i]];
  for (long j = 0; j < g.N; j++)
    for (long k = 0; k < g.K; k++) bt[k * g.N + j] = table[bc[j * g.K + k]];
  g.av = av.data();
  g.bt = bt.data();
  parallel_for(g.M, gemm_rows, &g);
  return info.Env().Undefined();
}

}  // namespace

void register_fp8(Napi::Env env, Napi::Object exports) {
  exports.Set("fp8Quantize", Napi::Function::New(env, Quantize));
  exports.Set("fp8Dequantize", Napi::Function::New(env, Dequantize));
  exports.Set("fp8Gemm", Napi::Function::New(env, Gemm));
}

}  // namespace r1ts
