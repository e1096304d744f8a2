// r1ts native FP8 kernels: the fast twins of the references in src/backend/ts/fp8.ts (fp8Quantize, fp8Dequantize,
// fp8Gemm; registered by src/backend/native/fp8.ts), bit-exact with them (test/fp8/native.test.ts and
// test/backend/fast_kernels.test.ts check every code, scale and output bit on random shapes).
//
// fp8Quantize: per tile amax (NaN propagates), a = max(amax, 1e-4f), s = a / 448 (E4M3) or / 57344 (E5M2) in float32,
//   optionally rounded up to a power of two (UE8M0); code = round-to-nearest-even(x / s) in float32, saturating (the
//   encoder is per ISA: fp8_encode in native/isa/fp8gemm.cc).
// fp8Dequantize: out = decode(code) * s in float32.
// fp8Gemm: C (M, N) = A (M, K) · B (N, K)ᵀ on codes; per row, partial sums in double over groups of `group` products,
//   rounded after each group by the accumulator model (truncate / nearest to `mbits` fraction bits, float32, or none),
//   promoted every `interval` elements of K: acc = float(acc + partial * float(sa * sb)). Rows run on the thread pool,
//   4 at a time through the active ISA's fp8_interval (native/isa/fp8gemm.cc) when B is finite and the model is not
//   round-to-nearest, else one at a time through the scalar loop here.
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
  // One band of tile rows at a time: per column the max |x| over the band (NaN tracked apart, since NaN > m is false),
  // per tile the max over its columns, the scales, then every row of the band encoded through the active ISA.
  const KernelTable& kt = active_kernels();
  std::vector<float> colmax(cols), srow(cols);
  std::vector<uint8_t> colnan(cols);
  for (long rb = 0; rb < sr; rb++) {
    const long r0 = rb * tr, r1 = std::min(rows, r0 + tr);
    std::fill(colmax.begin(), colmax.end(), 0.0f);
    std::fill(colnan.begin(), colnan.end(), (uint8_t)0);
    for (long r = r0; r < r1; r++) {
      const float* xr = x + r * cols;
      for (long c = 0; c < cols; c++) {
        const float a = std::fabs(xr[c]);
        colnan[c] |= (uint8_t)(a != a);
        colmax[c] = a > colmax[c] ? a : colmax[c];
      }
    }
    for (long t = 0; t < sc; t++) {
      const long c0 = t * tc, c1 = std::min(cols, c0 + tc);
      float m = 0.0f;
      bool nan = false;
      for (long c = c0; c < c1; c++) {
        nan |= colnan[c] != 0;
        m = colmax[c] > m ? colmax[c] : m;
      }
      const float a = nan ? NAN : std::max(m, 1e-4f);
      float s = a / f.max_finite;
      if (ue8m0 && std::isfinite(s)) {
        int e;
        const float mant = std::frexp(s, &e);  // s = mant * 2^e, mant in [0.5, 1)
        s = mant == 0.5f ? s : std::ldexp(1.0f, e);
      }
      scales[rb * sc + t] = s;
      std::fill(srow.begin() + c0, srow.begin() + c1, s);
    }
    for (long r = r0; r < r1; r++) kt.fp8_encode(x + r * cols, srow.data(), cols, f.m, f.bias, f.max_code, f.nan_code, codes + r * cols);
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

/**
 * The blocked path: the same sums as gemm_rows, 4 rows at a time through the active ISA's fp8_interval (products
 * summed in vector registers). A is padded to a multiple of 4 rows and B packed per column tile, both with zeros.
 */
struct BlockJob {
  const GemmJob* g;
  const double* av;  // (Mpad, K)
  const double* bp;  // packed B (see Fp8IntervalArgs)
  long tiles, tile;
  uint64_t mask;
  const KernelTable* kt;
};

void gemm_blocks(void* ctx, long task, int /*thread*/) {
  const BlockJob& b = *static_cast<const BlockJob*>(ctx);
  const GemmJob& g = *b.g;
  const long N = g.N, K = g.K, ld = b.tiles * b.tile;
  const long i0 = task * 4;
  const long rows = std::min(4L, g.M - i0);
  std::vector<double> part(4 * ld), acc(4 * N, 0.0), scale(N);
  Fp8IntervalArgs ia;
  ia.A = b.av + i0 * K;
  ia.lda = K;
  ia.Bp = b.bp;
  ia.K = K;
  ia.tiles = b.tiles;
  ia.group = g.group;
  ia.kind = g.kind;
  ia.mask = b.mask;
  ia.part = part.data();
  for (long k0 = 0; k0 < K; k0 += g.interval) {
    ia.k0 = k0;
    ia.k1 = std::min(K, k0 + g.interval);
    b.kt->fp8_interval(ia);
    const long tk = k0 / g.b_tc;
    for (long r = 0; r < rows; r++) {
      const double sa = g.as[((i0 + r) / g.a_tr) * g.a_sc + k0 / g.a_tc];
      for (long jb = 0, t = 0; jb < N; jb += g.b_tr, t++) {  // B's scale tiles along N, without a division per j
        const double sb = (double)g.bs[t * g.b_sc + tk];
        const double s = (double)(float)(sa * sb);
        for (long j = jb; j < std::min(N, jb + g.b_tr); j++) scale[j] = s;
      }
      double* ar = &acc[r * N];
      const double* pr = &part[r * ld];
      for (long j = 0; j < N; j++) ar[j] = (double)(float)(ar[j] + pr[j] * scale[j]);
    }
  }
  for (long r = 0; r < rows; r++)
    for (long j = 0; j < N; j++) g.C[(i0 + r) * N + j] = (float)acc[r * N + j];
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
  // The blocked path skips no zero products, so it needs finite B values (0 x inf would be NaN where the row path
  // skips the product), and has no round-to-nearest model; anything else takes the row path.
  bool b_finite = true;
  for (long i = 0; i < g.N * g.K && b_finite; i++) b_finite = std::isfinite(table[bc[i]]);
  if (b_finite && !(g.kind == 2 && g.nearest)) {
    const KernelTable& kt = active_kernels();
    BlockJob b;
    b.g = &g;
    b.tile = kt.fp8_tile;
    b.tiles = cdiv(g.N, b.tile);
    b.kt = &kt;
    b.mask = g.mbits >= 52 ? ~0ull : ~((1ull << (52 - g.mbits)) - 1);
    const long blocks = cdiv(g.M, 4);
    std::vector<double> av(blocks * 4 * g.K, 0.0), bp(b.tiles * g.K * b.tile, 0.0);
    for (long i = 0; i < g.M * g.K; i++) av[i] = table[ac[i]];
    for (long j = 0; j < g.N; j++) {
      double* col = &bp[(j / b.tile) * g.K * b.tile + j % b.tile];
      const uint8_t* src = bc + j * g.K;
      for (long k = 0; k < g.K; k++) col[k * b.tile] = table[src[k]];
    }
    b.av = av.data();
    b.bp = bp.data();
    parallel_for(blocks, gemm_blocks, &b);
    return info.Env().Undefined();
  }
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
