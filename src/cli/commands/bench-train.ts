/**
 * `r1ts bench train`: training-step throughput (tokens/s, median step) of a DeepSeek-V3 model directory in r1ts, and
 * of the same model, weights and loss in PyTorch (bench/torch_train.py through Debian's python3-torch) in the same run.
 * Both do: forward (main + MTP + balance loss), backward, clip 1.0, AdamW (0.9, 0.95, wd 0.1); r1ts also applies the
 * router-bias update. Random token batches from a fixed seed.
 *
 * `--micro-batch M` splits each step's batch into micro-batches of M sequences (gradient accumulation) and `--workers N`
 * computes them on N threads (src/train/data_parallel.ts: the main thread and N - 1 workers, one-thread kernels each),
 * as `r1ts pretrain --workers N` does. PyTorch always runs the whole batch in one pass, so it is left out then.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { loadModelDir, readConfigFile } from '../../io/model_dir.js';
import { AdamW, clipGradNorm } from '../../optim/adamw.js';
import { Generator } from '../../tensor/random.js';
import { randint } from '../../tensor/creation.js';
import { narrow } from '../../tensor/ops/index.js';
import { getBackend } from '../../backend/registry.js';
import { DataParallel, type MicroBatch, runMicroBatch } from '../../train/data_parallel.js';
import { TRAIN_SIZE_RANGES, trainMicroBatchBytes } from '../../train/sizes.js';
import { checkFits, flagsOf, ints, shownDefault } from '../flags.js';

export interface TrainBenchRow {
  impl: string;
  threads: number | string;
  ms_per_step: number;
  tokens_per_s: number;
  /** CPU time of the process (all threads) per step, median (r1ts only): what the threads cost, whatever the load. */
  cpu_ms_per_step?: number;
  /** PyTorch only: GFLOP/s of a 512^3 float32 product on one thread (bench/blas_info.py): is its BLAS an optimised one? */
  blas_gflops?: number;
}

/** Below this, PyTorch's 512^3 product on one thread is the reference BLAS (~4.4 GFLOP/s here; OpenBLAS 19 or more). */
export const SLOW_BLAS_GFLOPS = 10;

/**
 * A warning when PyTorch's BLAS is Debian's reference BLAS (libblas3), which makes PyTorch several times slower than
 * with OpenBLAS (a training step of the tiny model: 2.4 s against 0.3 s), so a comparison with it means nothing.
 */
