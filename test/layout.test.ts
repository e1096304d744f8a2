// The layout rules of src/: which folder may import which (the table below is the whole rule), and no import cycles
// between files. Reads every src/**/*.ts and follows its relative imports (type-only imports included: a layer
// boundary is about what a reader must know, not only what runs).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Folder -> the folders it may import. Lower folders never import higher ones; the one exception is the kernel
 * registry seam: ops in tensor/ run kernels through backend/registry.ts, and backends use tensor/'s dtype and shape
 * helpers. `(root)` is src/index.ts (the package's public API) and src/version.ts. util/ (file and number formatting
 * helpers over Node's built-ins) is below everything and imports nothing of src/.
 */
export const ALLOWED: Record<string, readonly string[]> = {
  '(root)': ['*'],
  util: [],
  tensor: ['backend', 'util'],
  backend: ['tensor', 'util'],
  nn: ['tensor', 'backend', 'util'],
  optim: ['tensor', 'backend', 'util'],
  models: ['nn', 'tensor', 'backend', 'util'],
  fp8: ['models', 'nn', 'optim', 'tensor', 'backend', 'util'],
  data: ['tensor', 'util'],
  io: ['models', 'data', 'nn', 'tensor', 'backend', 'util'],
  infer: ['models', 'data', 'nn', 'tensor', 'backend', 'util'],
  parallel: ['models', 'nn', 'optim', 'tensor', 'backend', 'util'],
  train: ['parallel', 'infer', 'io', 'data', 'fp8', 'models', 'optim', 'nn', 'tensor', 'backend', 'util'],
  rl: ['train', 'infer', 'io', 'data', 'fp8', 'models', 'optim', 'nn', 'tensor', 'backend', 'util'],
  eval: ['rl', 'infer', 'io', 'data', 'models', 'nn', 'tensor', 'backend', 'util'],
  experiments: [
    'eval',
    'rl',
    'train',
    'parallel',
    'infer',
    'io',
    'data',
    'fp8',
    'models',
    'optim',
    'nn',
    'tensor',
    'backend',
    'util',
  ],
  posttrain: [
    'eval',
    'rl',
    'train',
    'infer',
    'io',
    'data',
    'fp8',
    'models',
    'optim',
    'nn',
    'tensor',
    'backend',
    'util',
  ],
  serve: ['infer', 'data', 'models'],
  recipe: [
    'posttrain',
    'eval',
    'rl',
    'train',
    'infer',
    'io',
    'data',
    'fp8',
    'models',
    'optim',
    'nn',
    'tensor',
    'backend',
    'util',
  ],
  report: ['experiments', 'eval', 'rl', 'train', 'parallel', 'io', 'models', 'util'],
  cli: ['(root)', '*'],
};

const SRC = 'src';

function walk(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
    );
}

/** Relative imports of a file (static, side-effect, dynamic and re-exports), resolved to .ts paths under src/. */
export function importsOf(file: string, text: string): string[] {
  const out: string[] = [];
  const re =
    /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*'(\.[^']+)'|(?:^|\n)\s*import\s*'(\.[^']+)'|import\('(\.[^']+)'\)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const spec = m[1] ?? m[2] ?? m[3];
    out.push(path.normalize(path.join(path.dirname(file), spec)).replace(/\.js$/, '.ts'));
  }
  return out;
}

/** The folder of a src/ file: its first path segment under src/, or '(root)'. */
export function folderOf(file: string): string {
  const parts = path.relative(SRC, file).split(path.sep);
  return parts.length > 1 ? parts[0] : '(root)';
}

/** Cycles among files (Tarjan's strongly connected components of size > 1, or a file importing itself). */
export function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(c.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

describe('layout of src/', () => {
  const files = walk(SRC);
  const graph = new Map(files.map((f) => [f, importsOf(f, fs.readFileSync(f, 'utf8'))]));

  it('every folder is in the table, and every import between folders is an allowed edge', () => {
    const bad: string[] = [];
    for (const [file, deps] of graph) {
      const from = folderOf(file);
      const allowed = ALLOWED[from];
      if (!allowed) {
        bad.push(`${file}: folder '${from}' is not in the table of test/layout.test.ts`);
        continue;
      }
      for (const dep of deps) {
        if (!fs.existsSync(dep)) bad.push(`${file}: imports ${dep}, which does not exist`);
        const to = folderOf(dep);
        if (to !== from && !allowed.includes(to) && !allowed.includes('*'))
          bad.push(`${file} -> ${dep} (${from} -> ${to})`);
      }
    }
    assert.deepEqual(bad, []);
  });

  it('no import cycles between files', () => {
    assert.deepEqual(cycles(graph), []);
  });

  it('the checker itself finds a cycle and a forbidden edge', () => {
    assert.deepEqual(
      cycles(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', ['a']],
          ['d', ['a']],
        ]),
      ),
      [['a', 'b', 'c']],
    );
    assert.deepEqual(importsOf('src/models/x.ts', "import type { A } from '../train/y.js';\nimport './z.js';"), [
      'src/train/y.ts',
      'src/models/z.ts',
    ]);
    assert.equal(folderOf('src/models/x.ts'), 'models');
    assert.ok(!ALLOWED.models.includes('train'));
  });
});
