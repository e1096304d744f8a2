/** R1TS_PROFILE_KERNELS: the per-kernel table on stderr at exit, one kernel's call sites, the products' shapes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { nativeAvailable, nativeLoadError } from '../../src/backend/native/index.js';

const SKIP = nativeAvailable() ? false : `native addon not built (${nativeLoadError()})`;

// Two matmuls from one line and one softmax through the ops: two kernels in the table, one call site for matmul.
const SCRIPT = `
import { matmul, softmax, randn } from './src/index.ts';
const x = randn([8, 8]);
let y = x;
for (let i = 0; i < 2; i++) y = matmul(y, x);
softmax(y, -1);
`;

test("R1TS_PROFILE_KERNELS prints wall time and calls per native kernel at exit, a named kernel's call sites and shapes", {
  skip: SKIP,
}, () => {
  const run = (setting: string) =>
    spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SCRIPT], {
      encoding: 'utf8',
      env: { ...process.env, R1TS_BACKEND: 'native', R1TS_PROFILE_KERNELS: setting },
    });
  const all = run('1');
  assert.equal(all.status, 0, all.stderr);
  assert.match(all.stderr, /^native kernels \(R1TS_PROFILE_KERNELS\): wall ms, calls$/m);
  assert.match(all.stderr, /^ +\d+\.\d +2 {2}matmul$/m);
  assert.match(all.stderr, /^ +\d+\.\d +1 {2}softmax$/m);
  assert.doesNotMatch(all.stderr, /matmul </);
  const sites = run('matmul');
  assert.equal(sites.status, 0, sites.stderr);
  assert.match(sites.stderr, /^ +\d+\.\d +2 {2}matmul < .*matmul \(tensor\/ops\/linalg\.ts:\d+:\d+\)/m);
  const shapes = run('shapes');
  assert.equal(shapes.status, 0, shapes.stderr);
  assert.match(shapes.stderr, /^ +\d+\.\d +2 {2}matmul 8 x 8 x 8$/m);
  assert.doesNotMatch(all.stderr, /matmul 8 x/);
  const none = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SCRIPT], {
    encoding: 'utf8',
    env: { ...process.env, R1TS_BACKEND: 'native', R1TS_PROFILE_KERNELS: '' },
  });
  assert.equal(none.stderr, '', 'nothing is printed when the variable is empty');
});
