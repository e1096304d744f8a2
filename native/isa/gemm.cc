// Packed, cache-blocked sgemm (the BLIS loop nest) for one ISA.
//
//   for jc in N step NC:
//     for pc in K step KC:
//       pack B[pc:pc+KC, jc:jc+NC]            B block (KC x NC, 1 MiB) packed into NR-wide panels, for L2
//       for ic in M step MC:
//         pack A[ic:ic+MC, pc:pc+KC]          A block (MC x KC) packed into MR-tall panels
//         for ir in MC step MR:               A micro-panel (MR x KC) stays in L1
//           for jr in NC step NR:             B micro-panels stream from L2 (or L3 where L2 is smaller)
//             C[ir:ir+MR, jr:jr+NR] (+)= Ap[ir] * Bp[jr]     the register-blocked micro-kernel
//
// With two or more threads, each thread runs this nest on its own block of C (gemm_one_parallel).
//
// Transposed operands are read in place: packing reads op(A)(i, p) = A[i*rsA + p*csA] with whatever strides the
// layout has, so there is no transpose copy. Rows left over at the bottom run a micro-kernel instantiated for that
// many rows (no wasted FMAs); columns left over at the right go through a small buffer.
#include <utility>  // std::integer_sequence (compile time only)

#include "gemm.h"
#include "transpose.h"

