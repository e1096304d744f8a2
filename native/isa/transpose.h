// In-register transpose of a VW x VW block of floats (16x16 AVX-512, 8x8 AVX2, 4x4 SSE), used by the packing
// routines of gemm.cc when packing has to transpose (row-major A, transposed B).
#pragma once
#include "simd.h"

namespace r1ts {
namespace R1TS_ISA {

/**
 * out[p][i] = src[i*ld + p] for p < VW, i < nrows (lanes i >= nrows are zero). Reads VW floats from each of the
 * first nrows rows.
 */
static inline void transpose_block(const float* src, long ld, int nrows, vf out[VW]) {
#if defined(__AVX512F__)
  __m512 r[16], t[16];
  for (int i = 0; i < 16; i++) r[i] = i < nrows ? _mm512_loadu_ps(src + i * ld) : _mm512_setzero_ps();
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; i++) {
    r[4 * i + 0] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  // r[4g + c], 128-bit lane L: column 4L + c of rows 4g .. 4g+3.
  for (int c = 0; c < 4; c++) {
    // Gather the four row groups of column set c: lanes (g0 L0, g1 L0, g2 L0, g3 L0) etc.
    __m512 a = _mm512_shuffle_f32x4(r[0 + c], r[4 + c], 0x88);   // g0 L0, g0 L2, g1 L0, g1 L2
    __m512 b = _mm512_shuffle_f32x4(r[0 + c], r[4 + c], 0xdd);   // g0 L1, g0 L3, g1 L1, g1 L3
    __m512 e = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x88);  // g2 L0, g2 L2, g3 L0, g3 L2
    __m512 f = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xdd);  // g2 L1, g2 L3, g3 L1, g3 L3
    t[c + 0] = _mm512_shuffle_f32x4(a, e, 0x88);   // g0 L0, g1 L0, g2 L0, g3 L0 -> column c
    t[c + 8] = _mm512_shuffle_f32x4(a, e, 0xdd);   // ... L2 -> column 8 + c
    t[c + 4] = _mm512_shuffle_f32x4(b, f, 0x88);   // ... L1 -> column 4 + c
    t[c + 12] = _mm512_shuffle_f32x4(b, f, 0xdd);  // ... L3 -> column 12 + c
  }
  for (int p = 0; p < 16; p++) out[p] = (vf)t[p];
#elif defined(__AVX2__)
  __m256 r[8];
  for (int i = 0; i < 8; i++) r[i] = i < nrows ? _mm256_loadu_ps(src + i * ld) : _mm256_setzero_ps();
  __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xee);
  __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xee);
  __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xee);
  __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xee);
  out[0] = (vf)_mm256_permute2f128_ps(u0, u4, 0x20);
  out[1] = (vf)_mm256_permute2f128_ps(u1, u5, 0x20);
  out[2] = (vf)_mm256_permute2f128_ps(u2, u6, 0x20);
  out[3] = (vf)_mm256_permute2f128_ps(u3, u7, 0x20);
  out[4] = (vf)_mm256_permute2f128_ps(u0, u4, 0x31);
  out[5] = (vf)_mm256_permute2f128_ps(u1, u5, 0x31);
  out[6] = (vf)_mm256_permute2f128_ps(u2, u6, 0x31);
  out[7] = (vf)_mm256_permute2f128_ps(u3, u7, 0x31);
#else
  __m128 r0 = nrows > 0 ? _mm_loadu_ps(src) : _mm_setzero_ps();
  __m128 r1 = nrows > 1 ? _mm_loadu_ps(src + ld) : _mm_setzero_ps();
  __m128 r2 = nrows > 2 ? _mm_loadu_ps(src + 2 * ld) : _mm_setzero_ps();
  __m128 r3 = nrows > 3 ? _mm_loadu_ps(src + 3 * ld) : _mm_setzero_ps();
  _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
  out[0] = (vf)r0;
  out[1] = (vf)r1;
  out[2] = (vf)r2;
  out[3] = (vf)r3;
#endif
}

}  // namespace R1TS_ISA
}  // namespace r1ts
