/**
 * Released sizes on a CPU: a model of DeepSeek-R1-Distill-Qwen-1.5B's exact config with random bf16 weights, loaded
 * lazily into bf16 memory and decoded by r1ts, beside llama.cpp (node-llama-cpp, same GGUF weights in BF16, same thread
 * count) and PyTorch (Debian's python3-torch, bf16 weights) in the same run.
 *
 *   node --import tsx bench/bf16_decode.ts [--dir runs/bench-qwen1.5b] [--config configs/deepseek-r1-distill-qwen-1.5b.json]
 *     [--threads 2] [--steps 16] [--prompt 16] [--prefill 128] [--torch-prefill 32] [--no-llama] [--no-torch]
 *
 * 1. Writes the checkpoint once (kept for later runs; runs/ is never committed): config.json, two BF16 shards named and
 *    indexed like the Hugging Face release (model-0000N-of-00002.safetensors + model.safetensors.index.json), values
 *    drawn tensor by tensor (magnitudes 0.008-0.03, norms 1) and streamed to disk, and a small tokenizer.json (GGUF
 *    export needs one; the weights do not depend on it).
 * 2. r1ts, in a fresh process (so that its peak RSS is its own): load time, RSS and peak RSS after loading and at the
 *    end, batch-1 and batch-8 decode (median step over --steps steps after a --prompt-token prefill), prefill of
 *    --prefill tokens, and the machine's streaming read bandwidth (native parallel sum over 1 GiB, measured last so
 *    that its buffer is not in the peak) with the bound it gives: bandwidth / weight bytes read per decode step.
 * 3. llama.cpp: `r1ts export gguf --dtype bf16` of the same directory (time and peak RSS), then bench/llamacpp_decode.mjs
 *    (batch-1 decode and prefill, same steps and threads).
 * 4. PyTorch: bench/torch_bf16.py on the same shards (batch-1 and batch-8 decode, prefill).
 * Prints one JSON object per side and a Markdown table. Heavy: ~3.6 GB of weights on disk twice (safetensors, GGUF)
 * and in memory once per side, one side at a time.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : def;
}
const has = (flag: string): boolean => process.argv.includes(flag);

const dir = arg('dir', 'runs/bench-qwen1.5b');
const configFile = arg('config', 'configs/deepseek-r1-distill-qwen-1.5b.json');
const threads = Number(arg('threads', '2'));
const steps = Number(arg('steps', '16'));
const promptLen = Number(arg('prompt', '16'));
const prefill = Number(arg('prefill', '128'));
/** PyTorch's bf16 Linear can be slow on CPUs without native bf16 instructions: a shorter prefill, 20 minutes at most. */
const torchPrefill = Number(arg('torch-prefill', '32'));
process.env.R1TS_THREADS = String(threads); // read when the native addon loads (below)

const { initBackend } = await import('../src/backend/select.js');
const { createModel, parseConfig } = await import('../src/models/index.js');
const { exportStateDict } = await import('../src/io/hf.js');
const { loadModelDir } = await import('../src/io/model_dir.js');
const { nativeAddon } = await import('../src/backend/native/index.js');

const SHARDS = 2;
const shardName = (i: number): string =>
  `model-${String(i + 1).padStart(5, '0')}-of-${String(SHARDS).padStart(5, '0')}.safetensors`;

/** Random bf16 codes: sign and mantissa random, exponent 120 or 121 (|x| in [2^-7, 2^-5)). */
function fillRandom(codes: Uint16Array, state: { s: number }): void {
  let s = state.s;
  for (let i = 0; i < codes.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const r = s >>> 16;
    codes[i] = (r & 0x8000) | ((120 + ((r >> 7) & 1)) << 7) | (r & 0x7f);
  }
  state.s = s;
}

