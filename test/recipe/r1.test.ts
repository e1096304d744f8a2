// The R1 recipe's stage runners on a micro model (2 pre-training steps, a few GRPO/SFT steps): wiring (every stage's
// output and the table), skip-when-complete, resume of an interrupted stage, and the refusal of changed settings.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RECIPE_STAGES, recipePaths, runRecipe } from '../../src/recipe/r1.js';
import { writeReport } from '../../src/report/html.js';
import { microSettings } from './helpers.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'r1ts-recipe-'));
const quiet = () => {};

describe('recipe r1 stage runners (micro)', () => {
  it('runs every stage into one run directory, writes the table, and skips complete stages on a re-run', async () => {
    const out = tmp();
    const s = microSettings();
    const r = await runRecipe({ outDir: out, settings: s, log: quiet });
    assert.deepEqual(r.ran, [...RECIPE_STAGES]);
    assert.equal(r.stopped, null);
    const P = recipePaths(out);
    for (const d of [P.base, P.zero, P.sft1, P.rl2, P.sft3, P.rmHelpful, P.rmHarmless, P.rl4])
      assert.ok(fs.existsSync(path.join(d, 'model', 'model.safetensors')), d);
    for (const f of [P.cold, P.data3]) assert.ok(fs.statSync(f).size > 0, f);
    assert.deepEqual(
      r.rows.map((x) => x.model),
      ['base', 'r1-zero', 'cold start', 'stage 2', 'stage 3', 'r1'],
    );
    for (const row of r.rows) {
      assert.ok(row['pass@1'] >= 0 && row['pass@1'] <= 1);
      assert.ok(row.helpfulWin !== null && row.helpfulWin >= 0 && row.helpfulWin <= 1, row.model);
    }
    const json = JSON.parse(fs.readFileSync(P.table, 'utf8'));
    assert.equal(json.rows.length, 6);
    assert.ok(json.curves.rl4.length >= 1 && json.curves.sft1.length >= 1);
    const run = JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8'));
    assert.equal(run.command, 'recipe r1');
    assert.equal(run.rl2.languageWeight, 1);
    assert.equal(run.status, 'finished');
    // its report: the table of every model, then each stage's run in stage order with its own curves
    const report = writeReport(out).report;
    assert.deepEqual(
      report.sections.map((x) => x.title),
      [
        `${path.basename(out)}: recipe r1`,
        'R1 recipe: every stage, evaluated on held-out data',
        ...['base: pretrain', 'zero: grpo', 'sft1: sft', 'rl2: grpo', 'sft3: sft'],
        ...['rm-helpful: rm train', 'rm-harmless: rm train', 'rl4: grpo'],
      ],
    );
    const table = report.sections[1].tables[0];
    assert.deepEqual(
      table.rows.map((x) => x[0]),
      r.rows.map((x) => x.model),
    );
    assert.equal(table.rows[0][1], `${(100 * r.rows[0]['pass@1']).toFixed(1)}%`);
    const plotIds = (title: string) => report.sections.find((x) => x.title === title)!.plots.map((p) => p.id);
    assert.ok(plotIds('sft1: sft').some((id) => id.endsWith('-loss')));
    assert.ok(plotIds('rm-helpful: rm train').some((id) => id.endsWith('-accuracy')));
    assert.ok(plotIds('rl4: grpo').some((id) => id.endsWith('-reward')));
    // a re-run trains nothing and rewrites no model
    const before = fs.statSync(path.join(P.rl4, 'model', 'model.safetensors')).mtimeMs;
    const again = await runRecipe({ outDir: out, settings: s, log: quiet });
    assert.deepEqual(again.ran, []);
    assert.deepEqual(again.skipped, [...RECIPE_STAGES]);
    assert.equal(fs.statSync(path.join(P.rl4, 'model', 'model.safetensors')).mtimeMs, before);
    assert.equal(again.table, r.table);
    // a changed stage setting is refused by the resume rule, naming it
    await assert.rejects(
      runRecipe({ outDir: out, settings: { ...s, rl2: { ...s.rl2, languageWeight: 0.5 } }, log: quiet }),
      /rl2\.languageWeight/,
    );
  });

  it('--stages runs a subset, refuses a stage whose input is missing, and resumes an interrupted stage', async () => {
    const out = tmp();
    const s = microSettings();
    await assert.rejects(
      runRecipe({ outDir: out, settings: s, stages: ['sft1'], log: quiet }),
      /stage sft1 needs stage base/,
    );
    const r = await runRecipe({ outDir: out, settings: s, stages: ['base', 'zero'], log: quiet });
    assert.deepEqual(r.ran, ['base', 'zero']);
    assert.deepEqual(
      r.rows.map((x) => x.model),
      ['base', 'r1-zero'],
    );
    assert.ok(!fs.existsSync(recipePaths(out).cold));
    // an interrupted GRPO stage: extend the zero run's record to 2 steps without finishing it -> it resumes at step 1
    const P = recipePaths(out);
    const rec = JSON.parse(fs.readFileSync(path.join(P.zero, 'run.json'), 'utf8'));
    fs.writeFileSync(path.join(P.zero, 'run.json'), JSON.stringify({ ...rec, status: 'stopped' }));
    fs.rmSync(path.join(P.zero, 'model'), { recursive: true });
    const lines: string[] = [];
    const again = await runRecipe({ outDir: out, settings: s, stages: ['zero'], log: (l) => lines.push(l) });
    assert.deepEqual(again.ran, ['zero']);
    assert.ok(
      lines.some((l) => /resumed from .*step-0+1/.test(l)),
      lines.join('\n'),
    );
    assert.ok(fs.existsSync(path.join(P.zero, 'model', 'model.safetensors')));
  });
});
