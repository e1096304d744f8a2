/**
 * One data-parallel rank in a worker thread: a replica of the model (built from the main model's config, switched to
 * the same precision) that, per step, copies the current parameters and buffers in from the shared buffer, runs
 * forward and backward of each micro-batch it is given with `.grad` cleared before each, and sends back per
 * micro-batch the losses and the packed gradients (a transferred buffer), plus the model's step counters (MoE expert
 * loads).
 *
 * Started by ./data_parallel.ts; not meant to be run directly.
 */
import { parentPort, workerData } from 'node:worker_threads';
import '../tensor/index.js';
import { getBackend, setBackend } from '../backend/registry.js';
import { createModel } from '../models/index.js';
import { setModelPrecision } from '../fp8/precision.js';
import { fromPayload } from '../parallel/wire.js';
import { type DpMicroReply, type DpReply, type DpRequest, type DpWorkerInit, runMicroBatch } from './data_parallel.js';
import { layoutOf, replicaState, viewOf } from '../tensor/shared.js';

const init = workerData as DpWorkerInit;
if (getBackend() !== init.backend) setBackend(init.backend);
const model = createModel(init.config);
if (init.precision) setModelPrecision(model, init.precision);
model.train();

const state = replicaState(model.stateDict(), init.stateSlots, init.state);
const params = model.parameters();
const gradLayout = layoutOf(model.namedParameters());
if (gradLayout.slots.map((s) => s.name).join('\n') !== init.gradSlots.map((s) => s.name).join('\n'))
  throw new Error("the replica's parameters differ from the main model's");

function step(msg: DpRequest): DpReply {
  state.copyIn();
  const micro = msg.micro.map((m): DpMicroReply => {
    model.zeroGrad();
    const result = runMicroBatch(
      model,
      { inputs: fromPayload(m.inputs), targets: fromPayload(m.targets), weight: m.weight },
      msg.settings,
    );
    const grads = new ArrayBuffer(gradLayout.bytes);
    const has = new Uint8Array(params.length);
    params.forEach((p, i) => {
      if (!p.grad) return;
      viewOf(grads, gradLayout.slots[i]).set(p.grad.data);
      has[i] = 1;
    });
    return { result, grads, has };
  });
  model.zeroGrad();
  return { id: msg.id, type: 'ok', micro, counters: model.takeStepCounters() };
}

parentPort!.on('message', (msg: DpRequest) => {
  let reply: DpReply;
  try {
    reply = step(msg);
  } catch (e) {
    reply = { id: msg.id, type: 'error', message: e instanceof Error ? e.message : String(e) };
  }
  parentPort!.postMessage(reply, reply.type === 'ok' ? reply.micro.map((m) => m.grads) : []);
});
parentPort!.postMessage({ id: 0, type: 'ready' } satisfies DpReply);
