/** Child process for the kill-and-resume test: trains the toy model, printing one JSON line per step. */
import { DeepseekV3 } from '../../src/models/index.js';
import { DEFAULT_TRAIN_CONFIG, train } from '../../src/train/trainer.js';
import { ToySource, toyConfig } from './fixtures.js';

const [outDir, resume, delayMs] = [process.argv[2], process.argv[3] === 'resume', Number(process.argv[4] ?? 0)];
const model = new DeepseekV3(toyConfig(), { seed: 1, initStd: 0.1 });
await train({
  outDir,
  model,
  train: new ToySource(5, 8, 16),
  val: new ToySource(99, 8, 16),
  resume,
  log: () => {},
  config: {
    ...DEFAULT_TRAIN_CONFIG,
    steps: 12,
    seqLen: 8,
    batchStart: 2,
    batchEnd: 4,
    microBatch: 2,
    peakLr: 3e-3,
    warmupSteps: 2,
    evalEvery: 4,
    evalBatches: 1,
    checkpointEvery: 3,
  },
  onStep: (m) => {
    process.stdout.write(JSON.stringify({ step: m.step, loss: m.loss }) + '\n');
    if (delayMs) {
      const until = Date.now() + delayMs;
      while (Date.now() < until) {
        // slow the child down so the parent can kill it mid-run
      }
    }
  },
});
