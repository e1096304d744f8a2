/**
 * Reference optimizer kernel: the AdamW step on flat float32 arrays, in place (Loshchilov & Hutter, decoupled weight
 * decay), the definition the native kernel (native/adamw.cc) reproduces bit for bit:
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) + lr * wd * p
 * Moments are float32 here; BF16 moment storage (DeepSeek-V3) and the checks on lengths and step are in
 * src/optim/adamw.ts, which runs this kernel through the registry.
 */
import type { Kernels } from '../kernels.js';

export const optimKernels: Partial<Kernels> = {
  adamwStep: (param, grad, m, v, h) => {
    const { lr, beta1, beta2, eps, weightDecay, step } = h;
    const bc1 = 1 - beta1 ** step;
    const bc2 = 1 - beta2 ** step;
    const decay = lr * weightDecay;
    for (let i = 0; i < param.length; i++) {
      const g = grad[i];
      const mi = beta1 * m[i] + (1 - beta1) * g;
      const vi = beta2 * v[i] + (1 - beta2) * g * g;
      m[i] = mi;
      v[i] = vi;
      param[i] = param[i] - decay * param[i] - (lr * (mi / bc1)) / (Math.sqrt(vi / bc2) + eps);
    }
  },
};
