// Float32 activations times bfloat16 weights for one ISA: y (M, N) = x (M, K) times wᵀ, w (N, K) bf16 codes (the
// Hugging Face Linear layout), the inference path of large models whose weights stay bf16 in memory.
//
// A bf16 code is the top half of a float32, so widening is a zero-extension and a 16-bit shift (no table, no F16C).
// Decode steps (M <= 8 rows) are memory-bound: each weight row is streamed once, widened in registers and
// multiplied into all M rows of x (which stay in L1/L2), with 4, 2 or 1 independent accumulator chains per row of x
// so that the FMA latency hides behind the loads; rows of w are split over the thread pool in blocks. Prefill (M > 8)
// is compute-bound and runs the packed sgemm of gemm.cc, whose B packing widens the bf16 panels (gemm_bf16_packed).
#include "gemm.h"

namespace r1ts {
namespace R1TS_ISA {

namespace {

typedef uint16_t vh __attribute__((vector_size(VW * 2)));

/**
 * VW bf16 codes at p widened to float32: one zero-extending load (vpmovzxwd from memory) and a shift. GCC lowers the
 * portable __builtin_convertvector form to two 128-bit extends and an insert, twice the shuffle work, so the x86 ISAs
 * spell the instruction out.
 */
static inline vf bf16v(const uint16_t* p) {
#if defined(__AVX512F__)
  return (vf)_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)p)), 16);
#elif defined(__AVX2__)
  return (vf)_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)p)), 16);
#else
  vh h;
  memcpy(&h, p, sizeof h);
  return (vf)(__builtin_convertvector(h, vi) << 16);
#endif
}

static inline float bf16s(uint16_t c) {
  const uint32_t u = (uint32_t)c << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/** Rows [n0, n1) of w against all M rows of x: C[m * N + n] = sum_k x[m, k] w[n, k]. U accumulator chains per row. */
template <int M, int U>
void rows_small(long n0, long n1, long K, const float* __restrict A, const uint16_t* __restrict W,
                float* __restrict C, long N) {
  for (long n = n0; n < n1; n++) {
    const uint16_t* w = W + n * K;
    vf acc[U][M];
#pragma GCC unroll 4
    for (int u = 0; u < U; u++)
#pragma GCC unroll 8
      for (int m = 0; m < M; m++) acc[u][m] = vf{};
    long k = 0;
    for (; k + U * VW <= K; k += U * VW) {
#pragma GCC unroll 4
      for (int u = 0; u < U; u++) {
        const vf wv = bf16v(w + k + u * VW);
#pragma GCC unroll 8
        for (int m = 0; m < M; m++) acc[u][m] += vload(A + m * K + k + u * VW) * wv;
      }
    }
    for (; k + VW <= K; k += VW) {
      const vf wv = bf16v(w + k);
#pragma GCC unroll 8
      for (int m = 0; m < M; m++) acc[0][m] += vload(A + m * K + k) * wv;
    }
    float tail[M];
#pragma GCC unroll 8
    for (int m = 0; m < M; m++) tail[m] = 0.0f;
    for (; k < K; k++) {
      const float wk = bf16s(w[k]);
#pragma GCC unroll 8
      for (int m = 0; m < M; m++) tail[m] += A[m * K + k] * wk;
    }
#pragma GCC unroll 8
    for (int m = 0; m < M; m++) {
      vf s = acc[0][m];
#pragma GCC unroll 4
      for (int u = 1; u < U; u++) s += acc[u][m];
      C[m * N + n] = hsum(s) + tail[m];
    }
  }
}

typedef void (*RowsFn)(long, long, long, const float*, const uint16_t*, float*, long);

/** rows_small for M = 1..8: more chains when there are fewer rows of x (16 vector registers on AVX2). */
const RowsFn kRows[9] = {nullptr,
                         &rows_small<1, 4>,
                         &rows_small<2, 4>,
                         &rows_small<3, 2>,
                         &rows_small<4, 2>,
                         &rows_small<5, 1>,
                         &rows_small<6, 1>,
                         &rows_small<7, 1>,
                         &rows_small<8, 1>};

/** Rows of w per task: about 64 KB of weights, so tasks are many enough to balance and large enough to stream. */
long rows_per_task(long K) { return lmax(1, 32768 / lmax(1, K)); }

void gemm_bf16(long M, long N, long K, const float* A, const uint16_t* W, float* C) {
  if (M == 0 || N == 0) return;
  if (M > 8) {
    gemm_bf16_packed(M, N, K, A, W, C);
    return;
  }
  const RowsFn f = kRows[M];
  const long per = rows_per_task(K);
  const long tasks = ceil_div(N, per);
  if ((double)N * K < 65536 || num_threads() == 1) {
    f(0, N, K, A, W, C, N);
    return;
  }
  pfor(tasks, [&](long t, int) { f(t * per, lmin(N, (t + 1) * per), K, A, W, C, N); });
}

}  // namespace

void fill_bf16(KernelTable* t) { t->gemm_bf16 = &gemm_bf16; }

}  // namespace R1TS_ISA
}  // namespace r1ts
