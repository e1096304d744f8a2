// Fills this ISA's kernel table, and measures the vector FMA throughput of one core (used by `r1ts bench kernels`
// to state the machine's peak).
#include "simd.h"

namespace r1ts {
namespace R1TS_ISA {

void fill_elementwise(KernelTable* t);
void fill_nn(KernelTable* t);
void fill_attention(KernelTable* t);
void fill_layout(KernelTable* t);
void fill_fp8(KernelTable* t);
void fill_bf16(KernelTable* t);

namespace {

#define R1TS_STR2(x) #x
#define R1TS_STR(x) R1TS_STR2(x)

/**
 * GFLOP/s of a loop of independent vector FMAs (12 accumulator chains: more than latency x FMA ports on current
 * cores) on the calling thread: the best rate over ~50 us bursts during about `seconds`, so time the thread spends
 * descheduled on a busy machine does not count.
 */
double fma_gflops_1core(double seconds) {
  vf a0 = vset1(1.00f), a1 = vset1(1.01f), a2 = vset1(1.02f), a3 = vset1(1.03f), a4 = vset1(1.04f),
     a5 = vset1(1.05f), a6 = vset1(1.06f), a7 = vset1(1.07f), a8 = vset1(1.08f), a9 = vset1(1.09f),
     a10 = vset1(1.10f), a11 = vset1(1.11f);
  const vf x = vset1(0.999999f), y = vset1(1e-7f);
  const int burst = 10000;
  struct timespec start, t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &start);
  double best = 0, total = 0;
  do {
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int r = 0; r < burst; r++) {
#define R1TS_F(v) v = v * x + y;
      R1TS_F(a0) R1TS_F(a1) R1TS_F(a2) R1TS_F(a3) R1TS_F(a4) R1TS_F(a5)
      R1TS_F(a6) R1TS_F(a7) R1TS_F(a8) R1TS_F(a9) R1TS_F(a10) R1TS_F(a11)
#undef R1TS_F
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const double dt = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
    const double rate = 2.0 * 12 * VW * burst / dt / 1e9;
    if (rate > best) best = rate;
    total = (t1.tv_sec - start.tv_sec) + 1e-9 * (t1.tv_nsec - start.tv_nsec);
  } while (total < seconds);
  vf sum = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11));
  volatile float sink = sum[0];
  (void)sink;
  return best;
}

}  // namespace

void fill_table(KernelTable* t) {
  t->isa = R1TS_STR(R1TS_ISA);
  t->gemm = &gemm_batched;
  fill_elementwise(t);
  fill_nn(t);
  fill_attention(t);
  fill_layout(t);
  fill_fp8(t);
  fill_bf16(t);
  t->fma_gflops_1core = &fma_gflops_1core;
  t->vector_floats = VW;
}

}  // namespace R1TS_ISA
}  // namespace r1ts