/** Writes config.json, the two BF16 shards and the index, streaming each tensor in chunks. */
function writeCheckpoint(): void {
  fs.mkdirSync(dir, { recursive: true });
  const cfgText = fs.readFileSync(configFile, 'utf8');
  const { config } = parseConfig(JSON.parse(cfgText));
  // Names and shapes from the model itself; bf16 storage is allocated lazily by the OS, so this costs no memory.
  const names = [...exportStateDict(createModel(config, { weightDtype: 'bfloat16' }))].map(([n, t]) => ({
    name: n,
    shape: [...t.shape],
    n: t.size,
  }));
  names.sort((a, b) => (a.name < b.name ? -1 : 1));
  const total = names.reduce((s, t) => s + 2 * t.n, 0);
  const shards: (typeof names)[] = [[], []];
  let acc = 0;
  for (const t of names) {
    shards[acc < total / 2 ? 0 : 1].push(t);
    acc += 2 * t.n;
  }
  const weightMap: Record<string, string> = {};
  const state = { s: 12345 };
  const chunk = new Uint16Array(1 << 20);
  shards.forEach((list, i) => {
    const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
    let off = 0;
    for (const t of list) {
      header[t.name] = { dtype: 'BF16', shape: t.shape, data_offsets: [off, off + 2 * t.n] };
      off += 2 * t.n;
      weightMap[t.name] = shardName(i);
    }
    let json = JSON.stringify(header);
    json += ' '.repeat((8 - (json.length % 8)) % 8);
    const file = path.join(dir, shardName(i));
    const fd = fs.openSync(`${file}.tmp`, 'w');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    fs.writeSync(fd, len);
    fs.writeSync(fd, Buffer.from(json));
    for (const t of list) {
      const norm = t.name.endsWith('norm.weight');
      for (let done = 0; done < t.n; done += chunk.length) {
        const part = chunk.subarray(0, Math.min(chunk.length, t.n - done));
        if (norm)
          part.fill(0x3f80); // 1.0
        else fillRandom(part, state);
        fs.writeSync(fd, new Uint8Array(part.buffer, 0, part.byteLength));
      }
    }
    fs.closeSync(fd);
    fs.renameSync(`${file}.tmp`, file);
  });
  fs.writeFileSync(
    path.join(dir, 'model.safetensors.index.json'),
    `${JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2)}\n`,
  );
  fs.writeFileSync(path.join(dir, 'config.json'), cfgText);
}

/** A small tokenizer.json (GGUF export embeds one; llama.cpp pads the vocabulary to vocab_size). */
function writeTokenizer(): void {
  const corpus = path.join(dir, 'tokenizer-corpus.txt');
  const words = 'the model reads every weight once per token and the bandwidth bounds the speed of decoding';
  fs.writeFileSync(corpus, Array.from({ length: 200 }, (_, i) => `${words} ${i}`).join('\n\n'));
  const r2 = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'data',
      'tokenizer',
      '--corpus',
      corpus,
      '--vocab-size',
      '300',
      '--out',
      path.join(dir, 'tokenizer.json'),
    ],
    { stdio: 'inherit' },
  );
  if (r2.status !== 0) throw new Error('bf16_decode: could not write the tokenizer');
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rssBytes = (): number => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
const maxRss = (): number => process.resourceUsage().maxRSS * 1024;

