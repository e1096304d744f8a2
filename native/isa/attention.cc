// Fused scaled-dot-product attention, forward and backward, for one ISA (the FlashAttention-2 algorithm on a CPU).
//
// Forward: one task per (batch, head, block of Bq queries). Keys are visited in blocks of Bk with an online softmax
// (running max m and sum l per query; the accumulated output is rescaled when the max grows), so the Tq x Tk score
// matrix never exists. K^T and V are packed once per call into the sgemm panel layout and shared by all tasks; the
// two products per block (S = Q K^T and O += P V) run on the sgemm micro-kernel.
//
// Backward: one task per (batch, key/value head, set of key blocks). For each key block it loops over the heads of
// its group and the query blocks that see the block, recomputes P = exp(S - lse), and accumulates dV^T = dO^T P and
// dK^T = Q^T dS (the key block's, owned by the task: no races; written to dV and dK transposed when the block is done)
// and dQ = dS K (into a per-set partial when key blocks are split across tasks, summed at the end in set order), with
// dS = P * (dP - D) * scale, dP = dO V^T and D = rowsum(dO * O). P and dS are never packed: the micro-kernel reads
// them in place (gemm_strided), and dO^T and Q^T straight from the caller's arrays. Every element of dQ, dK and dV
// is written (a task zeroes the dQ rows it owns), so the caller's arrays need no zero-fill.
// Every kernel here gives the same bits whatever the thread count: no sum depends on which thread ran what.
// q, k, v and out are addressed through AttnArgs' (batch, head, token) strides, so the (B, T, H, D) layout of a
// projection's output is read and written in place with the arithmetic (and bits) of the (B, H, T, D) layout.
//
// Causal alignment is the reference's: query i sees keys j <= i + Tk - Tq, and with `key_start` no key before its own
// first key (packed samples). A query that sees no key gets output 0 and lse -Infinity, and contributes nothing to
// the gradients. Scores use q pre-multiplied by `scale`. Without `key_start` every first key is 0 and the arithmetic
// is exactly that of the kernels before it existed.
#include "gemm.h"
#include "transpose.h"

