/**
 * Reference batched matmul with broadcast batch dims and in-place transposed operands, and the product of float32
 * rows by bfloat16 weights (`matmulBf16`) with the bf16 row gather. Accumulates in double.
 */
import { type Kernels, type TensorData, matmulDims } from '../kernels.js';
import { broadcastShapes, broadcastStrides, shapeStr } from '../../tensor/shape.js';
import { floatOut, requireFloat, stridedOffsets } from './util.js';

/** The float32 value of a bfloat16 code (the code is the top half of the float32's bits). */
const bf16Bits = new Uint32Array(1);
const bf16Value = new Float32Array(bf16Bits.buffer);

/** Checks `matmulBf16`'s operands: x (M, K) float32, w (N, K) bfloat16. Returns M, K, N. */
export function matmulBf16Dims(x: TensorData, w: TensorData): { M: number; K: number; N: number } {
  if (x.dtype !== 'float32' || w.dtype !== 'bfloat16' || x.shape.length !== 2 || w.shape.length !== 2)
    throw new TypeError(
      `matmulBf16: expected x (M, K) float32 and w (N, K) bfloat16, got ${x.dtype} ${shapeStr(x.shape)} and ` +
        `${w.dtype} ${shapeStr(w.shape)}`,
    );
  const [M, K] = x.shape;
  const [N, Kw] = w.shape;
  if (K !== Kw)
    throw new RangeError(`matmulBf16: ${shapeStr(x.shape)} x ${shapeStr(w.shape)}ᵀ: inner dims ${K} != ${Kw}`);
  return { M, K, N };
}

/** Checks `linearInto`'s operands: x (M, K) and w (N, K) float32, out of at least M * N. Returns M, K, N. */
export function linearIntoDims(x: TensorData, w: TensorData, out: Float32Array): { M: number; K: number; N: number } {
  if (x.dtype !== 'float32' || w.dtype !== 'float32' || x.shape.length !== 2 || w.shape.length !== 2)
    throw new TypeError(
      `linearInto: expected x (M, K) and w (N, K) float32, got ${x.dtype} ${shapeStr(x.shape)} and ${w.dtype} ${shapeStr(w.shape)}`,
    );
  const [M, K] = x.shape;
  const [N, Kw] = w.shape;
  if (K !== Kw)
    throw new RangeError(`linearInto: ${shapeStr(x.shape)} x ${shapeStr(w.shape)}ᵀ: inner dims ${K} != ${Kw}`);
  if (out.length < M * N) throw new RangeError(`linearInto: out holds ${out.length} floats, needs ${M * N}`);
  return { M, K, N };
}

/** Checks `bf16Rows`' operands: w (V, D) bfloat16, ids int32 in [0, V). Returns V, D. */
export function bf16RowsDims(w: TensorData, ids: TensorData): { V: number; D: number } {
  if (w.dtype !== 'bfloat16' || w.shape.length !== 2 || ids.dtype !== 'int32')
    throw new TypeError(
      `bf16Rows: expected w (V, D) bfloat16 and int32 ids, got ${w.dtype} ${shapeStr(w.shape)}, ${ids.dtype}`,
    );
  const [V, D] = w.shape;
  for (const id of ids.data)
    if (!(id >= 0 && id < V)) throw new RangeError(`bf16Rows: index ${id} out of range [0, ${V})`);
  return { V, D };
}

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

  linearInto: (x, w, out) => {
    linearIntoDims(x, w, out);
    // the reference is about the numbers, not the allocation: matmul's own product, copied in
    out.set(linalgKernels.matmul!(x, w, { transA: false, transB: true }).data as Float32Array);
  },

  matmulBf16: (x, w) => {
    const { M, K, N } = matmulBf16Dims(x, w);
    const X = x.data;
    const W = w.data;
    const Y = new Float32Array(M * N);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let acc = 0;
        for (let p = 0; p < K; p++) {
          bf16Bits[0] = W[j * K + p] << 16;
          acc += X[i * K + p] * bf16Value[0];
        }
        Y[i * N + j] = acc;
      }
    }
    return { data: Y, shape: [M, N], dtype: 'float32' };
  },

  bf16Rows: (w, ids) => {
    const { D } = bf16RowsDims(w, ids);
    const n = ids.data.length;
    const bits = new Uint32Array(n * D);
    const W = w.data;
    for (let r = 0; r < n; r++) {
      const from = ids.data[r] * D;
      for (let j = 0; j < D; j++) bits[r * D + j] = W[from + j] << 16;
    }
    return { data: new Float32Array(bits.buffer), shape: [n, D], dtype: 'float32' };
  },
};
