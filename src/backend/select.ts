/**
 * Chooses the active backend once, when the tensor engine loads (imported by src/tensor/index.ts after the reference
 * backend registers):
 *   R1TS_BACKEND=native  the native backend, or a one-line error and exit status 1 if the addon is not available;
 *   R1TS_BACKEND=ts      the TypeScript reference backend;
 *   unset                native when the addon loads, else ts with a one-line warning on stderr.
 * `setBackend` can still switch later (benchmarks and parity tests do).
 */
import { setBackend } from './registry.js';
import { nativeAvailable, nativeLoadError } from './native/index.js';

const want = process.env.R1TS_BACKEND;

if (want === 'native') {
  if (!nativeAvailable()) {
    process.stderr.write(
      `r1ts: R1TS_BACKEND=native but the native backend is not available: ${nativeLoadError()} (build it with \`npm rebuild r1ts\` or \`npx node-gyp rebuild\`)\n`,
    );
    process.exit(1);
  }
  setBackend('native');
} else if (want === 'ts') {
  setBackend('ts');
} else if (want !== undefined && want !== '') {
  process.stderr.write(`r1ts: R1TS_BACKEND must be 'ts' or 'native', got '${want}'\n`);
  process.exit(1);
} else if (nativeAvailable()) {
  setBackend('native');
} else {
  process.stderr.write(
    `r1ts: warning: native backend unavailable (${nativeLoadError()}); using the slower TypeScript backend\n`,
  );
}
