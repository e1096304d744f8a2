/**
 * Chooses the active compute backend, once, when a program asks (`initBackend`): the CLI's entry point
 * (src/cli/main.ts) and the package root (src/index.ts) call it; importing the tensor engine does not. The choice:
 *   R1TS_BACKEND=native  the native backend, or an error if the addon is not available;
 *   R1TS_BACKEND=ts      the TypeScript reference backend;
 *   unset                native when the addon loads, else ts with a one-line warning.
 * Importing this file registers the native backend (when its addon loads) without making it active; worker threads
 * import the tensor engine and `setBackend` the main thread's choice. `setBackend` can still switch later
 * (benchmarks and parity tests do).
 */
import { getBackend, setBackend } from './registry.js';
import { nativeAvailable, nativeLoadError } from './native/index.js';

/** What `initBackend` chose. */
export interface BackendChoice {
  backend: string;
  /** A one-line warning for the user (the native addon did not load), or null. */
  warning: string | null;
}

let chosen: BackendChoice | null = null;

/**
 * Makes the backend that `want` (default: the R1TS_BACKEND environment variable) asks for active; see the file header.
 * Throws a one-line Error when it cannot. Later calls return the first choice without choosing again.
 */
export function initBackend(want: string | undefined = process.env.R1TS_BACKEND): BackendChoice {
  if (chosen) return chosen;
  let warning: string | null = null;
  if (want === 'native') {
    if (!nativeAvailable())
      throw new Error(
        `R1TS_BACKEND=native but the native backend is not available: ${nativeLoadError()} (build it with \`npm rebuild r1ts\` or \`npx node-gyp rebuild\`)`,
      );
    setBackend('native');
  } else if (want === 'ts') {
    setBackend('ts');
  } else if (want !== undefined && want !== '') {
    throw new Error(`R1TS_BACKEND must be 'ts' or 'native', got '${want}'`);
  } else if (nativeAvailable()) {
    setBackend('native');
  } else {
    warning = `native backend unavailable (${nativeLoadError()}); using the slower TypeScript backend`;
  }
  chosen = { backend: getBackend(), warning };
  return chosen;
}

/**
 * `initBackend` for a program without its own error handling (the package root on import): prints the warning as
 * `r1ts: warning: ...`, and on an error prints `r1ts: <message>` and exits with status 1.
 */
export function initBackendOrExit(): BackendChoice {
  const first = chosen === null;
  try {
    const c = initBackend();
    if (first && c.warning) process.stderr.write(`r1ts: warning: ${c.warning}\n`);
    return c;
  } catch (e) {
    process.stderr.write(`r1ts: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
