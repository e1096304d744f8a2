/**
 * `r1ts report RUN_DIR [--out FILE [--overwrite]]`: one self-contained HTML file (inline SVG, nothing fetched) of the plots a run
 * directory calls for, chosen from its run.json and metrics.jsonl (src/report): pre-training, GRPO, a schedule, the
 * zero job's folder, the recipe's, the FP8 experiment's folder (one seed or --seeds N), distill-vs-rl's folder, or any
 * other run's numeric metrics. Prints the file's path.
 * The default RUN_DIR/report.html is r1ts's own file inside the run directory and is regenerated each time; an
 * explicit --out that exists is refused without --overwrite.
 */
import type { Command } from 'commander';
import { writeReport } from '../../report/html.js';
import { createParentDir, flagsOf, parseInputPath, shownDefault } from '../flags.js';

export function registerReport(program: Command): void {
  const cmd = program
    .command('report')
    .description(
      'write an HTML report with plots of a run directory (pretrain, grpo, sft, zero, recipe, experiment fp8 [--seeds], distill-vs-rl, schedule)',
    )
    .argument(
      '<run-dir>',
      'a run directory (run.json, metrics.jsonl) or a folder of them (zero, experiment fp8 [--seeds], distill-vs-rl)',
      (raw) => parseInputPath('report', 'RUN_DIR', raw, 'dir'),
    );
  const f = flagsOf(cmd);
  cmd
    .addOption(
      f.output(
        '--out <file>',
        'the HTML file to write',
        shownDefault("RUN_DIR/report.html, r1ts's own file, rewritten each time"),
      ),
    )
    .addOption(f.overwrite('replace an existing --out file (RUN_DIR/report.html needs no flag)'))
    .action((dir: string, o: { out?: string }) => {
      if (o.out) createParentDir('report', '--out', o.out);
      const r = writeReport(dir, o.out);
      console.log(`report: ${r.file} (${r.sections} section(s), ${r.plots} plot(s))`);
    });
}
