/**
 * One pipeline rank in a worker thread: builds its stage modules (one, or two for DualPipe / DualPipeV), runs its
 * schedule program step by step, exchanges activations and input gradients with the other ranks over MessagePorts
 * (transferred buffers), sums the gradients of mirrored stage copies (DualPipe) and applies plain SGD when asked.
 *
 * Started by ./engine.ts; not meant to be run directly. A step waits only for the values it consumes (sends never
 * block), so any program that the simulator runs without deadlock runs here too.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { Tensor } from '../tensor/tensor.js';
import { allocArray } from '../tensor/dtype.js';
import '../tensor/index.js';
import { getBackend, setBackend } from '../backend/registry.js';
import { type Chunk, buildSchedule, rankOf, slotOf, stagesOfRank } from './schedule.js';
import {
  type SavedChunk,
  type StageModule,
  backwardFull,
  backwardInput,
  backwardWeight,
  forwardChunk,
  loadPipelineModel,
} from './stage.js';
import {
  type MainToWorker,
  type NamedPayloads,
  type PeerMessage,
  type StepReport,
  type StepTiming,
  type TensorPayload,
  type WorkerInit,
  type WorkerToMain,
  fromPayload,
  toPayload,
  transfers,
} from './wire.js';

const init = workerData as WorkerInit;
if (getBackend() !== init.backend) setBackend(init.backend);
const { rank, pp, microBatches } = init;
const schedule = buildSchedule({ method: init.method, pp, microBatches });
const program = schedule.programs[rank];
const stageIds = stagesOfRank(schedule, rank);
const model = await loadPipelineModel(init.model);
const modules: StageModule[] = stageIds.map((s) => model.buildStage(s, pp));
const keyOf = (c: Chunk): string => `${c.dir}/${c.stage}/${c.mb}`;

// ---- mailbox: values from peers (or from this rank itself), awaited by key ----
const box = new Map<string, Tensor>();
const waiting = new Map<string, (t: Tensor) => void>();
let mirrorGrads: NamedPayloads[] | null = null;
let mirrorWaiter: ((g: NamedPayloads[]) => void) | null = null;

function deliver(key: string, t: Tensor): void {
  const w = waiting.get(key);
  if (w) {
    waiting.delete(key);
    w(t);
  } else box.set(key, t);
}

function receive(key: string): Tensor | Promise<Tensor> {
  const t = box.get(key);
  if (t) {
    box.delete(key);
    return t;
  }
  return new Promise((resolve) => waiting.set(key, resolve));
}

init.ports.forEach((port) => {
  port?.on('message', (m: PeerMessage) => {
    if (m.kind === 'mirror') {
      if (mirrorWaiter) {
        mirrorWaiter(m.grads);
        mirrorWaiter = null;
      } else mirrorGrads = m.grads;
    } else deliver(`${m.kind}:${m.key}`, fromPayload(m.t));
  });
});

function send(kind: 'act' | 'grad', to: Chunk, t: Tensor): void {
  const dest = rankOf(schedule, to.dir, to.stage);
  const key = keyOf(to);
  if (dest === rank) {
    deliver(`${kind}:${key}`, fromPayload(toPayload(t)));
    return;
  }
  const payload = toPayload(t);
  const msg: PeerMessage = { kind, key, t: payload };
  init.ports[dest]!.postMessage(msg, transfers([payload]));
}

// ---- one training step ----
async function runStep(
  inputs: Map<string, Tensor>,
  targets: Map<string, Tensor>,
  lr: number,
  origin: number,
): Promise<StepReport> {
  for (const m of modules) m.zeroGrad();
  const saved = new Map<string, SavedChunk>();
  const losses: [string, number][] = [];
  const timeline: StepTiming[] = [];
  // Times relative to the main thread's start of the step (performance.now() origins differ per thread).
  const t0 = origin - performance.timeOrigin;
  let computeMs = 0;
  let waitMs = 0;

  const inputOf = (c: Chunk): Tensor | Promise<Tensor> => {
    if (c.stage > 0) return receive(`act:${keyOf(c)}`);
    const x = inputs.get(keyOf(c));
    if (!x) throw new Error(`no input for micro-batch ${keyOf(c)}`);
    return x;
  };
  const gradOf = (c: Chunk): Tensor | null | Promise<Tensor> =>
    c.stage === pp - 1 ? null : receive(`grad:${keyOf(c)}`);

  const forward = (c: Chunk, x: Tensor): void => {
    const last = c.stage === pp - 1;
    const r = forwardChunk(modules[slotOf(schedule, c)], x, {
      first: c.stage === 0,
      last,
      model,
      target: last ? targets.get(keyOf(c)) : undefined,
      lossScale: 1 / microBatches,
    });
    saved.set(keyOf(c), r.saved);
    if (r.loss !== null) losses.push([keyOf(c), r.loss]);
    if (r.output) send('act', { ...c, stage: c.stage + 1 }, r.output);
  };
  const backward = (c: Chunk, gy: Tensor | null, split: boolean): void => {
    const s = saved.get(keyOf(c))!;
    const gx = split ? backwardInput(modules[slotOf(schedule, c)], s, gy) : backwardFull(s, gy);
    if (!split) saved.delete(keyOf(c));
    if (c.stage > 0) {
      if (!gx) throw new Error(`stage ${c.stage} produced no input gradient for ${keyOf(c)}`);
      send('grad', { ...c, stage: c.stage - 1 }, gx);
    }
  };

  for (let i = 0; i < program.length; i++) {
    const st = program[i];
    const waitStart = performance.now() - t0;
    let x: Tensor | null = null;
    let gy: Tensor | null = null;
    if (st.op === 'F') x = await inputOf(st.chunk);
    else if (st.op === 'B' || st.op === 'BI') gy = await gradOf(st.chunk);
    else if (st.op === 'FB') {
      x = await inputOf(st.f);
      gy = await gradOf(st.b);
    }
    const start = performance.now() - t0;
    if (st.op === 'F') forward(st.chunk, x!);
    else if (st.op === 'B') backward(st.chunk, gy, false);
    else if (st.op === 'BI') backward(st.chunk, gy, true);
    else if (st.op === 'W') {
      backwardWeight(saved.get(keyOf(st.chunk))!);
      saved.delete(keyOf(st.chunk));
    } else {
      // One thread cannot run the two halves concurrently; the pair runs back to back (see docs/dualpipe.md).
      forward(st.f, x!);
      backward(st.b, gy, false);
    }
    const end = performance.now() - t0;
    timeline.push({ step: i, waitStart, start, end });
    waitMs += start - waitStart;
    computeMs += end - start;
  }
  if (saved.size) throw new Error(`${saved.size} chunks still hold activations after the program`);

  const tail0 = performance.now();
  if (schedule.method === 'dualpipe') await sumMirrored();
  if (lr > 0) {
    for (const m of modules) {
      for (const p of m.parameters()) {
        if (!p.grad) continue;
        const g = p.grad.data;
        for (let j = 0; j < p.data.length; j++) p.data[j] -= lr * g[j];
      }
    }
  }
  return { losses, computeMs, waitMs, tailMs: performance.now() - tail0, timeline };
}

/** DualPipe: rank r's slot 0 and rank PP-1-r's slot 1 are the same stage; both end with the sum of the two. */
async function sumMirrored(): Promise<void> {
  const mirror = pp - 1 - rank;
  const mine = modules.map(namedGrads);
  const msg: PeerMessage = { kind: 'mirror', grads: mine };
  init.ports[mirror]!.postMessage(msg);
  const theirs =
    mirrorGrads ??
    (await new Promise<NamedPayloads[]>((resolve) => {
      mirrorWaiter = resolve;
    }));
  mirrorGrads = null;
  modules.forEach((m, slot) => {
    const other = new Map(theirs[1 - slot]);
    for (const [name, p] of m.namedParameters()) {
      const o = other.get(name);
      if (!o) throw new Error(`mirrored stage has no parameter ${name}`);
      const sum = p.grad ? p.grad.data.slice() : allocArray(p.dtype, p.size);
      for (let j = 0; j < sum.length; j++) sum[j] += o.data[j];
      p.grad = new Tensor(sum, p.shape, p.dtype);
    }
  });
}