namespace r1ts {
namespace R1TS_ISA {
namespace {

constexpr long Bq = ((64 + MR - 1) / MR) * MR;  // query block: whole micro-kernel row tiles
constexpr long Bk = 128;                         // key block: a multiple of NR (NR is 8, 16 or 32)
constexpr long kBwdTasks = 8;                    // backward: least number of tasks to aim for
static_assert(Bk % NR == 0, "key blocks must be whole B panels");

inline long panels(long n) { return ceil_div(n, NR); }
inline long rows_padded(long n) { return ceil_div(n, MR) * MR; }
/** Sub-buffer sizes are rounded up to whole cache lines, so every packed operand starts 64-byte aligned. */
inline long lines(long floats) { return ceil_div(floats, 16) * 16; }

/** Keys visible to query i (exclusive end). */
inline long row_end(const AttnArgs& a, long i) {
  return a.causal ? lmax(0, lmin(a.Tk, i + a.Tk - a.Tq + 1)) : a.Tk;
}

/** The first key visible to query i of batch row b. */
inline long row_begin(const AttnArgs& a, long b, long i) { return a.key_start ? a.key_start[b * a.Tq + i] : 0; }

thread_local Scratch tl_shared = {nullptr, 0};  // caller thread: packed operands shared by all tasks
thread_local Scratch tl_task = {nullptr, 0};    // each thread: per-task blocks

/**
 * The keys of (batch b, key head kh) as (pointer, token stride) with dims contiguous: k itself, or with a second key
 * part (a.k2) the two parts gathered into `buf` (Tk x Dk), so that packing reads the same values either way.
 */
inline const float* keys_of(const AttnArgs& a, long b, long kh, float* buf, long* stride) {
  const float* k = a.k + b * a.ks[0] + kh * a.ks[1];
  if (!a.k2) {
    *stride = a.ks[2];
    return k;
  }
  const float* k2 = a.k2 + b * a.k2s[0] + kh * a.k2s[1];
  const long D1 = a.Dk1, D2 = a.Dk - a.Dk1;
  for (long t = 0; t < a.Tk; t++) {
    memcpy(buf + t * a.Dk, k + t * a.ks[2], D1 * 4);
    memcpy(buf + t * a.Dk + D1, k2 + t * a.k2s[2], D2 * 4);
  }
  *stride = a.Dk;
  return buf;
}

/** Floats of per-thread scratch keys_of needs (0 without a second key part). */
inline size_t keys_scratch(const AttnArgs& a) { return a.k2 ? (size_t)a.Tk * a.Dk + 64 : 0; }

// ---- forward -----------------------------------------------------------------------------------------------------

void attention(const AttnArgs& a, float* out, float* lse) {
  const long B = a.B, H = a.H, Hk = a.Hk, Tq = a.Tq, Tk = a.Tk, Dk = a.Dk, Dv = a.Dv, group = H / Hk;
  const long ktSize = lines(panels(Tk) * Dk * NR);  // K^T as B panels over keys (kc = Dk)
  const long vSize = lines(panels(Dv) * Tk * NR);   // V as B panels over Dv (kc = Tk)
  float* packed = scratch(tl_shared, (size_t)B * Hk * (ktSize + vSize) + 64);
  pfor(B * Hk, [&](long bh, int) {
    const long b = bh / Hk, kh = bh % Hk;
    long kst;
    const float* k = keys_of(a, b, kh, scratch(tl_task, keys_scratch(a)), &kst);
    const float* v = a.v + b * a.vs[0] + kh * a.vs[1];
    float* kt = packed + bh * (ktSize + vSize);
    pack_b(Dk, Tk, k, 1, kst, kt, Dk * NR);
    pack_b(Tk, Dv, v, a.vs[2], 1, kt + ktSize, Tk * NR);
  });
  const long qBlocks = ceil_div(Tq, Bq);
  pfor(B * H * qBlocks, [&](long t, int) {
    const long bh = t / qBlocks, qb = t % qBlocks;
    const long b = bh / H, h = bh % H, kvh = b * Hk + h / group;
    const long i0 = qb * Bq, bq = lmin(Bq, Tq - i0);
    const float* kt = packed + kvh * (ktSize + vSize);
    const float* vp = kt + ktSize;
    const long qpSize = lines(rows_padded(bq) * Dk);
    float* buf = scratch(tl_task, (size_t)qpSize + Bq * Bk + lines(Bq * Dv) + 2 * Bq + 64);
    float* qp = buf;
    float* s = qp + qpSize;
    float* o = s + Bq * Bk;
    float* m = o + lines(Bq * Dv);
    float* l = m + Bq;
    pack_a(bq, Dk, a.q + b * a.qs[0] + h * a.qs[1] + i0 * a.qs[2], a.qs[2], 1, qp);
    for (long x = 0; x < qpSize; x++) qp[x] *= a.scale;
    memset(o, 0, bq * Dv * 4);
    for (long r = 0; r < bq; r++) {
      m[r] = -__builtin_inff();
      l[r] = 0.0f;
    }
    const long kend = row_end(a, i0 + bq - 1);
    long kbegin = Tk;  // the block's first visible key, rounded down to a whole key block
    for (long r = 0; r < bq; r++) kbegin = lmin(kbegin, row_begin(a, b, i0 + r));
    for (long j0 = (kbegin / Bk) * Bk; j0 < kend; j0 += Bk) {
      const long bk = lmin(Bk, kend - j0);
      gemm_packed(bq, bk, Dk, qp, kt + (j0 / NR) * Dk * NR, Dk * NR, s, Bk, false);
      for (long r = 0; r < bq; r++) {
        float* sr = s + r * Bk;
        const long lo = lmax(0, lmin(bk, row_begin(a, b, i0 + r) - j0));
        const long valid = lmax(0, lmin(bk, row_end(a, i0 + r) - j0));
        if (valid <= lo) {
          memset(sr, 0, bk * 4);
          continue;
        }
        // Whole vectors, then the row's last partial vector masked (the vector exp on every visible key)
        vf mxv = vset1(m[r]);
        long j = lo;
        for (; j + VW <= valid; j += VW) mxv = vmax(mxv, vload(sr + j));
        if (j < valid) {
          const int n = (int)(valid - j);
          mxv = vmax(mxv, vsel(vmask_n(n), vload_n(sr + j, n), vset1(-__builtin_inff())));
        }
        const float mx = hmax(mxv);
        const float corr = m[r] == -__builtin_inff() ? 0.0f : expf(m[r] - mx);
        const vf mv = vset1(mx);
        vf acc = {};
        for (j = lo; j + VW <= valid; j += VW) {
          vf p = vexp(vload(sr + j) - mv);
          vstore(sr + j, p);
          acc += p;
        }
        if (j < valid) {
          const int n = (int)(valid - j);
          const vf p = vsel(vmask_n(n), vexp(vload_n(sr + j, n) - mv), vf{});
          vstore_n(sr + j, p, n);
          acc += p;
        }
        const float sum = hsum(acc);
        memset(sr, 0, lo * 4);
        memset(sr + valid, 0, (bk - valid) * 4);
        l[r] = l[r] * corr + sum;
        m[r] = mx;
        if (corr != 1.0f) {
          float* orow = o + r * Dv;
          for (long d = 0; d < Dv; d++) orow[d] *= corr;
        }
      }
      gemm_strided(bq, Dv, bk, s, Bk, 1, vp + j0 * NR, Tk * NR, NR, o, Dv, true);  // O += P V, P read in place
    }
    for (long r = 0; r < bq; r++) {
      float* dst = out + b * a.os[0] + h * a.os[1] + (i0 + r) * a.os[2];
      if (l[r] == 0.0f) {
        memset(dst, 0, Dv * 4);
        lse[bh * Tq + i0 + r] = -__builtin_inff();
        continue;
      }
      const float inv = 1.0f / l[r];
      for (long d = 0; d < Dv; d++) dst[d] = o[r * Dv + d] * inv;
      lse[bh * Tq + i0 + r] = m[r] + logf(l[r]);
    }
  });
}

// ---- backward ----------------------------------------------------------------------------------------------------

void attention_backward(const AttnArgs& a, const float* out, const float* lse, const float* dout, float* dq, float* dk,
                        float* dv) {
  const long B = a.B, H = a.H, Hk = a.Hk, Tq = a.Tq, Tk = a.Tk, Dk = a.Dk, Dv = a.Dv, group = H / Hk;
  // Per key/value head: K^T and V^T as B panels over keys, K as B panels over Dk.
  const long ktSize = lines(panels(Tk) * Dk * NR), vtSize = lines(panels(Tk) * Dv * NR);
  const long kSize = lines(panels(Dk) * Tk * NR);
  const long kvSize = ktSize + vtSize + kSize;
  // Per head: Q (scaled) and dO as A panels, and D = rowsum(dO * O).
  const long qaSize = lines(rows_padded(Tq) * Dk), daSize = lines(rows_padded(Tq) * Dv);
  const long hSize = qaSize + daSize + lines(Tq);
  const long kBlocks = ceil_div(Tk, Bk);
  // Key blocks are split into nchunks interleaved sets when there are few (batch, kv-head) pairs. nchunks depends on
  // the shapes only, never on the thread count, so dQ (summed over the sets in set order) has the same bits on any
  // machine; 8 tasks keep up to 8 threads busy.
  long nchunks = 1;
  if (B * Hk < kBwdTasks) nchunks = lmax(1, lmin(kBlocks, ceil_div(kBwdTasks, B * Hk)));
  const long dqPart = nchunks > 1 ? lines(B * H * Tq * Dk) : 0;
  float* shared = scratch(tl_shared, (size_t)B * Hk * kvSize + (size_t)B * H * hSize + (size_t)nchunks * dqPart + 64);
  float* kvPacked = shared;
  float* hPacked = kvPacked + B * Hk * kvSize;
  float* dqParts = hPacked + B * H * hSize;
  if (dqPart) memset(dqParts, 0, (size_t)nchunks * dqPart * 4);

  pfor(B * Hk + B * H, [&](long t, int) {
    if (t < B * Hk) {
      const long b = t / Hk, kh = t % Hk;
      long kst;
      const float* k = keys_of(a, b, kh, scratch(tl_task, keys_scratch(a)), &kst);
      const float* v = a.v + b * a.vs[0] + kh * a.vs[1];
      float* p = kvPacked + t * kvSize;
      pack_b(Dk, Tk, k, 1, kst, p, Dk * NR);
      pack_b(Dv, Tk, v, 1, a.vs[2], p + ktSize, Dv * NR);
      pack_b(Tk, Dk, k, kst, 1, p + ktSize + vtSize, Tk * NR);
      return;
    }
    const long bh = t - B * Hk, b = bh / H, h = bh % H;
    const float* q = a.q + b * a.qs[0] + h * a.qs[1];
    const long oOff = b * a.os[0] + h * a.os[1], ot = a.os[2];
    const float* g = dout + oOff;
    const float* o = out + oOff;
    float* p = hPacked + bh * hSize;
    pack_a(Tq, Dk, q, a.qs[2], 1, p);
    for (long x = 0; x < qaSize; x++) p[x] *= a.scale;
    pack_a(Tq, Dv, g, ot, 1, p + qaSize);
    float* D = p + qaSize + daSize;
    for (long i = 0; i < Tq; i++) {
      float s = 0;
      for (long d = 0; d < Dv; d++) s += g[i * ot + d] * o[i * ot + d];
      D[i] = s;
    }
  });

  pfor(B * Hk * nchunks, [&](long t, int) {
    const long kvh = t / nchunks, chunk = t % nchunks;
    const long b = kvh / Hk, kh = kvh % Hk;
    const float* kv = kvPacked + kvh * kvSize;
    float* buf = scratch(tl_task, (size_t)2 * Bq * Bk + (Dv + Dk) * Bk + 64);
    float* s = buf;               // P (bq x bk, rows Bk apart)
    float* dp = s + Bq * Bk;      // dP, then dS
    float* dvT = dp + Bq * Bk;    // dV^T of the key block (Dv x bk, rows Bk apart)
    float* dkT = dvT + Dv * Bk;   // dK^T
    if (nchunks == 1) {
      // This task alone writes dQ of its heads (rows no key reaches stay zero): the output needs no zero-filling.
      for (long hh = 0; hh < group; hh++) {
        float* rows = dq + b * a.qs[0] + (kh * group + hh) * a.qs[1];
        for (long i = 0; i < Tq; i++) memset(rows + i * a.qs[2], 0, Dk * 4);
      }
    }
    for (long kb = chunk; kb < kBlocks; kb += nchunks) {  // interleaved, to balance causal work
      const long j0 = kb * Bk, bk = lmin(Bk, Tk - j0);
      float* dkRows = dk + b * a.ks[0] + kh * a.ks[1] + j0 * a.ks[2];
      float* dvRows = dv + b * a.vs[0] + kh * a.vs[1] + j0 * a.vs[2];
      memset(dvT, 0, (size_t)(Dv + Dk) * Bk * 4);
      // First query that sees key j0: i + Tk - Tq >= j0.
      const long qFirst = a.causal ? lmax(0, j0 - (Tk - Tq)) : 0;
      for (long hh = 0; hh < group; hh++) {
        const long h = kh * group + hh, bh = b * H + h;
        const float* hp = hPacked + bh * hSize;
        const float* qa = hp;
        const float* da = qa + qaSize;
        const float* D = da + daSize;
        const long qt = a.qs[2], ot = a.os[2];
        const float* qRows = a.q + b * a.qs[0] + h * a.qs[1];
        const float* gRows = dout + b * a.os[0] + h * a.os[1];
        const float* lrow = lse + bh * Tq;
        float* dqRows = (nchunks > 1 ? dqParts + chunk * dqPart : dq) + b * a.qs[0] + h * a.qs[1];
        for (long qb0 = (qFirst / Bq) * Bq; qb0 < Tq; qb0 += Bq) {
          // The tile: query rows [i0, i0 + bq) and keys [j0, j0 + kn). Rows before qFirst (whole micro-kernel rows
          // of them, so i0 stays on a packed panel) and keys past the last row's end see nothing: left out, which only
          // leaves exact zeros out of the sums (same bits as computing them, for finite inputs).
          const long i0 = qb0 + (lmax(0, qFirst - qb0) / MR) * MR;
          const long bq = lmin(qb0 + Bq, Tq) - i0;
          const long kn = lmax(0, lmin(bk, row_end(a, i0 + bq - 1) - j0));
          if (bq <= 0 || kn <= 0) continue;
          gemm_packed(bq, kn, Dk, qa + i0 * Dk, kv + (j0 / NR) * Dk * NR, Dk * NR, s, Bk, false);
          gemm_packed(bq, kn, Dv, da + i0 * Dv, kv + ktSize + (j0 / NR) * Dv * NR, Dv * NR, dp, Bk, false);
          for (long r = 0; r < bq; r++) {
            float* sr = s + r * Bk;
            float* dr = dp + r * Bk;
            const long lo = lmax(0, lmin(kn, row_begin(a, b, i0 + r) - j0));
            const long valid = lmax(lo, lmin(kn, row_end(a, i0 + r) - j0));
            const vf lv = vset1(lrow[i0 + r]);
            const vf Dr = vset1(D[i0 + r]);
            const vf sc = vset1(a.scale);
            memset(sr, 0, lo * 4);
            memset(dr, 0, lo * 4);
            long j = lo;
            for (; j + VW <= valid; j += VW) {
              vf p = vexp(vload(sr + j) - lv);
              vstore(sr + j, p);
              vstore(dr + j, p * (vload(dr + j) - Dr) * sc);
            }
            if (j < valid) {  // the last partial vector, masked: the vector exp on every visible key
              const int n = (int)(valid - j);
              const vf p = vsel(vmask_n(n), vexp(vload_n(sr + j, n) - lv), vf{});
              vstore_n(sr + j, p, n);
              vstore_n(dr + j, p * (vload_n(dr + j, n) - Dr) * sc, n);
            }
            memset(sr + valid, 0, (kn - valid) * 4);
            memset(dr + valid, 0, (kn - valid) * 4);
          }
          // Nothing is packed here: P and dS are read in place as the B of dV^T and dK^T and as the A of dQ (their
          // rows are Bk floats, so the last panel of kn columns is readable whole).
          // dV^T += dO^T P
          gemm_strided(Dv, kn, bq, gRows + i0 * ot, 1, ot, s, NR, Bk, dvT, Bk, true);
          // dQ += dS K
          gemm_strided(bq, Dk, kn, dp, Bk, 1, kv + ktSize + vtSize + j0 * NR, Tk * NR, NR, dqRows + i0 * qt, qt, true);
          // dK^T += Q^T dS
          gemm_strided(Dk, kn, bq, qRows + i0 * qt, 1, qt, dp, NR, Bk, dkT, Bk, true);
        }
      }
      // The key block's rows, transposed back: this task alone writes them. The sums started from +0 (the memset),
      // so they have the bits of accumulating every tile into zero-filled dK and dV.
      const long D1 = a.k2 ? a.Dk1 : Dk;  // with a second key part, its gradient goes to dk2
      float* dk2Rows = a.k2 ? a.dk2 + b * a.dk2s[0] + kh * a.dk2s[1] + j0 * a.dk2s[2] : nullptr;
      for (long j = 0; j < bk; j++) {
        for (long d = 0; d < Dv; d++) dvRows[j * a.vs[2] + d] = dvT[d * Bk + j];
        for (long d = 0; d < D1; d++) dkRows[j * a.ks[2] + d] = dkT[d * Bk + j];
        for (long d = D1; d < Dk; d++) dk2Rows[j * a.dk2s[2] + d - D1] = dkT[d * Bk + j];
      }
    }
  });

  if (nchunks > 1) {
    const long n = B * H * Tq * Dk;
    pfor_range(n, 1 << 14, [&](long lo, long hi) {
      memcpy(dq + lo, dqParts + lo, (size_t)(hi - lo) * 4);  // 0 + the first part, bit for bit (never -0)
      for (long c = 1; c < nchunks; c++) {
        const float* src = dqParts + c * dqPart;
        long i = lo;
        for (; i + VW <= hi; i += VW) vstore(dq + i, vload(dq + i) + vload(src + i));
        for (; i < hi; i++) dq[i] += src[i];
      }
    });
  }
}

// ---- decoding: one new token per row over its own cache ------------------------------------------------------------

/**
 * One task per row (one key/value head, so every head reads the same keys and values, which stay in L1 between heads).
 * Per head: the scores of the row's keys, a softmax (max, exp, sum, then each probability times 1/sum), then the
 * values weighted by the probabilities, accumulated in registers. A row's numbers do not depend on the other rows or on
 * the thread that ran it.
 */
/** oh[j][d0 : d0 + NC*VW] = sum over t of ph[j][t] * V[t][d0 : ...] for HP heads, the sum over t in order. */
template <int NC, int HP>
inline void weighted_values(const float* const ph[2], const float* V, long v_stride, long len, long d0,
                            float* const oh[2]) {
  vf acc[HP][NC];
#pragma GCC unroll 8
  for (int j = 0; j < HP; j++)
#pragma GCC unroll 8
    for (int c = 0; c < NC; c++) acc[j][c] = vf{};
  for (long t = 0; t < len; t++) {
    const float* vt = V + t * v_stride + d0;
    vf vv[NC];
#pragma GCC unroll 8
    for (int c = 0; c < NC; c++) vv[c] = vload(vt + c * VW);
#pragma GCC unroll 8
    for (int j = 0; j < HP; j++) {
      const vf w = vset1(ph[j][t]);
#pragma GCC unroll 8
      for (int c = 0; c < NC; c++) acc[j][c] += w * vv[c];
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < HP; j++)
#pragma GCC unroll 8
    for (int c = 0; c < NC; c++) vstore(oh[j] + d0 + c * VW, acc[j][c]);
}

void attend_rows(const AttnRowsArgs& a, float* out) {
  const long H = a.H, Dk = a.Dk, Dv = a.Dv;
  pfor(a.rows, [&](long r, int) {
    const long len = a.len[r];
    float* o = out + r * H * Dv;
    if (len <= 0) {
      memset(o, 0, H * Dv * 4);
      return;
    }
    const long full = Dk / VW * VW, rest = Dk - full;  // whole vectors of a key, then one masked load
    float* buf = scratch(tl_task, (size_t)(H * len + H * (full + VW) + 64));
    float* q = buf;                   // (H, full + VW) scaled queries, zero past Dk
    float* p = q + H * (full + VW);  // (H, len) scores, then probabilities
    const float* qr = a.q + r * H * Dk;
    for (long h = 0; h < H; h++)
      for (long d = 0; d < full + VW; d++) q[h * (full + VW) + d] = d < Dk ? qr[h * Dk + d] * a.scale : 0.0f;
    const float* K = a.k + a.k_off[r];
    const float* V = a.v + a.v_off[r];
    for (long h = 0; h < H; h++) {
      const float* qh = q + h * (full + VW);
      const vf qtail = vload(qh + full);
      float* ph = p + h * len;
      // VW keys at a time: their partial-sum vectors go through one VW x VW transpose, whose rows add up to the VW
      // scores (lane i = the horizontal sum of key i's vector), instead of one horizontal sum per key
      alignas(64) float part[VW * VW];
      long t = 0;
      for (; t + VW <= len; t += VW) {
        // The VW keys' sums side by side (VW independent FMA chains, not one chain per key after another); each key's
        // sum is the same sequence of operations as before.
        vf acc[VW];
        const float* k0 = K + t * a.k_stride;
#pragma GCC unroll 16
        for (int i = 0; i < VW; i++)
          acc[i] = rest ? qtail * vload_n(k0 + i * a.k_stride + full, (int)rest) : vf{};  // never reads past the key
        for (long d = 0; d < full; d += VW) {
          const vf qv = vload(qh + d);
#pragma GCC unroll 16
          for (int i = 0; i < VW; i++) acc[i] += qv * vload(k0 + i * a.k_stride + d);
        }
#pragma GCC unroll 16
        for (int i = 0; i < VW; i++) vstore(part + i * VW, acc[i]);
        vf tr[VW];
        transpose_block(part, VW, VW, tr);
        vf sum = tr[0];
        for (long i = 1; i < VW; i++) sum += tr[i];
        vstore(ph + t, sum);
      }
      for (; t < len; t++) {
        const float* kt = K + t * a.k_stride;
        vf acc = rest ? qtail * vload_n(kt + full, (int)rest) : vf{};
        for (long d = 0; d < full; d += VW) acc += vload(qh + d) * vload(kt + d);
        ph[t] = hsum(acc);
      }
    }
    for (long h = 0; h < H; h++) {
      float* ph = p + h * len;
      const float inv = 1.0f / row_sum_exp(ph, len, row_max(ph, len), ph);
      for (long t = 0; t < len; t++) ph[t] *= inv;
    }
    // Each head's output in registers, over all the row's values (they stay in L1): two heads at a time where the
    // registers allow, so the FMA chains of one head overlap the other's and each value vector is loaded once for both.
    // A head's sums are the same sequence of operations whatever is computed beside it.
    for (long h = 0; h < H; h += 2) {
      const int hp = h + 1 < H ? 2 : 1;
      const float* ph[2] = {p + h * len, p + (h + hp - 1) * len};
      float* oh[2] = {o + h * Dv, o + (h + hp - 1) * Dv};
      long d0 = 0;
      if (hp == 2) {
        for (; d0 + 4 * VW <= Dv; d0 += 4 * VW) weighted_values<4, 2>(ph, V, a.v_stride, len, d0, oh);
        for (; d0 + 2 * VW <= Dv; d0 += 2 * VW) weighted_values<2, 2>(ph, V, a.v_stride, len, d0, oh);
        for (; d0 + VW <= Dv; d0 += VW) weighted_values<1, 2>(ph, V, a.v_stride, len, d0, oh);
      } else {
        for (; d0 + 4 * VW <= Dv; d0 += 4 * VW) weighted_values<4, 1>(ph, V, a.v_stride, len, d0, oh);
        for (; d0 + 2 * VW <= Dv; d0 += 2 * VW) weighted_values<2, 1>(ph, V, a.v_stride, len, d0, oh);
        for (; d0 + VW <= Dv; d0 += VW) weighted_values<1, 1>(ph, V, a.v_stride, len, d0, oh);
      }
      for (int j = 0; j < hp; j++)
        for (long d = d0; d < Dv; d++) {
          float o0 = 0.0f;
          for (long t = 0; t < len; t++) o0 += ph[j][t] * V[t * a.v_stride + d];
          oh[j][d] = o0;
        }
    }
  });
}

}  // namespace

void fill_attention(KernelTable* t) {
  t->attention = &attention;
  t->attention_backward = &attention_backward;
  t->attend_rows = &attend_rows;
}

}  // namespace R1TS_ISA
}  // namespace r1ts
