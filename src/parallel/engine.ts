/**
 * Pipeline-parallel training over worker threads: one worker per rank runs its program from ./schedule.ts (1F1B,
 * ZB1P, DualPipe, DualPipeV) on its stage modules (./worker.ts). This file is the main-thread side: it builds the
 * initial parameters, starts the workers, splits a batch into micro-batches, feeds them in at the pipeline's entry
 * ranks, collects the losses, and reads gradients and parameters back. `sequentialStep` is the simple path beside it:
 * the same stages run one after another in this thread on the whole batch; tests require the two to agree.
 *
 * Not here: overlapping a forward with a backward inside one rank (a worker is one thread), data or expert
 * parallelism, optimizers other than plain SGD (enough to show that the copies stay in sync over several steps).
 *
 * Workers run worker.ts through tsx when this file runs as TypeScript (tests) and the compiled dist/ worker otherwise.
 */
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { Tensor } from '../tensor/tensor.js';
import '../tensor/index.js'; // ops on tensors and the registered backends; the workers get this thread's choice
import { getBackend } from '../backend/registry.js';
import { startWorkerScript } from '../util/spawn.js';
import { type Method, type Schedule, buildSchedule, rankOf, stagesOfRank } from './schedule.js';
import { type PipelineModel, type PipelineModelSpec, type StageModule, loadPipelineModel } from './stage.js';
import { type Costs, type SimResult, resultFromTimelines } from './simulate.js';
import {
  type MainToWorker,
  type NamedPayloads,
  type StepReport,
  type TensorPayload,
  type WorkerInit,
  type WorkerToMain,
  fromPayload,
  toPayload,
  transfers,
} from './wire.js';

export interface PipelineOptions {
  method: Method;
  /** Pipeline stages. */
  pp: number;
  /** Micro-batches per step (DualPipe: the first half enters at rank 0, the second half at rank PP-1). */
  microBatches: number;
  model: PipelineModelSpec;
  /** A step that takes longer fails (default 120 s), instead of hanging on a lost message. */
  timeoutMs?: number;
}

/** Parameters or gradients of one stage, by name. */
export type StageTensors = Map<string, Tensor>;

export interface PipelineStepResult {
  /** Mean over micro-batches of the per-micro-batch loss. */
  loss: number;
  /** Per micro-batch, in batch order. */
  microLosses: number[];
  wallMs: number;
  /** Per rank: time computing, time waiting for inputs, time in the gradient sum + update; and the step timeline. */
  ranks: StepReport[];
}

const toTensors = (named: NamedPayloads): StageTensors => new Map(named.map(([n, p]) => [n, fromPayload(p)]));
const toNamed = (m: StageTensors): NamedPayloads => [...m].map(([n, t]) => [n, toPayload(t)]);

/** Starts the rank's worker script (./worker.ts through tsx under TypeScript, dist/parallel/worker.js compiled). */
function startWorker(workerData: WorkerInit, transferList: MessagePort[]): Worker {
  return startWorkerScript(import.meta.url, 'worker', { workerData, transferList });
}

/** Splits rows of `t` into n equal micro-batches (copies). */
export function splitRows(t: Tensor, n: number, what: string): TensorPayload[] {
  const rows = t.shape[0];
  if (t.ndim === 0 || rows % n !== 0)
    throw new Error(`pipeline: ${what} with ${t.ndim ? rows : 0} rows does not split into ${n} micro-batches`);
  const per = t.size / n;
  return Array.from({ length: n }, (_, i) => ({
    data: t.data.slice(i * per, (i + 1) * per),
    shape: [rows / n, ...t.shape.slice(1)],
    dtype: t.dtype,
  }));
}

/** A message to a worker before it gets its id. */
type Request = MainToWorker extends infer T ? (T extends unknown ? Omit<T, 'id'> : never) : never;

interface Pending {
  resolve: (m: WorkerToMain & { type: 'ok' }) => void;
  reject: (e: Error) => void;
}

export class PipelineTrainer {
  private nextId = 1;
  private readonly pending: Map<number, Pending>[];
  private closed = false;

  private constructor(
    readonly schedule: Schedule,
    private readonly workers: Worker[],
    private readonly timeoutMs: number,
  ) {
    this.pending = workers.map(() => new Map());
  }

