/**
 * Backend selection is explicit: importing the tensor engine registers the native backend but activates nothing;
 * `initBackend` (called by the CLI's entry point and the package root) chooses native when it loads, or what
 * R1TS_BACKEND says, and a bad choice is one line and exit status 1 from the CLI.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { nativeAvailable } from '../../src/backend/native/index.js';

function node(args: string[], env: Record<string, string | undefined> = {}) {
  const e: Record<string, string | undefined> = { ...process.env, R1TS_BACKEND: undefined, ...env };
  for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k];
  const r = spawnSync(process.execPath, ['--import', 'tsx', ...args], {
    encoding: 'utf8',
    env: e as NodeJS.ProcessEnv,
  });
  return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
}

const probe = (module: string, init: boolean) =>
  node([
    '--input-type=module',
    '-e',
    `const t = await import('${module}'); const r = await import('./src/backend/registry.ts');` +
      (init ? ` (await import('./src/backend/select.ts')).initBackend();` : '') +
      ` console.log(r.getBackend(), r.listBackends().map((b) => b.name).join(','));`,
  ]);

describe('backend selection', () => {
  it('importing the tensor engine chooses nothing; initBackend does', () => {
    const registered = nativeAvailable() ? 'ts,native' : 'ts';
    assert.deepEqual(probe('./src/tensor/index.ts', false), { code: 0, out: `ts ${registered}`, err: '' });
    const chosen = probe('./src/tensor/index.ts', true);
    assert.equal(chosen.code, 0, chosen.err);
    assert.equal(chosen.out, `${nativeAvailable() ? 'native' : 'ts'} ${registered}`);
  });

  it('the package root and the CLI choose at start (native when available; R1TS_BACKEND)', () => {
    const want = nativeAvailable() ? 'native' : 'ts';
    assert.equal(probe('./src/index.ts', false).out.split(' ')[0], want);
    const info = (env: Record<string, string>) => node(['src/cli/main.ts', 'info', '--json'], env);
    const r = info({});
    assert.equal(r.code, 0, r.err);
    assert.equal((JSON.parse(r.out) as { backend: string }).backend, want);
    assert.equal((JSON.parse(info({ R1TS_BACKEND: 'ts' }).out) as { backend: string }).backend, 'ts');
    assert.deepEqual(info({ R1TS_BACKEND: 'cuda' }), {
      code: 1,
      out: '',
      err: "r1ts: R1TS_BACKEND must be 'ts' or 'native', got 'cuda'",
    });
  });
});
