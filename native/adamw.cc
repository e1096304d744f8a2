// The AdamW step in double precision, bit-exact with the reference src/backend/ts/optim.ts, so that the optimizer
// gives the same parameters on either backend: every operation is the reference's, in the reference's order, on
// doubles, and m, v and the parameter are rounded to float32 once each, as a Float32Array store rounds.
// Compiled with the addon (generic x86-64 flags and -ffp-contract=off: no FMA contraction, no reassociation), so each
// double operation rounds exactly as JavaScript's does. Large arrays are split across the thread pool.
#include <cmath>

#include "common.h"

namespace r1ts {
namespace {

constexpr long kChunk = 1 << 14;  // elements per task

struct Job {
  float *p, *m, *v;
  const float* g;
  long n;
  const AdamWArgs* a;
};

void run(void* ctx, long task, int) {
  const Job& j = *static_cast<const Job*>(ctx);
  const AdamWArgs& a = *j.a;
  const double b1 = a.beta1, b2 = a.beta2, omb1 = 1 - a.beta1, omb2 = 1 - a.beta2;
  const double decay = a.lr * a.weight_decay;
  const long lo = task * kChunk, hi = lo + kChunk < j.n ? lo + kChunk : j.n;
  for (long i = lo; i < hi; i++) {
    const double g = j.g[i];
    const double mi = b1 * j.m[i] + omb1 * g;
    const double vi = b2 * j.v[i] + omb2 * g * g;
    j.m[i] = (float)mi;
    j.v[i] = (float)vi;
    const double p = j.p[i];
    j.p[i] = (float)(p - decay * p - (a.lr * (mi / a.bc1)) / (std::sqrt(vi / a.bc2) + a.eps));
  }
}

}  // namespace

void adamw_step(float* p, const float* g, float* m, float* v, long n, const AdamWArgs& a) {
  Job j = {p, m, v, g, n, &a};
  parallel_for((n + kChunk - 1) / kChunk, &run, &j);
}

}  // namespace r1ts
