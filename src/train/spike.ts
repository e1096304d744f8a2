/**
 * Loss-spike detection. Keeps exponential moving statistics of the loss; a step is a spike when its loss is not
 * finite, or when it exceeds the running mean by more than `zThreshold` standard deviations AND by more than
 * `minRatio` of the mean (both, so that a very steady loss does not flag noise). Detection starts after `warmup`
 * observed steps. Spikes are not folded into the statistics.
 */
export interface SpikeOptions {
  /** EMA factor for mean and variance (default 0.05, ~20-step memory). */
  beta?: number;
  /** Standard deviations above the mean (default 6). */
  zThreshold?: number;
  /** Minimum relative excess over the mean (default 0.2 = 20%). */
  minRatio?: number;
  /** Steps observed before detection starts (default 20). */
  warmup?: number;
}

export interface SpikeState {
  mean: number;
  variance: number;
  count: number;
}

export class SpikeDetector {
  private readonly beta: number;
  readonly zThreshold: number;
  readonly minRatio: number;
  readonly warmup: number;
  state: SpikeState = { mean: 0, variance: 0, count: 0 };

  constructor(opts: SpikeOptions = {}) {
    this.beta = opts.beta ?? 0.05;
    this.zThreshold = opts.zThreshold ?? 6;
    this.minRatio = opts.minRatio ?? 0.2;
    this.warmup = opts.warmup ?? 20;
  }

  /** Whether `loss` is a spike given the statistics so far (does not update them). */
  isSpike(loss: number): boolean {
    if (!Number.isFinite(loss)) return true;
    const { mean, variance, count } = this.state;
    if (count < this.warmup) return false;
    const std = Math.sqrt(variance);
    return loss - mean > this.zThreshold * std && loss > mean * (1 + this.minRatio);
  }

  /** Folds a normal step's loss into the statistics. */
  observe(loss: number): void {
    const s = this.state;
    if (s.count === 0) {
      s.mean = loss;
      s.variance = 0;
    } else {
      const d = loss - s.mean;
      s.mean += this.beta * d;
      s.variance = (1 - this.beta) * (s.variance + this.beta * d * d);
    }
    s.count++;
  }
}
