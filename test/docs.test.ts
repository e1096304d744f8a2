/**
 * The documentation cannot rot: every code block of README.md and docs/*.md runs here, as a new user would run it in
 * a fresh clone, and the README's generated parts (the command table, the layout) match the code.
 *
 * How blocks run (docs/style.md, "Documentation", says the same for writers):
 * - ```ts blocks run as written with tsx, `from 'r1ts'` mapped to this repository's src/index.ts, and are type-checked
 *   together with tsc (strict).
 * - ```sh blocks run line by line through bash, in order with the page's ts blocks, in one fresh directory per page
 *   that looks like a clone (the repository's folders linked, its top-level files copied), so a page's later blocks
 *   see the files its earlier ones wrote. `npx r1ts` becomes `node --import tsx <repo>/src/cli/main.ts`.
 *   A command that trains or samples for minutes runs in a shortened form: the flags of SHORTEN below are appended
 *   to the line as written (the CLI takes the last value of a repeated flag), so every flag the page shows is still
 *   parsed and used. Only the commands of SKIP are not run, each for the reason given there. A line written
 *   `CMD || echo "exit status $?"` shows an error: CMD must exit with status 1 and print a one-line `r1ts: ` error.
 * - ```text blocks (printed output) are not run. A block with another language, or none, is an error.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeepseekV3, countParams, parseConfig, PRESETS, pretrain } from '../src/index.js';
import { commandTable, registeredCommands, tableIn } from '../scripts/docs-commands.js';
import {
  type CodeBlock,
  codeBlocks,
  inlineCode,
  relativeLinks,
  shellWords,
  splitEnv,
  stripComment,
} from './helpers/markdown.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'src', 'cli', 'main.ts');
const PAGES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];
const read = (page: string): string => readFileSync(join(ROOT, page), 'utf8');
const LANGS = ['ts', 'sh', 'text'];

/** Shell commands that are not run, and why. Matched on the whole line (comment removed). */
const SKIP: Record<string, string> = {
  'npm ci': 'installs the dependencies and builds the addon: the test runs inside an installed checkout',
  'npm ci --prefix test/interop --ignore-scripts':
    'installs the optional llama.cpp package (about 730 MB); the interop test skips with one line without it',
  'npm test': 'runs the whole suite, of which this test is a part',
  'npx node-gyp rebuild': 'rebuilds the native addon (about a minute): an install step, done by npm ci',
};

/** What a shortened command needs besides its flags. */
interface RunContext {
  /** The page's directory (the fake clone). */
  ws: string;
  /** A `micro` preset model directory pre-trained for 2 steps (config, weights, tokenizer). */
  microBase: string;
}

/** The value of `flag` in `words` (the last one), or `dflt`. */
function flagValue(words: string[], flag: string, dflt: string): string {
  const i = words.lastIndexOf(flag);
  return i >= 0 && i + 1 < words.length ? words[i + 1] : dflt;
}

/**
 * The shortened forms: for a command (`npx r1ts` + its subcommand path, or a script's path), the flags appended to
 * the line as written. They keep training and sampling to seconds; a value is never a placeholder for one the page
 * gives (paths, tasks, seeds stay as written).
 */
