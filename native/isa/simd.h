// Vector types and float math for the per-ISA kernels. Written with GCC vector extensions, so the same source
// compiles to 512-bit (AVX-512), 256-bit (AVX2+FMA) or 128-bit (SSE2) code depending on the translation unit's flags.
// Included only by files under native/isa/, inside namespace r1ts::R1TS_ISA (see the ISA rule in ../common.h).
//
// exp/log/tanh are the Cephes single-precision algorithms (range reduction + minimax polynomial, ~1-2 ulp); erf and
// pow call the C library per element.
#pragma once
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <immintrin.h>

#include "../common.h"

#if !defined(R1TS_ISA)
#error "R1TS_ISA must name the instruction set (avx512, avx2, generic)"
#endif

namespace r1ts {
namespace R1TS_ISA {

#if defined(__AVX512F__)
constexpr int VW = 16;
#elif defined(__AVX2__)
constexpr int VW = 8;
#else
constexpr int VW = 4;
#endif

typedef float vf __attribute__((vector_size(VW * 4)));
typedef int32_t vi __attribute__((vector_size(VW * 4)));

static inline long lmin(long a, long b) { return a < b ? a : b; }
static inline long lmax(long a, long b) { return a > b ? a : b; }
static inline long ceil_div(long a, long b) { return (a + b - 1) / b; }

static inline vf vload(const float* p) {
  vf v;
  memcpy(&v, p, sizeof v);
  return v;
}
static inline void vstore(float* p, vf v) { memcpy(p, &v, sizeof v); }
static inline vf vset1(float s) {
#if defined(__AVX512F__)
  return (vf)_mm512_set1_ps(s);
#elif defined(__AVX2__)
  return (vf)_mm256_set1_ps(s);
#else
  return (vf)_mm_set1_ps(s);
#endif
}
/** The first n (< VW) floats of p, zeros after. */
static inline vf vload_part(const float* p, long n) {
  vf v = {};
  memcpy(&v, p, n * 4);
  return v;
}
static inline void vstore_part(float* p, vf v, long n) { memcpy(p, &v, n * 4); }
#if defined(__AVX2__) && !defined(__AVX512F__)
/** The first n (0..4) floats of p in the low lanes, zeros after; reads nothing past p[n-1]. */
static inline __m128 load4_part(const float* p, int n) {
  switch (n) {
    case 0: return _mm_setzero_ps();
    case 1: return _mm_load_ss(p);
    case 2: return _mm_loadl_pi(_mm_setzero_ps(), (const __m64*)p);  // __m64 may alias floats
    case 3: return _mm_movelh_ps(_mm_loadl_pi(_mm_setzero_ps(), (const __m64*)p), _mm_load_ss(p + 2));
    default: return _mm_loadu_ps(p);
  }
}
/** Stores the first n (0..4) lanes of v; writes nothing past p[n-1]. */
static inline void store4_part(float* p, __m128 v, int n) {
  switch (n) {
    case 0: return;
    case 1: _mm_store_ss(p, v); return;
    case 2: _mm_storel_pi((__m64*)p, v); return;
    case 3:
      _mm_storel_pi((__m64*)p, v);
      _mm_store_ss(p + 2, _mm_movehl_ps(v, v));
      return;
    default: _mm_storeu_ps(p, v);
  }
}
#endif
/** Loads the first n (<= VW) floats, zeros after; reads nothing past p[n-1]. A masked load on AVX-512. */
static inline vf vload_n(const float* p, int n) {
#if defined(__AVX512F__)
  return (vf)_mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1), p);
#elif defined(__AVX2__)
  // Pieces of 4, 2 and 1 floats instead of vmaskmovps, which is slow on AMD cores (pack_a's 6-row panels spent most of
  // their time in it on Zen 3).
  if (n >= 8) return vload(p);
  if (n >= 4) return (vf)_mm256_set_m128(load4_part(p + 4, n - 4), _mm_loadu_ps(p));
  return (vf)_mm256_set_m128(_mm_setzero_ps(), load4_part(p, n));
#else
  return n == VW ? vload(p) : vload_part(p, n);
#endif
}
/** Stores the first n (<= VW) lanes; writes nothing past p[n-1]. A masked store on AVX-512. */
static inline void vstore_n(float* p, vf v, int n) {
#if defined(__AVX512F__)
  _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1), (__m512)v);
#elif defined(__AVX2__)
  if (n >= 8) {
    vstore(p, v);
  } else if (n >= 4) {
    _mm_storeu_ps(p, _mm256_castps256_ps128((__m256)v));
    store4_part(p + 4, _mm256_extractf128_ps((__m256)v, 1), n - 4);
  } else {
    store4_part(p, _mm256_castps256_ps128((__m256)v), n);
  }
#else
  if (n == VW) vstore(p, v);
  else memcpy(p, &v, n * 4);
