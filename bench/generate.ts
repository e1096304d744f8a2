/**
 * Generation throughput, r1ts vs PyTorch in the same run, on the same model loaded from the same safetensors.
 *
 *   node --import tsx bench/generate.ts [--preset tiny] [--prompt 16] [--new 64] [--batches 1,8,64] [--threads 1] [--reps 3]
 *
 * Builds the preset's DeepSeek-V3 model (random init, std 0.05, vocab from the preset), writes it as a Hugging Face
 * model directory, then times sampled decoding (temperature 1, no EOS: every row generates --new tokens; prefill
 * included) with r1ts's fast decoder and with the model's own forward, and runs bench/torch_generate.py (Debian's
 * python3-torch at /usr/bin/python3) on the directory. Both sides use --threads threads (R1TS_THREADS for the native
 * backend; the TypeScript loops are single-threaded) and report the best of --reps runs (wall clock), plus the CPU
 * seconds of that configuration, since the machine may be shared. A greedy decode on both sides must give the same
 * tokens, which shows they run the same model. Prints a Markdown table.
 */
import { spawnSync } from 'node:child_process';
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
process.env.R1TS_THREADS = String(threads); // read when the native addon loads (below)

const { getBackend } = await import('../src/tensor/index.js').then(() => import('../src/backend/registry.js'));
const { createModel, parseConfig } = await import('../src/models/index.js');
const { saveModelDir, loadModelDir } = await import('../src/io/model_dir.js');
const { getPreset } = await import('../src/train/presets.js');
const { generate } = await import('../src/infer/generate.js');

const preset = getPreset(presetName);
const { config } = parseConfig({ ...preset.model, vocab_size: preset.vocabSize });
const dir = mkdtempSync(join(tmpdir(), 'r1ts-bench-gen-'));
try {
  saveModelDir(dir, createModel(config, { seed: 0, initStd: 0.05 }));
  const { model } = loadModelDir(dir);
  model.eval();
  const V = config.vocab_size;
  const prompt = Array.from({ length: plen }, (_, i) => (7 * i + 3) % V);
  const greedy = generate(model, [prompt], { maxTokens: fresh, temperature: 0 })[0].tokens;
  generate(model, [prompt, prompt], { maxTokens: 8, seed: 1 }); // warm-up (JIT)
  generate(model, [prompt, prompt], { maxTokens: 8, seed: 1, engine: 'model' });
  const ours: Record<string, { tps: number; cpu: number }[]> = { fast: [], model: [] };
  for (const engine of ['fast', 'model'] as const) {
    for (const B of batches) {
      let best = Infinity;
      let cpu = Infinity;
      for (let r = 0; r < reps; r++) {
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        generate(model, Array(B).fill(prompt), { maxTokens: fresh, temperature: 1, seed: 2 + r, engine });
        const c = process.cpuUsage(c0);
        best = Math.min(best, (performance.now() - t0) / 1000);
        cpu = Math.min(cpu, (c.user + c.system) / 1e6);
      }
      ours[engine].push({ tps: (B * fresh) / best, cpu });
    }
  }
  const py = spawnSync('/usr/bin/python3', ['bench/torch_generate.py', dir, String(plen), String(fresh), String(threads), String(reps), ...batches.map(String)], { encoding: 'utf8' });
  if (py.status !== 0) throw new Error(`torch_generate.py failed: ${py.stderr}`);
  const torch = JSON.parse(py.stdout) as { torch: string; greedy: number[]; runs: { batch: number; tokensPerSecond: number; cpuSeconds: number }[] };
  let same = 0;
  while (same < fresh && torch.greedy[same] === greedy[same]) same++;
  console.log(
    `model: preset '${presetName}' (${model.numParameters().toLocaleString('en-US')} parameters, vocab ${V}), prompt ${plen} tokens, ` +
      `${fresh} new tokens per row, temperature 1, best of ${reps}`,
  );
  console.log(`greedy decode: r1ts and PyTorch agree on ${same}/${fresh} tokens`);
  console.log(`r1ts backend '${getBackend()}', PyTorch ${torch.torch}; ${threads} thread(s) each\n`);
  console.log('| batch | r1ts fast decoder tok/s (CPU s) | r1ts model forward tok/s (CPU s) | PyTorch tok/s (CPU s) | fast / PyTorch, wall | fast / PyTorch, CPU |');
  console.log('|---|---|---|---|---|---|');
  batches.forEach((B, i) => {
    const t = torch.runs[i];
    const f = ours.fast[i];
    const m = ours.model[i];
    console.log(`| ${B} | ${f.tps.toFixed(0)} (${f.cpu.toFixed(2)}) | ${m.tps.toFixed(0)} (${m.cpu.toFixed(2)}) | ${t.tokensPerSecond.toFixed(0)} (${t.cpuSeconds.toFixed(2)}) | ${(f.tps / t.tokensPerSecond).toFixed(2)}x | ${(t.cpuSeconds / f.cpu).toFixed(2)}x |`);
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
