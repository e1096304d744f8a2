/**
 * The AdamW update on flat arrays, in place (Loshchilov & Hutter, decoupled weight decay), the reference for the
 * native kernel of the same name:
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) + lr * wd * p
 * Moments are float32 here (DeepSeek-V3 keeps them in BF16; see src/optim/adamw.ts for the storage option).
 */
export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step number (for bias correction). */
  step: number;
}

export function adamwStep(
  param: Float32Array,
  grad: Float32Array,
  m: Float32Array,
  v: Float32Array,
  h: AdamWHyper,
): void {
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
}
