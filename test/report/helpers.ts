// Run directories written by hand for the report's tests: run.json and metrics.jsonl, and the folders of the
// experiments that span runs (`experiment fp8 --seeds`, `experiment distill-vs-rl`).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Writes a run directory: run.json (protocol fields + settings) and metrics.jsonl (`tail` appended raw). */
export function writeRun(
  dir: string,
  command: string,
  rows: object[],
  o: { settings?: object; history?: object[]; summary?: object; tail?: string } = {},
): string {
  mkdirSync(dir, { recursive: true });
  const run = {
    format: 'r1ts-run-1',
    command,
    created: '2026-01-01T00:00:00.000Z',
    ...(o.settings ?? {}),
    status: 'finished',
    ...(o.summary ? { summary: o.summary } : {}),
    history: o.history ?? [],
  };
  writeFileSync(join(dir, 'run.json'), JSON.stringify(run));
  writeFileSync(join(dir, 'metrics.jsonl'), rows.map((r) => `${JSON.stringify(r)}\n`).join('') + (o.tail ?? ''));
  return dir;
}

/**
 * Relative gaps of a small `experiment fp8 --seeds 3` folder with constant losses (so that every EMA is the loss
 * itself and each gap is exact): per seed, fp8 is bf16 x (1 + FP8_GAP[s]), bf16 is fp32 x 1.001, and the noise-floor
 * run fp32-ulp is fp32 x (1 + FLOOR_GAP[s]).
 */
export const FP8_GAP = [0.001, 0.002, 0.003];
export const FLOOR_GAP = [0, 0.0002, 0.0001];

/** Writes OUT/seed-{0,1,2}/{fp32,bf16,fp8,fp32-ulp}: the toy's `experiment fp8` runs of `steps` steps each. */
export function writeFp8Seeds(out: string, steps = 5): string {
  FP8_GAP.forEach((gap, seed) => {
    const fp32 = 2 + seed / 10;
    const bf16 = fp32 * 1.001;
    const losses: Record<string, number> = {
      fp32,
      bf16,
      fp8: bf16 * (1 + gap),
      'fp32-ulp': fp32 * (1 + FLOOR_GAP[seed]),
    };
    for (const [label, loss] of Object.entries(losses)) {
      const rows = Array.from({ length: steps }, (_, i) => ({
        step: i + 1,
        loss: loss + 0.1,
        mainLoss: loss,
        lr: 1e-3,
      }));
      const precision = label.replace('-ulp', '');
      const train = { steps, ...(label.endsWith('-ulp') ? { flipInitLastBit: true } : {}) };
      writeRun(join(out, `seed-${seed}`, label), 'experiment fp8', rows, {
        settings: { experiment: 'fp8 toy', seed, precision, train },
      });
    }
  });
  return out;
}

/** Writes a distill-vs-rl OUT: distill_vs_rl.json, a distill run (SFT loss) and a grpo run (reward) of 4 steps. */
export function writeDistillVsRl(out: string): string {
  writeRun(
    join(out, 'distill'),
    'distill',
    [1, 2, 3, 4].map((step) => ({ step, loss: 3 - step / 4, lr: 1e-3 })),
  );
  writeRun(
    join(out, 'grpo'),
    'grpo',
    [1, 2, 3, 4].map((step) => ({ step, reward: step / 8, accuracy: step / 10, responseLength: 40 + step })),
  );
  const row = (model: string, p1: number, params: number, trainMinutes: number | null) => ({
    model,
    dir: join(out, model),
    'pass@1': p1,
    'cons@k': p1 + 0.1,
    greedy: p1 / 2,
    meanLength: 42.25,
    params,
    trainMinutes,
  });
  const record = {
    format: 'r1ts-distill-vs-rl-1',
    task: 'lineq',
    n: 16,
    k: 2,
    rows: [
      row('teacher', 0.5, 766_000, null),
      row('student base', 0.125, 120_000, null),
      row('distilled', 0.25, 120_000, 2.5),
      row('rl', 0.1875, 120_000, 4),
    ],
  };
  writeFileSync(join(out, 'distill_vs_rl.json'), JSON.stringify(record));
  return out;
}