function namedGrads(m: StageModule): NamedPayloads {
  return m.namedParameters().map(([name, p]): [string, TensorPayload] => {
    if (p.grad) return [name, toPayload(p.grad)];
    return [name, { data: allocArray(p.dtype, p.size), shape: [...p.shape], dtype: p.dtype }];
  });
}

function namedParams(m: StageModule): NamedPayloads {
  return m.namedParameters().map(([name, p]): [string, TensorPayload] => [name, toPayload(p)]);
}

function reply(m: WorkerToMain, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(m, transfer);
}

parentPort!.on('message', (msg: MainToWorker) => {
  void (async () => {
    try {
      if (msg.type === 'load') {
        modules.forEach((m, slot) => m.loadStateDict(new Map(msg.params[slot].map(([n, p]) => [n, fromPayload(p)]))));
        reply({ id: msg.id, type: 'ok' });
      } else if (msg.type === 'step') {
        const inputs = new Map(msg.inputs.map(([k, p]) => [k, fromPayload(p)]));
        const targets = new Map(msg.targets.map(([k, p]) => [k, fromPayload(p)]));
        reply({ id: msg.id, type: 'ok', report: await runStep(inputs, targets, msg.lr, msg.origin) });
      } else {
        const tensors = modules.map(msg.type === 'grads' ? namedGrads : namedParams);
        reply({ id: msg.id, type: 'ok', tensors }, transfers(tensors.flatMap((slot) => slot.map(([, p]) => p))));
      }
    } catch (e) {
      reply({ id: msg.id, type: 'error', message: e instanceof Error ? e.message : String(e) });
    }
  })();
});
parentPort!.postMessage({ id: 0, type: 'ok' } satisfies WorkerToMain);
