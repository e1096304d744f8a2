/**
 * The help that matches: `r1ts --help` advertises exactly the registered commands (in its description and in its
 * command list), every command's `--help` shows a default (or "required") for each flag that takes a value, and the
 * reference part of docs/cli.md is what src/cli/docs.ts renders from the same program.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { COMMAND_GROUPS, allCommands, buildProgram } from '../../src/cli/main.js';
import { commandPath } from '../../src/cli/flags.js';
import { BEGIN, END, renderCliReference } from '../../src/cli/docs.js';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The names listed under `Commands:` in a help text (commander's own `help` command left out). */
function listedCommands(help: string): string[] {
  const block = help.split(/^Commands:$/m)[1]?.split(/^\S/m)[0] ?? '';
  return [...block.matchAll(/^ {2}(\S+)/gm)].map((m) => m[1]).filter((c) => c !== 'help');
}

/** The help entry of the option whose flags are `flags`: its first line and the wrapped lines under it, joined. */
function optionEntry(help: string, flags: string): string | null {
  const lines = help.split('\n');
  const i = lines.findIndex((l) => l.startsWith(`  ${flags}  `) || l === `  ${flags}`);
  if (i < 0) return null;
  const out = [lines[i]];
  for (let j = i + 1; j < lines.length && /^ {4,}\S/.test(lines[j]); j++) out.push(lines[j]);
  return out.map((l) => l.trim()).join(' ');
}

describe('r1ts --help', () => {
  const program = buildProgram();
  const registered = program.commands.map((c) => c.name());

  it('lists every registered command and nothing else, in the description and under Commands', () => {
    const r = cli('--help');
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(listedCommands(r.out).sort(), [...registered].sort());
    // the description: one line per group, `  group  cmd, cmd`
    const description = r.out.split(/^Options:$/m)[0];
    const advertised = COMMAND_GROUPS.flatMap(([group]) => {
      const line = description.split('\n').find((l) => l.trimStart().startsWith(`${group} `));
      assert.ok(line, `group '${group}' is not in the description`);
      return line
        .slice(line.indexOf(group) + group.length)
        .split(',')
        .map((s) => s.trim());
    });
    assert.deepEqual([...advertised].sort(), [...registered].sort());
    // no word of the description names a command that does not exist (the old text advertised distil and serve)
    for (const word of ['distil', 'serve', 'sft', 'dpo'].filter((w) => !registered.includes(w)))
      assert.doesNotMatch(description, new RegExp(`\\b${word}\\b`));
  });

  it('every group command lists its subcommands', () => {
    for (const cmd of allCommands(program).filter((c) => c.commands.length > 0 && c !== program)) {
      const r = cli(...commandPath(cmd).split(' '), '--help');
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(listedCommands(r.out).sort(), cmd.commands.map((c) => c.name()).sort(), commandPath(cmd));
    }
  });

  it("every flag that takes a value shows its default or that it is required in its command's --help", () => {
    for (const cmd of allCommands(program).slice(1)) {
      const help = cmd.helpInformation();
      for (const o of cmd.options) {
        const takesValue = o.required || o.optional;
        if (!takesValue) continue;
        const shown = o.mandatory
          ? /\(required\)$/.test(o.description)
          : o.defaultValue !== undefined || /\(default: [^)]+\)/.test(o.description);
        assert.ok(shown, `r1ts ${commandPath(cmd)} ${o.flags}: no default shown ("${o.description}")`);
        // and the help text carries it, in the option's own entry (commander wraps long lines)
        const entry = optionEntry(help, o.flags);
        assert.ok(entry, `r1ts ${commandPath(cmd)} --help has no entry for ${o.flags}`);
        assert.match(entry, o.mandatory ? /\(required\)/ : /\(default: [^)]+\)/, `r1ts ${commandPath(cmd)} ${o.flags}`);
      }
    }
  });

  it('the examples of docs/cli.md print what the page says (sh blocks, `npx r1ts` run from source; the ts block)', () => {
    const text = readFileSync('docs/cli.md', 'utf8');
    const blocks = (lang: string) =>
      [...text.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);
    const sh = blocks('sh').map((b) => b.replace(/\bnpx r1ts\b/g, 'node --import tsx src/cli/main.ts'));
    assert.ok(sh.length >= 3, 'docs/cli.md has its sh examples');
    const r = spawnSync('bash', ['-e', '-c', sh.join('\n')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    // what the page says these print
    const said = blocks('text')[0].trim().split('\n');
    for (const line of said) assert.ok(`${r.stdout}${r.stderr}`.includes(line), `docs/cli.md promises: ${line}`);
    const [ts] = blocks('ts');
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', ts.replace("from 'r1ts'", "from './src/index.ts'")],
      { encoding: 'utf8' },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^backend: (native|ts)\n64\n$/);
  });

  it('docs/cli.md holds the reference rendered from the program', () => {
    const text = readFileSync('docs/cli.md', 'utf8');
    const block = text.slice(text.indexOf(BEGIN), text.indexOf(END) + END.length);
    assert.ok(text.includes(BEGIN) && text.includes(END), 'docs/cli.md lacks the generated-block markers');
    assert.equal(block, renderCliReference(), 'docs/cli.md is out of date: run node --import tsx src/cli/docs.ts');
    for (const cmd of allCommands(program).slice(1)) assert.ok(block.includes(`### r1ts ${commandPath(cmd)}\n`));
  });
});