/** The r1ts side, in this (fresh) process. */
function measure(): void {
  const { backend } = initBackend();
  const t0 = performance.now();
  const { model, config } = loadModelDir(dir, { weights: 'bfloat16' });
  const loadSeconds = (performance.now() - t0) / 1000;
  const afterLoad = { rss: rssBytes(), maxRss: maxRss() };
  let weightBytes = 0;
  let readPerToken = 0;
  for (const [name, t] of model.stateDict()) {
    weightBytes += t.data.byteLength;
    // a decode step reads every tensor once, except the input embedding (one row); a tied head reads it whole
    if (name !== 'embed.weight' || config.tie_word_embeddings) readPerToken += t.data.byteLength;
  }
  const fileBytes = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.safetensors'))
    .reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
  const V = config.vocab_size;
  const ids = (n: number, b: number) => Int32Array.from({ length: n }, (_, i) => (7 * i + 3 + b * 13) % V);
  const decode = (B: number): { tokensPerSecond: number; stepSeconds: number[] } => {
    const dec = model.createDecoder!();
    const rows = Int32Array.from(
      { length: B * promptLen },
      (_, i) => ids(promptLen, Math.floor(i / promptLen))[i % promptLen],
    );
    dec.feed(rows, B, promptLen);
    const times: number[] = [];
    for (let s = 0; s < steps; s++) {
      const t = performance.now();
      dec.feed(ids(B, s + 1), B, 1);
      times.push((performance.now() - t) / 1000);
    }
    return { tokensPerSecond: B / median(times), stepSeconds: times.map((x) => Number(x.toFixed(4))) };
  };
  const d1 = decode(1);
  const d8 = decode(8);
  const prefillRuns: number[] = [];
  for (let r = 0; r < 2; r++) {
    const dec = model.createDecoder!();
    const t = performance.now();
    dec.feed(ids(prefill, r), 1, prefill);
    prefillRuns.push((performance.now() - t) / 1000);
  }
  const end = { rss: rssBytes(), maxRss: maxRss() };
  let bandwidthGBs: number | null = null;
  let bandwidthMedianGBs: number | null = null;
  const addon = nativeAddon();
  if (addon) {
    const buf = new Float32Array(1 << 28).fill(1); // 1 GiB, pages touched
    const passes = Array.from({ length: 9 }, () => addon.readBandwidth(buf, 1));
    bandwidthGBs = Math.max(...passes);
    bandwidthMedianGBs = median(passes);
  }
  const boundTokensPerSecond = bandwidthGBs === null ? null : (bandwidthGBs * 1e9) / readPerToken;
  const out = {
    side: 'r1ts',
    backend,
    threads,
    loadSeconds,
    weightBytes,
    fileBytes,
    readPerToken,
    afterLoad,
    end,
    peakOverWeights: end.maxRss / weightBytes,
    decode1: d1.tokensPerSecond,
    decode1Steps: d1.stepSeconds,
    decode8: d8.tokensPerSecond,
    prefillTokensPerSecond: prefill / Math.min(...prefillRuns),
    prefillSeconds: prefillRuns,
    bandwidthGBs,
    bandwidthMedianGBs,
    boundTokensPerSecond,
    /** The fastest step against the best bandwidth pass, and the median step against the median pass. */
    bestStepOfBound: boundTokensPerSecond === null ? null : 1 / Math.min(...d1.stepSeconds) / boundTokensPerSecond,
    medianOfMedianBound:
      bandwidthMedianGBs === null ? null : d1.tokensPerSecond / ((bandwidthMedianGBs * 1e9) / readPerToken),
    fractionOfBound: boundTokensPerSecond === null ? null : d1.tokensPerSecond / boundTokensPerSecond,
  };
  console.log(JSON.stringify(out));
}

/** Runs a command under /usr/bin/time -v; returns its stdout, wall seconds and peak RSS. */
function timed(
  cmd: string,
  args: string[],
  timeoutSeconds = 3600,
): { stdout: string; seconds: number; maxRss: number; status: number | null } {
  const t = performance.now();
  const r = spawnSync('/usr/bin/time', ['-v', cmd, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    timeout: timeoutSeconds * 1000,
  });
  const seconds = (performance.now() - t) / 1000;
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr ?? '');
  if (r.status !== 0) process.stderr.write(r.stderr.split('\n').slice(-20).join('\n'));
  return { stdout: r.stdout, seconds, maxRss: m ? Number(m[1]) * 1024 : 0, status: r.status };
}

function lastJson(stdout: string): Record<string, unknown> | null {
  const line = stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  return line ? JSON.parse(line) : null;
}

