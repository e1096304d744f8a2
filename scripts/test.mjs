#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's built-in test runner (TypeScript through tsx).
// Extra arguments are passed to node (e.g. --test-name-pattern=matmul); R1TS_TEST_FILTER=substr limits the files.
// --list prints the files that would run, one a line, and runs nothing (how the docs test checks a page's filters).
// node_modules folders (test/interop's, when installed) are not searched.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (name === 'node_modules') continue;
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filter = process.env.R1TS_TEST_FILTER;
const files = find('test').filter((f) => !filter || f.includes(filter));
if (files.length === 0) {
  console.error(`no test files found${filter ? ` matching ${filter}` : ''}`);
  process.exit(1);
}
if (process.argv.includes('--list')) {
  console.log(files.join('\n'));
  process.exit(0);
}
const args = ['--import', 'tsx', '--test', '--test-reporter=spec', ...process.argv.slice(2), ...files];
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