namespace r1ts {
namespace R1TS_ISA {

namespace {

/**
 * Rows 0..R-1 (R <= MR) of the MR x NR tile: c (+)= a * b over kc steps, with a(i, p) = a[i*rs + p*cs] (a packed panel:
 * rs = 1, cs = MR; a row-major matrix read in place: rs = its row stride, cs = 1; a transposed one: rs = 1, cs = its
 * row stride) and B's panel rows brs apart (NR when packed). Inlined with constant strides for the packed case.
 */
template <int R>
__attribute__((always_inline)) inline void ukernel_s(long kc, const float* __restrict a, long rs, long cs,
                                                     const float* __restrict b, long brs, float* __restrict c,
                                                     long ldc, bool acc) {
  vf cr[R][NV];
#pragma GCC unroll 16
  for (int i = 0; i < R; i++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) {
      cr[i][v] = vf{};
      if (acc) __builtin_prefetch(c + i * ldc + v * VW, 1, 3);  // C arrives from L2/L3 while the k loop runs
    }
#pragma GCC unroll 2
  for (long p = 0; p < kc; p++) {
    vf bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) bv[v] = vload(b + v * VW);  // unaligned load: panels need not be 64-byte aligned
#pragma GCC unroll 16
    for (int i = 0; i < R; i++) {
      vf av = vset1(a[i * rs]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) cr[i][v] += av * bv[v];
    }
    a += cs;
    b += brs;
  }
#pragma GCC unroll 16
  for (int i = 0; i < R; i++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) {
      float* cp = c + i * ldc + v * VW;
      vstore(cp, acc ? vload(cp) + cr[i][v] : cr[i][v]);
    }
}

/** The packed tile (constant strides) and the strided one, as functions a table can point to, one per row count R. */
template <int R>
struct PackedTile {
  static void run(long kc, const float* a, const float* b, float* c, long ldc, bool acc) {
    ukernel_s<R>(kc, a, 1, MR, b, NR, c, ldc, acc);
  }
};
template <int R>
struct StridedTile {
  static void run(long kc, const float* a, long rs, long cs, const float* b, long brs, float* c, long ldc, bool acc) {
    ukernel_s<R>(kc, a, rs, cs, b, brs, c, ldc, acc);
  }
};

/** K<R>::run for R = 1..MR, indexed by R (entry 0 unused). */
template <template <int> class K, int... Rs>
struct TileTable {
  static constexpr decltype(&K<1>::run) fns[sizeof...(Rs) + 1] = {nullptr, &K<Rs>::run...};
};
template <template <int> class K, int... Is>
constexpr auto tile_table(std::integer_sequence<int, Is...>) {
  return TileTable<K, (Is + 1)...>::fns;
}
const auto* const kUk = tile_table<PackedTile>(std::make_integer_sequence<int, MR>{});
const auto* const kUkS = tile_table<StridedTile>(std::make_integer_sequence<int, MR>{});

}  // namespace

void pack_a(long mc, long kc, const float* A, long rsA, long csA, float* dst) {
  for (long i0 = 0; i0 < mc; i0 += MR) {
    const long mr = lmin(MR, mc - i0);
    float* d = dst + i0 * kc;
    const float* s = A + i0 * rsA;
    if (csA == 1) {
      // Rows are contiguous along p (row-major A): transpose VW x VW blocks in registers, VW rows at a time.
      long p = 0;
      for (; p + VW <= kc; p += VW) {
        for (int g = 0; g < MR; g += VW) {
          vf out[VW];
          const int rows = (int)lmax(0, lmin(VW, mr - g));
          const int lanes = (int)lmin(VW, MR - g);
          transpose_block(s + g * rsA + p, rsA, rows, out);
          for (int q = 0; q < VW; q++) vstore_n(d + (p + q) * MR + g, out[q], lanes);
        }
      }
      for (; p < kc; p++) {
        for (long i = 0; i < mr; i++) d[p * MR + i] = s[i * rsA + p];
        for (long i = mr; i < MR; i++) d[p * MR + i] = 0.0f;
      }
    } else if (rsA == 1) {
      // Columns are contiguous along i (transposed A): copy MR floats per step (rows past mr read as zero).
      for (long p = 0; p < kc; p++) {
        const float* sp = s + p * csA;
        for (int g = 0; g < MR; g += VW) {
          const int lanes = (int)lmin(VW, MR - g);
          const int rows = (int)lmax(0, lmin(lanes, mr - g));
          vstore_n(d + p * MR + g, vload_n(sp + g, rows), lanes);
        }
      }
    } else {
      for (long p = 0; p < kc; p++) {
        for (long i = 0; i < mr; i++) d[p * MR + i] = s[i * rsA + p * csA];
        for (long i = mr; i < MR; i++) d[p * MR + i] = 0.0f;
      }
    }
  }
}

namespace {

/** Packs one NR-wide panel of op(B)[0:kc, 0:nr]: dst[p*NR + j]; columns nr..NR-1 are zero. */
void pack_b_panel(long kc, long nr, const float* B, long rsB, long csB, float* d) {
  if (csB == 1 && nr == NR) {
    for (long p = 0; p < kc; p++) {
      const float* sp = B + p * rsB;
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) vstore(d + p * NR + v * VW, vload(sp + v * VW));
    }
  } else if (rsB == 1 && nr == NR) {
    // Transposed B: each column of op(B) is a contiguous row of B. Transpose VW x VW blocks in registers.
    long p = 0;
    for (; p + VW <= kc; p += VW) {
      for (int v = 0; v < NV; v++) {
        vf out[VW];
        transpose_block(B + v * VW * csB + p, csB, VW, out);
        for (int q = 0; q < VW; q++) vstore(d + (p + q) * NR + v * VW, out[q]);
      }
    }
    for (; p < kc; p++)
      for (long j = 0; j < NR; j++) d[p * NR + j] = B[j * csB + p];
  } else if (rsB == 1) {
    // A partial transposed panel: read rows, write strided (the panel is KC x NR floats and stays in L1).
    if (nr < NR) {
      for (long p = 0; p < kc; p++)
        for (long j = nr; j < NR; j++) d[p * NR + j] = 0.0f;
    }
    long j = 0;
    for (; j + 4 <= nr; j += 4) {
      const float* s0 = B + j * csB;
      const float* s1 = s0 + csB;
      const float* s2 = s1 + csB;
      const float* s3 = s2 + csB;
      for (long p = 0; p < kc; p++) {
        float* dp = d + p * NR + j;
        dp[0] = s0[p];
        dp[1] = s1[p];
        dp[2] = s2[p];
        dp[3] = s3[p];
      }
    }
    for (; j < nr; j++) {
      const float* s0 = B + j * csB;
      for (long p = 0; p < kc; p++) d[p * NR + j] = s0[p];
    }
  } else {
    for (long p = 0; p < kc; p++) {
      for (long j = 0; j < nr; j++) d[p * NR + j] = B[p * rsB + j * csB];
      for (long j = nr; j < NR; j++) d[p * NR + j] = 0.0f;
    }
  }
}

struct Prod {
  long M, N, K;
  const float* A;
  long rsA, csA;
  const float* B;
  long rsB, csB;
  float* C;
  long ldc;
  bool acc;  // C += instead of C =
  /** When set, op(B) is read from these bfloat16 codes (same strides) instead of B, widened while packing. */
  const uint16_t* Bh = nullptr;
};

/** Packs one NR-wide panel of op(B)[0:kc, 0:nr] from bfloat16 codes (widened exactly): dst[p*NR + j]. */
void pack_b_panel_bf16(long kc, long nr, const uint16_t* B, long rsB, long csB, float* d) {
  for (long p = 0; p < kc; p++)
    for (long j = nr; j < NR; j++) d[p * NR + j] = 0.0f;
  for (long j = 0; j < nr; j++) {
    const uint16_t* s = B + j * csB;
    for (long p = 0; p < kc; p++) {
      const uint32_t u = (uint32_t)s[p * rsB] << 16;
      memcpy(d + p * NR + j, &u, 4);
    }
  }
}

/** Packs panel columns [jr, jr + nr) of op(B) rows [pc, pc + kc) of a product (float32 or bfloat16 B). */
void pack_b_of(const Prod& P, long kc, long nr, long pc, long j, float* d) {
  if (P.Bh) pack_b_panel_bf16(kc, nr, P.Bh + pc * P.rsB + j * P.csB, P.rsB, P.csB, d);
  else pack_b_panel(kc, nr, P.B + pc * P.rsB + j * P.csB, P.rsB, P.csB, d);
}

/** C[0:mc, jr0:jr1] (+)= Ap * Bp for one packed A block and panels jr0/NR .. jr1/NR of a packed B block. */
void macro(long mc, long jr0, long jr1, long nc, long kc, const float* Ap, const float* Bp, long bpstride, float* C,
           long ldc, bool acc) {
  alignas(64) float tmp[MR * NR];
  // A micro-panel (MR x kc) stays in L1 while the B panels of the block stream past it from L2, and the tiles of C it
  // writes lie along its rows.
  for (long ir = 0; ir < mc; ir += MR) {
    const long mr = lmin(MR, mc - ir);
    const float* ap = Ap + ir * kc;
    for (long jr = jr0; jr < jr1; jr += NR) {
      const long nr = lmin(NR, nc - jr);
      const float* bp = Bp + (jr / NR) * bpstride;
      float* c = C + ir * ldc + jr;
      if (nr == NR) {
        kUk[mr](kc, ap, bp, c, ldc, acc);
      } else {
        kUk[mr](kc, ap, bp, tmp, NR, false);
        for (long i = 0; i < mr; i++)
          for (long j = 0; j < nr; j++) c[i * ldc + j] = acc ? c[i * ldc + j] + tmp[i * NR + j] : tmp[i * NR + j];
      }
    }
  }
}

/**
 * Whether the micro-kernel reads A where it lies instead of packing it: when few B panels (at most 6: N <= kInPlaceN) would
 * reuse a packed A block, packing costs more than it saves (it was 30-50% of the products of a `tiny` training step,
 * whose N are 32-96). The products and their order are the same either way.
 */
constexpr long kInPlaceN = 6 * NR;
inline bool read_a_in_place(const Prod& P) { return P.N <= kInPlaceN; }

thread_local Scratch tl_apack = {nullptr, 0};
thread_local Scratch tl_bpack = {nullptr, 0};

/**
 * Rows [r0, r1) and columns [c0, c1) of a product on the calling thread, packing its own blocks of A and B: the whole
 * product when serial, one block of the grid below when parallel. Each element's sum runs over K in the same order
 * whatever the block, so the split never changes the result.
 */
void gemm_block(const Prod& P, long r0, long r1, long c0, long c1) {
  if (r0 >= r1 || c0 >= c1) return;
  float* Ap = scratch(tl_apack, (size_t)(MC + MR) * KC);
  float* Bp = scratch(tl_bpack, (size_t)KC * (NC + NR));
  for (long jc = c0; jc < c1; jc += NC) {
    const long nc = lmin(NC, c1 - jc);
    if (P.K == 0 && !P.acc) {
      for (long i = r0; i < r1; i++) memset(P.C + i * P.ldc + jc, 0, nc * 4);
    }
    for (long pc = 0; pc < P.K; pc += KC) {
      const long kc = lmin(KC, P.K - pc);
      const bool acc = P.acc || pc > 0;
      for (long jr = 0; jr < nc; jr += NR) pack_b_of(P, kc, lmin(NR, nc - jr), pc, jc + jr, Bp + jr * kc);
      for (long ic = r0; ic < r1; ic += MC) {
        const long mc = lmin(MC, r1 - ic);
        const float* A = P.A + ic * P.rsA + pc * P.csA;
        if (read_a_in_place(P)) {
          gemm_strided(mc, nc, kc, A, P.rsA, P.csA, Bp, kc * NR, NR, P.C + ic * P.ldc + jc, P.ldc, acc);
          continue;
        }
        pack_a(mc, kc, A, P.rsA, P.csA, Ap);
        macro(mc, 0, nc, nc, kc, Ap, Bp, kc * NR, P.C + ic * P.ldc + jc, P.ldc, acc);
      }
    }
  }
}

void gemm_one_serial(const Prod& P) { gemm_block(P, 0, P.M, 0, P.N); }

/**
 * C cut into a grid of mb x nb blocks of whole tiles, one task each, with no barrier inside a product: every task packs
 * the A rows and B columns it needs, so a block of A is packed once per column block and a block of B once per row
 * block. Products with rows enough (kRowsOnly a thread, so that each thread packing all of B costs at most about a
 * tenth of its work) are cut by rows only: measured on the `tiny` model's products (bench/train_gemms.ts), column
 * blocks that share C's rows ran up to 2.4x slower there. The others (weight gradients: few rows, long K; and many
 * threads) take the grid, at most one task a thread, whose largest task costs least, counting its FLOPs plus
 * kPackCost for each float it packs (on a tie the first found: fewer row blocks).
 */
void gemm_one_parallel(const Prod& P) {
  const int nt = num_threads();
  if (nt == 1) {
    gemm_one_serial(P);
    return;
  }
  constexpr double kPackCost = 32.0;  // a packed float costs about as much time as 32 FLOP of the micro-kernel
  constexpr long kRowsOnly = 160;     // rows a thread: B packed by every thread costs <= kPackCost / (2 * 160) of it
  const long tilesM = ceil_div(P.M, MR), tilesN = ceil_div(P.N, NR);
  const bool aInPlace = read_a_in_place(P);
  long mb = nt, nb = 1;
  if (P.M < kRowsOnly * nt) {
    double best = -1;
    for (long m = 1; m <= lmin(nt, tilesM); m++)
      for (long n = 1; m * n <= nt && n <= tilesN; n++) {
        const double rows = (double)lmin(P.M, ceil_div(tilesM, m) * MR);
        const double cols = (double)lmin(P.N, ceil_div(tilesN, n) * NR);
        const double packed = (double)P.K * cols + (aInPlace ? 0.0 : rows * P.K * ceil_div((long)cols, NC));
        const double cost = 2.0 * rows * cols * P.K + kPackCost * packed;
        if (best < 0 || cost < best) {
          best = cost;
          mb = m;
          nb = n;
        }
      }
  }
  pfor(mb * nb, [&](long t, int) {
    const long bi = t / nb, bj = t % nb;
    gemm_block(P, (bi * tilesM / mb) * MR, lmin(P.M, ((bi + 1) * tilesM / mb) * MR), (bj * tilesN / nb) * NR,
               lmin(P.N, ((bj + 1) * tilesN / nb) * NR));
  });
}

}  // namespace

