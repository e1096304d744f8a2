/**
 * Runs the r1ts CLI (`run` of src/cli/main.ts) on this process's arguments and, at exit, writes its peak resident set
 * size in KB to the file named by R1TS_RSS_FILE, so a test can assert that a hostile input was refused within a
 * memory bound.
 */
import { writeFileSync } from 'node:fs';
import { run } from '../../src/cli/main.js';

process.on('exit', () => {
  const file = process.env.R1TS_RSS_FILE;
  if (file) writeFileSync(file, String(process.resourceUsage().maxRSS));
});
await run(process.argv);
