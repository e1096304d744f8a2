/**
 * One generation worker thread: a replica of the model (built from the main model's config) that, per request,
 * copies the current parameters and buffers in from the shared buffer and runs `generate` on the prompts it is
 * given, decoding with its own copy of the codec. Started by ./workers.ts; not meant to be run directly.
 */
import { parentPort, workerData } from 'node:worker_threads';
import '../tensor/index.js';
import { getBackend, setBackend } from '../backend/registry.js';
import { createModel } from '../models/index.js';
import { replicaState } from '../tensor/shared.js';
import { generate } from './generate.js';
import { type GenReply, type GenRequest, type GenWorkerInit, codecFromSpec } from './workers.js';

const init = workerData as GenWorkerInit;
const port = parentPort!;
try {
  if (getBackend() !== init.backend) setBackend(init.backend);
  const model = createModel(init.config);
  model.eval();
  const state = replicaState(model.stateDict(), init.slots, init.state);
  const codec = init.codec ? codecFromSpec(init.codec) : null;
  port.on('message', (msg: GenRequest) => {
    let reply: GenReply;
    try {
      state.copyIn();
      const { decode, ...opts } = msg.opts;
      const gens = generate(model, msg.prompts, {
        ...opts,
        decode: decode && codec ? (ids) => codec.decode(ids) : undefined,
      });
      reply = { id: msg.id, type: 'ok', gens };
    } catch (e) {
      reply = { id: msg.id, type: 'error', message: e instanceof Error ? e.message : String(e) };
    }
    port.postMessage(reply);
  });
  port.postMessage({ id: 0, type: 'ready' } satisfies GenReply);
} catch (e) {
  port.postMessage({ id: 0, type: 'error', message: e instanceof Error ? e.message : String(e) } satisfies GenReply);
}