void pack_b(long kc, long nc, const float* B, long rsB, long csB, float* dst, long pstride) {
  for (long jr = 0; jr < nc; jr += NR) pack_b_panel(kc, lmin(NR, nc - jr), B + jr * csB, rsB, csB, dst + (jr / NR) * pstride);
}

void gemm_packed(long mc, long nc, long kc, const float* Ap, const float* Bp, long bpstride, float* C, long ldc,
                 bool acc) {
  macro(mc, 0, nc, nc, kc, Ap, Bp, bpstride, C, ldc, acc);
}

void gemm_strided(long mc, long nc, long kc, const float* A, long rsA, long csA, const float* B, long bpanel, long brs,
                  float* C, long ldc, bool acc) {
  alignas(64) float tmp[MR * NR];
  for (long jr = 0; jr < nc; jr += NR) {
    const long nr = lmin(NR, nc - jr);
    const float* bp = B + (jr / NR) * bpanel;
    for (long ir = 0; ir < mc; ir += MR) {
      const long mr = lmin(MR, mc - ir);
      const float* ap = A + ir * rsA;
      float* c = C + ir * ldc + jr;
      if (nr == NR) {
        kUkS[mr](kc, ap, rsA, csA, bp, brs, c, ldc, acc);
      } else {
        kUkS[mr](kc, ap, rsA, csA, bp, brs, tmp, NR, false);
        for (long i = 0; i < mr; i++)
          for (long j = 0; j < nr; j++) c[i * ldc + j] = acc ? c[i * ldc + j] + tmp[i * NR + j] : tmp[i * NR + j];
      }
    }
  }
}