async function main(): Promise<void> {
  if (has('--measure')) return measure();
  if (!fs.existsSync(path.join(dir, 'model.safetensors.index.json'))) {
    const t = performance.now();
    writeCheckpoint();
    console.error(`wrote ${dir} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  if (!fs.existsSync(path.join(dir, 'tokenizer.json'))) writeTokenizer();
  const common = ['--dir', dir, '--threads', String(threads), '--steps', String(steps), '--prompt', String(promptLen)];
  const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.error(`load average before: ${load}`);
  const r = timed(process.execPath, [
    '--import',
    'tsx',
    'bench/bf16_decode.ts',
    '--measure',
    ...common,
    '--prefill',
    String(prefill),
  ]);
  const ours: Record<string, unknown> = { ...lastJson(r.stdout), processMaxRss: r.maxRss };
  console.log(JSON.stringify(ours));
  let llama: Record<string, unknown> | null = null;
  if (!has('--no-llama')) {
    const gguf = path.join(dir, 'model-bf16.gguf');
    let exportInfo: Record<string, unknown> = {};
    if (!fs.existsSync(gguf)) {
      const e = timed(process.execPath, [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'export',
        'gguf',
        '--model',
        dir,
        '--out',
        gguf,
        '--dtype',
        'bf16',
      ]);
      exportInfo = { exportSeconds: e.seconds, exportMaxRss: e.maxRss, exportStatus: e.status };
    }
    const l = timed(process.execPath, [
      'bench/llamacpp_decode.mjs',
      gguf,
      String(threads),
      String(steps),
      String(promptLen),
      String(prefill),
    ]);
    llama = { ...lastJson(l.stdout), ...exportInfo, processMaxRss: l.maxRss };
    console.log(JSON.stringify(llama));
  }
  let torch: Record<string, unknown> | null = null;
  if (!has('--no-torch')) {
    const p = timed(
      '/usr/bin/python3',
      [
        'bench/torch_bf16.py',
        dir,
        String(threads),
        String(Math.min(steps, 4)),
        String(promptLen),
        String(torchPrefill),
      ],
      1200,
    );
    torch = { ...lastJson(p.stdout), processMaxRss: p.maxRss };
    console.log(JSON.stringify(torch));
  }
  const loadAfter = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.error(`load average after: ${loadAfter}`);
  const f = (x: unknown, d = 2): string => (typeof x === 'number' ? x.toFixed(d) : '-');
  const gb = (x: unknown): string => (typeof x === 'number' ? `${(x / 1e9).toFixed(2)} GB` : '-');
  console.log('\n| side | batch-1 decode tok/s | batch-8 decode tok/s | prefill tok/s | load s | peak RSS |');
  console.log('|---|---|---|---|---|---|');
  console.log(
    `| r1ts (bf16, native) | ${f(ours.decode1)} | ${f(ours.decode8)} | ${f(ours.prefillTokensPerSecond)} | ${f(ours.loadSeconds)} | ${gb((ours.end as { maxRss: number }).maxRss)} |`,
  );
  if (llama)
    console.log(
      `| llama.cpp (BF16 GGUF) | ${f(llama.decode1)} | - | ${f(llama.prefillTokensPerSecond)} | ${f(llama.loadSeconds)} | ${gb(llama.processMaxRss)} |`,
    );
  if (torch)
    console.log(
      `| PyTorch ${torch.torch ?? ''} (bf16) | ${f(torch.decode1)} | ${f(torch.decode8)} | ${f(torch.prefillTokensPerSecond)} | ${f(torch.loadSeconds)} | ${gb(torch.processMaxRss)} |`,
    );
  console.log(
    `\nweights ${gb(ours.weightBytes)} in memory, ${gb(ours.readPerToken)} read per decode step; read bandwidth ${f(ours.bandwidthGBs)} GB/s -> bound ${f(ours.boundTokensPerSecond)} tok/s; r1ts batch-1 at ${f(100 * (ours.fractionOfBound as number), 0)}% of it; peak RSS ${f((ours.end as { maxRss: number }).maxRss / (ours.weightBytes as number))}x the weight bytes (before the 1 GiB bandwidth probe)`,
  );
}

await main();
