// Fused row-wise kernels for one ISA: softmax / log-softmax (forward and backward, any axis), cross-entropy (forward
// and backward), RMSNorm (forward and backward) and rotary embedding. Rows are independent and split across the
// thread pool; sums run in float vector lanes (the reference accumulates in double; the parity tests allow for it).
#include "simd.h"

namespace r1ts {
namespace R1TS_ISA {
namespace {

/** Parallel loop over `rows` rows of about `cost` elements each. */
template <class F>
void over_rows(long rows, long cost, F f) {
  pfor_range(rows, lmax(1, (1L << 14) / lmax(cost, 1)), f);
}

inline float row_sum(const float* a, long n) {
  vf acc = {};
  long j = 0;
  for (; j + VW <= n; j += VW) acc += vload(a + j);
  float s = hsum(acc);
  for (; j < n; j++) s += a[j];
  return s;
}

void softmax(bool log, const float* x, float* out, long outer, long n, long inner) {
  if (inner == 1) {
    over_rows(outer, 3 * n, [&](long lo, long hi) {
      for (long r = lo; r < hi; r++) {
        const float* p = x + r * n;
        float* o = out + r * n;
        const float m = row_max(p, n);
        const float s = row_sum_exp(p, n, m, log ? nullptr : o);
        if (log) {
          const vf shift = vset1(m + logf(s));
          long j = 0;
          for (; j + VW <= n; j += VW) vstore(o + j, vload(p + j) - shift);
          for (; j < n; j++) o[j] = p[j] - shift[0];
        } else {
          const vf inv = vset1(1.0f / s);
          long j = 0;
          for (; j + VW <= n; j += VW) vstore(o + j, vload(o + j) * inv);
          for (; j < n; j++) o[j] *= inv[0];
        }
      }
    });
    return;
  }
  // Softmax over a strided axis: VW neighbouring columns at a time.
  const long blocks = ceil_div(inner, VW);
  over_rows(outer * blocks, 3 * n * VW, [&](long lo, long hi) {
    for (long t = lo; t < hi; t++) {
      const long a = t / blocks, c = (t % blocks) * VW, w = lmin(VW, inner - c);
      const float* p = x + a * n * inner + c;
      float* o = out + a * n * inner + c;
      auto ld = [&](const float* q) { return w == VW ? vload(q) : vload_part(q, w); };
      auto st = [&](float* q, vf v) {
        if (w == VW) vstore(q, v);
        else vstore_part(q, v, w);
      };
      vf m = vset1(-__builtin_inff());
      for (long j = 0; j < n; j++) m = vmax(m, ld(p + j * inner));
      vf s = {};
      for (long j = 0; j < n; j++) s += vexp(ld(p + j * inner) - m);
      if (log) {
        vf shift = m + vlog(s);
        for (long j = 0; j < n; j++) st(o + j * inner, ld(p + j * inner) - shift);
      } else {
        vf inv = 1.0f / s;
        for (long j = 0; j < n; j++) st(o + j * inner, vexp(ld(p + j * inner) - m) * inv);
      }
    }
  });
}

void softmax_backward(bool log, const float* y, const float* dy, float* out, long outer, long n, long inner) {
  if (inner == 1) {
    over_rows(outer, 2 * n, [&](long lo, long hi) {
      for (long r = lo; r < hi; r++) {
        const float* yp = y + r * n;
        const float* gp = dy + r * n;
        float* o = out + r * n;
        if (log) {
          const vf s = vset1(row_sum(gp, n));
          long j = 0;
          for (; j + VW <= n; j += VW) vstore(o + j, vload(gp + j) - vexp(vload(yp + j)) * s);
          for (; j < n; j++) o[j] = gp[j] - expf(yp[j]) * s[0];
        } else {
          const vf dot = vset1(row_dot(yp, gp, n));
          long j = 0;
          for (; j + VW <= n; j += VW) vstore(o + j, vload(yp + j) * (vload(gp + j) - dot));
          for (; j < n; j++) o[j] = yp[j] * (gp[j] - dot[0]);
        }
      }
    });
    return;
  }
  const long blocks = ceil_div(inner, VW);
  over_rows(outer * blocks, 2 * n * VW, [&](long lo, long hi) {
    for (long t = lo; t < hi; t++) {
      const long a = t / blocks, c = (t % blocks) * VW, w = lmin(VW, inner - c);
      const long base = a * n * inner + c;
      auto ld = [&](const float* q) { return w == VW ? vload(q) : vload_part(q, w); };
      auto st = [&](float* q, vf v) {
        if (w == VW) vstore(q, v);
        else vstore_part(q, v, w);
      };
      vf acc = {};
      for (long j = 0; j < n; j++) {
        const long k = base + j * inner;
        acc += log ? ld(dy + k) : ld(y + k) * ld(dy + k);
      }
      for (long j = 0; j < n; j++) {
        const long k = base + j * inner;
        st(out + k, log ? ld(dy + k) - vexp(ld(y + k)) * acc : ld(y + k) * (ld(dy + k) - acc));
      }
    }
  });
}

/** Targets were range-checked by the caller; an out-of-range one still never reads out of bounds (loss NaN). */
long cross_entropy(const float* logits, const int32_t* targets, long N, long C, int32_t ignore, float* loss,
                   float* lse) {
  over_rows(N, 2 * C, [&](long lo, long hi) {
    for (long r = lo; r < hi; r++) {
      const float* p = logits + r * C;
      const float m = row_max(p, C);
      const float l = m + logf(row_sum_exp(p, C, m, nullptr));
      lse[r] = l;
      const int32_t t = targets[r];
      if (t == ignore) loss[r] = 0.0f;
      else loss[r] = t >= 0 && t < C ? l - p[t] : __builtin_nanf("");
    }
  });
  return -1;
}

void cross_entropy_backward(const float* logits, const int32_t* targets, const float* lse, const float* dloss, long N,
                            long C, int32_t ignore, float* out) {
  over_rows(N, C, [&](long lo, long hi) {
    for (long r = lo; r < hi; r++) {
      const int32_t t = targets[r];
      float* o = out + r * C;
      if (t == ignore) {
        memset(o, 0, C * 4);
        continue;
      }
      const float* p = logits + r * C;
      const vf g = vset1(dloss[r]);
      const vf l = vset1(lse[r]);
      long j = 0;
      for (; j + VW <= C; j += VW) vstore(o + j, g * vexp(vload(p + j) - l));
      if (j < C) vstore_part(o + j, g * vexp(vload_part(p + j, C - j) - l), C - j);
      if (t >= 0 && t < C) o[t] -= g[0];
    }
  });
}

void rmsnorm(const float* x, const float* w, long rows, long D, float eps, float* y, float* rstd) {
  over_rows(rows, 2 * D, [&](long lo, long hi) {
    for (long r = lo; r < hi; r++) {
      const float* p = x + r * D;
      float* o = y + r * D;
      const float rs = 1.0f / sqrtf(row_dot(p, p, D) / (float)D + eps);
      rstd[r] = rs;
      const vf rv = vset1(rs);
      long j = 0;
      if (w) {
        for (; j + VW <= D; j += VW) vstore(o + j, vload(p + j) * rv * vload(w + j));
        for (; j < D; j++) o[j] = p[j] * rs * w[j];
      } else {
        for (; j + VW <= D; j += VW) vstore(o + j, vload(p + j) * rv);
        for (; j < D; j++) o[j] = p[j] * rs;
      }
    }
  });
}

thread_local Scratch tl_dw = {nullptr, 0};

/**
 * dx = rs * (g - xhat * mean(g * xhat)) with g = dy * w and xhat = x * rs; dw = sum over rows of dy * xhat. The rows
 * are cut into at most 64 fixed chunks (independent of the thread count); each chunk sums dw into its own slice of a
 * scratch buffer and the slices are added in chunk order, so dw is bitwise the same on every run and thread count
 * (a per-thread slice would depend on which thread the dynamic scheduler gave each chunk).
 */
void rmsnorm_backward(const float* x, const float* w, const float* rstd, const float* dy, long rows, long D, float* dx,
                      float* dw) {
  const long chunk = lmax(1, ceil_div(rows, 64L));
  const long nchunks = ceil_div(rows, chunk);
  float* part = dw ? scratch(tl_dw, (size_t)nchunks * D) : nullptr;
  if (part) memset(part, 0, (size_t)nchunks * D * 4);
  pfor(nchunks, [&](long t, int) {
    float* pw = part ? part + t * D : nullptr;
    for (long r = t * chunk; r < lmin(rows, (t + 1) * chunk); r++) {
      const float* xp = x + r * D;
      const float* gp = dy + r * D;
      float* o = dx + r * D;
      const vf rs = vset1(rstd[r]);
      vf accv = {};
      long j = 0;
      for (; j + VW <= D; j += VW) {
        vf xhat = vload(xp + j) * rs;
        vf g = w ? vload(gp + j) * vload(w + j) : vload(gp + j);
        accv += g * xhat;
        if (pw) vstore(pw + j, vload(pw + j) + vload(gp + j) * xhat);
      }
      float dot = hsum(accv);
      for (; j < D; j++) {
        const float xhat = xp[j] * rs[0];
        const float g = w ? gp[j] * w[j] : gp[j];
        dot += g * xhat;
        if (pw) pw[j] += gp[j] * xhat;
      }
      const vf mean = vset1(dot / (float)D);
      j = 0;
      for (; j + VW <= D; j += VW) {
        vf xhat = vload(xp + j) * rs;
        vf g = w ? vload(gp + j) * vload(w + j) : vload(gp + j);
        vstore(o + j, rs * (g - xhat * mean));
      }
      for (; j < D; j++) {
        const float xhat = xp[j] * rs[0];
        const float g = w ? gp[j] * w[j] : gp[j];
        o[j] = rs[0] * (g - xhat * mean[0]);
      }
    }
  });
  if (dw) {
    for (long j = 0; j < D; j++) {
      float s = 0;
      for (long t = 0; t < nchunks; t++) s += part[t * D + j];
      dw[j] = s;
    }
  }
}

void rope(const float* x, const float* cos, const float* sin, const int32_t* row_off, long rows, long D, long pass,
          bool interleaved, bool inverse, float* out) {
  const long half = D / 2, W = pass + D;
  const float sgn = inverse ? -1.0f : 1.0f;
  over_rows(rows, W, [&](long lo, long hi) {
    for (long r = lo; r < hi; r++) {
      if (pass > 0) memcpy(out + r * W, x + r * W, pass * 4);
      const float* p = x + r * W + pass;
      float* o = out + r * W + pass;
      const float* c = cos + row_off[r];
      const float* s = sin + row_off[r];
      if (interleaved) {
        for (long i = 0; i < half; i++) {
          const float cv = c[i], sv = sgn * s[i];
          const float a = p[2 * i], b = p[2 * i + 1];
          o[2 * i] = a * cv - b * sv;
          o[2 * i + 1] = a * sv + b * cv;
        }
      } else {
        long i = 0;
        const vf sg = vset1(sgn);
        for (; i + VW <= half; i += VW) {
          vf cv = vload(c + i), sv = sg * vload(s + i);
          vf a = vload(p + i), b = vload(p + half + i);
          vstore(o + i, a * cv - b * sv);
          vstore(o + half + i, a * sv + b * cv);
        }
        for (; i < half; i++) {
          const float cv = c[i], sv = sgn * s[i];
          const float a = p[i], b = p[half + i];
          o[i] = a * cv - b * sv;
          o[half + i] = a * sv + b * cv;
        }
      }
    }
  });
}

}  // namespace

void fill_nn(KernelTable* t) {
  t->softmax = &softmax;
  t->softmax_backward = &softmax_backward;
  t->cross_entropy = &cross_entropy;
  t->cross_entropy_backward = &cross_entropy_backward;
  t->rmsnorm = &rmsnorm;
  t->rmsnorm_backward = &rmsnorm_backward;
  t->rope = &rope;
}

}  // namespace R1TS_ISA
}  // namespace r1ts