const SHORTEN: Record<string, (words: string[], ctx: RunContext) => string[]> = {
  // the `micro` preset: a 2-layer model on 1,000 documents (src/train/presets.ts); 2 steps, or 3 when resuming
  pretrain: (w) => ['--preset', 'micro', '--steps', w.includes('--resume') ? '3' : '2', '--workers', '1'],
  // the main job's pre-training is `pretrain`'s (shortened above): here its base is a micro model in OUT/base/model,
  // which `zero` reuses, and GRPO and the two evaluations are cut to a step and a few samples
  zero: (w, ctx) => {
    const base = join(ctx.ws, flagValue(w, '--out', 'runs/zero'), 'base', 'model');
    if (!existsSync(base)) cpSync(ctx.microBase, base, { recursive: true });
    return ['--steps', '1', '--prompts-per-step', '2', '--n', '2', '--k', '2'];
  },
  grpo: (w) => [
    ...['--steps', w.includes('--resume') ? '2' : '1'],
    ...(w.includes('--resume') ? [] : ['--prompts-per-step', '2', '--group-size', '2', '--max-tokens', '16']),
  ],
  eval: () => ['--n', '2', '--k', '2', '--max-tokens', '16'],
  // rejection sampling: two prompts (of each task) and two samples of at most 16 tokens
  sample: () => ['--n', '2', '--k', '2', '--max-tokens', '16'],
  generate: () => ['--max-tokens', '16'],
  // a server runs until stopped: here it listens on a free port and shuts down gracefully at once
  serve: () => ['--port', '0', '--shutdown-after', '0'],
  // over seeds: two of them, each as short as a single run
  'experiment fp8': (w) => [
    ...(w.includes('--preset') ? ['--preset', 'micro', '--workers', '1'] : []),
    ...(w.includes('--seeds') ? ['--seeds', '2'] : []),
    ...['--steps', '2', '--no-reference', '--no-noise-floor'],
  ],
  // SFT: two optimizer steps; the quality checks (when asked) on two items of at most 8 tokens
  sft: () => ['--max-steps', '2', '--eval-n', '2', '--eval-max-tokens', '8'],
  'data corpus': () => ['--n', '300'],
  'data sft': () => ['--n', '20'],
  // preference pairs: 16 per file, so that the reward model, DPO and scoring commands after them run in seconds
  'data prefs': () => ['--n', '16'],
  // reward models and DPO: two steps of 8 pairs on the 16 pairs above; a comparison of 2 prompts, 16 tokens each
  'rm train': () => ['--batch-size', '8', '--micro-batch', '8'],
  dpo: () => ['--batch-size', '8', '--micro-batch', '8'],
  'rm compare': () => ['--limit', '2', '--n', '1', '--max-tokens', '16'],
  'bench matmul': () => ['--sizes', '32', '--repeat', '1'],
  'bench/answer_modes.ts': () => ['--n', '2', '--k', '2'],
  'bench/think_probe.ts': () => ['--n', '2', '--k', '2'],
  'bench/fp8_gemm.ts': () => ['--repeat', '1'],
  // a page that says how to run part of the suite: the files its filter selects are listed, not run (the suite runs
  // them), so a filter that no longer matches a test file fails here
  'scripts/test.mjs': () => ['--list'],
};

/** `npx r1ts` subcommand paths (`eval`, `data corpus`), from the CLI itself. */
const COMMANDS = new Set(registeredCommands().map(([name]) => name));

/** The key of SHORTEN for a command's words (after any environment assignments), or null. */
function commandKey(command: string[]): string | null {
  if (command[0] === 'npx' && command[1] === 'r1ts') {
    const two = `${command[2]} ${command[3]}`;
    return COMMANDS.has(two) ? two : (command[2] ?? null);
  }
  if (command[0] === 'node') return command.find((w) => w.endsWith('.ts') || w.endsWith('.mjs')) ?? null;
  return null;
}

/** Makes a directory that looks like a fresh clone: the repository's folders linked, its top-level files copied. */
function makeWorkspace(): string {
  const ws = mkdtempSync(join(tmpdir(), 'r1ts-docs-'));
  for (const name of readdirSync(ROOT)) {
    if (['.git', 'runs', 'dist', '.r1ts-cache'].includes(name)) continue;
    const p = join(ROOT, name);
    if (statSync(p).isDirectory()) symlinkSync(p, join(ws, name));
    else copyFileSync(p, join(ws, name));
  }
  return ws;
}

interface Finished {
  status: number | null;
  out: string;
}

/** Runs a process to its end without blocking (pages run concurrently); stdout and stderr together. */
function exec(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Finished> {
  return new Promise((done) => {
    const p = spawn(cmd, args, { ...opts, timeout: 180_000 });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (status) => done({ status, out }));
  });
}

