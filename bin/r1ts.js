#!/usr/bin/env node
// The r1ts command line. Runs the compiled CLI (built into dist/ by `npm ci` / `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const main = join(root, 'dist', 'cli', 'main.js');
if (!existsSync(main)) {
  console.error(`r1ts: ${main} is missing; run 'npm run build' (npm ci does it) first`);
  process.exit(1);
}
const { run } = await import(pathToFileURL(main).href);
await run(process.argv);
