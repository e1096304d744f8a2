/**
 * Determinism: same inputs, same backend -> the same bits, whatever the thread count. Kernels that reduce across
 * threads must combine partial results in a fixed order (not per thread of a dynamic scheduler).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

function digest(threads: string): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/backend/determinism-child.ts'], {
    encoding: 'utf8',
    env: { ...process.env, R1TS_THREADS: threads },
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

describe('kernel determinism', () => {
  it('native kernels give bitwise identical results with 1, 2 and 3 threads, run after run', (t) => {
    const one = digest('1');
    if (!one.startsWith('native ')) {
      t.skip('native backend not built');
      return;
    }
    assert.equal(digest('2'), one);
    assert.equal(digest('3'), one);
    assert.equal(digest('2'), one);
  });
});
