/**
 * Native optimizer kernel: `adamwStep` through the addon's AdamW (native/adamw.cc: the reference's double operations
 * in the reference's order, so the same bits as src/backend/ts/optim.ts, split across the thread pool).
 */
import type { Kernels } from '../kernels.js';
import type { NativeAddon } from './addon.js';

export function optimKernels(addon: NativeAddon): Partial<Kernels> {
  return {
    adamwStep: (param, grad, m, v, h) => {
      const bc1 = 1 - h.beta1 ** h.step;
      const bc2 = 1 - h.beta2 ** h.step;
      addon.adamw(param, grad, m, v, h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, bc1, bc2);
    },
  };
}
