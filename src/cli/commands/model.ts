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
import { type WeightsInMemory, loadModelDir, modelDirFiles, readConfigFile, saveModelDir } from '../../io/model_dir.js';
import { Tensor, noGrad } from '../../tensor/tensor.js';
import { crossEntropy, narrow } from '../../tensor/ops/index.js';
import { SEED_RANGE, flagsOf, ints, nums } from '../flags.js';
import { warn } from '../warn.js';
import { formatBytes, formatCount } from '../../util/format.js';

function fmtB(n: number): string {
  return n >= 1e9
    ? `${(n / 1e9).toFixed(2)}B`
    : n >= 1e6
      ? `${(n / 1e6).toFixed(2)}M`
      : n >= 1e3
        ? `${(n / 1e3).toFixed(1)}K`
        : String(n);
}

/** Token ids per `logits` call at most (the model's context bounds them further). */
const MAX_IDS = 1 << 16;

export function registerModel(program: Command): void {
  const params = program
    .command('params')
    .description('count total, activated (per token, incl. embedding and head) and MTP parameters of a config');
  params
    .addOption(
      flagsOf(params)
        .input('--config <file>', 'Hugging Face config.json (deepseek_v3, deepseek_v2, qwen2, llama)', 'file or dir')
        .makeOptionMandatory(),
    )
    .option('--json', 'print {"total", "activated", "mtp"}')
    .action((o: { config: string; json?: boolean }) => {
      const { config, warnings } = readConfigFile(o.config);
      warn(...warnings);
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

  const init = program
    .command('init')
    .description('write a randomly initialised model (normal, std 0.006) as DIR/config.json + DIR/model.safetensors');
  const fi = flagsOf(init);
  init
    .addOption(fi.input('--config <file>', 'Hugging Face config.json', 'file or dir').makeOptionMandatory())
    .requiredOption('--out <dir>', 'output directory')
    .addOption(fi.int('--seed <n>', 'init seed', SEED_RANGE, 0))
    .addOption(fi.num('--init-std <x>', 'std of the normal init', nums(0, Infinity, true), 0.006))
    .option(
      '--overwrite',
      'replace a model already in --out (with its tokenizer files, which would not fit the new weights)',
    )
    .action((o: { config: string; out: string; seed: number; initStd: number; overwrite?: boolean }) => {
      const existing = modelDirFiles(o.out, true);
      if (existing.length && !o.overwrite)
        throw new Error(
          `init: ${o.out} already holds a model (${existing.join(', ')}); use --overwrite to replace it, or another --out`,
        );
      const { config, warnings } = readConfigFile(o.config);
      warn(...warnings);
      const p = countParams(config);
      if ((p.total + p.mtp) * 4 > 8 * 2 ** 30) {
        throw new Error(
          `init: ${formatCount(p.total + p.mtp)} parameters need ${formatBytes((p.total + p.mtp) * 4)} of float32; too large for this tool (limit 8 GiB)`,
        );
      }
      const t0 = performance.now();
      const model = createModel(config, { seed: o.seed, initStd: o.initStd });
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

  const logitsCmd = program
    .command('logits')
    .description('run a model on token ids; prints logits of every position and the mean next-token loss');
  const fl = flagsOf(logitsCmd);
  logitsCmd
    .addOption(
      fl.input('--model <dir>', 'model directory (config.json + model.safetensors)', 'dir').makeOptionMandatory(),
    )
    .addOption(
      fl.numberList('--ids <list>', 'token ids, e.g. 3,1,4,1,5', ints(0, 2 ** 31 - 1), MAX_IDS).makeOptionMandatory(),
    )
    .addOption(fl.weights())
    .option('--json', 'print {"shape": [T, V], "logits": [...], "loss": number|null}')
    .action((o: { model: string; ids: number[]; weights: WeightsInMemory; json?: boolean }) => {
      const { model, config, warnings } = loadModelDir(o.model, { weights: o.weights });
      warn(...warnings);
      const V = config.vocab_size;
      o.ids.forEach((id, i) => {
        if (id >= V) throw new Error(`logits: --ids item ${i + 1} is ${id}, outside the model's vocabulary [0, ${V})`);
      });
      const ids = Int32Array.from(o.ids);
      const T = ids.length;
      if (T > config.max_position_embeddings)
        throw new Error(
          `logits: --ids has ${T} tokens, more than the model's context of ${config.max_position_embeddings} positions (max_position_embeddings in ${o.model}/config.json)`,
        );
      model.eval();
      const x = new Tensor(ids, [1, T], 'int32');
      const logits = noGrad(() => model.forward(x).logits);
      // mean next-token cross-entropy over positions 0..T-2 (null for a single token)
      const loss =
        T > 1 ? noGrad(() => crossEntropy(narrow(logits, 1, 0, T - 1), narrow(x, 1, 1, T - 1))).item() : null;
      // JSON has no NaN (it would print as null, like the one-token case), so a non-finite result is said on stderr.
      let nonFinite = 0;
      for (const v of logits.data) if (!Number.isFinite(v)) nonFinite++;
      const why = `${nonFinite} of ${logits.size} logits are NaN or infinite; see the warnings about the weights`;
      if (loss !== null && !Number.isFinite(loss))
        process.stderr.write(`warning: logits: the loss is ${loss}: ${why}\n`);
      else if (nonFinite) process.stderr.write(`warning: logits: ${why}\n`);
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
          : Number.isFinite(loss)
            ? `loss: ${loss.toFixed(6)} (mean next-token cross-entropy over ${T - 1} positions)`
            : `loss: ${loss} (not a number: ${why})`,
      );
    });
}
