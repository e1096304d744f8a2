/**
 * `r1ts export gguf`: a model directory (config.json + safetensors + tokenizer.json) as one GGUF file that llama.cpp
 * and the tools built on it run.
 *   r1ts export gguf --model DIR --out FILE.gguf [--dtype f32|f16|bf16|q8_0] [--tokenizer FILE] [--overwrite]
 * The layouts and refusals live in src/io/gguf_model.ts (model) and src/data/gguf_vocab.ts (tokenizer); this file
 * parses the flags, loads, writes and reports. Settings llama.cpp cannot represent stop the export with one line.
 */
import * as path from 'node:path';
import type { Command } from 'commander';
import { ggufVocab } from '../../data/gguf_vocab.js';
import { writeGguf } from '../../io/gguf.js';
import { GGUF_DTYPES, type GgufDtype, checkLlamaCppSupport, modelToGguf } from '../../io/gguf_model.js';
import { loadModelAndTokenizer } from '../../io/load.js';
import { createParentDir, flagsOf, shownDefault } from '../flags.js';
import { warn } from '../warn.js';

interface ExportGgufFlags {
  model: string;
  out: string;
  dtype: GgufDtype;
  tokenizer?: string;
}

function mb(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} MB` : `${(n / 1e3).toFixed(1)} kB`;
}

export function registerExport(program: Command): void {
  const exp = program.command('export').description("write a model in another runtime's format (gguf: llama.cpp)");
  const gguf = exp
    .command('gguf')
    .description(
      'write DIR as a GGUF file for llama.cpp (deepseek_v3/v2 -> deepseek2, qwen2, llama), tokenizer included',
    );
  const f = flagsOf(gguf);
  gguf
    .addOption(
      f
        .input('--model <dir>', 'model directory (config.json, model.safetensors, tokenizer.json)', 'dir')
        .makeOptionMandatory(),
    )
    .addOption(f.output('--out <file>', 'GGUF file to write (atomically; its folder is created)').makeOptionMandatory())
    .addOption(f.overwrite('replace the --out file if it exists'))
    .addOption(f.choice('--dtype <type>', 'storage of the weight matrices', GGUF_DTYPES, 'f32'))
    .addOption(
      f.input('--tokenizer <file>', 'tokenizer.json', 'file or dir', false, shownDefault('the one in --model')),
    )
    .action((o: ExportGgufFlags) => {
      const t0 = performance.now();
      createParentDir('export gguf', '--out', o.out);
      // A BF16 dense checkpoint stays bf16 in memory (half of float32's): released sizes export within memory.
      const { model, tok, warnings } = loadModelAndTokenizer(o.model, o.tokenizer, { weights: 'auto' });
      warn(...warnings);
      checkLlamaCppSupport(model.config);
      const vocab = ggufVocab(tok, model.config.vocab_size);
      const g = modelToGguf(model, {
        dtype: o.dtype,
        vocab,
        name: path.basename(path.resolve(o.model)),
      });
      const bytes = writeGguf(o.out, g);
      const types = new Map<string, number>();
      for (const t of g.tensors) types.set(t.type, (types.get(t.type) ?? 0) + 1);
      const mix = [...types].map(([t, n]) => `${t.toLowerCase()} ${n}`).join(', ');
      const s = ((performance.now() - t0) / 1000).toFixed(1);
      console.log(
        `wrote ${o.out}: llama.cpp architecture ${g.arch}, ${g.tensors.length} tensors (${mix}), ${mb(bytes)} in ${s} s`,
      );
      const unused = vocab.tokens.length - tok.vocabSize;
      console.log(
        `tokenizer: ${tok.vocabSize} tokens${unused ? ` + ${unused} unused up to vocab_size ${vocab.tokens.length}` : ''}, ${vocab.merges.length} merges, pre-tokenizer ${vocab.pre}`,
      );
      for (const n of [...g.notes, ...vocab.notes]) console.log(`note: ${n}`);
    });
}