/** Where a failing block is, what ran, and the end of its output. */
function failure(file: string, line: number, what: string, r: Finished): string {
  return `${file}:${line}: ${what}\nexited ${r.status}; its last output:\n${r.out.split('\n').slice(-20).join('\n')}`;
}

/**
 * How a page shows a command that must fail: `CMD || echo "exit status $?"` (the line itself then succeeds in a
 * user's shell). The test runs CMD alone and checks that it exits with status 1 after a one-line `r1ts: ` error.
 */
const FAILS = ' || echo "exit status $?"';

/** Runs one sh block line by line in `ctx.ws`. */
async function runShell(b: CodeBlock, ctx: RunContext): Promise<void> {
  const lines = b.code.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = stripComment(lines[i]).trim();
    const where = b.firstLine + i;
    if (!line || line.startsWith('#') || Object.hasOwn(SKIP, line)) continue;
    assert.ok(!line.endsWith('\\'), `${b.file}:${where}: one command per line (no continuation lines)`);
    const fails = line.endsWith(FAILS);
    const run = fails ? line.slice(0, -FAILS.length) : line;
    const { command } = splitEnv(shellWords(run));
    assert.notEqual(command[0], 'r1ts', `${b.file}:${where}: a clone has no r1ts on the PATH: write npx r1ts`);
    const key = commandKey(command);
    const extra = key && Object.hasOwn(SHORTEN, key) ? SHORTEN[key](command, ctx) : [];
    const cmd = `${run.replace(/\bnpx r1ts\b/g, `node --import tsx ${CLI}`)} ${extra.join(' ')}`.trim();
    const r = await exec('bash', ['-c', cmd], { cwd: ctx.ws, env: { ...process.env, NO_COLOR: '1' } });
    if (!fails) {
      assert.equal(r.status, 0, failure(b.file, where, cmd, r));
      continue;
    }
    const said = `the page shows it failing (${FAILS.trim()})`;
    assert.equal(r.status, 1, failure(b.file, where, `${cmd}: ${said}, with exit status 1`, r));
    assert.match(r.out, /^r1ts: /m, failure(b.file, where, `${cmd}: ${said}, with a one-line 'r1ts: ' error`, r));
  }
}

/** The snippet as run: `from 'r1ts'` mapped to this repository's source. */
function runnable(code: string): string {
  return code.replace(/from\s+'r1ts'/g, `from '${join(ROOT, 'src', 'index.ts')}'`);
}

/** Runs one ts block with tsx in `ctx.ws`. */
async function runTs(b: CodeBlock, ctx: RunContext): Promise<void> {
  const file = join(ctx.ws, `snippet-${b.file.replace(/\W/g, '_')}-${b.line}.ts`);
  writeFileSync(file, runnable(b.code));
  const r = await exec(process.execPath, ['--import', 'tsx', file], { cwd: ctx.ws });
  assert.equal(r.status, 0, failure(b.file, b.line, `the ts block (run as ${file})`, r));
}

const allBlocks = (): CodeBlock[] => PAGES.flatMap((p) => codeBlocks(p, read(p)));