void gemm_serial(long M, long N, long K, const float* A, long rsA, long csA, const float* B, long rsB, long csB,
                 float* C, long ldc, bool acc) {
  Prod P = {M, N, K, A, rsA, csA, B, rsB, csB, C, ldc, acc};
  gemm_one_serial(P);
}

void gemm_bf16_packed(long M, long N, long K, const float* A, const uint16_t* W, float* C) {
  Prod P = {M, N, K, A, K, 1, nullptr, 1, K, C, N, false, W};
  if (2.0 * M * N * K < 2e5) gemm_one_serial(P);
  else gemm_one_parallel(P);
}

void gemm_batched(const GemmBatch& g) {
  const long M = g.M, N = g.N, K = g.K;
  const long rsA = g.transA ? 1 : K, csA = g.transA ? M : 1;
  const long rsB = g.transB ? 1 : N, csB = g.transB ? K : 1;
  auto prod = [&](long bi) {
    Prod P = {M, N, K, g.A + g.offA[bi], rsA, csA, g.B + g.offB[bi], rsB, csB, g.C + bi * M * N, N, false};
    return P;
  };
  const double flops = 2.0 * M * N * K;
  const int nt = num_threads();
  if (g.batch >= nt && g.batch > 1 && flops < 4e6) {
    // Many small products: one product per task.
    pfor(g.batch, [&](long bi, int) { gemm_one_serial(prod(bi)); });
    return;
  }
  for (long bi = 0; bi < g.batch; bi++) {
    Prod P = prod(bi);
    if (flops < 2e5) gemm_one_serial(P);
    else gemm_one_parallel(P);
  }
}

}  // namespace R1TS_ISA
}  // namespace r1ts