#endif
}
/** All ones in the first n (0 <= n <= VW) lanes, zero after: vsel(vmask_n(n), a, b) takes a's first n lanes. */
static inline vi vmask_n(int n) {
  vi idx, nv = {};
  for (int i = 0; i < VW; i++) idx[i] = i;
  nv += n;
  return idx < nv;
}
static inline vi as_int(vf v) { return (vi)v; }
static inline vf as_float(vi v) { return (vf)v; }
static inline vf vsel(vi mask, vf a, vf b) { return mask ? a : b; }
static inline vf vmax(vf a, vf b) { return a > b ? a : b; }
static inline vf vmin(vf a, vf b) { return a < b ? a : b; }
static inline vf vabs(vf a) { return as_float(as_int(a) & 0x7fffffff); }

static inline float hsum(vf v) {
  float s = 0;
  for (int i = 0; i < VW; i++) s += v[i];
  return s;
}
static inline float hmax(vf v) {
  float m = v[0];
  for (int i = 1; i < VW; i++) m = v[i] > m ? v[i] : m;
  return m;
}
static inline vf vsqrt(vf x) {
#if defined(__AVX512F__)
  // (_mm512_sqrt_ps itself trips -Wmaybe-uninitialized in GCC 12's header; this is the same instruction.)
  return (vf)__builtin_ia32_sqrtps512_mask((__v16sf)x, (__v16sf)x, (__mmask16)-1, _MM_FROUND_CUR_DIRECTION);
#elif defined(__AVX2__)
  return (vf)_mm256_sqrt_ps((__m256)x);
#else
  return (vf)_mm_sqrt_ps((__m128)x);
#endif
}

/** Rounds to the nearest integer (ties to even) for |x| < 2^22, via the 1.5 * 2^23 trick. */
static inline vf vround(vf x) {
  const float magic = 12582912.0f;
  return (x + magic) - magic;
}

/** 2^n for integral n in [-252, 254] (as floats), split in two factors so denormal results come out right. */
static inline vf vexp2i_mul(vf y, vf n) {
  vi ni = __builtin_convertvector(n, vi);
  vi n1 = ni >> 1;
  vi n2 = ni - n1;
  vf s1 = as_float((n1 + 127) << 23);
  vf s2 = as_float((n2 + 127) << 23);
  return y * s1 * s2;
}

/** e^x: Cephes expf. Exact 0 below -104, +inf above 88.73, NaN stays NaN. */
static inline vf vexp(vf x) {
  vi nan = x != x;
  vi big = x > 88.7228394f;
  vi small = x < -104.0f;
  vf xc = vmin(vmax(x, vset1(-104.0f)), vset1(88.7228394f));
  vf n = vround(xc * 1.44269504088896341f);
  vf r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  vf p = vset1(1.9875691500E-4f);
  p = p * r + 1.3981999507E-3f;
  p = p * r + 8.3334519073E-3f;
  p = p * r + 4.1665795894E-2f;
  p = p * r + 1.6666665459E-1f;
  p = p * r + 5.0000001201E-1f;
  vf y = p * (r * r) + r + 1.0f;
  y = vexp2i_mul(y, n);
  y = vsel(big, vset1(__builtin_inff()), y);
  y = vsel(small, vset1(0.0f), y);
  return vsel(nan, x, y);
}

/** Natural log: Cephes logf. log(0) = -inf, log(<0) = NaN, log(inf) = inf; denormals handled. */
static inline vf vlog(vf x) {
  vi nan = (x != x) | (x < 0.0f);
  vi zero = x == 0.0f;
  vi inf = x == __builtin_inff();
  vi denorm = x < 1.17549435e-38f;
  vf xs = vsel(denorm, x * 8388608.0f, x);  // * 2^23
  vi bits = as_int(xs);
  vf e = __builtin_convertvector(((bits >> 23) & 0xff) - 126, vf) - vsel(denorm, vset1(23.0f), vset1(0.0f));
  vf m = as_float((bits & 0x007fffff) | 0x3f000000);  // [0.5, 1)
  vi lo = m < 0.707106781186547524f;
  e = e - vsel(lo, vset1(1.0f), vset1(0.0f));
  m = vsel(lo, m + m, m) - 1.0f;
  vf z = m * m;
  vf y = vset1(7.0376836292E-2f);
  y = y * m + -1.1514610310E-1f;
  y = y * m + 1.1676998740E-1f;
  y = y * m + -1.2420140846E-1f;
  y = y * m + 1.4249322787E-1f;
  y = y * m + -1.6668057665E-1f;
  y = y * m + 2.0000714765E-1f;
  y = y * m + -2.4999993993E-1f;
  y = y * m + 3.3333331174E-1f;
  y = y * m * z;
  y = y + e * -2.12194440e-4f;
  y = y - 0.5f * z;
  vf r = m + y + e * 0.693359375f;
  r = vsel(inf, vset1(__builtin_inff()), r);
  r = vsel(zero, vset1(-__builtin_inff()), r);
  return vsel(nan, vset1(__builtin_nanf("")), r);
}