// Pages run two at a time (each in its own directory): on 2 cores the whole file takes about half as long.
describe('documentation (README.md, docs/*.md)', { concurrency: 2 }, () => {
  let microBase = '';
  let typecheck: Promise<Finished>;
  const scratch = mkdtempSync(join(tmpdir(), 'r1ts-docs-fixtures-'));

  before(async () => {
    // every ts block type-checked at once, while the blocks run
    const dir = join(scratch, 'types');
    mkdirSync(dir);
    for (const b of allBlocks().filter((x) => x.lang === 'ts'))
      writeFileSync(join(dir, `${b.file.replace(/\W/g, '_')}_${b.line}.ts`), `${b.code}\nexport {};\n`);
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n'); // ES modules, as a user's package: top-level await
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2022'],
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules', '@types')],
          strict: true,
          skipLibCheck: true,
          noEmit: true,
          paths: { r1ts: [join(ROOT, 'src', 'index.ts')] },
        },
        include: ['*.ts'],
      }),
    );
    typecheck = exec(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir]);
    const r = await pretrain({ outDir: join(scratch, 'micro'), preset: 'micro', steps: 2, log: () => {} });
    microBase = r.modelDir;
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('every code block is ts, sh or text', () => {
    for (const b of allBlocks())
      assert.ok(
        LANGS.includes(b.lang),
        `${b.file}:${b.line}: code block language '${b.lang}' (use ${LANGS.join(', ')})`,
      );
  });

  it('README.md is a guide of at most 350 lines', () => {
    const n = read('README.md').split('\n').length;
    assert.ok(n <= 350, `README.md has ${n} lines: move depth into docs/`);
  });

  it("README.md's command table lists exactly the registered commands with their descriptions", () => {
    const table = tableIn(read('README.md'));
    assert.ok(table !== null, 'README.md has no generated command table (markers missing)');
    assert.equal(table, commandTable(), 'README.md command table is out of date: run `npm run docs:commands`');
  });

  it("README.md's layout names every folder under src/ and no other", () => {
    const readme = read('README.md');
    const layout = codeBlocks('README.md', readme).find((b) => b.lang === 'text' && /^src\/\s/m.test(b.code));
    assert.ok(layout, "README.md: no layout block (a text block whose first column lists 'src/')");
    const dirs: string[] = [];
    const walk = (d: string) => {
      for (const name of readdirSync(join(ROOT, d)).sort()) {
        if (statSync(join(ROOT, d, name)).isDirectory()) {
          dirs.push(`${d}/${name}/`);
          walk(`${d}/${name}`);
        }
      }
    };
    walk('src');
    // one path per line: indented lines are folders of src/ (`backend/ts/`), the others top-level folders
    const named = new Set<string>();
    for (const m of layout.code.matchAll(/^(\s*)([\w-]+\/(?:[\w-]+\/)*)\s/gm)) named.add(m[1] ? `src/${m[2]}` : m[2]);
    for (const d of dirs) assert.ok(named.has(d), `README.md layout does not name ${d}: add a line for it`);
    for (const p of named) assert.ok(existsSync(join(ROOT, p)), `README.md layout names ${p}, which does not exist`);
  });

  it('nothing points outside the repository to ../shared (SPEC and STYLE are docs/spec.md, docs/style.md)', () => {
    const hits: string[] = [];
    const walk = (d: string) => {
      for (const name of readdirSync(join(ROOT, d))) {
        const p = join(d, name);
        if (statSync(join(ROOT, p)).isDirectory()) {
          if (!['fixtures'].includes(name)) walk(p);
        } else if (/\.(ts|mjs|js|md|json|cc|h|py)$/.test(name) && p !== join('test', 'docs.test.ts')) {
          readFileSync(join(ROOT, p), 'utf8')
            .split('\n')
            .forEach((l, i) => {
              if (/\.\.\/shared\/|shared\/(SPEC|STYLE)\.md/.test(l)) hits.push(`${p}:${i + 1}`);
            });
        }
      }
    };
    for (const d of ['src', 'test', 'bench', 'scripts', 'native', 'docs']) walk(d);
    for (const f of ['README.md', 'BENCHMARKS.md']) {
      read(f)
        .split('\n')
        .forEach((l, i) => {
          if (/\.\.\/shared\//.test(l)) hits.push(`${f}:${i + 1}`);
        });
    }
    assert.deepEqual(
      hits,
      [],
      'references to ../shared (a clone has none): point them to docs/spec.md or docs/style.md',
    );
  });

  it('the docs index (docs/README.md) links every page of docs/', () => {
    const linked = new Set(relativeLinks(read('docs/README.md')).map((l) => l.target));
    for (const page of PAGES.filter((p) => p.startsWith('docs/') && p !== 'docs/README.md'))
      assert.ok(linked.has(page.slice('docs/'.length)), `docs/README.md: no line for ${page}`);
  });

  it('relative links point to files that exist', () => {
    for (const page of [...PAGES, 'BENCHMARKS.md']) {
      for (const { line, target } of relativeLinks(read(page))) {
        const file = relative(ROOT, resolve(ROOT, dirname(page), target));
        assert.ok(existsSync(join(ROOT, file)), `${page}:${line}: link to ${target}: ${file} does not exist`);
      }
    }
  });

  it('an r1ts command is written `npx r1ts ...` (a clone has no r1ts on the PATH)', () => {
    const first = new Set([...COMMANDS].map((c) => c.split(' ')[0]));
    for (const page of PAGES) {
      for (const { line, code } of inlineCode(read(page))) {
        const w = code.split(/\s+/);
        assert.ok(!(w[0] === 'r1ts' && first.has(w[1])), `${page}:${line}: \`${code}\`: write \`npx ${code}\``);
      }
    }
  });

  it("docs/style.md's table of shortened forms shows every rule of SHORTEN", () => {
    const style = read('docs/style.md');
    for (const key of Object.keys(SHORTEN)) {
      const row = style
        .split('\n')
        .find((l) => l.startsWith(`| \`npx r1ts ${key}\``) || (key.includes('/') && l.includes(` ${key}\``)));
      assert.ok(row, `docs/style.md: no row for '${key}' in the table of shortened forms`);
      const words = key.includes('/') ? ['node', key] : ['npx', 'r1ts', ...key.split(' ')];
      for (const flag of SHORTEN[key](words, { ws: scratch, microBase }).filter((w) => w.startsWith('--')))
        assert.ok(row.includes(flag), `docs/style.md: the row of '${key}' does not show ${flag}`);
    }
  });

  it('ts blocks import only from r1ts and node: modules, as a user of the package does', () => {
    for (const b of allBlocks().filter((x) => x.lang === 'ts')) {
      for (const m of b.code.matchAll(/from\s+'([^']+)'/g))
        assert.ok(m[1] === 'r1ts' || m[1].startsWith('node:'), `${b.file}:${b.line}: import from '${m[1]}'`);
    }
  });

  it('the tiny preset is quoted at its one size (as `npx r1ts params` counts it), never in another count', () => {
    const c = parseConfig({ ...PRESETS.tiny.model, vocab_size: PRESETS.tiny.vocabSize }).config;
    const { total, mtp } = countParams(c);
    const fmt = (n: number) => n.toLocaleString('en-US');
    const docs = PAGES.map(read).join('\n') + read('BENCHMARKS.md');
    assert.ok(docs.includes(`${fmt(total)} parameters`), `the docs never give the tiny preset's ${fmt(total)}`);
    assert.ok(docs.includes(fmt(mtp)), `the docs never give the tiny preset's MTP module (${fmt(mtp)})`);
    // the same model counted otherwise: every trainable tensor (MTP included, router biases not), or total + MTP
    const others = [new DeepseekV3(c as never, { seed: 0 }).numParameters(), total + mtp];
    for (const n of others) assert.ok(!docs.includes(fmt(n)), `the docs quote ${fmt(n)}: use ${fmt(total)} + MTP`);
    assert.match(
      PRESETS.tiny.description,
      new RegExp(`${(total / 1e6).toFixed(2)}M params \\+ ${(mtp / 1e6).toFixed(2)}M MTP`),
    );
  });

  for (const page of PAGES) {
    it(`${page}: every code block runs`, async () => {
      const blocks = codeBlocks(page, read(page)).filter((b) => b.lang !== 'text');
      if (blocks.length === 0) return;
      const ctx: RunContext = { ws: makeWorkspace(), microBase };
      try {
        for (const b of blocks) {
          if (b.lang === 'sh') await runShell(b, ctx);
          else if (b.lang === 'ts') await runTs(b, ctx);
        }
      } finally {
        rmSync(ctx.ws, { recursive: true, force: true });
      }
    });
  }

  it('every ts block type-checks (tsc, strict)', async () => {
    const r = await typecheck;
    assert.equal(r.status, 0, `tsc on the ts blocks (files named PAGE_LINE.ts):\n${r.out}`);
  });
});
