/**
 * Generation throughput, r1ts vs PyTorch in the same run, on the same model loaded from the same safetensors.
 *
 *   node --import tsx bench/generate.ts [--preset tiny] [--prompt 16] [--new 64] [--batches 1,8,64] [--threads 1] [--reps 3]
 *       [--workers 2]
 *
 * Builds the preset's DeepSeek-V3 model (random init, std 0.05, vocab from the preset), writes it as a Hugging Face
 * model directory, then times sampled decoding of distinct prompts (temperature 1, no EOS: every row generates --new
 * tokens; prefill included) with r1ts's fast decoder and with the model's own forward, and with bench/torch_generate.py (Debian's
 * python3-torch at /usr/bin/python3) on the same directory, kept running as a server so that the three are
 * interleaved run by run (a shared machine then slows all of them alike). Both sides use --threads threads
 * (R1TS_THREADS for the native backend; the TypeScript loops are single-threaded). Reported: the best of --reps runs
 * (tokens/s, wall clock) and the least CPU seconds. A greedy decode on both sides must give the same tokens, which
 * shows they run the same model. With --workers N (N > 1) a third r1ts column times the fast decoder with the rows
 * split across N threads (src/infer/workers.ts: the main thread and N - 1 workers, one kernel thread each), which
 * must give the same tokens as the plain call. Prints a Markdown table.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : def;
}

const presetName = arg('preset', 'tiny');
const plen = Number(arg('prompt', '16'));
const fresh = Number(arg('new', '64'));
const batches = arg('batches', '1,8,64').split(',').map(Number);
const threads = Number(arg('threads', '1'));
const reps = Number(arg('reps', '3'));
const ranks = Number(arg('workers', '1'));
process.env.R1TS_THREADS = String(threads); // read when the native addon loads (below)

const { initBackend } = await import('../src/backend/select.js');
const { backend } = initBackend();
const getBackend = () => backend;
const { createModel, parseConfig } = await import('../src/models/index.js');
const { saveModelDir, loadModelDir } = await import('../src/io/model_dir.js');
const { getPreset } = await import('../src/train/presets.js');
const { generate } = await import('../src/infer/generate.js');
const { torchBlasWarning } = await import('../src/cli/commands/bench-train.js');
const { GenerationWorkers } = await import('../src/infer/workers.js');

const preset = getPreset(presetName);
const { config } = parseConfig({ ...preset.model, vocab_size: preset.vocabSize });
const dir = mkdtempSync(join(tmpdir(), 'r1ts-bench-gen-'));
try {
  saveModelDir(dir, createModel(config, { seed: 0, initStd: 0.05 }));
  const { model } = loadModelDir(dir);
  model.eval();
  const V = config.vocab_size;
  // row b: tokens (7 i + 3 + b) mod V, distinct per row (no shared prefill), the same prompts as torch_generate.py
  const prompts = (B: number) =>
    Array.from({ length: B }, (_, b) => Array.from({ length: plen }, (_, i) => (7 * i + 3 + b) % V));
  const greedy = generate(model, prompts(1), { maxTokens: fresh, temperature: 0 })[0].tokens;
  generate(model, prompts(2), { maxTokens: 8, seed: 1 }); // warm-up (JIT)
  generate(model, prompts(2), { maxTokens: 8, seed: 1, engine: 'model' });
  const pool = ranks > 1 ? await GenerationWorkers.create(model, { ranks }) : null;
  if (pool) await pool.generate(prompts(4), { maxTokens: 8, seed: 1 }); // warm-up (JIT) in every thread
  const py = spawn('/usr/bin/python3', ['bench/torch_generate.py', dir, String(plen), String(fresh), String(threads)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: py.stdout })[Symbol.asyncIterator]();
  const readJson = async <T>(): Promise<T> => {
    const l = await lines.next();
    if (l.done) throw new Error('torch_generate.py exited early');
    return JSON.parse(l.value) as T;
  };
  const torch = await readJson<{ torch: string; greedy: number[]; blasGflops: number }>();
  type Best = { tps: number; cpu: number };
  const best = () => batches.map((): Best => ({ tps: 0, cpu: Infinity }));
  const ours: Record<'fast' | 'model' | 'rows', Best[]> = { fast: best(), model: best(), rows: best() };
  let sameRows = true;
  const theirs = best();
  for (let r = 0; r < reps; r++) {
    for (const [i, B] of batches.entries()) {
      for (const engine of ['fast', 'model'] as const) {
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        generate(model, prompts(B), { maxTokens: fresh, temperature: 1, seed: 2 + r, engine });
        const c = process.cpuUsage(c0);
        const e = ours[engine][i];
        e.tps = Math.max(e.tps, (B * fresh) / ((performance.now() - t0) / 1000));
        e.cpu = Math.min(e.cpu, (c.user + c.system) / 1e6);
      }
      if (pool) {
        const opts = { maxTokens: fresh, temperature: 1, seed: 2 + r };
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        const split = await pool.generate(prompts(B), opts);
        const c = process.cpuUsage(c0);
        const e = ours.rows[i];
        e.tps = Math.max(e.tps, (B * fresh) / ((performance.now() - t0) / 1000));
        e.cpu = Math.min(e.cpu, (c.user + c.system) / 1e6);
        const plain = generate(model, prompts(B), opts);
        sameRows &&= split.every((g, j) => g.tokens.join() === plain[j].tokens.join());
      }
      py.stdin.write(`${B}\n`);
      const t = await readJson<{ tokensPerSecond: number; cpuSeconds: number }>();
      theirs[i].tps = Math.max(theirs[i].tps, t.tokensPerSecond);
      theirs[i].cpu = Math.min(theirs[i].cpu, t.cpuSeconds);
    }
  }
  py.stdin.end();
  await pool?.close();
  if (!sameRows) throw new Error('the rows split across threads gave other tokens than the plain call');
  let same = 0;
  while (same < fresh && torch.greedy[same] === greedy[same]) same++;
  console.log(
    `model: preset '${presetName}' (${model.numParameters().toLocaleString('en-US')} parameters, vocab ${V}), prompt ${plen} tokens, ` +
      `${fresh} new tokens per row, temperature 1, best of ${reps}`,
  );
  console.log(`greedy decode: r1ts and PyTorch agree on ${same}/${fresh} tokens`);
  console.log(
    `r1ts backend '${getBackend()}', PyTorch ${torch.torch} (its BLAS: a 512^3 sgemm at ${torch.blasGflops.toFixed(0)} GFLOP/s on one thread); ${threads} thread(s) each\n`,
  );
  const blasWarning = torchBlasWarning(torch.blasGflops);
  if (blasWarning) console.log(`${blasWarning}\n`);
  const rowsHead = pool ? ` r1ts fast, rows on ${ranks} threads tok/s (CPU s) |` : '';
  console.log(
    `| batch | r1ts fast decoder tok/s (CPU s) |${rowsHead} r1ts model forward tok/s (CPU s) | PyTorch tok/s (CPU s) | fast / PyTorch, wall | fast / PyTorch, CPU |${pool ? ' rows / PyTorch, wall |' : ''}`,
  );
  console.log(`|---|---|${pool ? '---|' : ''}---|---|---|---|${pool ? '---|' : ''}`);
  batches.forEach((B, i) => {
    const [f, m, t, w] = [ours.fast[i], ours.model[i], theirs[i], ours.rows[i]];
    const rowsCell = pool ? ` ${w.tps.toFixed(0)} (${w.cpu.toFixed(2)}) |` : '';
    console.log(
      `| ${B} | ${f.tps.toFixed(0)} (${f.cpu.toFixed(2)}) |${rowsCell} ${m.tps.toFixed(0)} (${m.cpu.toFixed(2)}) | ${t.tps.toFixed(0)} (${t.cpu.toFixed(2)}) | ${(f.tps / t.tps).toFixed(2)}x | ${(t.cpu / f.cpu).toFixed(2)}x |${pool ? ` ${(w.tps / t.tps).toFixed(2)}x |` : ''}`,
    );
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
