// The fast decoders' row kernels (src/backend/ts/rows.ts is the reference): RMSNorm of strided rows with its sums in
// double, an in-place float32 add, and a mixture-of-experts layer's row gather and scaled scatter-add. Each does the
// reference's operations in the reference's order; compiled with the addon (generic x86-64 flags and
// -ffp-contract=off: no FMA contraction, no reassociation), so every result has the reference's bits. The float32
// loops still vectorize (element by element, no reordering); the double sum of squares stays one chain.
#include <cmath>
#include <cstring>

#include "common.h"

namespace r1ts {

void rms_rows(const float* x, long stride, long rows, long dim, const float* w, double eps, float* out) {
  for (long n = 0; n < rows; n++) {
    const float* xr = x + n * stride;
    double ss = 0;
    for (long j = 0; j < dim; j++) ss += (double)xr[j] * (double)xr[j];
    const double rs = 1 / std::sqrt(ss / (double)dim + eps);
    float* o = out + n * dim;
    for (long j = 0; j < dim; j++) o[j] = (float)((double)xr[j] * rs * (double)w[j]);
  }
}

void add_into(float* x, const float* y, long n) {
  for (long i = 0; i < n; i++) x[i] += y[i];
}

void gather_rows(const float* src, const int32_t* idx, long n, long dim, float* out) {
  for (long j = 0; j < n; j++) std::memcpy(out + j * dim, src + (long)idx[j] * dim, dim * sizeof(float));
}

void scatter_add_scaled(float* out, const int32_t* idx, const float* src, const float* g, long n, long dim) {
  for (long j = 0; j < n; j++) {
    float* o = out + (long)idx[j] * dim;
    const float* s = src + j * dim;
    const float gj = g[j];
    for (long d = 0; d < dim; d++) o[d] += s[d] * gj;
  }
}

}  // namespace r1ts
