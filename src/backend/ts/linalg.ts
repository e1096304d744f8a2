/** Reference batched matmul with broadcast batch dims and in-place transposed operands. Accumulates in double. */
import { type Kernels, matmulDims } from '../kernels.js';
import { broadcastShapes, broadcastStrides, shapeStr } from '../../tensor/shape.js';
import { floatOut, requireFloat, stridedOffsets } from './util.js';

export const linalgKernels: Partial<Kernels> = {
  matmul: (a, b, { transA, transB }) => {
    requireFloat('matmul', a, b);
    if (a.shape.length < 2 || b.shape.length < 2) {
      throw new RangeError(`matmul: ${shapeStr(a.shape)} x ${shapeStr(b.shape)}: both operands need at least 2 dims`);
    }
    const { M, K, Kb, N } = matmulDims(a, b, transA, transB);
    if (K !== Kb) {
      const ta = transA ? 'ᵀ' : '';
      const tb = transB ? 'ᵀ' : '';
      throw new RangeError(`matmul: ${shapeStr(a.shape)}${ta} x ${shapeStr(b.shape)}${tb}: inner dims ${K} != ${Kb}`);
    }
    const batchA = a.shape.slice(0, -2);
    const batchB = b.shape.slice(0, -2);
    const batch = broadcastShapes(batchA, batchB, 'matmul');
    if (a.dtype !== b.dtype) throw new TypeError(`matmul: dtypes ${a.dtype} and ${b.dtype} differ`);
    const c = floatOut(a, [...batch, M, N]);
    const offA = stridedOffsets(
      batch,
      broadcastStrides(batchA, batch).map((s) => s * M * K),
    );
    const offB = stridedOffsets(
      batch,
      broadcastStrides(batchB, batch).map((s) => s * K * N),
    );
    // element (i, p) of op(A) lives at i*sAi + p*sAp; element (p, j) of op(B) at p*sBp + j*sBj
    const sAi = transA ? 1 : K;
    const sAp = transA ? M : 1;
    const sBp = transB ? 1 : N;
    const sBj = transB ? K : 1;
    const A = a.data;
    const B = b.data;
    const C = c.data;
    const row = new Float64Array(N);
    for (let bi = 0; bi < offA.length; bi++) {
      const a0 = offA[bi];
      const b0 = offB[bi];
      const c0 = bi * M * N;
      for (let i = 0; i < M; i++) {
        if (sBj === 1) {
          // C[i, :] += A[i, p] * B[p, :]  (rows of B are contiguous)
          row.fill(0);
          for (let p = 0; p < K; p++) {
            const aip = A[a0 + i * sAi + p * sAp];
            const bp = b0 + p * sBp;
            for (let j = 0; j < N; j++) row[j] += aip * B[bp + j];
          }
          for (let j = 0; j < N; j++) C[c0 + i * N + j] = row[j];
        } else {
          // C[i, j] = dot(A[i, :], B[:, j])  (columns of op(B) are contiguous rows of B)
          for (let j = 0; j < N; j++) {
            let acc = 0;
            const bj = b0 + j * sBj;
            const ai = a0 + i * sAi;
            for (let p = 0; p < K; p++) acc += A[ai + p * sAp] * B[bj + p];
            C[c0 + i * N + j] = acc;
          }
        }
      }
    }
    return c;
  },
};
