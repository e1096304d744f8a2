/**
 * The worker side of test/hostile/sandbox.ts: runs one parser on one input and posts what happened (a summary of the
 * value, or the thrown value's class and message). It runs in a worker thread so that the test can stop a hang (a
 * regex that backtracks for ever) and survive an out-of-memory crash.
 */
import { parentPort } from 'node:worker_threads';
import { loadSafetensors } from '../../src/io/safetensors.js';
import { parseConfig } from '../../src/models/config.js';
import { Tokenizer } from '../../src/data/tokenizer.js';
import { readDocuments } from '../../src/data/readers.js';
import { loadJsonlProblems } from '../../src/rl/problems.js';

export type Op = 'safetensors' | 'config' | 'tokenizer' | 'jsonl-docs' | 'jsonl-problems';

/** What one run gave: a value (summarised) or a throw (`isError`: an Error instance). */
export type Outcome =
  | { kind: 'value'; value: unknown }
  | { kind: 'throw'; isError: boolean; name: string; message: string }
  | { kind: 'hang'; ms: number }
  | { kind: 'crash'; message: string };

/** Token strings (vocabulary and added tokens) whose id does not map back to them, or vice versa. */
function inconsistentIds(tok: Tokenizer, json: Record<string, unknown>): string[] {
  const bad: string[] = [];
  const model = json.model as Record<string, unknown>;
  const vocab = Object.entries(model.vocab as Record<string, number>);
  const added = ((json.added_tokens ?? []) as { id: number; content: string }[]).map((t) => [t.content, t.id] as const);
  for (const [s, id] of [...vocab, ...added]) {
    if (tok.tokenToId(s) !== id || tok.idToToken(id) !== s) bad.push(`${JSON.stringify(s).slice(0, 40)} <-> ${id}`);
    if (bad.length >= 3) break;
  }
  return bad;
}

async function runOp(op: Op, input: Record<string, unknown>): Promise<unknown> {
  switch (op) {
    case 'safetensors': {
      const tensors = loadSafetensors(input.bytes as Uint8Array, { name: 'fuzz.safetensors' });
      let bytes = 0;
      for (const t of tensors.values()) bytes += t.data.byteLength;
      return { count: tensors.size, bytes };
    }
    case 'config': {
      const { config, warnings } = parseConfig(JSON.parse(input.text as string), 'fuzz.json');
      const { extra: _extra, ...fields } = config; // extra holds arbitrary (possibly deeply nested) JSON
      return { config: fields, warnings };
    }
    case 'tokenizer': {
      const json = JSON.parse(input.text as string);
      const tok = Tokenizer.fromJSON(json, {}, 'fuzz.json');
      const encoded = (input.probes as string[]).map((p) => {
        const ids = tok.encode(p);
        const outOfRange = ids.filter((id) => !(Number.isInteger(id) && id >= 0 && id < tok.vocabSize));
        return { n: ids.length, outOfRange: outOfRange.slice(0, 3), text: tok.decode(ids) };
      });
      return { vocabSize: tok.vocabSize, inconsistent: inconsistentIds(tok, json), encoded };
    }
    case 'jsonl-docs': {
      const texts: string[] = [];
      for await (const d of readDocuments([input.file as string])) texts.push(d.text);
      return texts;
    }
    case 'jsonl-problems':
      return loadJsonlProblems(input.file as string).map((p) => [p.question, p.answer]);
  }
}

parentPort?.on('message', async (msg: { id: number; op: Op; input: Record<string, unknown> }) => {
  let outcome: Outcome;
  try {
    outcome = { kind: 'value', value: await runOp(msg.op, msg.input) };
  } catch (e) {
    const isError = e instanceof Error;
    outcome = {
      kind: 'throw',
      isError,
      name: isError ? e.name : typeof e,
      message: isError ? e.message : String(e),
    };
  }
  parentPort?.postMessage({ id: msg.id, outcome });
});
parentPort?.postMessage({ ready: true });