  /**
   * Builds the schedule (validating PP and micro-batches), the initial parameters of every stage (from the model
   * spec, in this thread), and starts one worker per rank with its stages' parameters.
   */
  static async create(o: PipelineOptions): Promise<PipelineTrainer> {
    const schedule = buildSchedule({ method: o.method, pp: o.pp, microBatches: o.microBatches });
    const model = await loadPipelineModel(o.model);
    const initial = Array.from({ length: o.pp }, (_, s) => new Map(model.buildStage(s, o.pp).namedParameters()));
    const channels: (MessagePort | null)[][] = Array.from({ length: schedule.ranks }, () =>
      new Array(schedule.ranks).fill(null),
    );
    for (let a = 0; a < schedule.ranks; a++) {
      for (let b = a + 1; b < schedule.ranks; b++) {
        const { port1, port2 } = new MessageChannel();
        channels[a][b] = port1;
        channels[b][a] = port2;
      }
    }
    const ready: Promise<void>[] = [];
    const workers = channels.map((ports, rank) => {
      const data: WorkerInit = {
        rank,
        method: o.method,
        pp: o.pp,
        microBatches: o.microBatches,
        model: o.model,
        backend: getBackend(),
        ports,
      };
      const w = startWorker(
        data,
        ports.filter((p): p is MessagePort => p !== null),
      );
      ready.push(
        new Promise((resolve, reject) => {
          w.once('message', () => resolve());
          w.once('error', (e) => reject(new Error(`pipeline: rank ${rank} failed to start: ${e.message}`)));
        }),
      );
      return w;
    });
    try {
      await Promise.all(ready);
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
    const t = new PipelineTrainer(schedule, workers, o.timeoutMs ?? 120_000);
    workers.forEach((w, rank) => t.listen(w, rank));
    try {
      await t.loadParameters(initial);
    } catch (e) {
      await t.close(); // never leave workers running (the process would hang instead of failing)
      throw e;
    }
    return t;
  }

  private listen(w: Worker, rank: number): void {
    w.on('message', (m: WorkerToMain) => {
      const p = this.pending[rank].get(m.id);
      if (!p) return;
      this.pending[rank].delete(m.id);
      if (m.type === 'ok') p.resolve(m);
      else p.reject(new Error(`pipeline ${this.schedule.method}: rank ${rank}: ${m.message}`));
    });
    w.on('error', (e) => {
      for (const p of this.pending[rank].values())
        p.reject(new Error(`pipeline ${this.schedule.method}: rank ${rank} crashed: ${e.message}`));
      this.pending[rank].clear();
    });
  }

  private request(rank: number, msg: Request, transfer: ArrayBuffer[] = []): Promise<WorkerToMain & { type: 'ok' }> {
    if (this.closed) throw new Error('pipeline: trainer is closed');
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending[rank].delete(id);
        reject(
          new Error(
            `pipeline ${this.schedule.method}: rank ${rank} did not answer '${msg.type}' within ${this.timeoutMs} ms`,
          ),
        );
      }, this.timeoutMs);
      this.pending[rank].set(id, {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.workers[rank].postMessage({ ...msg, id } as MainToWorker, transfer);
    });
  }

  /** Replaces every stage's parameters (all copies): `params[s]` for stage s. */
  async loadParameters(params: StageTensors[]): Promise<void> {
    await Promise.all(
      this.workers.map((_, rank) => {
        const slots = stagesOfRank(this.schedule, rank).map((s) => toNamed(params[s]));
        return this.request(
          rank,
          { type: 'load', params: slots },
          transfers(slots.flatMap((x) => x.map(([, p]) => p))),
        );
      }),
    );
  }

  /**
   * One training step on a batch: x (rows, ...) and target (rows, ...) are split into micro-batches by rows. Gradients
   * are left in the workers (read them with `gradients()`); with lr > 0 each rank applies p -= lr * grad.
   */
  async step(x: Tensor, target: Tensor, opts: { lr?: number } = {}): Promise<PipelineStepResult> {
    const s = this.schedule;
    const xs = splitRows(x, s.microBatches, 'input');
    const ts = splitRows(target, s.microBatches, 'target');
    const inputs: [string, TensorPayload][][] = this.workers.map(() => []);
    const targets: [string, TensorPayload][][] = this.workers.map(() => []);
    const keyOfGlobal: string[] = [];
    for (let g = 0; g < s.microBatches; g++) {
      const dir = (s.directions === 2 && g >= s.perDirection ? 1 : 0) as 0 | 1;
      const mb = g - dir * s.perDirection;
      inputs[rankOf(s, dir, 0)].push([`${dir}/0/${mb}`, xs[g]]);
      targets[rankOf(s, dir, s.pp - 1)].push([`${dir}/${s.pp - 1}/${mb}`, ts[g]]);
      keyOfGlobal.push(`${dir}/${s.pp - 1}/${mb}`);
    }
    const t0 = performance.now();
    const origin = performance.timeOrigin + t0;
    const replies = await Promise.all(
      this.workers.map((_, r) =>
        this.request(
          r,
          { type: 'step', inputs: inputs[r], targets: targets[r], lr: opts.lr ?? 0, origin },
          transfers([...inputs[r], ...targets[r]].map(([, p]) => p)),
        ),
      ),
    );
    const wallMs = performance.now() - t0;
    const reports = replies.map((m) => m.report!);
    const byKey = new Map(reports.flatMap((r) => r.losses));
    const microLosses = keyOfGlobal.map((k) => {
      const v = byKey.get(k);
      if (v === undefined) throw new Error(`pipeline: no loss came back for micro-batch ${k}`);
      return v;
    });
    const loss = microLosses.reduce((a, b) => a + b, 0) / microLosses.length;
    return { loss, microLosses, wallMs, ranks: reports };
  }

  private async readAll(type: 'grads' | 'params'): Promise<StageTensors[][]> {
    const replies = await Promise.all(this.workers.map((_, r) => this.request(r, { type })));
    return replies.map((m) => m.tensors!.map(toTensors));
  }

  /** Every copy of every stage: result[s] lists stage s's tensors on each rank/slot that holds it. */
  private async copies(type: 'grads' | 'params'): Promise<StageTensors[][]> {
    const all = await this.readAll(type);
    const out: StageTensors[][] = Array.from({ length: this.schedule.pp }, () => []);
    all.forEach((slots, rank) => slots.forEach((t, slot) => out[stagesOfRank(this.schedule, rank)[slot]].push(t)));
    return out;
  }

  /** Gradients of the last step per stage, and every copy of them (DualPipe holds each stage twice). */
  async gradients(): Promise<{ stages: StageTensors[]; copies: StageTensors[][] }> {
    const copies = await this.copies('grads');
    return { stages: copies.map((c) => c[0]), copies };
  }

  /** Current parameters per stage, and every copy. */
  async parameters(): Promise<{ stages: StageTensors[]; copies: StageTensors[][] }> {
    const copies = await this.copies('params');
    return { stages: copies.map((c) => c[0]), copies };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/**
 * The single-process reference: builds all stages in this thread with `params`, runs them one after another on the
 * whole batch, and returns the loss and each stage's gradients (with lr > 0 it also applies p -= lr * grad to a copy
 * of the parameters and returns them).
 */
export async function sequentialStep(
  spec: PipelineModelSpec,
  params: StageTensors[],
  x: Tensor,
  target: Tensor,
  opts: { lr?: number } = {},
): Promise<{ loss: number; grads: StageTensors[]; params: StageTensors[] }> {
  const model: PipelineModel = await loadPipelineModel(spec);
  const pp = params.length;
  const stages: StageModule[] = params.map((p, s) => {
    const m = model.buildStage(s, pp);
    m.loadStateDict(p);
    return m;
  });
  let h = x;
  for (const m of stages) h = m.forward(h);
  const loss = model.loss(h, target);
  loss.backward();
  const lr = opts.lr ?? 0;
  const grads = stages.map((m) => new Map(m.namedParameters().map(([n, p]): [string, Tensor] => [n, p.grad!])));
  const next = stages.map(
    (m) =>
      new Map(
        m.namedParameters().map(([n, p]): [string, Tensor] => {
          const d = p.data.slice();
          if (lr > 0) for (let i = 0; i < d.length; i++) d[i] -= lr * p.grad!.data[i];
          return [n, new Tensor(d, p.shape, p.dtype)];
        }),
      ),
  );
  return { loss: loss.item(), grads, params: next };
}

/**
 * A measured step as a `SimResult` (time in ms) so `renderText` / `renderSvg` can draw what really happened. Its
 * `costs` are the mean measured durations per step kind (B from full backwards, or BI + W when every B was split;
 * comm = 0 because transfers are inside the waits). Bubble per rank = wall time of the program minus compute.
 */
export function measuredResult(schedule: Schedule, r: PipelineStepResult): SimResult {
  const sums: Record<string, [number, number]> = {};
  const timelines = r.ranks.map((rep, i) =>
    rep.timeline.map((t) => {
      const step = schedule.programs[i][t.step];
      const e = (sums[step.op] ??= [0, 0]);
      e[0] += t.end - t.start;
      e[1]++;
      return { step, start: t.start, end: t.end };
    }),
  );
  const mean = (k: string): number => (sums[k] ? sums[k][0] / sums[k][1] : 0);
  const W = mean('W');
  const costs: Costs = { F: mean('F'), B: sums.B ? mean('B') : mean('BI') + W, W, FB: mean('FB'), comm: 0 };
  return resultFromTimelines(schedule, costs, timelines);
}
