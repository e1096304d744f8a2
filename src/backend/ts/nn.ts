/** Reference fused NN kernels: softmax / log-softmax, cross-entropy, RMSNorm, RoPE, top-k. Rows accumulate in double. */
import type { Kernels } from '../kernels.js';
import { allocArray } from '../../tensor/dtype.js';
import { broadcastStrides, numel, shapeStr, sameShape } from '../../tensor/shape.js';
import { around, floatOut, requireFloat, stridedOffsets } from './util.js';

export const nnKernels: Partial<Kernels> = {
  softmax: (x, { axis }) => {
    requireFloat('softmax', x);
    const { outer, n, inner } = around(x.shape, axis);
    const o = floatOut(x, x.shape);
    const d = x.data;
    for (let a = 0; a < outer; a++) {
      for (let c = 0; c < inner; c++) {
        const base = a * n * inner + c;
        let m = -Infinity;
        for (let j = 0; j < n; j++) m = Math.max(m, d[base + j * inner]);
        let s = 0;
        for (let j = 0; j < n; j++) s += Math.exp(d[base + j * inner] - m);
        for (let j = 0; j < n; j++) o.data[base + j * inner] = Math.exp(d[base + j * inner] - m) / s;
      }
    }
    return o;
  },

  softmaxBackward: (y, dy, { axis }) => {
    const { outer, n, inner } = around(y.shape, axis);
    const o = floatOut(y, y.shape);
    for (let a = 0; a < outer; a++) {
      for (let c = 0; c < inner; c++) {
        const base = a * n * inner + c;
        let dot = 0;
        for (let j = 0; j < n; j++) dot += y.data[base + j * inner] * dy.data[base + j * inner];
        for (let j = 0; j < n; j++) {
          const k = base + j * inner;
          o.data[k] = y.data[k] * (dy.data[k] - dot);
        }
      }
    }
    return o;
  },

  logSoftmax: (x, { axis }) => {
    requireFloat('logSoftmax', x);
    const { outer, n, inner } = around(x.shape, axis);
    const o = floatOut(x, x.shape);
    const d = x.data;
    for (let a = 0; a < outer; a++) {
      for (let c = 0; c < inner; c++) {
        const base = a * n * inner + c;
        let m = -Infinity;
        for (let j = 0; j < n; j++) m = Math.max(m, d[base + j * inner]);
        let s = 0;
        for (let j = 0; j < n; j++) s += Math.exp(d[base + j * inner] - m);
        const lse = m + Math.log(s);
        for (let j = 0; j < n; j++) o.data[base + j * inner] = d[base + j * inner] - lse;
      }
    }
    return o;
  },

  logSoftmaxBackward: (y, dy, { axis }) => {
    const { outer, n, inner } = around(y.shape, axis);
    const o = floatOut(y, y.shape);
    for (let a = 0; a < outer; a++) {
      for (let c = 0; c < inner; c++) {
        const base = a * n * inner + c;
        let s = 0;
        for (let j = 0; j < n; j++) s += dy.data[base + j * inner];
        for (let j = 0; j < n; j++) {
          const k = base + j * inner;
          o.data[k] = dy.data[k] - Math.exp(y.data[k]) * s;
        }
      }
    }
    return o;
  },

  crossEntropy: (logits, targets, { ignoreIndex }) => {
    requireFloat('crossEntropy', logits);
    const [N, C] = logits.shape;
    const loss = floatOut(logits, [N]);
    const lse = floatOut(logits, [N]);
    const d = logits.data;
    for (let r = 0; r < N; r++) {
      const t = targets.data[r];
      const base = r * C;
      let m = -Infinity;
      for (let j = 0; j < C; j++) m = Math.max(m, d[base + j]);
      let s = 0;
      for (let j = 0; j < C; j++) s += Math.exp(d[base + j] - m);
      const l = m + Math.log(s);
      lse.data[r] = l;
      if (t === ignoreIndex) continue;
      if (t < 0 || t >= C) throw new RangeError(`crossEntropy: target ${t} at row ${r} is out of range [0, ${C})`);
      loss.data[r] = l - d[base + t];
    }
    return { loss, lse };
  },

  crossEntropyBackward: (logits, targets, lse, dloss, { ignoreIndex }) => {
    const [N, C] = logits.shape;
    const o = floatOut(logits, logits.shape);
    const d = logits.data;
    for (let r = 0; r < N; r++) {
      const t = targets.data[r];
      if (t === ignoreIndex) continue;
      const g = dloss.data[r];
      const l = lse.data[r];
      const base = r * C;
      for (let j = 0; j < C; j++) o.data[base + j] = g * Math.exp(d[base + j] - l);
      o.data[base + t] -= g;
    }
    return o;
  },

  rmsNorm: (x, weight, { eps }) => {
    requireFloat('rmsNorm', x);
    const D = x.shape[x.shape.length - 1];
    if (weight && (weight.shape.length !== 1 || weight.shape[0] !== D)) {
      throw new RangeError(
        `rmsNorm: weight ${shapeStr(weight.shape)} does not match last dim ${D} of input ${shapeStr(x.shape)}`,
      );
    }
    const rows = D === 0 ? 0 : x.data.length / D;
    const y = floatOut(x, x.shape);
    const rstd = floatOut(x, x.shape.slice(0, -1));
    for (let r = 0; r < rows; r++) {
      const base = r * D;
      let ss = 0;
      for (let j = 0; j < D; j++) ss += x.data[base + j] * x.data[base + j];
      const rs = 1 / Math.sqrt(ss / D + eps);
      rstd.data[r] = rs;
      for (let j = 0; j < D; j++) y.data[base + j] = x.data[base + j] * rs * (weight ? weight.data[j] : 1);
    }
    return { y, rstd };
  },

  rmsNormBackward: (x, weight, rstd, dy) => {
    const D = x.shape[x.shape.length - 1];
    const rows = D === 0 ? 0 : x.data.length / D;
    const dx = floatOut(x, x.shape);
    const dw = weight ? new Float64Array(D) : null;
    for (let r = 0; r < rows; r++) {
      const base = r * D;
      const rs = rstd.data[r];
      // dxhat = dy * w;  dx = rs * (dxhat - xhat * mean(dxhat * xhat))
      let dot = 0;
      for (let j = 0; j < D; j++) {
        const xhat = x.data[base + j] * rs;
        const g = dy.data[base + j] * (weight ? weight.data[j] : 1);
        dot += g * xhat;
        if (dw) dw[j] += dy.data[base + j] * xhat;
      }
      dot /= D;
      for (let j = 0; j < D; j++) {
        const xhat = x.data[base + j] * rs;
        const g = dy.data[base + j] * (weight ? weight.data[j] : 1);
        dx.data[base + j] = rs * (g - xhat * dot);
      }
    }
    let dweight = null;
    if (weight && dw) {
      dweight = floatOut(weight, weight.shape);
      dweight.data.set(dw);
    }
    return { dx, dweight };
  },

  rope: (x, cos, sin, { interleaved, inverse, pass = 0 }) => {
    requireFloat('rope', x, cos, sin);
    const W = x.shape[x.shape.length - 1];
    const D = W - pass;
    if (!Number.isInteger(pass) || pass < 0 || D < 0)
      throw new RangeError(`rope: pass ${pass} must be an integer in [0, ${W}] (the last dim of ${shapeStr(x.shape)})`);
    if (D % 2 !== 0) throw new RangeError(`rope: last dim ${D} of ${shapeStr(x.shape)} must be even`);
    if (!sameShape(cos.shape, sin.shape))
      throw new RangeError(`rope: cos ${shapeStr(cos.shape)} and sin ${shapeStr(sin.shape)} differ`);
    const half = D / 2;
    if (cos.shape[cos.shape.length - 1] !== half) {
      throw new RangeError(
        `rope: cos/sin last dim ${cos.shape[cos.shape.length - 1]} must be half of x's last dim ${D}`,
      );
    }
    const lead = x.shape.slice(0, -1);
    const cLead = cos.shape.slice(0, -1);
    if (cLead.length > lead.length || cLead.some((d, i) => d !== 1 && d !== lead[lead.length - cLead.length + i])) {
      throw new RangeError(`rope: cos/sin ${shapeStr(cos.shape)} do not broadcast against ${shapeStr(x.shape)}`);
    }
    const rowOff = stridedOffsets(
      lead,
      broadcastStrides(cLead, lead).map((s) => s * half),
    );
    const o = floatOut(x, x.shape);
    const sgn = inverse ? -1 : 1;
    for (let r = 0; r < rowOff.length; r++) {
      for (let i = 0; i < pass; i++) o.data[r * W + i] = x.data[r * W + i];
      const base = r * W + pass;
      const cb = rowOff[r];
      for (let i = 0; i < half; i++) {
        const c = cos.data[cb + i];
        const s = sgn * sin.data[cb + i];
        const ia = interleaved ? base + 2 * i : base + i;
        const ib = interleaved ? ia + 1 : ia + half;
        const a = x.data[ia];
        const b = x.data[ib];
        o.data[ia] = a * c - b * s;
        o.data[ib] = a * s + b * c;
      }
    }
    return o;
  },

  topk: (x, { k, axis, largest }) => {
    const { outer, n, inner } = around(x.shape, axis);
    if (k < 0 || k > n) throw new RangeError(`topk: k=${k} is out of range for dim ${axis} of size ${n}`);
    const shape = [...x.shape];
    shape[axis] = k;
    const values = allocArray(x.dtype, numel(shape));
    const indices = new Int32Array(numel(shape));
    const order = new Array<number>(n);
    const col = new Float64Array(n);
    for (let a = 0; a < outer; a++) {
      for (let c = 0; c < inner; c++) {
        for (let j = 0; j < n; j++) {
          order[j] = j;
          col[j] = x.data[(a * n + j) * inner + c];
        }
        order.sort((p, q) => {
          const vp = col[p];
          const vq = col[q];
          if (vp === vq) return p - q;
          return largest ? (vq > vp ? 1 : -1) : vp > vq ? 1 : -1;
        });
        for (let j = 0; j < k; j++) {
          const at = (a * k + j) * inner + c;
          values[at] = col[order[j]];
          indices[at] = order[j];
        }
      }
    }
    return { values: { data: values, shape, dtype: x.dtype }, indices: { data: indices, shape, dtype: 'int32' } };
  },
};
