/**
 * Child process for the data-parallel error test: trains the toy model with 2 workers on a source whose 4th batch
 * (step 2's second micro-batch, computed by worker 1) holds a token id outside the vocabulary. Prints the step lines,
 * then the error, and sets exit status 1 without process.exit, so a worker left running would keep it from exiting.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeepseekV3 } from '../../src/models/index.js';
import { DEFAULT_TRAIN_CONFIG, train } from '../../src/train/trainer.js';
import { ToySource, toyConfig } from './fixtures.js';

class PoisonedSource extends ToySource {
  private calls = 0;
  override next(batch: number) {
    const b = super.next(batch);
    if (++this.calls === 4) b.inputs.data[0] = 99;
    return b;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'r1ts-dp-child-'));
try {
  await train({
    outDir: dir,
    model: new DeepseekV3(toyConfig(), { seed: 1, initStd: 0.1 }),
    train: new PoisonedSource(5, 8, 16),
    log: (l) => process.stdout.write(l + '\n'),
    config: {
      ...DEFAULT_TRAIN_CONFIG,
      steps: 4,
      seqLen: 8,
      batchStart: 2,
      batchEnd: 2,
      microBatch: 1,
      peakLr: 1e-2,
      warmupSteps: 1,
      workers: 2,
    },
  });
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