export function torchBlasWarning(gflops: number | undefined): string | null {
  if (gflops === undefined || gflops >= SLOW_BLAS_GFLOPS) return null;
  return `warning: PyTorch's BLAS ran a 512^3 float32 product at ${gflops.toFixed(1)} GFLOP/s on one thread: Debian's reference BLAS, not OpenBLAS, so PyTorch's numbers are no fair reference (apt-get install libopenblas0-pthread)`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Data-parallel settings of the r1ts run: micro-batch size (default: the whole batch) and threads computing them. */
export interface TrainBenchParallel {
  microBatch?: number;
  workers?: number;
}

export async function benchTrainR1ts(
  dir: string,
  B: number,
  T: number,
  steps: number,
  par: TrainBenchParallel = {},
): Promise<TrainBenchRow> {
  const { model } = loadModelDir(dir);
  const opt = new AdamW(model.namedParameters(), { lr: 1e-3 });
  const g = new Generator(0);
  const times: number[] = [];
  const cpu: number[] = [];
  const M = Math.min(par.microBatch ?? B, B);
  const workers = par.workers ?? 1;
  const settings = { balanceAlpha: 1e-4, mtpLambda: 0.3 };
  const dp = workers > 1 ? await DataParallel.create({ model, workers }) : null;
  try {
    for (let s = 0; s < steps + 2; s++) {
      const ids = randint(0, model.config.vocab_size, [B, T + 1], { generator: g });
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const micro: MicroBatch[] = [];
      for (let b = 0; b < B; b += M) {
        const rows = narrow(ids, 0, b, Math.min(M, B - b));
        micro.push({ inputs: narrow(rows, 1, 0, T), targets: narrow(rows, 1, 1, T), weight: rows.shape[0] / B });
      }
      if (dp) await dp.run(micro, settings);
      else for (const m of micro) runMicroBatch(model, m, settings);
      clipGradNorm(model.parameters(), 1.0);
      opt.step();
      opt.zeroGrad();
      model.afterStep({ gamma: 0.001 });
      if (s >= 2) {
        times.push(performance.now() - t0);
        const c = process.cpuUsage(c0);
        cpu.push((c.user + c.system) / 1000);
      }
    }
  } finally {
    await dp?.close();
  }
  const ms = median(times);
  const impl = `r1ts (${getBackend()}${M < B ? `, micro-batch ${M}` : ''}${workers > 1 ? `, ${workers} workers` : ''})`;
  return {
    impl,
    threads: workers > 1 ? `1 x ${workers}` : (process.env.R1TS_THREADS ?? 'all'),
    ms_per_step: ms,
    tokens_per_s: (B * T) / (ms / 1000),
    cpu_ms_per_step: median(cpu),
  };
}

export function benchTrainTorch(
  dir: string,
  B: number,
  T: number,
  steps: number,
  threads: number,
): TrainBenchRow | string {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bench', 'torch_train.py');
  const r = spawnSync('/usr/bin/python3', [script, dir, String(B), String(T), String(steps), String(threads)], {
    encoding: 'utf8',
  });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : r.stderr.trim().split('\n').pop();
    return /No module named 'torch'/.test(r.stderr ?? '') || r.error
      ? 'n/a (apt-get install python3-torch)'
      : `failed: ${why}`;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as TrainBenchRow;
}

interface TrainBenchFlags {
  model: string;
  batch: number;
  seq: number;
  steps: number;
  threads: number;
  microBatch?: number;
  workers: number;
  json?: boolean;
}

export function registerBenchTrain(bench: Command): void {
  const cmd = bench
    .command('train')
    .description('training tokens/s of a model dir in r1ts and in PyTorch (same weights, loss, optimizer)');
  const f = flagsOf(cmd);
  cmd
    .addOption(
      f.input('--model <dir>', 'model directory (e.g. from r1ts init --config ...)', 'dir').makeOptionMandatory(),
    )
    .addOption(f.int('--batch <n>', 'sequences per step', ints(1, 4096), 16))
    .addOption(f.int('--seq <n>', 'tokens per sequence', TRAIN_SIZE_RANGES.seqLen, 128))
    .addOption(f.int('--steps <n>', 'timed steps (after 2 warm-up steps)', ints(1, 10_000), 5))
    .addOption(f.int('--threads <n>', 'PyTorch threads', ints(1, 256), 2))
    .addOption(
      f.int(
        '--micro-batch <n>',
        'r1ts: sequences per forward pass (PyTorch is then left out)',
        TRAIN_SIZE_RANGES.microBatch,
        shownDefault('the whole batch'),
      ),
    )
    .addOption(
      f.workers(
        '--workers <n>',
        'r1ts: threads computing the micro-batches, one kernel thread each (data parallel)',
        1,
        false,
      ),
    )
    .option('--json', 'print JSON')
    .action(async (o: TrainBenchFlags) => {
      const { batch: B, seq: T, steps: S, threads: th, workers: W } = o;
      const M = Math.min(o.microBatch ?? B, B);
      checkFits(
        'bench train',
        trainMicroBatchBytes(readConfigFile(o.model).config, M, T),
        `--micro-batch ${M} sequences of --seq ${T} tokens (logits and activations, at least)`,
      );
      const ours = await benchTrainR1ts(o.model, B, T, S, { microBatch: M, workers: W });
      const torch =
        M < B
          ? 'skipped (it runs the whole batch in one pass; leave out --micro-batch to compare)'
          : benchTrainTorch(o.model, B, T, S, th);
      if (o.json) {
        console.log(JSON.stringify({ bench: 'train', batch: B, seq: T, rows: [ours, torch] }));
        return;
      }
      console.log(`training step, ${B} x ${T} tokens, median of ${S}`);
      for (const r of [ours, torch]) {
        if (typeof r === 'string') console.log(`  pytorch: ${r}`);
        else
          console.log(
            `  ${r.impl.padEnd(16)} threads ${String(r.threads).padEnd(4)} ${r.ms_per_step.toFixed(0).padStart(7)} ms/step ${r.tokens_per_s.toFixed(0).padStart(8)} tokens/s${r.cpu_ms_per_step !== undefined ? `  (cpu ${r.cpu_ms_per_step.toFixed(0)} ms/step)` : ''}${r.blas_gflops !== undefined ? `  (BLAS sgemm 512^3, 1 thread: ${r.blas_gflops.toFixed(0)} GFLOP/s)` : ''}`,
          );
      }
      if (typeof torch !== 'string') {
        console.log(`  ratio r1ts / pytorch: ${(ours.tokens_per_s / torch.tokens_per_s).toFixed(2)}x`);
        const w = torchBlasWarning(torch.blas_gflops);
        if (w) console.log(w);
      }
    });
}
