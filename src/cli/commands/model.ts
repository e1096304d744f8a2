/**
 * Model commands (issue "DeepSeek-V3 model family"); other tools script against these, so their output is stable:
 *   r1ts params --config CONFIG.json [--json]            {"total", "activated", "mtp"}
 *   r1ts init --config CONFIG.json --out DIR [--seed N] [--overwrite]  DIR/config.json + DIR/model.safetensors (HF
 *                                                        names); a DIR holding a model is refused without --overwrite
 *   r1ts logits --model DIR --ids 3,1,4 [--json]         {"shape": [T, V], "logits": [...], "loss": ...}
 */
import type { Command } from 'commander';
import { countParams, createModel, isDeepseek } from '../../models/index.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModelDir, modelDirFiles, readConfigFile, saveModelDir } from '../../io/model_dir.js';
import { Tensor, noGrad } from '../../tensor/tensor.js';
import { crossEntropy, narrow } from '../../tensor/ops/index.js';

function fmtB(n: number): string {
  return n >= 1e9
    ? `${(n / 1e9).toFixed(2)}B`
    : n >= 1e6
      ? `${(n / 1e6).toFixed(2)}M`
      : n >= 1e3
        ? `${(n / 1e3).toFixed(1)}K`
        : String(n);
}

function parseIds(s: string, vocab: number): Int32Array {
  const parts = s.split(',').map((x) => x.trim());
  const ids = new Int32Array(parts.length);
  parts.forEach((p, i) => {
    const v = Number(p);
    if (p === '' || !Number.isInteger(v))
      throw new Error(`logits: --ids must be comma-separated integers, got '${p}' at position ${i}`);
    if (v < 0 || v >= vocab)
      throw new Error(`logits: token id ${v} at position ${i} is outside the vocabulary [0, ${vocab})`);
    ids[i] = v;
  });
  return ids;
}

function parseSeed(s: string): number {
  const v = Number(s);
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`init: --seed must be a non-negative integer, got '${s}'`);
  return v;
}

export function registerModel(program: Command): void {
  program
    .command('params')
    .description('count total, activated (per token, incl. embedding and head) and MTP parameters of a config')
    .requiredOption('--config <file>', 'Hugging Face config.json (deepseek_v3, deepseek_v2, qwen2, llama)')
    .option('--json', 'print {"total", "activated", "mtp"}')
    .action((o: { config: string; json?: boolean }) => {
      const { config, warnings } = readConfigFile(o.config);
      for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
      const p = countParams(config);
      if (o.json) {
        console.log(JSON.stringify({ total: p.total, activated: p.activated, mtp: p.mtp }));
        return;
      }
      console.log(`model_type  ${config.model_type}`);
      console.log(`total       ${p.total.toLocaleString('en-US')} (${fmtB(p.total)})`);
      console.log(
        `activated   ${p.activated.toLocaleString('en-US')} (${fmtB(p.activated)}) per token, incl. embedding and output head`,
      );
      if (isDeepseek(config))
        console.log(
          `mtp         ${p.mtp.toLocaleString('en-US')} (${fmtB(p.mtp)}) unique, ${config.num_nextn_predict_layers} module(s)`,
        );
    });

  program
    .command('init')
    .description('write a randomly initialised model (normal, std 0.006) as DIR/config.json + DIR/model.safetensors')
    .requiredOption('--config <file>', 'Hugging Face config.json')
    .requiredOption('--out <dir>', 'output directory')
    .option('--seed <n>', 'init seed', '0')
    .option('--init-std <x>', 'std of the normal init', '0.006')
    .option(
      '--overwrite',
      'replace a model already in --out (with its tokenizer files, which would not fit the new weights)',
    )
    .action((o: { config: string; out: string; seed: string; initStd: string; overwrite?: boolean }) => {
      const existing = modelDirFiles(o.out, true);
      if (existing.length && !o.overwrite)
        throw new Error(
          `init: ${o.out} already holds a model (${existing.join(', ')}); use --overwrite to replace it, or another --out`,
        );
      const { config, warnings } = readConfigFile(o.config);
      for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
      const std = Number(o.initStd);
      if (!(std > 0)) throw new Error(`init: --init-std must be a positive number, got '${o.initStd}'`);
      const p = countParams(config);
      if ((p.total + p.mtp) * 4 > 8 * 2 ** 30) {
        throw new Error(
          `init: ${fmtB(p.total + p.mtp)} parameters need ${fmtB((p.total + p.mtp) * 4)}B of float32; too large for this tool (limit 8 GiB)`,
        );
      }
      const t0 = performance.now();
      const model = createModel(config, { seed: parseSeed(o.seed), initStd: std });
      if (existing.length) {
        // the old tokenizer would otherwise stay beside weights it was not trained with
        for (const f of existing) fs.rmSync(path.join(o.out, f), { force: true });
        process.stderr.write(`init: removed ${existing.join(', ')} from ${o.out} (--overwrite)\n`);
      }
      const files = saveModelDir(o.out, model);
      console.log(
        `wrote ${o.out}/config.json and ${files.join(', ')}: ${model.numParameters().toLocaleString('en-US')} parameters in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
    });

  program
    .command('logits')
    .description('run a model on token ids; prints logits of every position and the mean next-token loss')
    .requiredOption('--model <dir>', 'model directory (config.json + model.safetensors)')
    .requiredOption('--ids <list>', 'comma-separated token ids, e.g. 3,1,4,1,5')
    .option('--json', 'print {"shape": [T, V], "logits": [...], "loss": number|null}')
    .action((o: { model: string; ids: string; json?: boolean }) => {
      const { model, config, warnings } = loadModelDir(o.model);
      for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
      const ids = parseIds(o.ids, config.vocab_size);
      const T = ids.length;
      model.eval();
      const x = new Tensor(ids, [1, T], 'int32');
      const logits = noGrad(() => model.forward(x).logits);
      const V = config.vocab_size;
      // mean next-token cross-entropy over positions 0..T-2 (null for a single token)
      const loss =
        T > 1 ? noGrad(() => crossEntropy(narrow(logits, 1, 0, T - 1), narrow(x, 1, 1, T - 1))).item() : null;
      if (o.json) {
        console.log(JSON.stringify({ shape: [T, V], logits: Array.from(logits.data), loss }));
        return;
      }
      for (let t = 0; t < T; t++) {
        const row = logits.data.subarray(t * V, (t + 1) * V);
        let best = 0;
        for (let v = 1; v < V; v++) if (row[v] > row[best]) best = v;
        const head = Array.from(row.subarray(0, Math.min(6, V)), (v) => v.toFixed(4)).join(', ');
        console.log(`pos ${t} id ${ids[t]}: argmax ${best}  [${head}${V > 6 ? ', ...' : ''}]`);
      }
      console.log(
        loss === null
          ? 'loss: n/a (one token)'
          : `loss: ${loss.toFixed(6)} (mean next-token cross-entropy over ${T - 1} positions)`,
      );
    });
}