/** tanh: Cephes tanhf (odd polynomial below |x| 0.625, 1 - 2 / (e^2|x| + 1) above). */
static inline vf vtanh(vf x) {
  vf ax = vabs(x);
  vf z = x * x;
  vf p = vset1(-5.70498872745E-3f);
  p = p * z + 2.06390887954E-2f;
  p = p * z + -5.37397155531E-2f;
  p = p * z + 1.33314422036E-1f;
  p = p * z + -3.33332819422E-1f;
  vf small = p * z * x + x;
  vf big = 1.0f - 2.0f / (vexp(ax + ax) + 1.0f);
  big = as_float(as_int(big) | (as_int(x) & (int32_t)0x80000000));  // copy the sign of x
  vf r = vsel(ax < 0.625f, small, big);
  return vsel(x != x, x, r);
}

/** Logistic sigmoid, without overflow: 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) below. */
static inline vf vsigmoid(vf x) {
  vf e = vexp(-vabs(x));
  vf inv = 1.0f / (1.0f + e);
  vf r = vsel(x >= 0.0f, inv, e * inv);
  return vsel(x != x, x, r);
}

// Row helpers shared by the NN and attention kernels.

/** The largest of p[0:n] (-Infinity for n = 0). */
static inline float row_max(const float* p, long n) {
  vf m = vset1(-__builtin_inff());
  long j = 0;
  for (; j + VW <= n; j += VW) m = vmax(m, vload(p + j));
  float s = hmax(m);
  for (; j < n; j++) s = p[j] > s ? p[j] : s;
  return s;
}

/** sum_j exp(p[j] - m); also stores the exponentials into e when e is not null. */
static inline float row_sum_exp(const float* p, long n, float m, float* e) {
  vf acc = {};
  const vf mv = vset1(m);
  long j = 0;
  for (; j + VW <= n; j += VW) {
    vf v = vexp(vload(p + j) - mv);
    if (e) vstore(e + j, v);
    acc += v;
  }
  if (j < n) {
    vf v = vexp(vload_part(p + j, n - j) - mv);
    vi keep = {};
    for (long l = 0; l < n - j; l++) keep[l] = -1;
    v = vsel(keep, v, vf{});
    if (e) vstore_part(e + j, v, n - j);
    acc += v;
  }
  return hsum(acc);
}

static inline float row_dot(const float* a, const float* b, long n) {
  vf acc = {};
  long j = 0;
  for (; j + VW <= n; j += VW) acc += vload(a + j) * vload(b + j);
  float s = hsum(acc);
  for (; j < n; j++) s += a[j] * b[j];
  return s;
}


// Aligned scratch memory that lives as long as its thread (grows, never shrinks). Each use site passes its own
// slot so buffers used at the same time never alias.
struct Scratch {
  float* p;
  size_t cap;
};
static inline float* scratch(Scratch& s, size_t floats) {
  if (floats > s.cap) {
    free(s.p);
    size_t bytes = ((floats * 4 + 4095) / 4096) * 4096;
    s.p = static_cast<float*>(aligned_alloc(64, bytes));
    if (!s.p) abort();
    s.cap = bytes / 4;
  }
  return s.p;
}

// parallel_for with a lambda: the trampoline is a template in this ISA's namespace (see the ISA rule).
template <class F>
static void tramp(void* ctx, long task, int thread) {
  (*static_cast<F*>(ctx))(task, thread);
}
template <class F>
static inline void pfor(long ntasks, F f) {
  if (ntasks == 1) {
    f(0L, 0);
    return;
  }
  parallel_for(ntasks, &tramp<F>, &f);
}
/** Splits [0, n) into contiguous chunks (one task each) for elementwise loops; serial below `grain` elements. */
template <class F>
static inline void pfor_range(long n, long grain, F f) {
  int nt = num_threads();
  long chunks = n < grain || nt == 1 ? 1 : lmin(ceil_div(n, grain), 4L * nt);
  long per = ceil_div(ceil_div(n, chunks), VW) * VW;
  chunks = ceil_div(n, per > 0 ? per : 1);
  if (chunks <= 1) {
    f(0L, n);
    return;
  }
  pfor(chunks, [&](long c, int) { f(c * per, lmin(n, (c + 1) * per)); });
}

// Functions shared between the ISA translation units (defined in gemm.cc).
/**
 * Single-threaded C (M, N) = A (M, K) B (K, N) (or C += when acc), with op(A)(i, p) = A[i*rsA + p*csA] and
 * op(B)(p, j) = B[p*rsB + j*csB]; C row stride ldc.
 */
void gemm_serial(long M, long N, long K, const float* A, long rsA, long csA, const float* B, long rsB, long csB,
                 float* C, long ldc, bool acc);
void gemm_batched(const GemmBatch& g);

}  // namespace R1TS_ISA
}  // namespace r1ts
