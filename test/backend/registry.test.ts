import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend, getKernel, listBackends, registerBackend, setBackend, tensor, add } from '../../src/index.js';
import { KERNEL_NAMES } from '../../src/backend/kernels.js';

describe('kernel registry', () => {
  it('the reference backend implements every kernel of the contract', () => {
    const missing = KERNEL_NAMES.filter((k) => typeof getKernel('ts', k) !== 'function');
    assert.deepEqual(missing, []);
  });

  it('a backend may implement a subset; the rest falls back to the reference', () => {
    const prev = getBackend();
    let calls = 0;
    registerBackend('test-partial', {
      add: (a, b) => {
        calls++;
        return getKernel('ts', 'add')!(a, b);
      },
    });
    try {
      setBackend('test-partial');
      assert.equal(getBackend(), 'test-partial');
      assert.deepEqual(add(tensor([1]), tensor([2])).toList(), [3]);
      assert.equal(calls, 1);
      assert.deepEqual(tensor([1, 2]).mul(3).toList(), [3, 6], 'mul falls back to ts');
      assert.ok(listBackends().some((b) => b.name === 'test-partial' && b.kernels.length === 1));
    } finally {
      setBackend(prev);
    }
  });

  it('unknown backends are a clear error', () => {
    assert.throws(() => setBackend('cuda'), /backend 'cuda' is not available \(registered: .*ts/);
  });
});
