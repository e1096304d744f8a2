// Layout kernels for one ISA: the strided copy behind permute, broadcastTo, concat, slice and sliceScatter
// (src/backend/native/layout.ts). dst[sum_d i_d * dst_strides[d]] = src[sum_d i_d * src_strides[d]] for every index
// (i_0, ..., i_{ndim-1}) of `shape`. Elements of 1, 2, 4 or 8 bytes are moved bit for bit, so the result equals the
// reference's for every dtype. Rows of the index space are split across the thread pool; src and dst must not overlap.
#include "simd.h"

namespace r1ts {
namespace R1TS_ISA {
namespace {

constexpr long kGrain = 1 << 15;  // elements below which a copy stays on one thread

/**
 * Drops size-1 dims and merges each dim into the one before it when both src and dst address them as one run
 * (stride[d-1] == shape[d] * stride[d] on both sides), in place. Returns the new ndim, at least 1.
 */
int coalesce(int ndim, long* shape, long* ss, long* ds) {
  int k = 0;
  for (int d = 0; d < ndim; d++) {
    if (shape[d] == 1) continue;
    if (k > 0 && ss[k - 1] == shape[d] * ss[d] && ds[k - 1] == shape[d] * ds[d]) {
      shape[k - 1] *= shape[d];
      ss[k - 1] = ss[d];
      ds[k - 1] = ds[d];
    } else {
      shape[k] = shape[d];
      ss[k] = ss[d];
      ds[k] = ds[d];
      k++;
    }
  }
  if (k == 0) {
    shape[0] = 1;
    ss[0] = ds[0] = 1;
    k = 1;
  }
  return k;
}

/** Copies rows [lo, hi) of the index space over dims 0..nd-2; each row is the last dim. */
template <class T>
void copy_rows(const T* src, T* dst, int nd, const long* shape, const long* ss, const long* ds, long lo, long hi) {
  const long len = shape[nd - 1], sl = ss[nd - 1], dl = ds[nd - 1];
  long idx[8] = {0};
  long so = 0, dof = 0;
  long r = lo;
  for (int d = nd - 2; d >= 0; d--) {  // position the odometer at row lo
    idx[d] = r % shape[d];
    r /= shape[d];
    so += idx[d] * ss[d];
    dof += idx[d] * ds[d];
  }
  for (long row = lo; row < hi; row++) {
    const T* s = src + so;
    T* o = dst + dof;
    if (sl == 1 && dl == 1) memcpy(o, s, len * sizeof(T));
    else if (dl == 1)
      for (long j = 0; j < len; j++) o[j] = s[j * sl];
    else
      for (long j = 0; j < len; j++) o[j * dl] = s[j * sl];
    for (int d = nd - 2; d >= 0; d--) {
      idx[d]++;
      so += ss[d];
      dof += ds[d];
      if (idx[d] < shape[d]) break;
      so -= idx[d] * ss[d];
      dof -= idx[d] * ds[d];
      idx[d] = 0;
    }
  }
}

template <class T>
void copy_typed(const T* src, T* dst, int nd, const long* shape, const long* ss, const long* ds) {
  const long len = shape[nd - 1];
  long rows = 1;
  for (int d = 0; d < nd - 1; d++) rows *= shape[d];
  pfor_range(rows, lmax(1, kGrain / len), [&](long lo, long hi) { copy_rows(src, dst, nd, shape, ss, ds, lo, hi); });
}

void strided_copy(const void* src, void* dst, int esize, int ndim, const long* shape_in, const long* src_strides,
                  const long* dst_strides) {
  long shape[8], ss[8], ds[8];
  for (int d = 0; d < ndim; d++) {
    if (shape_in[d] == 0) return;
    shape[d] = shape_in[d];
    ss[d] = src_strides[d];
    ds[d] = dst_strides[d];
  }
  const int nd = coalesce(ndim, shape, ss, ds);
  switch (esize) {
    case 1: copy_typed(static_cast<const uint8_t*>(src), static_cast<uint8_t*>(dst), nd, shape, ss, ds); break;
    case 2: copy_typed(static_cast<const uint16_t*>(src), static_cast<uint16_t*>(dst), nd, shape, ss, ds); break;
    case 4: copy_typed(static_cast<const uint32_t*>(src), static_cast<uint32_t*>(dst), nd, shape, ss, ds); break;
    case 8: copy_typed(static_cast<const uint64_t*>(src), static_cast<uint64_t*>(dst), nd, shape, ss, ds); break;
    default: break;
  }
}

}  // namespace

void fill_layout(KernelTable* t) { t->strided_copy = &strided_copy; }

}  // namespace R1TS_ISA
}  // namespace r1ts
