// FP8 kernels per ISA for fp8.cc: the encoder (float32 -> E4M3/E5M2 codes, vectorised) and the inner loop of the GEMM
// emulation: one promotion interval for 4 rows of A against every column of
// B, the running sums held in vector registers (4 rows x 3 vectors of doubles) while a group of products is added,
// then rounded the accumulator model's way. See Fp8IntervalArgs in ../common.h for the contract and why every ISA
// gives the same bits.
#include "simd.h"

namespace r1ts {
namespace R1TS_ISA {

namespace {

constexpr int VD = VW / 2;  // doubles per vector
constexpr int TILE = 3 * VD;

typedef double vd __attribute__((vector_size(VW * 4)));
typedef int64_t vl __attribute__((vector_size(VW * 4)));
typedef float vfh __attribute__((vector_size(VW * 2)));

static inline vd dload(const double* p) {
  vd v;
  memcpy(&v, p, sizeof v);
  return v;
}
static inline void dstore(double* p, vd v) { memcpy(p, &v, sizeof v); }
static inline vd dset1(double x) {
#if defined(__AVX512F__)
  return (vd)_mm512_set1_pd(x);
#elif defined(__AVX2__)
  return (vd)_mm256_set1_pd(x);
#else
  return (vd)_mm_set1_pd(x);
#endif
}

template <int KIND>
static inline vd round_group(vd v, vl mask) {
  if (KIND == 1) return __builtin_convertvector(__builtin_convertvector(v, vfh), vd);
  if (KIND == 2) return (vd)((vl)v & mask);
  return v;
}

template <int KIND>
void interval(const Fp8IntervalArgs& g) {
  const vl mask = (vl){} + (int64_t)g.mask;
  const long ld = g.tiles * TILE;
  const double* a0 = g.A;
  const double* a1 = g.A + g.lda;
  const double* a2 = g.A + 2 * g.lda;
  const double* a3 = g.A + 3 * g.lda;
  for (long t = 0; t < g.tiles; t++) {
    vd c00 = {}, c01 = {}, c02 = {}, c10 = {}, c11 = {}, c12 = {};
    vd c20 = {}, c21 = {}, c22 = {}, c30 = {}, c31 = {}, c32 = {};
    const double* bt = g.Bp + t * g.K * TILE;
    for (long s0 = g.k0; s0 < g.k1; s0 += g.group) {
      const long s1 = lmin(g.k1, s0 + g.group);
      for (long k = s0; k < s1; k++) {
        const double* b = bt + k * TILE;
        const vd b0 = dload(b), b1 = dload(b + VD), b2 = dload(b + 2 * VD);
        vd x = dset1(a0[k]);
        c00 += x * b0; c01 += x * b1; c02 += x * b2;
        x = dset1(a1[k]);
        c10 += x * b0; c11 += x * b1; c12 += x * b2;
        x = dset1(a2[k]);
        c20 += x * b0; c21 += x * b1; c22 += x * b2;
        x = dset1(a3[k]);
        c30 += x * b0; c31 += x * b1; c32 += x * b2;
      }
      if (KIND != 0) {
        c00 = round_group<KIND>(c00, mask); c01 = round_group<KIND>(c01, mask); c02 = round_group<KIND>(c02, mask);
        c10 = round_group<KIND>(c10, mask); c11 = round_group<KIND>(c11, mask); c12 = round_group<KIND>(c12, mask);
        c20 = round_group<KIND>(c20, mask); c21 = round_group<KIND>(c21, mask); c22 = round_group<KIND>(c22, mask);
        c30 = round_group<KIND>(c30, mask); c31 = round_group<KIND>(c31, mask); c32 = round_group<KIND>(c32, mask);
      }
    }
    double* p = g.part + t * TILE;
    dstore(p, c00); dstore(p + VD, c01); dstore(p + 2 * VD, c02);
    p += ld;
    dstore(p, c10); dstore(p + VD, c11); dstore(p + 2 * VD, c12);
    p += ld;
    dstore(p, c20); dstore(p + VD, c21); dstore(p + 2 * VD, c22);
    p += ld;
    dstore(p, c30); dstore(p + VD, c31); dstore(p + 2 * VD, c32);
  }
}

void fp8_interval(const Fp8IntervalArgs& g) {
  if (g.kind == 1) interval<1>(g);
  else if (g.kind == 2) interval<2>(g);
  else interval<0>(g);
}

typedef uint32_t vu __attribute__((vector_size(VW * 4)));
typedef uint8_t vb __attribute__((vector_size(VW)));

/** The rule of encodeBits32 in src/tensor/formats.ts on VW lanes: the same integer steps, each branch a select. */
static inline vi encode_lanes(vf y, int m, int bias, int max_code, int nan_code) {
  const vi u = as_int(y);
  const vi a = u & 0x7fffffff;
  const vi sign = (vi)(((vu)u >> 31) << 7);
  const vi emin = (vi){} + (1 - bias);
  const vi sub = a < 0x800000;
  const vi e = sub ? (vi){} - 126 : (a >> 23) - 127;
  const vi sm = sub ? a : (a & 0x7fffff) | 0x800000;
  const vi emax = e > emin ? e : emin;
  vi shift = emax - m - e + 23;  // >= 23 - m; from 25 up the result is 0 either way (sm < 2^24), so clamp to 31
  shift = shift < 31 ? shift : (vi){} + 31;
  const vu us = (vu)shift, one = (vu){} + 1u;
  vu q = (vu)sm >> us;
  const vu rem = (vu)sm & ((one << us) - 1u);
  const vu half = one << (us - 1u);
  q += ((vu)(rem > half) & 1u) | ((vu)(rem == half) & q & 1u);
  vi code = e >= emin ? ((e - emin + 1) << m) + (vi)q - (1 << m) : (vi)q;
  code = code < max_code ? code : (vi){} + max_code;  // infinity and overflow saturate
  return sign | (a > 0x7f800000 ? (vi){} + nan_code : code);
}

void fp8_encode(const float* x, const float* s, long n, int m, int bias, int max_code, int nan_code, uint8_t* out) {
  long i = 0;
  for (; i + VW <= n; i += VW) {
    const vb c = __builtin_convertvector(encode_lanes(vload(x + i) / vload(s + i), m, bias, max_code, nan_code), vb);
    memcpy(out + i, &c, VW);
  }
  if (i < n) {
    const long r = n - i;
    const vb c = __builtin_convertvector(encode_lanes(vload_part(x + i, r) / vload_part(s + i, r), m, bias, max_code, nan_code), vb);
    memcpy(out + i, &c, r);
  }
}

}  // namespace

void fill_fp8(KernelTable* t) {
  t->fp8_interval = &fp8_interval;
  t->fp8_tile = TILE;
  t->fp8_encode = &fp8_encode;
}

}  // namespace R1TS_ISA
}  // namespace r1ts
