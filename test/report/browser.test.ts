// The report of a small real run (a micro pre-training and a few GRPO steps on it) opened in headless Chromium
// (Debian's `chromium` package, driven by playwright-core): the page loads without console errors, and every plot
// drew every series it lists, inside its chart. A screenshot is left in the test's temporary directory (its path is
// printed; the runs themselves are removed) for a person to look at. Skips with one line when /usr/bin/chromium is absent (`apt-get install -y chromium`).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pretrain } from '../../src/train/pretrain.js';
import { loadModelAndTokenizer } from '../../src/io/load.js';
import { resolveGrpoConfig } from '../../src/rl/config.js';
import { taskSource } from '../../src/rl/problems.js';
import { runGrpoAsync } from '../../src/rl/trainer.js';
import { writeReport } from '../../src/report/html.js';
import { writeFp8Seeds } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (apt-get install -y chromium; .ci/run installs it)`;
/** Set R1TS_KEEP_REPORT=1 to keep the runs as well as the report and the screenshot. */
const keep = process.env.R1TS_KEEP_REPORT === '1';

/** What the page says of one chart: its width, and for each series it lists whether it was drawn inside it. */
interface Measured {
  id: string;
  width: number;
  drawn: { name: string; elements: number; visible: boolean; inside: boolean }[];
}

/** Runs in the page (plain JavaScript: the test is type-checked without the DOM's types): a Measured per chart. */
const MEASURE = `[...document.querySelectorAll('figure.plot')].map((f) => {
  const svg = f.querySelector('svg').getBoundingClientRect();
  const want = JSON.parse(f.getAttribute('data-series'));
  const drawn = want.map((name) => {
    const els = [...f.querySelectorAll('.series')].filter((e) => e.getAttribute('data-series') === name);
    const boxes = els.map((e) => e.getBoundingClientRect());
    const inside = boxes.every(
      (b) => b.left >= svg.left - 1 && b.right <= svg.right + 1 && b.top >= svg.top - 1 && b.bottom <= svg.bottom + 1,
    );
    return { name, elements: els.length, visible: boxes.some((b) => b.width > 0 || b.height > 0), inside };
  });
  return { id: f.id, width: svg.width, drawn };
})`;

/**
 * Opens a report in headless Chromium and checks it: no console errors, nothing fetched, every plot laid out and every
 * series it lists drawn inside it; leaves a screenshot at `shot`.
 */
async function checkInBrowser(file: string, plots: number, shot: string): Promise<void> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`file://${file}`, { waitUntil: 'load' });
    // open every <details> so that the plots in them are laid out too; then measure every series of every chart
    await page.evaluate("for (const d of document.querySelectorAll('details')) d.open = true");
    const figures = (await page.evaluate(MEASURE)) as Measured[];
    assert.equal(figures.length, plots);
    for (const f of figures) {
      assert.ok(f.width > 100, `${f.id}: the chart is laid out (${f.width} px)`);
      for (const s of f.drawn) {
        assert.ok(s.elements > 0, `${f.id}: series ${s.name} has an element`);
        assert.ok(s.visible, `${f.id}: series ${s.name} is drawn (non-empty box)`);
        assert.ok(s.inside, `${f.id}: series ${s.name} stays inside its chart`);
      }
    }
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(existsSync(shot));
    process.stdout.write(`# report screenshot: ${shot}\n`);
    assert.deepEqual(errors, []);
    assert.deepEqual(
      requests.filter((u) => u !== `file://${file}`),
      [],
      'the page fetches nothing',
    );
  } finally {
    await browser.close();
  }
}

describe('report in a browser', () => {
  const dir = mkdtempSync(join(tmpdir(), 'r1ts-report-browser-'));
  // the runs go; the report and its screenshot stay for a person to look at (R1TS_KEEP_REPORT=1 keeps the runs too)
  after(() => {
    if (keep) return;
    for (const run of ['base', 'grpo', 'fp8-seeds/seed-0', 'fp8-seeds/seed-1', 'fp8-seeds/seed-2'])
      rmSync(join(dir, run), { recursive: true, force: true });
  });

  it('a micro pre-training and 2 GRPO steps: no console errors, every plot drew its series', { skip }, async () => {
    await pretrain({ outDir: join(dir, 'base'), preset: 'micro', steps: 6, workers: 1, log: () => {} });
    const { model, tok } = loadModelAndTokenizer(join(dir, 'base', 'model'));
    const config = resolveGrpoConfig({ steps: 2, promptsPerStep: 2, groupSize: 2, maxTokens: 16, sanityPrompts: 0 });
    await runGrpoAsync({
      outDir: join(dir, 'grpo'),
      policy: model,
      codec: tok,
      source: taskSource('lineq', { split: 'train', seed: 0 }),
      config,
      log: () => {},
    });
    const written = writeReport(dir);
    assert.ok(written.plots >= 11, `plots of both runs: ${written.plots}`);

    await checkInBrowser(written.file, written.plots, join(dir, 'report.png'));
  });

  it('experiment fp8 --seeds (a folder written by hand): the summary, the gaps per seed, each seed', {
    skip,
  }, async () => {
    const seeds = writeFp8Seeds(join(dir, 'fp8-seeds'), 20);
    const written = writeReport(seeds);
    assert.equal(written.sections, 4);
    await checkInBrowser(written.file, written.plots, join(dir, 'fp8-seeds.png'));
  });
});
