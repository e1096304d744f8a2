/**
 * Starting a worker-thread script of r1ts, compiled or not: the compiled `NAME.js` next to the caller in dist/, or,
 * when the caller runs as TypeScript (tests, `node --import tsx`), `NAME.ts` through tsx. Node 20 does not apply
 * `--import tsx` to worker threads, so a two-line ES module entry registers tsx in the worker first.
 *
 * Used by the pipeline engine (src/parallel/engine.ts), data-parallel training (src/train/data_parallel.ts) and
 * generation split across worker threads (src/infer/workers.ts).
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** Starts `./NAME.js` (or `./NAME.ts` through tsx) relative to `callerUrl` (the caller's `import.meta.url`). */
export function startWorkerScript(callerUrl: string, name: string, options: WorkerOptions): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, callerUrl), options);
  const api = import.meta.resolve('tsx/esm/api');
  const target = new URL(`./${name}.ts`, callerUrl).href;
  const entry = `const { register } = await import(${JSON.stringify(api)});\nregister();\nawait import(${JSON.stringify(target)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(entry)}`), options);
}
