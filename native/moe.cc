// The routed experts of an MoE layer in one call (src/backend/ts/moe.ts is the reference): rows sorted by expert,
// each expert's products, SwiGLU, gate scale and their gradients done by the active ISA's own kernels (gemm, swiglu,
// binary, reduce, index_select, index_add), the calls the unfused ops make one expert at a time, so the results have
// their bits. With at least two experts per thread the experts run in parallel, one per thread, each kernel on that
// thread alone; otherwise one after the other, each kernel on every thread. Every kernel gives the same bits at any
// thread count, so the two schedules agree. Compiled with the addon; it does no arithmetic of its own (copies, and the
// zeros that y and the gate weights' gradient start from). Scratch comes from the caller (JavaScript's buffer
// pool), so nothing is kept between calls.
#include <cstring>

#include "common.h"

namespace r1ts {
namespace {

/** C (M, N) = op(A) op(B) by the active gemm: A (M, K) or (K, M) when ta; B (K, N) or (N, K) when tb. */
void mm(long M, long N, long K, const float* A, bool ta, const float* B, bool tb, float* C) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    std::memset(C, 0, sizeof(float) * M * N);
    return;
  }
  static const int32_t zero = 0;
  GemmBatch g = {1, &zero, &zero, M, N, K, A, ta, B, tb, C};
  active_kernels().gemm(g);
}

/** Runs task(e) for every group: in parallel (one group per thread) when there are enough groups, else in order. */
template <class F>
void each_group(long groups, F& task) {
  if (groups >= 2L * num_threads()) {
    parallel_for(groups, [](void* ctx, long e, int) { (*static_cast<F*>(ctx))(e); }, &task);
  } else {
    for (long e = 0; e < groups; e++) task(e);
  }
}

}  // namespace

long moe_forward_scratch(long M, long D) { return M + M * D; }

void moe_forward(const MoeArgs& a, float* y, float* h1, float* h3, float* act, float* o, float* scratch) {
  const KernelTable& k = active_kernels();
  const long M = a.starts[a.groups], D = a.D, I = a.I;
  float* gate = scratch;  // each row's gate weight, then the scaled outputs
  float* m = gate + M;
  for (long r = 0; r < M; r++) gate[r] = a.weights[a.slots[r]];
  auto task = [&](long e) {
    const long r0 = a.starts[e], n = a.starts[e + 1] - r0;
    const float* x = a.xs + r0 * D;
    mm(n, I, D, x, false, a.w1[e], true, h1 + r0 * I);
    mm(n, I, D, x, false, a.w3[e], true, h3 + r0 * I);
    k.swiglu(h1 + r0 * I, h3 + r0 * I, act + r0 * I, n * I);
    mm(n, D, I, act + r0 * I, false, a.w2[e], true, o + r0 * D);
    k.binary(BIN_MUL, MODE_B_COLUMN, o + r0 * D, gate + r0, m + r0 * D, n * D, D);
  };
  each_group(a.groups, task);
  std::memset(y, 0, sizeof(float) * a.n_tokens * D);
  k.index_add(y, a.tokens, m, 1, a.n_tokens, D, M);
}

long moe_backward_scratch(long M, long D, long I) { return 2 * M + M * (3 * D + 3 * I); }

void moe_backward(const MoeArgs& a, const float* dy, const float* h1, const float* h3, const float* act,
                  const float* o, float* dxs, float* dweights, float* const* dw1, float* const* dw3,
                  float* const* dw2, float* scratch) {
  const KernelTable& k = active_kernels();
  const long M = a.starts[a.groups], D = a.D, I = a.I;
  // per row: its gate weight and gate weight gradient; dm, dout, then dm * o (later dh3 w3, the same rows: a group's
  // task is done with the one before it writes the other) (D each); dact, dh1, dh3 (I each)
  float* gate = scratch;
  float* dgate = gate + M;
  float* dm = dgate + M;
  float* dout = dm + M * D;
  float* prod = dout + M * D;
  float* dx3 = prod;
  float* dact = prod + M * D;
  float* dh1 = dact + M * I;
  float* dh3 = dh1 + M * I;
  for (long r = 0; r < M; r++) gate[r] = a.weights[a.slots[r]];
  auto task = [&](long e) {
    const long r0 = a.starts[e], n = a.starts[e + 1] - r0;
    const long rd = r0 * D, ri = r0 * I;
    k.index_select(dy, a.tokens + r0, 1, a.n_tokens, D, n, dm + rd);
    k.binary(BIN_MUL, MODE_B_COLUMN, dm + rd, gate + r0, dout + rd, n * D, D);
    k.binary(BIN_MUL, MODE_SAME, dm + rd, o + rd, prod + rd, n * D, 0);
    k.reduce(false, prod + rd, dgate + r0, n, D, 1);
    mm(n, I, D, dout + rd, false, a.w2[e], false, dact + ri);
    if (dw2[e]) mm(D, I, n, dout + rd, true, act + ri, false, dw2[e]);
    k.swiglu_backward(h1 + ri, h3 + ri, dact + ri, dh1 + ri, dh3 + ri, n * I);
    if (dxs) {
      mm(n, D, I, dh1 + ri, false, a.w1[e], false, dxs + rd);
      mm(n, D, I, dh3 + ri, false, a.w3[e], false, dx3 + rd);
      k.binary(BIN_ADD, MODE_SAME, dxs + rd, dx3 + rd, dxs + rd, n * D, 0);
    }
    if (dw1[e]) mm(I, D, n, dh1 + ri, true, a.xs + rd, false, dw1[e]);
    if (dw3[e]) mm(I, D, n, dh3 + ri, true, a.xs + rd, false, dw3[e]);
  };
  each_group(a.groups, task);
  std::memset(dweights, 0, sizeof(float) * a.n_weights);
  k.index_add(dweights, a.slots, dgate, 1, a.n_weights, 1, M);
}

}  // namespace r1ts
