/**
 * Child process of the SFT kill-and-resume test: runs (or resumes) a short SFT run with `sft()`, printing one JSON
 * line per step; with a delay, each step busy-waits so that the parent can kill it mid-run.
 *   node --import tsx test/posttrain/sft_child.ts MODEL_DIR TRAIN.jsonl VAL.jsonl OUT fresh|resume [DELAY_MS]
 */
import { sft } from '../../src/posttrain/sft_run.js';

const [model, data, val, out, mode, delay] = process.argv.slice(2);
await sft({
  outDir: out,
  model,
  data: [data],
  valData: [val],
  resume: mode === 'resume',
  config: { seqLen: 96, batch: 4, microBatch: 2, epochs: 2, lr: 3e-3, evalEvery: 3, checkpointEvery: 2 },
  log: () => {},
  onStep: (m) => {
    process.stdout.write(`${JSON.stringify({ step: m.step, loss: m.loss })}\n`);
    const until = Date.now() + Number(delay ?? 0);
    while (Date.now() < until) {
      // slow the child down so the parent can kill it mid-run
    }
  },
});
