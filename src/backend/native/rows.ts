/**
 * Native row kernels of the fast decoders (native/rows.cc: the reference's operations in the reference's order, so
 * the same bits as src/backend/ts/rows.ts). The operands are checked here as the reference checks them.
 */
import type { Kernels } from '../kernels.js';
import { checkRmsRows } from '../ts/rows.js';
import type { NativeAddon } from './addon.js';

export function rowKernels(addon: NativeAddon): Partial<Kernels> {
  return {
    rmsRows: (x, w, out, a) => {
      checkRmsRows(x, w, out, a);
      addon.rmsRows(x, w, out, a.rows, a.dim, a.stride, a.offset, a.eps);
    },
    addInto: (x, y, n) => addon.addInto(x, y, n),
    gatherRows: (src, idx, dim, out) => addon.gatherRows(src, idx, idx.length, dim, out),
    scatterAddScaled: (out, idx, src, g, dim) => addon.scatterAddScaled(out, idx, src, g, idx.length, dim),
  };
}
