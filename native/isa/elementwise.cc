// Elementwise kernels for one ISA: binary ops with the broadcast fast paths of BinMode, unary maps and activations,
// SwiGLU and GELU backward, reductions over the middle dim of (outer, n, inner), and gathers and scatter-adds of rows.
// Loops over large arrays are split across the thread pool.
#include "simd.h"

namespace r1ts {
namespace R1TS_ISA {
namespace {

constexpr long kGrain = 1 << 15;  // elements below which an elementwise loop stays on one thread

// ---- binary ------------------------------------------------------------------------------------------------------

template <int OP>
inline vf bin_v(vf x, vf y) {
  if constexpr (OP == BIN_ADD) return x + y;
  if constexpr (OP == BIN_SUB) return x - y;
  if constexpr (OP == BIN_MUL) return x * y;
  if constexpr (OP == BIN_DIV) return x / y;
  if constexpr (OP == BIN_MAX || OP == BIN_MIN) {
    vi nan = (x != x) | (y != y);
    vf r = OP == BIN_MAX ? vsel(x > y, x, y) : vsel(x < y, x, y);
    return vsel(nan, vset1(__builtin_nanf("")), r);
  }
  if constexpr (OP == BIN_POW) {
    vf r;
    for (int i = 0; i < VW; i++) r[i] = powf(x[i], y[i]);
    return r;
  }
  return x;
}

template <int OP>
inline vi cmp_v(vf x, vf y) {
  if constexpr (OP == BIN_EQ) return x == y;
  if constexpr (OP == BIN_NE) return x != y;
  if constexpr (OP == BIN_LT) return x < y;
  if constexpr (OP == BIN_LE) return x <= y;
  if constexpr (OP == BIN_GT) return x > y;
  return x >= y;
}

/** Operand fetch for a block of VW outputs starting at i (all in one period/row where the mode needs it). */
template <int OP, int MODE>
inline void bin_block(const float* a, const float* b, void* out, long i, long cnt, long period) {
  auto get = [&](const float* p, bool scalar, bool suffix, bool column) -> vf {
    if (scalar) return vset1(p[0]);
    if (column) return vset1(p[i / period]);
    const float* q = suffix ? p + i % period : p + i;
    return cnt == VW ? vload(q) : vload_part(q, cnt);
  };
  vf x = get(a, MODE == MODE_A_SCALAR, MODE == MODE_A_SUFFIX, MODE == MODE_A_COLUMN);
  vf y = get(b, MODE == MODE_B_SCALAR, MODE == MODE_B_SUFFIX, MODE == MODE_B_COLUMN);
  if constexpr (OP >= BIN_EQ) {
    vi m = cmp_v<OP>(x, y);
    uint8_t* o = static_cast<uint8_t*>(out) + i;
    for (long j = 0; j < cnt; j++) o[j] = m[j] ? 1 : 0;
  } else {
    vf r = bin_v<OP>(x, y);
    float* o = static_cast<float*>(out) + i;
    if (cnt == VW) vstore(o, r);
    else vstore_part(o, r, cnt);
  }
}

template <int OP, int MODE>
void bin_range(const float* a, const float* b, void* out, long lo, long hi, long period) {
  if constexpr (MODE == MODE_A_SUFFIX || MODE == MODE_B_SUFFIX || MODE == MODE_A_COLUMN || MODE == MODE_B_COLUMN) {
    // Walk row by row (rows of `period` elements) so a vector never straddles two rows.
    long i = lo;
    while (i < hi) {
      const long rowEnd = lmin(hi, (i / period + 1) * period);
      for (; i + VW <= rowEnd; i += VW) bin_block<OP, MODE>(a, b, out, i, VW, period);
      if (i < rowEnd) {
        bin_block<OP, MODE>(a, b, out, i, rowEnd - i, period);
        i = rowEnd;
      }
    }
  } else {
    long i = lo;
    for (; i + VW <= hi; i += VW) bin_block<OP, MODE>(a, b, out, i, VW, period);
    if (i < hi) bin_block<OP, MODE>(a, b, out, i, hi - i, period);
  }
}

typedef void (*BinRangeFn)(const float*, const float*, void*, long, long, long);

template <int OP>
BinRangeFn bin_for_mode(int mode) {
  switch (mode) {
    case MODE_SAME: return &bin_range<OP, MODE_SAME>;
    case MODE_A_SCALAR: return &bin_range<OP, MODE_A_SCALAR>;
    case MODE_B_SCALAR: return &bin_range<OP, MODE_B_SCALAR>;
    case MODE_A_SUFFIX: return &bin_range<OP, MODE_A_SUFFIX>;
    case MODE_B_SUFFIX: return &bin_range<OP, MODE_B_SUFFIX>;
    case MODE_A_COLUMN: return &bin_range<OP, MODE_A_COLUMN>;
    default: return &bin_range<OP, MODE_B_COLUMN>;
  }
}

BinRangeFn bin_fn(int op, int mode) {
  switch (op) {
    case BIN_ADD: return bin_for_mode<BIN_ADD>(mode);
    case BIN_SUB: return bin_for_mode<BIN_SUB>(mode);
    case BIN_MUL: return bin_for_mode<BIN_MUL>(mode);
    case BIN_DIV: return bin_for_mode<BIN_DIV>(mode);
    case BIN_POW: return bin_for_mode<BIN_POW>(mode);
    case BIN_MAX: return bin_for_mode<BIN_MAX>(mode);
    case BIN_MIN: return bin_for_mode<BIN_MIN>(mode);
    case BIN_EQ: return bin_for_mode<BIN_EQ>(mode);
    case BIN_NE: return bin_for_mode<BIN_NE>(mode);
    case BIN_LT: return bin_for_mode<BIN_LT>(mode);
    case BIN_LE: return bin_for_mode<BIN_LE>(mode);
    case BIN_GT: return bin_for_mode<BIN_GT>(mode);
    default: return bin_for_mode<BIN_GE>(mode);
  }
}

void binary(int op, int mode, const float* a, const float* b, void* out, long n, long period) {
  BinRangeFn f = bin_fn(op, mode);
  const long grain = op == BIN_POW ? kGrain / 16 : kGrain;
  pfor_range(n, grain, [&](long lo, long hi) { f(a, b, out, lo, hi, period); });
}

// ---- unary -------------------------------------------------------------------------------------------------------

constexpr float kSqrt1_2 = 0.70710678118654752f;
constexpr float kGeluC = 0.79788456080286536f;  // sqrt(2/pi)

template <int OP>
inline vf un_v(vf x, float p0, float p1) {
  if constexpr (OP == UN_NEG) return -x;
  if constexpr (OP == UN_EXP) return vexp(x);
  if constexpr (OP == UN_LOG) return vlog(x);
  if constexpr (OP == UN_SQRT) return vsqrt(x);
  if constexpr (OP == UN_RSQRT) return 1.0f / vsqrt(x);
  if constexpr (OP == UN_ABS) return vabs(x);
  if constexpr (OP == UN_SIGN) return vsel(x > 0.0f, vset1(1.0f), vsel(x < 0.0f, vset1(-1.0f), x));
  if constexpr (OP == UN_TANH) return vtanh(x);
  if constexpr (OP == UN_SIGMOID) return vsigmoid(x);
  if constexpr (OP == UN_SILU) return x * vsigmoid(x);
  if constexpr (OP == UN_CLAMP) return vsel(x < p0, vset1(p0), vsel(x > p1, vset1(p1), x));
  // 0.5 x (1 + tanh(u)) = x sigmoid(2u), which keeps its relative accuracy where 1 + tanh(u) would cancel.
  if constexpr (OP == UN_GELU_TANH) return x * vsigmoid(2.0f * kGeluC * (x + 0.044715f * x * x * x));
  if constexpr (OP == UN_ERF || OP == UN_GELU) {
    vf r;  // GELU: 0.5 x (1 + erf(x/sqrt2)) = 0.5 x erfc(-x/sqrt2), no cancellation for negative x
    for (int i = 0; i < VW; i++) r[i] = OP == UN_ERF ? erff(x[i]) : 0.5f * x[i] * erfcf(-x[i] * kSqrt1_2);
    return r;
  }
  return x;
}

template <int OP>
void un_range(const float* x, float* out, long lo, long hi, float p0, float p1) {
  long i = lo;
  for (; i + VW <= hi; i += VW) vstore(out + i, un_v<OP>(vload(x + i), p0, p1));
  if (i < hi) vstore_part(out + i, un_v<OP>(vload_part(x + i, hi - i), p0, p1), hi - i);
}

typedef void (*UnRangeFn)(const float*, float*, long, long, float, float);

UnRangeFn un_fn(int op) {
  switch (op) {
    case UN_NEG: return &un_range<UN_NEG>;
    case UN_EXP: return &un_range<UN_EXP>;
    case UN_LOG: return &un_range<UN_LOG>;
    case UN_SQRT: return &un_range<UN_SQRT>;
    case UN_RSQRT: return &un_range<UN_RSQRT>;
    case UN_ABS: return &un_range<UN_ABS>;
    case UN_SIGN: return &un_range<UN_SIGN>;
    case UN_TANH: return &un_range<UN_TANH>;
    case UN_ERF: return &un_range<UN_ERF>;
    case UN_SIGMOID: return &un_range<UN_SIGMOID>;
    case UN_SILU: return &un_range<UN_SILU>;
    case UN_CLAMP: return &un_range<UN_CLAMP>;
    case UN_GELU: return &un_range<UN_GELU>;
    default: return &un_range<UN_GELU_TANH>;
  }
}

void unary(int op, const float* x, float* out, long n, float p0, float p1) {
  UnRangeFn f = un_fn(op);
  const long grain = op == UN_ERF || op == UN_GELU ? kGrain / 8 : kGrain / 4;
  pfor_range(n, grain, [&](long lo, long hi) { f(x, out, lo, hi, p0, p1); });
}

void gelu_backward(const float* x, const float* dy, float* out, long n, bool tanh_approx) {
  pfor_range(n, kGrain / 8, [&](long lo, long hi) {
    if (tanh_approx) {
      // d/dv [v s(2u)] = s + 2 v s (1 - s) u' with s = sigmoid(2u); s (1 - s) = e / (1 + e)^2, e = exp(-2|u|).
      // (The reference's 0.5 (1 + t) + 0.5 v (1 - t^2) u' is the same function; this form does not cancel.)
      auto blk = [&](vf v, vf g) {
        vf u2 = 2.0f * kGeluC * (v + 0.044715f * v * v * v);
        vf e = vexp(-vabs(u2));
        vf inv = 1.0f / (1.0f + e);
        vf s = vsel(u2 >= 0.0f, inv, e * inv);
        vf du = kGeluC * (1.0f + 3.0f * 0.044715f * v * v);
        return g * (s + 2.0f * v * (e * inv * inv) * du);
      };
      long i = lo;
      for (; i + VW <= hi; i += VW) vstore(out + i, blk(vload(x + i), vload(dy + i)));
      if (i < hi) vstore_part(out + i, blk(vload_part(x + i, hi - i), vload_part(dy + i, hi - i)), hi - i);
    } else {
      const float inv_sqrt_2pi = 0.39894228040143268f;
      for (long i = lo; i < hi; i++) {
        const float v = x[i];
        out[i] = dy[i] * (0.5f * erfcf(-v * kSqrt1_2) + v * inv_sqrt_2pi * expf(-0.5f * v * v));
      }
    }
  });
}

void swiglu(const float* a, const float* b, float* out, long n) {
  pfor_range(n, kGrain / 4, [&](long lo, long hi) {
    long i = lo;
    for (; i + VW <= hi; i += VW) {
      vf v = vload(a + i);
      vstore(out + i, v * vsigmoid(v) * vload(b + i));
    }
    if (i < hi) {
      vf v = vload_part(a + i, hi - i);
      vstore_part(out + i, v * vsigmoid(v) * vload_part(b + i, hi - i), hi - i);
    }
  });
}

void swiglu_backward(const float* a, const float* b, const float* dy, float* da, float* db, long n) {
  auto blk = [](vf v, vf bv, vf g, vf& dav, vf& dbv) {
    vf s = vsigmoid(v);
    vf silu = v * s;
    dbv = g * silu;
    dav = g * bv * (s + silu * (1.0f - s));
  };
  pfor_range(n, kGrain / 4, [&](long lo, long hi) {
    long i = lo;
    vf x, y;
    for (; i + VW <= hi; i += VW) {
      blk(vload(a + i), vload(b + i), vload(dy + i), x, y);
      vstore(da + i, x);
      vstore(db + i, y);
    }
    if (i < hi) {
      const long r = hi - i;
      blk(vload_part(a + i, r), vload_part(b + i, r), vload_part(dy + i, r), x, y);
      vstore_part(da + i, x, r);
      vstore_part(db + i, y, r);
    }
  });
}

// ---- reductions --------------------------------------------------------------------------------------------------

/**
 * Sum (in double, like the reference) or max over the middle dim of (outer, n, inner). NaN wins max. Parallel over
 * outer rows when there are many, else over inner columns.
 */
void reduce(bool is_max, const float* x, float* out, long outer, long n, long inner) {
  if (inner == 1) {
    auto rows = [&](long lo, long hi) {
      for (long r = lo; r < hi; r++) {
        const float* p = x + r * n;
        if (is_max) {
          vf m = vset1(-__builtin_inff());
          vi nan = {};
          long j = 0;
          for (; j + VW <= n; j += VW) {
            vf v = vload(p + j);
            nan |= v != v;
            m = vsel(v > m, v, m);  // ties keep the earlier element, as the reference does
          }
          float s = hmax(m);
          bool anyNan = false;
          for (int l = 0; l < VW; l++) anyNan |= nan[l] != 0;
          for (; j < n; j++) {
            anyNan |= p[j] != p[j];
            s = p[j] > s ? p[j] : s;
          }
          out[r] = anyNan ? __builtin_nanf("") : s;
        } else {
          double acc[4] = {0, 0, 0, 0};
          long j = 0;
          for (; j + 4 <= n; j += 4) {
            acc[0] += p[j];
            acc[1] += p[j + 1];
            acc[2] += p[j + 2];
            acc[3] += p[j + 3];
          }
          double s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
          for (; j < n; j++) s += p[j];
          out[r] = (float)s;
        }
      }
    };
    pfor_range(outer, lmax(1, kGrain / lmax(n, 1)), rows);
    return;
  }
  // inner > 1: accumulate whole rows of `inner` elements.
  auto cols = [&](long a, long c0, long c1) {
    const float* base = x + a * n * inner;
    float* o = out + a * inner;
    if (is_max) {
      for (long c = c0; c < c1; c++) o[c] = -__builtin_inff();
      for (long j = 0; j < n; j++) {
        const float* p = base + j * inner;
        for (long c = c0; c < c1; c++) {
          const float v = p[c];
          if (v > o[c] || v != v) o[c] = o[c] != o[c] ? o[c] : v;
        }
      }
    } else {
      double acc[256];
      for (long cb = c0; cb < c1; cb += 256) {
        const long ce = lmin(c1, cb + 256);
        for (long c = cb; c < ce; c++) acc[c - cb] = 0;
        for (long j = 0; j < n; j++) {
          const float* p = base + j * inner;
          for (long c = cb; c < ce; c++) acc[c - cb] += p[c];
        }
        for (long c = cb; c < ce; c++) o[c] = (float)acc[c - cb];
      }
    }
  };
  if (outer >= 4L * num_threads() || inner < 256) {
    pfor_range(outer, lmax(1, kGrain / lmax(n * inner, 1)), [&](long lo, long hi) {
      for (long a = lo; a < hi; a++) cols(a, 0, inner);
    });
  } else {
    for (long a = 0; a < outer; a++)
      pfor_range(inner, lmax(256, kGrain / lmax(n, 1)), [&](long lo, long hi) { cols(a, lo, hi); });
  }
}

// ---- gathers and scatter-adds of rows ----------------------------------------------------------------------------

void index_select(const float* x, const int32_t* idx, long outer, long n, long inner, long m, float* out) {
  pfor_range(outer * m, lmax(1, kGrain / lmax(inner, 1)), [&](long lo, long hi) {
    for (long r = lo; r < hi; r++) {
      const long a = r / m, j = r % m;
      memcpy(out + r * inner, x + (a * n + idx[j]) * inner, inner * 4);
    }
  });
}

/** Rows are accumulated in index order, so duplicates add up exactly as in the reference. */
void index_add(float* out, const int32_t* idx, const float* src, long outer, long n, long inner, long m) {
  auto cols = [&](long a, long c0, long c1) {
    for (long j = 0; j < m; j++) {
      float* o = out + (a * n + idx[j]) * inner;
      const float* s = src + (a * m + j) * inner;
      long c = c0;
      for (; c + VW <= c1; c += VW) vstore(o + c, vload(o + c) + vload(s + c));
      for (; c < c1; c++) o[c] += s[c];
    }
  };
  const long work = outer * m * inner;
  if (work < kGrain || (outer == 1 && inner < 2L * VW * num_threads())) {
    for (long a = 0; a < outer; a++) cols(a, 0, inner);
  } else if (outer >= 2L * num_threads()) {
    pfor_range(outer, 1, [&](long lo, long hi) {
      for (long a = lo; a < hi; a++) cols(a, 0, inner);
    });
  } else {
    // Split the columns: each thread owns a slice of every row, so no two threads touch the same element.
    const long nt = num_threads();
    const long per = ceil_div(ceil_div(inner, nt), VW) * VW;
    for (long a = 0; a < outer; a++)
      pfor(ceil_div(inner, per), [&](long t, int) { cols(a, t * per, lmin(inner, (t + 1) * per)); });
  }
}

}  // namespace

void fill_elementwise(KernelTable* t) {
  t->binary = &binary;
  t->unary = &unary;
  t->gelu_backward = &gelu_backward;
  t->swiglu = &swiglu;
  t->swiglu_backward = &swiglu_backward;
  t->reduce = &reduce;
  t->index_select = &index_select;
  t->index_add = &index_add;
}

}  // namespace R1TS_ISA
}  // namespace r1ts
