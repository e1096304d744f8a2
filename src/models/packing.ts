/**
 * Packed samples: several training samples in one row, told apart by segment ids (B, T) int32 — equal ids are one
 * sample, and a sample's tokens are contiguous. A family that accepts `segments` restarts positions at each sample and
 * keeps attention inside it (`keyStart` of the attention op), so a packed row computes exactly what its samples would
 * alone (tested against separate rows). This is how V3's SFT packs with "sample masking".
 */
import { Tensor } from '../tensor/tensor.js';
import { shapeStr } from '../tensor/shape.js';

export interface SegmentLayout {
  /** (B, T) int32: the index of the first token of each token's sample (the attention op's keyStart). */
  keyStart: Tensor;
  /** B * T: each token's position within its sample (0 at the sample's first token). */
  positions: Int32Array;
}

/** keyStart and positions of `segments` (B, T); errors name the problem. */
export function segmentLayout(segments: Tensor, B: number, T: number): SegmentLayout {
  if (segments.dtype !== 'int32' || segments.ndim !== 2 || segments.shape[0] !== B || segments.shape[1] !== T) {
    throw new RangeError(
      `segments must be int32 (${B}, ${T}) like the ids, got ${segments.dtype} ${shapeStr(segments.shape)}`,
    );
  }
  const s = segments.data as Int32Array;
  const ks = new Int32Array(B * T);
  const pos = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const seen = new Set<number>();
    let start = 0;
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      if (t === 0 || s[i] !== s[i - 1]) {
        if (seen.has(s[i]))
          throw new RangeError(`segments: row ${b}: sample ${s[i]} is not contiguous (again at ${t})`);
        seen.add(s[i]);
        start = t;
      }
      ks[i] = start;
      pos[i] = t - start;
    }
  }
  return { keyStart: new Tensor(ks, [B, T], 'int32'), positions: pos };
}

/**
 * targets (B, T') with -100 wherever the token `shift` positions later belongs to another sample than token t: for
 * DeepSeek-V3's MTP depth k, whose position t reads token t + k and predicts its successor.
 */
export function maskAcrossSegments(targets: Tensor, segments: Tensor, shift: number, ignoreIndex: number): Tensor {
  const [B, Tp] = targets.shape;
  const T = segments.shape[1];
  const s = segments.data;
  const out = Int32Array.from(targets.data as Int32Array);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < Tp; t++) if (s[b * T + t] !== s[b * T + t + shift]) out[b * Tp + t] = ignoreIndex;
  }
  return new Tensor(out, [B, Tp], 'int32');
}
