/**
 * A worker thread that runs parsers on hostile inputs with a time budget and a heap limit, for the property tests:
 * a run that does not answer within the budget is a hang (the worker is terminated, which stops even a backtracking
 * regex, and a fresh one is started for the next run); a worker that dies (out of memory) is a crash.
 */
import type { Worker } from 'node:worker_threads';
import { startWorkerScript } from '../../src/util/spawn.js';
import type { Op, Outcome } from './sandbox_worker.js';

export type { Op, Outcome };

export class Sandbox {
  private worker: Worker | null = null;
  /** Resolves once the worker has loaded its modules (startup is not counted in a run's budget). */
  private ready: Promise<void> = Promise.resolve();
  private nextId = 0;

  constructor(
    /** Heap limit of the worker (old generation), MB: an allocation beyond it is a crash. */
    readonly heapMB = 512,
  ) {}

  private start(): Worker {
    if (!this.worker) {
      this.worker = startWorkerScript(import.meta.url, 'sandbox_worker', {
        // the heap bound, and a 1 MB stack like the CLI's main thread (a worker's default is 4 MB)
        resourceLimits: { maxOldGenerationSizeMb: this.heapMB, stackSizeMb: 1 },
      });
      this.worker.unref();
      const w = this.worker;
      this.ready = new Promise((resolve, reject) => {
        w.once('message', () => resolve());
        w.once('error', reject);
      });
    }
    return this.worker;
  }

  /** Runs `op` on `input` in the worker; a run longer than `budgetMs` is reported as a hang. */
  async run(op: Op, input: Record<string, unknown>, budgetMs = 5000): Promise<Outcome> {
    const w = this.start();
    await this.ready;
    const id = this.nextId++;
    return new Promise<Outcome>((resolve) => {
      const t0 = Date.now();
      const done = (o: Outcome, stop: boolean) => {
        clearTimeout(timer);
        w.off('message', onMessage);
        w.off('error', onError);
        if (stop) {
          this.worker = null;
          void w.terminate();
        }
        resolve(o);
      };
      const onMessage = (m: { id: number; outcome: Outcome }) => {
        if (m.id === id) done(m.outcome, false);
      };
      const onError = (e: Error) => done({ kind: 'crash', message: `${e.name}: ${e.message}` }, true);
      const timer = setTimeout(() => done({ kind: 'hang', ms: Date.now() - t0 }, true), budgetMs);
      w.on('message', onMessage);
      w.on('error', onError);
      w.postMessage({ id, op, input });
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}
