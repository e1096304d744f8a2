// The sgemm building blocks shared by gemm.cc and attention.cc: tile sizes, packing and the packed-panel product.
#pragma once
#include "simd.h"

namespace r1ts {
namespace R1TS_ISA {

#if defined(R1TS_GEMM_TUNE)
constexpr int MR = TMR, NV = TNV;
constexpr long KC = TKC, MC = TMC, NC = TNC;
#elif defined(__AVX512F__)
constexpr int MR = 14, NV = 2;  // 14 x 32 tile: 28 zmm accumulators, 2 B vectors, broadcast A from memory
constexpr long KC = 256, MC = 14 * 18, NC = 1024;  // a B block of 1 MiB (NC 3072: 2048^3 12% slower)
#elif defined(__AVX2__)
constexpr int MR = 6, NV = 2;  // 6 x 16 tile: 12 ymm accumulators
constexpr long KC = 256, MC = 6 * 24, NC = 1024;  // NC 2048: 2048^3 20% slower (these kernels, timed on an AVX-512 machine)
#else
constexpr int MR = 6, NV = 2;  // 6 x 8 tile: 12 xmm accumulators
constexpr long KC = 256, MC = 6 * 16, NC = 1024;
#endif
constexpr int NR = NV * VW;

/** Packs op(A)[0:mc, 0:kc] (op(A)(i, p) = A[i*rsA + p*csA]) into MR-tall panels: dst[(i/MR)*MR*kc + p*MR + i%MR];
 *  the last panel is zero-padded, so dst holds ceil(mc/MR)*MR*kc floats. */
void pack_a(long mc, long kc, const float* A, long rsA, long csA, float* dst);
/** Packs op(B)[0:kc, 0:nc] (op(B)(p, j) = B[p*rsB + j*csB]) into NR-wide panels, panel q at dst + q*pstride
 *  (pstride >= kc*NR), laid out [p*NR + j] and zero-padded on the right. */
void pack_b(long kc, long nc, const float* B, long rsB, long csB, float* dst, long pstride);
/** C[0:mc, 0:nc] (+)= packed A (mc x kc) times packed B (kc x nc, panels bpstride apart); C row stride ldc. */
void gemm_packed(long mc, long nc, long kc, const float* Ap, const float* Bp, long bpstride, float* C, long ldc,
                 bool acc);

/**
 * C[0:mc, 0:nc] (+)= A times B with neither packed: op(A)(i, p) = A[i*rsA + p*csA]; B's NR-wide column panel q starts
 * at B + q*bpanel with its rows brs apart (a packed panel: bpanel = its stride, brs = NR; a row-major matrix with row
 * stride ld: bpanel = NR, brs = ld). Every panel row is read whole (NR floats), also in the last panel when nc is not a
 * multiple of NR: those floats must be readable; the columns past nc are computed and dropped. Same sums, in the same
 * order, as packing both and calling gemm_packed.
 */
void gemm_strided(long mc, long nc, long kc, const float* A, long rsA, long csA, const float* B, long bpanel, long brs,
                  float* C, long ldc, bool acc);

/** C (M, N) = A (M, K) times Wᵀ for W (N, K) bfloat16 codes: the packed sgemm, whose B packing widens the codes. */
void gemm_bf16_packed(long M, long N, long K, const float* A, const uint16_t* W, float* C);

}  // namespace R1TS_ISA
}  // namespace r1ts
