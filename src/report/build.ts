/**
 * What a report holds, chosen from what `readRunTree` found (./runs.ts): the run itself, the jobs' records above
 * single runs (the zero job's before/after table, the recipe's table, the distillation-versus-RL comparison), the FP8
 * experiment's views (one seed: ./plots.ts fp8Section; over seeds: ./experiments.ts), then every run's own section.
 *
 * Not here: the sections' content (./plots.ts, ./experiments.ts), drawing (./html.ts).
 */
import { distillVsRlSection, fp8SeedsSections } from './experiments.js';
import { type Report, type Section, fp8Section, precisionRuns, recipeSection, runSection, zeroTable } from './plots.js';
import type { RunTree } from './runs.js';

/** The report of a run directory or a folder of them. */
export function buildReport(tree: RunTree): Report {
  const sections: Section[] = [];
  if (tree.run) sections.push(runSection(tree.run, 'run'));
  if (tree.zero)
    sections.push({
      id: 'zero',
      title: 'R1-Zero: before and after RL',
      dir: tree.dir,
      facts: [
        ['base model', tree.zero.baseModel],
        ['RL model', tree.zero.rlModel],
      ],
      tables: [zeroTable(tree.zero)],
      plots: [],
      other: [],
      figures: [],
      settings: null,
    });
  if (tree.recipe) sections.push(recipeSection(tree.dir, tree.recipe));
  if (tree.distillVsRl) sections.push(distillVsRlSection(tree.dir, tree.distillVsRl));
  if (tree.seeds.length) sections.push(...fp8SeedsSections(tree.dir, tree.seeds));
  const fp8 = precisionRuns(tree.children);
  if (fp8) sections.push(fp8Section(tree.dir, fp8));
  tree.children.forEach((c, i) => sections.push(runSection(c, `run-${i}-${c.name.replace(/[^\w-]/g, '_')}`)));
  return { title: `r1ts report: ${tree.dir}`, dir: tree.dir, sections };
}
