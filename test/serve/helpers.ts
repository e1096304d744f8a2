/**
 * Serving test helpers: a toy DeepSeek-V3 (with an MTP module) and a BPE tokenizer, taught one conversation so that
 * greedy decoding answers it with a known chain of thought and answer (`QUESTION` -> `REASONING</think>ANSWER`); and
 * a server over it on 127.0.0.1 with an ephemeral port.
 */
import { Tokenizer } from '../../src/data/tokenizer.js';
import { applyChatTemplate } from '../../src/data/chat.js';
import { addTask } from '../../src/data/tasks/index.js';
import { type CausalLM, createModel } from '../../src/models/index.js';
import { AdamW } from '../../src/optim/adamw.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { generate } from '../../src/infer/generate.js';
import { type RunningServer, type ServeOptions, startServer } from '../../src/serve/server.js';
import { tinyDeepseek } from '../models/helpers.js';

export const QUESTION = 'What is 2 + 2?';
export const REASONING = '2 plus 2 makes 4.\n';
export const ANSWER = '\n\nThe answer is 4.';

export interface Taught {
  model: CausalLM;
  tok: Tokenizer;
  /** The conversation's token ids: the prompt (with the generation prompt) and the whole sequence. */
  prompt: number[];
  sequence: number[];
}

let cached: Promise<Taught> | null = null;

/** The taught model (made once per process, about a second). */
export function taughtModel(): Promise<Taught> {
  cached ??= teach();
  return cached;
}

async function teach(): Promise<Taught> {
  const texts = addTask.problems(40, { difficulty: 1 }).map((p) => `${p.prompt} ${addTask.solution(p)}`);
  const tok = await Tokenizer.train([...texts, QUESTION, REASONING + ANSWER], { vocabSize: 300 });
  const model = createModel(tinyDeepseek({ vocab_size: tok.vocabSize, max_position_embeddings: 256 }), {
    seed: 0,
    initStd: 0.1,
  });
  const messages = [{ role: 'user', content: QUESTION }];
  const promptText = applyChatTemplate(tok, messages, { addGenerationPrompt: true });
  const full = applyChatTemplate(tok, [
    ...messages,
    { role: 'assistant', content: `<think>\n${REASONING}</think>${ANSWER}` },
  ]);
  const prompt = tok.encode(promptText, { addSpecialTokens: false });
  const sequence = tok.encode(full, { addSpecialTokens: false });
  const T = sequence.length - 1;
  const ids = new Tensor(Int32Array.from(sequence.slice(0, T)), [1, T], 'int32');
  const targets = new Tensor(Int32Array.from(sequence.slice(1)), [1, T], 'int32');
  const opt = new AdamW(model.namedParameters(), { lr: 1e-2 });
  for (let step = 0; step < 50; step++) {
    const { loss } = model.computeLoss(ids, targets, { mtpLambda: 1 });
    loss.backward();
    opt.step();
    opt.zeroGrad();
  }
  model.eval();
  const [g] = generate(model, [prompt], { maxTokens: 64, temperature: 0, eosId: tok.eosId });
  if (g.tokens.join() !== sequence.slice(prompt.length).join())
    throw new Error(`test helper: the toy model did not learn its answer: ${JSON.stringify(tok.decode(g.tokens))}`);
  return { model, tok, prompt, sequence };
}

/** A server over the taught model (port 0, quiet), with `opts` on top. */
export async function taughtServer(opts: Partial<ServeOptions> = {}): Promise<RunningServer & Taught> {
  const t = await taughtModel();
  const server = await startServer({ model: t.model, tokenizer: t.tok, name: 'toy', port: 0, ...opts });
  return Object.assign(server, t);
}
